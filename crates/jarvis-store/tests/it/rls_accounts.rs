//! PostgreSQL only: row-level security holds for the tenant-tagged account tables (invitations,
//! auth events) even with the application's own filters left out.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use time::{Duration, OffsetDateTime};

async fn gym(s: &dyn Store, name: &str) -> Gym {
    let a = Actor::cli();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: name.into() })
        .await
        .unwrap();
    let new = NewGym {
        franchise_id: f.id,
        name: format!("{name} gym"),
        address: None,
        timezone: "UTC".into(),
        locale: Locale::En,
        settings: serde_json::json!({}),
    };
    s.create_gym(&Scope::Platform, &a, new, GymStatus::Active)
        .await
        .unwrap()
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn invitations_and_auth_events_stay_in_their_tenant() {
        let db = TestDb::postgres().await.unwrap();
        let pg = db.pg().unwrap();
        let s = db.store();
        let (ga, gb) = (gym(&*s, "A").await, gym(&*s, "B").await);
        let scope = |g: &Gym| Scope::Gym {
            franchise: g.franchise_id,
            gym: g.id,
        };
        for (g, hash) in [(&ga, "ta"), (&gb, "tb")] {
            s.create_invitation(
                &scope(g),
                &Actor::cli(),
                NewInvitation {
                    email: format!("{hash}@x.test"),
                    display_name: "N".into(),
                    role: Role::GymStaff,
                    target: MembershipTarget::Gym(g.franchise_id, g.id),
                    token_hash: hash.into(),
                    expires_at: OffsetDateTime::now_utc() + Duration::days(1),
                },
            )
            .await
            .unwrap();
            s.record_auth_event(NewAuthEvent {
                event: "invitation.accepted".into(),
                franchise_id: Some(g.franchise_id),
                gym_id: Some(g.id),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        // An untagged sign-in event: platform only.
        s.record_auth_event(NewAuthEvent {
            event: "login.failure".into(),
            ..Default::default()
        })
        .await
        .unwrap();

        let mut tx = pg.begin_scoped(&scope(&ga)).await.unwrap();
        let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM invitations")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(hashes, vec!["ta".to_string()]);
        let events: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_events")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(
            events, 1,
            "only A's tagged event; untagged sign-ins stay platform-only"
        );
        let n = sqlx::query("UPDATE invitations SET revoked_at = now() WHERE token_hash = 'tb'")
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(n, 0, "B's invitation is invisible to A");
        tx.rollback().await.unwrap();

        // Writing an invitation into B from A's scope is refused by the policy.
        let mut tx = pg.begin_scoped(&scope(&ga)).await.unwrap();
        let r = sqlx::query(
        "INSERT INTO invitations (id, email, display_name, role, franchise_id, gym_id, token_hash, created_at, expires_at) \
         VALUES ($1, 'z@x.test', 'Z', 'gym_staff', $2, $3, 'tz', now(), now() + interval '1 day')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(gb.franchise_id.as_uuid())
    .bind(gb.id.as_uuid())
    .execute(&mut *tx)
    .await;
        assert!(r.is_err(), "cross-tenant insert must fail");
    }
}
