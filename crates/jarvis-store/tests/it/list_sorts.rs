//! The dashboard lists' orders on SQLite and PostgreSQL: every whitelisted order of a paged
//! list, read one row per page, gives the expected rows in the expected order, with equal keys
//! broken by the id so pages never repeat or skip a row.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;

type S = Arc<dyn Store>;

fn one(off: u64) -> PageRequest {
    PageRequest::new(Some(1), Some(off)).unwrap()
}

async fn franchise(s: &S) -> FranchiseId {
    s.create_franchise(
        &Scope::Platform,
        &Actor::cli(),
        NewFranchise {
            name: format!("F{}", uuid::Uuid::now_v7()),
        },
    )
    .await
    .unwrap()
    .id
}

async fn gym(s: &S, f: FranchiseId, name: &str, status: GymStatus) -> GymId {
    let g = s
        .create_gym(
            &Scope::Platform,
            &Actor::cli(),
            NewGym {
                franchise_id: f,
                name: name.into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::Fr,
                settings: serde_json::json!({}),
            }
            .validate()
            .unwrap(),
            status,
        )
        .await
        .unwrap();
    // Distinct creation times, so the date orders are not decided by the tiebreak alone.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    g.id
}

/// Reads a list one row per page, one page past its end, and collects the rows' ids: the
/// order a pager shows. Every page counts `total` rows, and no row repeats or is skipped.
async fn one_per_page<T, I, Fut>(
    total: u64,
    read: impl Fn(PageRequest) -> Fut,
    id: impl Fn(T) -> I,
) -> Vec<I>
where
    Fut: std::future::Future<Output = StoreResult<Page<T>>>,
{
    let mut out = Vec::new();
    for off in 0..=total {
        let p = read(one(off)).await.unwrap();
        assert_eq!(p.total, total);
        out.extend(p.items.into_iter().map(&id));
    }
    assert_eq!(
        out.len() as u64,
        total,
        "one row per page, the last page empty"
    );
    out
}

/// `(smaller, larger)` of two ids: the tiebreak order of equal keys.
fn by_id<T: Ord + Copy>(a: T, b: T) -> (T, T) {
    if a < b { (a, b) } else { (b, a) }
}

mod cases {
    use super::*;

