//! Churn risk: the daily `churn.score` job scores every active member of every gym with
//! [`jarvis_core::churn::assess`] and stores the score with its factors (one row per member,
//! replaced each day), in batches of [`BATCH`] members per transaction; the member page and the
//! gym's churn list read them back.

use crate::AppResult;
use jarvis_core::authz::Action;
use jarvis_core::churn::{ChurnLevel, ChurnListEntry, MemberChurn, assess};
use jarvis_core::{GymId, MemberId, Page, PageRequest, Scope};
use jarvis_store::{GymFilter, NewChurnScore, Store};
use time::OffsetDateTime;

/// Reading churn scores: whoever may read the gym's members.
pub const READ: Action = Action::MemberRead;

/// Members scored and stored per transaction.
pub const BATCH: u32 = 200;

/// What one scoring run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChurnRun {
    /// Gyms visited.
    pub gyms: u64,
    /// Members scored.
    pub members: u64,
    /// Of them, at the `high` level.
    pub high: u64,
}

/// Scores the active members of one gym as of `now`; stops between batches when `stop()`.
pub async fn score_gym(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    now: OffsetDateTime,
    stop: &impl Fn() -> bool,
) -> AppResult<ChurnRun> {
    let mut run = ChurnRun {
        gyms: 1,
        ..Default::default()
    };
    let mut after: Option<MemberId> = None;
    while !stop() {
        let batch = store.churn_signals(scope, gym, now, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.member_id);
        let scores: Vec<NewChurnScore> = batch
            .iter()
            .map(|s| NewChurnScore {
                member_id: s.member_id,
                assessment: assess(s, now),
            })
            .collect();
        run.high += scores
            .iter()
            .filter(|s| s.assessment.level == ChurnLevel::High)
            .count() as u64;
        run.members += store.put_churn_scores(scope, gym, now, &scores).await?;
        if batch.len() < BATCH as usize {
            break;
        }
        // Other writers get the lock between batches (SQLite has one writer).
        tokio::task::yield_now().await;
    }
    Ok(run)
}

/// Scores every active gym's active members as of `now` (the `churn.score` job).
pub async fn score_all(
    store: &dyn Store,
    now: OffsetDateTime,
    stop: impl Fn() -> bool,
) -> AppResult<ChurnRun> {
    let mut total = ChurnRun::default();
    let mut offset = 0u64;
    let filter = GymFilter {
        status: Some(jarvis_core::model::GymStatus::Active),
        ..Default::default()
    };
    loop {
        let gyms = store
            .list_gyms(
                &Scope::Platform,
                &filter,
                PageRequest { limit: 200, offset },
            )
            .await?;
        for g in &gyms.items {
            if stop() {
                return Ok(total);
            }
            let scope = Scope::Gym {
                franchise: g.franchise_id,
                gym: g.id,
            };
            let r = score_gym(store, &scope, g.id, now, &stop).await?;
            total.gyms += r.gyms;
            total.members += r.members;
            total.high += r.high;
        }
        offset += gyms.items.len() as u64;
        if gyms.items.is_empty() || offset >= gyms.total {
            break;
        }
    }
    Ok(total)
}

/// A member's stored score, if the job has scored them.
pub async fn member(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    member: MemberId,
) -> AppResult<Option<MemberChurn>> {
    Ok(store.member_churn(scope, gym, member).await?)
}

/// A gym's churn list in `sort` order (highest score first by default).
pub async fn list(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    min_level: Option<ChurnLevel>,
    sort: jarvis_store::ChurnSort,
    page: PageRequest,
) -> AppResult<Page<ChurnListEntry>> {
    Ok(store.list_churn(scope, gym, min_level, sort, page).await?)
}
