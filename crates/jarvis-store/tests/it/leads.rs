//! Conformance of `LeadStore` on both backends: a lead is stored once per (gym, event id) even
//! under concurrent deliveries, the key lookup of the `webhook` context finds the gym of a key
//! id (and a rotation replaces it), listing filters by status, status changes are audited, and
//! another gym's scope sees and changes nothing.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;

type S = Arc<dyn Store>;

async fn handle(db: &TestDb) -> S {
    jarvis_store::connect(&ConnectOptions {
        acquire_timeout: std::time::Duration::from_secs(120),
        ..ConnectOptions::new(db.url())
    })
    .await
    .unwrap()
}

fn page() -> PageRequest {
    PageRequest::new(Some(50), None).unwrap()
}

async fn gym(s: &S, name: &str) -> (GymId, Scope) {
    let (g, scope) = jarvis_store::testing::active_gym(s.as_ref(), name, name).await;
    (g.id, scope)
}

fn lead(event: &str, name: &str) -> ValidLead {
    NewLead {
        event_id: event.into(),
        name: name.into(),
        email: Some("lead@example.com".into()),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

mod cases {
    use super::*;

    pub async fn one_lead_per_event_even_when_concurrent(db: &TestDb) {
        let s = handle(db).await;
        let (g, scope) = gym(&s, "Once").await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.record_lead(&scope, g, lead("evt-1", "Ada"), "h1")
                    .await
                    .unwrap()
            }));
        }
        let mut created = 0;
        let mut ids = std::collections::BTreeSet::new();
        // Every delivery answers the one stored lead.
        for t in tasks {
            let r = t.await.unwrap();
            created += usize::from(r.created);
            ids.insert(r.lead.id);
            assert_eq!(r.body_hash, "h1");
        }
        assert_eq!(created, 1);
        assert_eq!(ids.len(), 1);
        let p = s
            .list_leads(&scope, g, None, LeadSort::default(), page())
            .await
            .unwrap();
        assert_eq!(p.total, 1);
        assert_eq!(p.items[0].status, LeadStatus::New);
        // The same event id in another gym is another lead.
        let (g2, scope2) = gym(&s, "Twin").await;
        let r = s
            .record_lead(&scope2, g2, lead("evt-1", "Bo"), "h2")
            .await
            .unwrap();
        assert!(r.created);
    }

    pub async fn keys_are_found_by_id_and_rotated(db: &TestDb) {
        let s = handle(db).await;
        let (g, scope) = gym(&s, "Keys").await;
        assert!(s.lead_webhook(&scope, g).await.unwrap().is_none());
        s.put_lead_webhook(&scope, &Actor::cli(), g, "lk_one", "sealed1")
            .await
            .unwrap();
        let k = s.lead_webhook_by_key("lk_one").await.unwrap().unwrap();
        assert_eq!((k.gym_id, k.sealed_secret.as_str()), (g, "sealed1"));
        assert_eq!(Some(k.franchise_id), scope.franchise());
        s.put_lead_webhook(&scope, &Actor::cli(), g, "lk_two", "sealed2")
            .await
            .unwrap();
        assert!(s.lead_webhook_by_key("lk_one").await.unwrap().is_none());
        assert_eq!(
            s.lead_webhook(&scope, g).await.unwrap().unwrap().key_id,
            "lk_two"
        );
        // Another gym's scope cannot set this gym's key.
        let (_, other) = gym(&s, "Other").await;
        assert!(matches!(
            s.put_lead_webhook(&other, &Actor::cli(), g, "lk_x", "s")
                .await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn status_changes_are_scoped_and_audited(db: &TestDb) {
        let s = handle(db).await;
        let (g, scope) = gym(&s, "Status").await;
        let (g2, other) = gym(&s, "Elsewhere").await;
        let l = s
            .record_lead(&scope, g, lead("evt-s", "Cy"), "h")
            .await
            .unwrap()
            .lead;
        s.record_lead(&scope, g, lead("evt-t", "Di"), "h")
            .await
            .unwrap();
        for (sc, gy) in [(other, g), (other, g2)] {
            assert!(matches!(
                s.set_lead_status(&sc, &Actor::cli(), gy, l.id, LeadStatus::Converted)
                    .await,
                Err(StoreError::NotFound(_))
            ));
            assert!(s.lead(&sc, gy, l.id).await.is_err());
        }
        assert!(
            s.list_leads(&other, g, None, LeadSort::default(), page())
                .await
                .is_err_or_empty()
        );
        let c = s
            .set_lead_status(&scope, &Actor::cli(), g, l.id, LeadStatus::Contacted)
            .await
            .unwrap();
        assert_eq!(c.status, LeadStatus::Contacted);
        assert!(c.updated_at >= l.updated_at);
        let only = s
            .list_leads(
                &scope,
                g,
                Some(LeadStatus::Contacted),
                LeadSort::default(),
                page(),
            )
            .await
            .unwrap();
        assert_eq!((only.total, only.items[0].id), (1, l.id));
        let audit = s
            .list_audit(
                &scope,
                &AuditFilter {
                    action: Some("lead.status".into()),
                    ..Default::default()
                },
                page(),
            )
            .await
            .unwrap();
        assert!(
            audit.items.iter().any(|e| e.action == "lead.status"
                && e.target_id.as_deref() == Some(l.id.to_string().as_str())),
            "{audit:?}"
        );
    }

    /// A foreign scope's list is refused or empty, never the other gym's rows.
    trait ErrOrEmpty {
        fn is_err_or_empty(&self) -> bool;
    }
    impl ErrOrEmpty for StoreResult<Page<Lead>> {
        fn is_err_or_empty(&self) -> bool {
            self.as_ref()
                .map_or(true, |p| p.total == 0 && p.items.is_empty())
        }
    }
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::postgres().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
    };
}

both_backends!(
    one_lead_per_event_even_when_concurrent,
    keys_are_found_by_id_and_rotated,
    status_changes_are_scoped_and_audited,
);
