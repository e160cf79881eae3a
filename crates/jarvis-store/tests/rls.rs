//! PostgreSQL only: the row-level security policies stop cross-tenant reads and writes even
//! when the query carries no tenant filter at all, and both schemas have the same shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;

async fn setup(s: &dyn Store) -> (Gym, Gym, Member, Member) {
    let a = Actor::cli();
    let mk_f = |n: &str| NewFranchise { name: n.into() };
    let fa = s
        .create_franchise(&Scope::Platform, &a, mk_f("A"))
        .await
        .unwrap();
    let fb = s
        .create_franchise(&Scope::Platform, &a, mk_f("B"))
        .await
        .unwrap();
    let mk_g = |f: FranchiseId, n: &str| NewGym {
        franchise_id: f,
        name: n.into(),
        address: None,
        timezone: "UTC".into(),
        locale: Locale::En,
        settings: serde_json::json!({}),
    };
    let ga = s
        .create_gym(&Scope::Platform, &a, mk_g(fa.id, "GA"), GymStatus::Active)
        .await
        .unwrap();
    let gb = s
        .create_gym(&Scope::Platform, &a, mk_g(fb.id, "GB"), GymStatus::Active)
        .await
        .unwrap();
    let mk_m = |b: &str| NewMember {
        badge_id: b.into(),
        first_name: "N".into(),
        last_name: "M".into(),
        email: None,
        phone: None,
        birth_date: None,
        preferred_language: Locale::En,
        membership_type: "standard".into(),
        membership_status: MembershipStatus::Active,
        membership_end_date: None,
        goals: vec![],
        limitations: None,
        consent_voice: false,
        consent_transcripts: false,
    };
    let ma = s
        .create_member(&Scope::Platform, &a, ga.id, mk_m("A"))
        .await
        .unwrap();
    let mb = s
        .create_member(&Scope::Platform, &a, gb.id, mk_m("B"))
        .await
        .unwrap();
    (ga, gb, ma, mb)
}

#[tokio::test]
async fn policies_alone_stop_cross_tenant_reads_and_writes() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let pg = db.pg().unwrap();
    let (ga, gb, _ma, mb) = setup(&*db.store()).await;
    let scope_a = Scope::Gym {
        franchise: ga.franchise_id,
        gym: ga.id,
    };

    // Reads with no WHERE clause at all: only tenant A's rows come back.
    let mut tx = pg.begin_scoped(&scope_a).await.unwrap();
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT gym_id FROM members")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(ids, vec![ga.id.as_uuid()]);
    let gyms: i64 = sqlx::query_scalar("SELECT count(*) FROM gyms")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(gyms, 1);
    let franchises: i64 = sqlx::query_scalar("SELECT count(*) FROM franchises")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(franchises, 1);
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE gym_id = $1")
        .bind(gb.id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(audit, 0);

    // Writes aimed at tenant B by id: invisible, so nothing changes.
    let updated = sqlx::query("UPDATE members SET first_name = 'pwned' WHERE id = $1")
        .bind(mb.id.as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let deleted = sqlx::query("DELETE FROM members")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        deleted.rows_affected(),
        1,
        "only A's own member is reachable"
    );
    tx.rollback().await.unwrap();

    // Inserting a row into tenant B is refused by WITH CHECK.
    let mut tx = pg.begin_scoped(&scope_a).await.unwrap();
    let insert = sqlx::query(
        "INSERT INTO members (id, gym_id, franchise_id, badge_id, first_name, last_name, preferred_language, \
         membership_type, membership_status, created_at, updated_at) \
         VALUES ($1, $2, $3, 'EVIL', 'E', 'V', 'en', 'standard', 'active', now(), now())",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(gb.id.as_uuid())
    .bind(gb.franchise_id.as_uuid())
    .execute(&mut *tx)
    .await;
    let err = insert.expect_err("row-level security must refuse a foreign insert");
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // Moving a visible row into tenant B is refused too.
    let mut tx = pg.begin_scoped(&scope_a).await.unwrap();
    let moved = sqlx::query("UPDATE members SET gym_id = $1, franchise_id = $2")
        .bind(gb.id.as_uuid())
        .bind(gb.franchise_id.as_uuid())
        .execute(&mut *tx)
        .await;
    assert!(
        moved.is_err(),
        "WITH CHECK refuses moving a row out of the tenant"
    );
    tx.rollback().await.unwrap();

    // B's member is untouched.
    let sb = Scope::Gym {
        franchise: gb.franchise_id,
        gym: gb.id,
    };
    assert_eq!(
        db.store()
            .member(&sb, gb.id, mb.id)
            .await
            .unwrap()
            .first_name,
        "N"
    );
}

#[tokio::test]
async fn no_scope_sees_nothing_and_app_role_is_not_owner() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let pg = db.pg().unwrap();
    setup(&*db.store()).await;
    let mut tx = pg.pool().begin().await.unwrap();
    sqlx::query("SELECT set_config('role', 'jarvis_app', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0, "an unset scope sees nothing");
    let bypass: bool = sqlx::query_scalar(
        "SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert!(!bypass);
    let forced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relname IN ('franchises','gyms','memberships','members','kiosks','audit_log') \
         AND relrowsecurity AND relforcerowsecurity",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(forced, 6, "every tenant table has FORCE ROW LEVEL SECURITY");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let lite = TestDb::sqlite().await.unwrap();
    let a = pg.store().schema().await.unwrap();
    let b = lite.store().schema().await.unwrap();
    assert!(a.contains_key("members") && a.len() >= 7, "{a:?}");
    assert_eq!(a, b, "PostgreSQL and SQLite schemas differ");
}
