//! Counts of the job runs this process finished, by kind and outcome (for `/metrics`).
//!
//! Process-local on purpose: Prometheus scrapes every instance and sums; the database holds the
//! durable history (`job_runs`).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// How one run of a job ended on this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunEnd {
    /// The handler succeeded.
    Succeeded,
    /// The handler failed; the job will be retried (or is dead after its last attempt).
    Failed,
    /// The handler failed permanently.
    FailedPermanently,
    /// Another instance took the lease over.
    LeaseLost,
    /// Given back to the queue at shutdown.
    Interrupted,
}

impl RunEnd {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunEnd::Succeeded => "succeeded",
            RunEnd::Failed => "failed",
            RunEnd::FailedPermanently => "failed_permanently",
            RunEnd::LeaseLost => "lease_lost",
            RunEnd::Interrupted => "interrupted",
        }
    }
}

/// Finished runs of this process, by (kind, outcome).
#[derive(Debug, Default)]
pub struct JobStats {
    runs: Mutex<BTreeMap<(&'static str, RunEnd), u64>>,
}

impl JobStats {
    /// Counts one finished run.
    pub fn record(&self, kind: &'static str, outcome: RunEnd) {
        if let Ok(mut runs) = self.runs.lock() {
            *runs.entry((kind, outcome)).or_default() += 1;
        }
    }

    /// Every (kind, outcome, count) so far.
    pub fn snapshot(&self) -> Vec<(&'static str, RunEnd, u64)> {
        self.runs
            .lock()
            .map(|runs| runs.iter().map(|(&(k, o), &n)| (k, o, n)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_outcome() {
        let s = JobStats::default();
        s.record("mail.drain", RunEnd::Succeeded);
        s.record("mail.drain", RunEnd::Succeeded);
        s.record("mail.drain", RunEnd::Failed);
        s.record("purge", RunEnd::Succeeded);
        assert_eq!(
            s.snapshot(),
            vec![
                ("mail.drain", RunEnd::Succeeded, 2),
                ("mail.drain", RunEnd::Failed, 1),
                ("purge", RunEnd::Succeeded, 1),
            ]
        );
    }
}
