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
        let order = |sort: GymSort| {
            let s = s.clone();
            let tag = tag.clone();
            async move {
                let mut out = Vec::new();
                for off in 0..4 {
                    let p = s
                        .list_gyms(
                            &Scope::Platform,
                            &GymFilter {
                                q: Some(tag.clone()),
                                sort,
                                ..Default::default()
                            },
                            one(off),
                        )
                        .await
                        .unwrap();
                    assert_eq!(p.total, 3);
                    out.extend(p.items.into_iter().map(|g| g.id));
                }
                out
            }
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
        let order = |sort: AuditSort| {
            let s = s.clone();
            let action = action.clone();
            async move {
                let mut out = Vec::new();
                for off in 0..4 {
                    let p = s
                        .list_audit(
                            &scope,
                            &AuditFilter {
                                action: Some(action.clone()),
                                sort,
                                ..Default::default()
                            },
                            one(off),
                        )
                        .await
                        .unwrap();
                    assert_eq!(p.total, 3);
                    out.extend(p.items.into_iter().map(|e| e.id));
                }
                out
            }
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
        let order = |sort: LeadSort| {
            let s = s.clone();
            async move {
                let mut out = Vec::new();
                for off in 0..4 {
                    let p = s.list_leads(&scope, g, None, sort, one(off)).await.unwrap();
                    assert_eq!(p.total, 3);
                    out.extend(p.items.into_iter().map(|l| l.id));
                }
                out
            }
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
        let order = |sort: ChurnSort| {
            let s = s.clone();
            async move {
                let mut out = Vec::new();
                for off in 0..5 {
                    let p = s.list_churn(&scope, g, None, sort, one(off)).await.unwrap();
                    assert_eq!(p.total, 4);
                    out.extend(p.items.into_iter().map(|e| e.churn.member_id));
                }
                out
            }
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
        let order = |sort: ReportSort| {
            let s = s.clone();
            async move {
                let mut out = Vec::new();
                for off in 0..4 {
                    let p = s.list_reports(&scope, g, sort, one(off)).await.unwrap();
                    assert_eq!(p.total, 3);
                    out.extend(p.items.into_iter().map(|r| r.id));
                }
                out
            }
        };
        assert_eq!(order(ReportSort::WeekDesc).await, [ids[0], ids[2], ids[1]]);
        assert_eq!(order(ReportSort::Week).await, [ids[1], ids[2], ids[0]]);
        assert_eq!(ReportSort::parse("week"), ReportSort::Week);
        assert_eq!(ReportSort::parse(""), ReportSort::WeekDesc);
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
);
