//! The platform's health at a glance, for the administration page: the database (and how long
//! a round trip takes), migrations, live instances, the job queue, the e-mail outbox, the
//! signing keys and their age, and the gyms waiting for approval. Read-only; each part is read
//! on its own so one failing read shows as that part's error, not as a blank page.

use jarvis_core::PageRequest;
use jarvis_core::model::{GymStatus, Instance, KindDepth};
use jarvis_store::{Backend, GymFilter, OutboxDepth, Store, StoreError};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// An instance counts as alive when it heart-beat within this window (instances beat every
/// 15 s; the voice reaper gives up on them after 60 s).
pub const INSTANCE_ALIVE_WITHIN: time::Duration = time::Duration::seconds(60);

/// One signing key with its age.
#[derive(Debug, Clone)]
pub struct KeyAge {
    /// The JWT `kid`.
    pub kid: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When a newer key replaced it (it still verifies tokens until they expire).
    pub retired_at: Option<OffsetDateTime>,
    /// Whole days since it was created.
    pub age_days: i64,
    /// Whether it is the signing key and older than the configured maximum age.
    pub overdue: bool,
}

/// Totals of the job queue over every kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueTotals {
    /// Queued and due now.
    pub due: u64,
    /// Queued for later.
    pub scheduled: u64,
    /// Running.
    pub running: u64,
    /// Failed permanently.
    pub failed: u64,
    /// Dead-lettered.
    pub dead: u64,
}

impl QueueTotals {
    /// Sums the per-kind depths.
    pub fn of(depths: &[KindDepth]) -> Self {
        depths.iter().fold(Self::default(), |a, d| Self {
            due: a.due + d.due,
            scheduled: a.scheduled + d.scheduled,
            running: a.running + d.running,
            failed: a.failed + d.failed,
            dead: a.dead + d.dead,
        })
    }
}

/// What the administration page shows about the platform.
#[derive(Debug)]
pub struct SystemHealth {
    /// The storage engine.
    pub backend: Backend,
    /// The database round trip, or why it failed.
    pub database: Result<Duration, StoreError>,
    /// Applied and pending migrations (`(applied, total)`).
    pub migrations: Result<(usize, usize), StoreError>,
    /// Instances that heart-beat recently.
    pub instances: Result<Vec<Instance>, StoreError>,
    /// The job queue over every kind.
    pub queue: Result<QueueTotals, StoreError>,
    /// The e-mail outbox.
    pub outbox: Result<OutboxDepth, StoreError>,
    /// Signing keys of the last year, newest first.
    pub keys: Result<Vec<KeyAge>, StoreError>,
    /// Gyms waiting for approval.
    pub pending_gyms: Result<u64, StoreError>,
    /// The configured maximum key age, in days.
    pub key_max_age_days: i64,
}

impl SystemHealth {
    /// Whether every part answered and nothing needs a look (no pending migration, no
    /// dead-lettered job, no failed e-mail, no overdue key).
    pub fn all_good(&self) -> bool {
        self.database.is_ok()
            && matches!(self.migrations, Ok((a, t)) if a == t)
            && matches!(&self.instances, Ok(v) if !v.is_empty())
            && matches!(self.queue, Ok(q) if q.dead == 0)
            && matches!(self.outbox, Ok(o) if o.failed == 0)
            && matches!(&self.keys, Ok(k) if !k.iter().any(|k| k.overdue))
    }
}

/// Reads the platform's health (super admins only: the caller authorizes).
pub async fn health(store: &dyn Store, key_max_age: time::Duration) -> SystemHealth {
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    let database = store.ping().await.map(|()| started.elapsed());
    let migrations = store.migrations().await.map(|m| {
        let applied = m.iter().filter(|m| m.applied).count();
        (applied, m.len())
    });
    let instances = store.list_instances(INSTANCE_ALIVE_WITHIN).await;
    let queue = store.queue_depth().await.map(|d| QueueTotals::of(&d));
    let outbox = store.outbox_depth().await;
    let keys = store
        .signing_keys(now - time::Duration::days(366))
        .await
        .map(|keys| key_ages(keys, now, key_max_age));
    let pending_gyms = store
        .list_gyms(
            &jarvis_core::Scope::Platform,
            &GymFilter {
                status: Some(GymStatus::Pending),
                ..Default::default()
            },
            PageRequest {
                limit: 1,
                offset: 0,
            },
        )
        .await
        .map(|p| p.total);
    SystemHealth {
        backend: store.backend(),
        database,
        migrations,
        instances,
        queue,
        outbox,
        keys,
        pending_gyms,
        key_max_age_days: key_max_age.whole_days(),
    }
}

/// Ages of `keys`, newest first; only the signing one (not retired) can be overdue.
fn key_ages(
    mut keys: Vec<jarvis_store::SigningKeyRecord>,
    now: OffsetDateTime,
    max: time::Duration,
) -> Vec<KeyAge> {
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    keys.into_iter()
        .map(|k| {
            let age = now - k.created_at;
            KeyAge {
                overdue: k.retired_at.is_none() && age > max,
                age_days: age.whole_days(),
                kid: k.kid,
                created_at: k.created_at,
                retired_at: k.retired_at,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(
        kid: &str,
        days_old: i64,
        retired: bool,
        now: OffsetDateTime,
    ) -> jarvis_store::SigningKeyRecord {
        jarvis_store::SigningKeyRecord {
            kid: kid.into(),
            algorithm: "RS256".into(),
            private_key_enc: String::new(),
            public_n: String::new(),
            public_e: String::new(),
            created_at: now - time::Duration::days(days_old),
            retired_at: retired.then_some(now),
        }
    }

    #[test]
    fn only_the_signing_key_can_be_overdue_and_newest_comes_first() {
        let now = OffsetDateTime::now_utc();
        let max = time::Duration::days(182);
        let ages = key_ages(
            vec![key("old", 300, true, now), key("cur", 200, false, now)],
            now,
            max,
        );
        assert_eq!(ages[0].kid, "cur");
        assert!(ages[0].overdue, "the signing key is past 182 days");
        assert_eq!(ages[0].age_days, 200);
        assert!(!ages[1].overdue, "a retired key is never overdue");
        let young = key_ages(vec![key("cur", 10, false, now)], now, max);
        assert!(!young[0].overdue);
    }

    #[test]
    fn queue_totals_sum_every_kind() {
        let d = |due, dead| KindDepth {
            kind: "k".into(),
            due,
            scheduled: 1,
            running: 0,
            failed: 2,
            dead,
            next_run_after: None,
        };
        let t = QueueTotals::of(&[d(3, 0), d(4, 5)]);
        assert_eq!(
            t,
            QueueTotals {
                due: 7,
                scheduled: 2,
                running: 0,
                failed: 4,
                dead: 5
            }
        );
    }
}