    /// Gyms by name (both ways), by status then name, and by creation date.
    pub async fn gym_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        // Names are unique in a franchise: the two "Alpha" gyms (equal names, broken by the id)
        // are in two franchises, read in the platform scope and narrowed by a search.
        let (f1, f2) = (franchise(&s).await, franchise(&s).await);
        let tag = format!("t{}", uuid::Uuid::now_v7().simple());
        let bravo = gym(&s, f1, &format!("Bravo {tag}"), GymStatus::Active).await;
        let alpha_pending = gym(&s, f1, &format!("Alpha {tag}"), GymStatus::Pending).await;
        let alpha_active = gym(&s, f2, &format!("Alpha {tag}"), GymStatus::Active).await;
        let (s, tag) = (&s, &tag);
        let order = |sort: GymSort| async move {
            let f = GymFilter {
                q: Some(tag.clone()),
                sort,
                ..Default::default()
            };
            one_per_page(3, |p| s.list_gyms(&Scope::Platform, &f, p), |g| g.id).await
        };
        let (lo, hi) = by_id(alpha_pending, alpha_active);
        assert_eq!(order(GymSort::Name).await, [lo, hi, bravo]);
        assert_eq!(order(GymSort::NameDesc).await, [bravo, hi, lo]);
        // `active` < `pending`; equal statuses by name.
        assert_eq!(
            order(GymSort::Status).await,
            [alpha_active, bravo, alpha_pending]
        );
        assert_eq!(
            order(GymSort::StatusDesc).await,
            [alpha_pending, alpha_active, bravo]
        );
        assert_eq!(
            order(GymSort::CreatedDesc).await,
            [alpha_active, alpha_pending, bravo]
        );
        assert_eq!(
            order(GymSort::Created).await,
            [bravo, alpha_pending, alpha_active]
        );
        // Unknown keys are the default order.
        assert_eq!(GymSort::parse("name; DROP TABLE gyms"), GymSort::Name);
        assert_eq!(GymSort::parse("status_desc"), GymSort::StatusDesc);
    }

    /// The audit log newest first (default) and oldest first.
    pub async fn audit_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym(&s, f, "Audit", GymStatus::Active).await;
        let scope = Scope::Gym {
            franchise: f,
            gym: g,
        };
        let action = format!("test.sort_{}", uuid::Uuid::now_v7().simple());
        let mut ids = Vec::new();
        for i in 0..3 {
            let e = s
                .record_audit(
                    &scope,
                    NewAuditEntry {
                        actor_kind: "cli".into(),
                        actor_user_id: None,
                        franchise_id: Some(f),
                        gym_id: Some(g),
                        action: action.clone(),
                        target_type: "test".into(),
                        target_id: Some(i.to_string()),
                        ip: None,
                        user_agent: None,
                        details: serde_json::json!({}),
                    },
                )
                .await
                .unwrap();
            ids.push(e.id);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (s, action) = (&s, &action);
        let order = |sort: AuditSort| async move {
            let f = AuditFilter {
                action: Some(action.clone()),
                sort,
                ..Default::default()
            };
            one_per_page(3, |p| s.list_audit(&scope, &f, p), |e| e.id).await
        };
        assert_eq!(order(AuditSort::AtDesc).await, [ids[2], ids[1], ids[0]]);
        assert_eq!(order(AuditSort::At).await, [ids[0], ids[1], ids[2]]);
        assert_eq!(AuditSort::parse("at"), AuditSort::At);
        assert_eq!(AuditSort::parse("at desc"), AuditSort::AtDesc);
    }

    /// Leads newest first (default), oldest first, and by status in follow-up order.
    pub async fn lead_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym(&s, f, "Leads", GymStatus::Active).await;
        let scope = Scope::Gym {
            franchise: f,
            gym: g,
        };
        let mut ids = Vec::new();
        for i in 0..3 {
            let r = s
                .record_lead(
                    &scope,
                    g,
                    ValidLead {
                        event_id: format!("evt-{i}"),
                        name: format!("Lead {i}"),
                        email: None,
                        phone: None,
                        message: None,
                        source: None,
                    },
                    &format!("{i:064}"),
                )
                .await
                .unwrap();
            ids.push(r.lead.id);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        s.set_lead_status(&scope, &Actor::cli(), g, ids[2], LeadStatus::Converted)
            .await
            .unwrap();
        s.set_lead_status(&scope, &Actor::cli(), g, ids[0], LeadStatus::Contacted)
            .await
            .unwrap();
        let s = &s;
        let order = |sort: LeadSort| async move {
            one_per_page(3, |p| s.list_leads(&scope, g, None, sort, p), |l| l.id).await
        };
        assert_eq!(order(LeadSort::CreatedDesc).await, [ids[2], ids[1], ids[0]]);
        assert_eq!(order(LeadSort::Created).await, [ids[0], ids[1], ids[2]]);
        assert_eq!(order(LeadSort::Status).await, [ids[1], ids[0], ids[2]]);
        assert_eq!(LeadSort::parse("status"), LeadSort::Status);
        assert_eq!(LeadSort::parse("status;"), LeadSort::CreatedDesc);
    }

    /// The churn list by score (both ways, equal scores by name) and by name, the member id
    /// breaking ties of equal names.
    pub async fn churn_sorts_are_stable(db: &TestDb) {
        use jarvis_core::churn::{ChurnAssessment, ChurnLevel};
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym(&s, f, "Churn", GymStatus::Active).await;
        let scope = Scope::Gym {
            franchise: f,
            gym: g,
        };
        let mut ids = Vec::new();
        // (last name, score): two members share a score, two share a name.
        for (i, (last, score)) in [("Zola", 50_u8), ("Adam", 50), ("Moreau", 80), ("Adam", 10)]
            .into_iter()
            .enumerate()
        {
            let m = s
                .create_member(
                    &scope,
                    &Actor::cli(),
                    g,
                    NewMember {
                        badge_id: format!("B-{i}"),
                        first_name: "Sam".into(),
                        last_name: last.into(),
                        email: None,
                        phone: None,
                        birth_date: None,
                        preferred_language: Locale::Fr,
                        membership_type: "standard".into(),
                        membership_status: MembershipStatus::Active,
                        membership_end_date: None,
                        goals: vec![],
                        limitations: None,
                        consent_voice: false,
                        consent_transcripts: false,
                    },
                )
                .await
                .unwrap();
            ids.push((m.id, score));
        }
        let level = |score: u8| match score {
            0..=29 => ChurnLevel::Low,
            30..=69 => ChurnLevel::Medium,
            _ => ChurnLevel::High,
        };
        let scores: Vec<NewChurnScore> = ids
            .iter()
            .map(|(m, score)| NewChurnScore {
                member_id: *m,
                assessment: ChurnAssessment {
                    score: *score,
                    level: level(*score),
                    factors: vec![],
                },
            })
            .collect();
        s.put_churn_scores(&scope, g, time::OffsetDateTime::now_utc(), &scores)
            .await
            .unwrap();
        let s = &s;
        let order = |sort: ChurnSort| async move {
            one_per_page(
                4,
                |p| s.list_churn(&scope, g, None, sort, p),
                |e| e.churn.member_id,
            )
            .await
        };
        let [zola, adam50, moreau, adam10] = [ids[0].0, ids[1].0, ids[2].0, ids[3].0];
        assert_eq!(
            order(ChurnSort::ScoreDesc).await,
            [moreau, adam50, zola, adam10]
        );
        assert_eq!(
            order(ChurnSort::Score).await,
            [adam10, adam50, zola, moreau]
        );
        let (a_lo, a_hi) = by_id(adam50, adam10);
        assert_eq!(order(ChurnSort::Name).await, [a_lo, a_hi, moreau, zola]);
        assert_eq!(ChurnSort::parse("name"), ChurnSort::Name);
        assert_eq!(ChurnSort::parse("c.score"), ChurnSort::ScoreDesc);
    }

    /// Reports newest week first (default) and oldest week first.
    pub async fn report_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym(&s, f, "Reports", GymStatus::Active).await;
        let scope = Scope::Gym {
            franchise: f,
            gym: g,
        };
        let mut ids = Vec::new();
        for (week, starts) in [
            ("2026-W23", time::macros::datetime!(2026-06-01 00:00 UTC)),
            ("2026-W21", time::macros::datetime!(2026-05-18 00:00 UTC)),
            ("2026-W22", time::macros::datetime!(2026-05-25 00:00 UTC)),
        ] {
            let id = ReportId::new();
            s.record_report(
                &scope,
                NewReport {
                    id,
                    gym_id: g,
                    week: week.into(),
                    starts_at: starts,
                    object_key: format!("reports/{g}/{week}.html"),
                    size_bytes: 10,
                },
                vec![],
            )
            .await
            .unwrap();
            ids.push(id);
        }
        let s = &s;
        let order = |sort: ReportSort| async move {
            one_per_page(3, |p| s.list_reports(&scope, g, sort, p), |r| r.id).await
        };
        assert_eq!(order(ReportSort::WeekDesc).await, [ids[0], ids[2], ids[1]]);
        assert_eq!(order(ReportSort::Week).await, [ids[1], ids[2], ids[0]]);
        assert_eq!(ReportSort::parse("week"), ReportSort::Week);
        assert_eq!(ReportSort::parse(""), ReportSort::WeekDesc);
    }

    /// The team list by name (equal names by e-mail), by e-mail, and by account state (active
    /// or disabled first, then name), both ways.
    pub async fn user_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym(&s, f, "Team", GymStatus::Active).await;
        let scope = Scope::Gym {
            franchise: f,
            gym: g,
        };
        let mut ids = Vec::new();
        // Two "Alice" (equal names, ordered by e-mail); e-mails and names disagree.
        for (name, email) in [
            ("Carol", "a@x.test"),
            ("Alice", "c@x.test"),
            ("Alice", "b@x.test"),
        ] {
            let u = s
                .create_user(
                    &Actor::cli(),
                    NewUser {
                        email: email.into(),
                        display_name: name.into(),
                        locale: Locale::En,
                        password_hash: None,
                    }
                    .validate()
                    .unwrap(),
                    Some((Role::GymStaff, MembershipTarget::Gym(f, g))),
                )
                .await
                .unwrap();
            ids.push(u.id);
        }
        let [carol, alice_c, alice_b] = [ids[0], ids[1], ids[2]];
        s.set_user_disabled(&scope, &Actor::cli(), alice_b, true)
            .await
            .unwrap();
        let s = &s;
        let order = |sort: UserSort| async move {
            let f = UserFilter {
                sort,
                ..Default::default()
            };
            one_per_page(3, |p| s.list_users(&scope, &f, p), |m| m.user.id).await
        };
        assert_eq!(order(UserSort::Name).await, [alice_b, alice_c, carol]);
        assert_eq!(order(UserSort::NameDesc).await, [carol, alice_c, alice_b]);
        assert_eq!(order(UserSort::Email).await, [carol, alice_b, alice_c]);
        assert_eq!(order(UserSort::EmailDesc).await, [alice_c, alice_b, carol]);
        assert_eq!(order(UserSort::State).await, [alice_c, carol, alice_b]);
        assert_eq!(order(UserSort::StateDesc).await, [alice_b, alice_c, carol]);
        assert_eq!(UserSort::parse("email_desc"), UserSort::EmailDesc);
        assert_eq!(UserSort::parse("disabled_at"), UserSort::Name);
    }

    /// A gym's simulation runs newest or oldest first, by status (newest first within one)
    /// and by cost, equal costs broken by the id.
    pub async fn simulation_run_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let f = franchise(&s).await;
        let g = gym(&s, f, "Sims", GymStatus::Active).await;
        let scope = Scope::Gym {
            franchise: f,
            gym: g,
        };
        // (passed, cost, error, finished): passed, failed, error, still running.
        let mut ids = Vec::new();
        for (passed, cost, error, finish) in [
            (Some(true), 300_u64, None, true),
            (Some(false), 100, None, true),
            (None, 0, Some("boom"), true),
            (Some(true), 300, None, false),
        ] {
            let run = s.start_simulation(&scope, g).await.unwrap();
            if let Some(passed) = passed {
                s.add_simulation_result(
                    &scope,
                    &SimulationResult {
                        run_id: run.id,
                        seq: 0,
                        scenario: "Horaires".into(),
                        passed,
                        checks: vec![],
                        transcript: vec![],
                        tool_calls: vec![],
                        cost_pico: cost,
                    },
                )
                .await
                .unwrap();
            }
            if finish {
                s.finish_simulation(&scope, run.id, error).await.unwrap();
            }
            ids.push(run.id);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let [passed, failed, error, running] = [ids[0], ids[1], ids[2], ids[3]];
        let s = &s;
        let order = |sort: SimulationRunSort| async move {
            one_per_page(4, |p| s.list_simulation_runs(&scope, g, sort, p), |r| r.id).await
        };
        assert_eq!(
            order(SimulationRunSort::StartedDesc).await,
            [running, error, failed, passed]
        );
        assert_eq!(
            order(SimulationRunSort::Started).await,
            [passed, failed, error, running]
        );
        // `error` < `failed` < `passed` < `running`.
        assert_eq!(
            order(SimulationRunSort::Status).await,
            [error, failed, passed, running]
        );
        assert_eq!(
            order(SimulationRunSort::StatusDesc).await,
            [running, passed, failed, error]
        );
        let (lo, hi) = by_id(passed, running);
        assert_eq!(
            order(SimulationRunSort::CostDesc).await,
            [hi, lo, failed, error]
        );
        assert_eq!(
            order(SimulationRunSort::Cost).await,
            [error, failed, lo, hi]
        );
        assert_eq!(SimulationRunSort::parse("cost"), SimulationRunSort::Cost);
        assert_eq!(
            SimulationRunSort::parse("cost_pico DESC"),
            SimulationRunSort::StartedDesc
        );
    }

    /// The job run history newest or oldest first, by kind (newest first within one) and by
    /// duration, runs still going last both ways.
    pub async fn job_run_sorts_are_stable(db: &TestDb) {
        let s = db.store();
        let me = InstanceId::new();
        let lease = time::Duration::minutes(5);
        // (kind, how long it runs, ends): a long alpha, a short beta, an alpha still running.
        let mut jobs = Vec::new();
        for (kind, ms, ends) in [
            ("sort.alpha", 300_u64, true),
            ("sort.beta", 0, true),
            ("sort.alpha", 0, false),
        ] {
            let job = s
                .enqueue(NewJob::new(kind, serde_json::json!({})))
                .await
                .unwrap()
                .job;
            let mut got = s.claim(me, &[kind], 1, lease).await.unwrap();
            let claimed = got.pop().unwrap();
            assert_eq!(claimed.job.id, job.id);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            if ends {
                assert!(s.complete(&claimed.claim).await.unwrap());
            }
            jobs.push(job.id);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let [long, short, running] = [jobs[0], jobs[1], jobs[2]];
        let s = &s;
        let order = |sort: JobRunSort| async move {
            let f = JobRunFilter {
                sort,
                ..Default::default()
            };
            one_per_page(3, |p| s.job_runs(&f, p), |r| r.job_id).await
        };
        assert_eq!(order(JobRunSort::StartedDesc).await, [running, short, long]);
        assert_eq!(order(JobRunSort::Started).await, [long, short, running]);
        assert_eq!(order(JobRunSort::Kind).await, [running, long, short]);
        assert_eq!(order(JobRunSort::KindDesc).await, [short, running, long]);
        assert_eq!(
            order(JobRunSort::DurationDesc).await,
            [long, short, running]
        );
        assert_eq!(order(JobRunSort::Duration).await, [short, long, running]);
        assert_eq!(JobRunSort::parse("kind_desc"), JobRunSort::KindDesc);
        assert_eq!(JobRunSort::parse("duration_ms"), JobRunSort::StartedDesc);
    }
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::TestDb::postgres().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
    };
}

both_backends!(
    gym_sorts_are_stable,
    audit_sorts_are_stable,
    lead_sorts_are_stable,
    churn_sorts_are_stable,
    report_sorts_are_stable,
    user_sorts_are_stable,
    simulation_run_sorts_are_stable,
    job_run_sorts_are_stable,
);
