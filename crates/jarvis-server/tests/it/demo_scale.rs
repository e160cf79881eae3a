//! `jarvis demo seed --scale N` at a small N (two batches) on both backends: the rows it writes (members,
//! visits, sessions, turns, analyses, day rollups) agree with each other and with its report,
//! a second run writes nothing, and the dashboard pages of the gym render over them.

use crate::common;

use crate::web::{get, web_login};
use common::{Backend, TestApp};

/// More than one batch (1,000 members), the last one partial: generated ids must not collide
/// across members.
const N: usize = 1_500;

/// Raw SQL on the test database (the owner connection, outside the store).
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if app.db.pg().is_some() {
        let mut c = sqlx::PgConnection::connect(app.db.url()).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(app.db.url()).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

async fn scale_seed_writes_consistent_rows_once_and_pages_render(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let store = app.db.store();
    jarvis_app::demo::seed(&*store).await.unwrap();
    let calls = std::sync::Mutex::new(Vec::new());
    let progress = |done: u64, total: u64| calls.lock().unwrap().push((done, total));
    let first = jarvis_app::demo::seed_scale(&*store, N, &progress)
        .await
        .unwrap();
    let gym = first.gym.unwrap();
    let w = first.written;
    assert_eq!(w.members, N as u64);
    assert_eq!(first.members_kept, 0);
    // ~2 calls of ~5 turns per consenting member, ~3 visits per member.
    assert!(w.sessions > N as u64 && w.sessions < 4 * N as u64, "{w:?}");
    assert!(
        w.turns >= 2 * w.sessions && w.turns <= 10 * w.sessions,
        "{w:?}"
    );
    assert!(w.turns > 5 * N as u64, "~10 turns per member: {w:?}");
    assert!(w.analyses > 0 && w.analyses < w.sessions, "{w:?}");
    assert!(w.visits >= w.sessions, "a visit before every call: {w:?}");
    assert_eq!(
        calls.lock().unwrap().last().copied(),
        Some((N as u64, N as u64))
    );

    // The rows, counted outside the store, are the report's, all in the demo gym.
    let g = format!("gym_id = '{gym}'");
    let scale = "badge_id LIKE 'PAR-S%'";
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) FROM members WHERE {g} AND {scale}")
        )
        .await,
        N as i64
    );
    for (table, n) in [
        ("voice_sessions", w.sessions),
        ("conversation_turns", w.turns),
        ("session_analyses", w.analyses),
        ("member_visits", w.visits),
    ] {
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM {table}")).await,
            n as i64,
            "{table}"
        );
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM {table} WHERE {g}")).await,
            n as i64,
            "{table} all in the demo gym"
        );
    }
    // Members carry their visits; sessions their turns; the rollups their sessions and costs.
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT CAST(COALESCE(SUM(visit_count), 0) AS BIGINT) FROM members WHERE {scale}"
            )
        )
        .await,
        w.visits as i64
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(turn_count), 0) AS BIGINT) FROM voice_sessions"
        )
        .await,
        w.turns as i64
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(sessions), 0) AS BIGINT) FROM cost_daily"
        )
        .await,
        w.sessions as i64
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM cost_daily"
        )
        .await,
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM voice_sessions"
        )
        .await
    );
    assert!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM cost_daily"
        )
        .await
            > 0
    );
    // Members without voice consent never talked.
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM voice_sessions s JOIN members m ON m.id = s.member_id \
             WHERE m.consent_voice = FALSE"
        )
        .await,
        0
    );
    // Members without transcript consent have no text.
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM conversation_turns t JOIN voice_sessions s ON s.id = t.session_id \
             JOIN members m ON m.id = s.member_id \
             WHERE m.consent_transcripts = FALSE AND t.text IS NOT NULL"
        )
        .await,
        0
    );

    // Again: everything is there, nothing is written.
    let again = jarvis_app::demo::seed_scale(&*store, N, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(again.members_kept, N as u64);
    assert_eq!(again.written, jarvis_store::SeedCounts::default());
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM conversation_turns").await,
        w.turns as i64
    );

    // The pages the benchmark loads render over the data.
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, &format!("/app/gyms/{gym}")).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Paris République"));
    let (s, html) = get(&app, &admin, &format!("/app/gyms/{gym}/voice")).await;
    assert_eq!(s, 200, "{html}");
    let (s, html) = get(&app, &admin, &format!("/app/gyms/{gym}/voice/sessions")).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("PAR-S"), "the list names the seeded members");
    let (s, html) = get(
        &app,
        &admin,
        &format!("/app/gyms/{gym}/members?q=PAR-S0000042"),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("PAR-S0000042"));
    app.stop().await;
}

both_backends!(scale_seed_writes_consistent_rows_once_and_pages_render);
