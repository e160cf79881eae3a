//! `jarvis demo seed --scale N` at a small N (two batches) on both backends: the rows it writes (members,
//! visits, sessions, turns, analyses, day rollups) agree with each other and with its report,
//! a second run writes nothing, and the dashboard pages of the gym render over them.

use crate::common;

use crate::web::{get, web_login};
use common::{Backend, TestApp};

/// More than one batch of [`BATCH`] members, the last one partial: generated ids must not
/// collide across members.
const N: usize = 1_500;
/// Smaller than the command's batches, to keep the test quick.
const BATCH: usize = 1_000;

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

/// Every daily rollup row is what the rows it sums add up to, recomputed here as the backfill
/// of `0030_overview_rollups.sql` does (both directions of the difference are empty): the batch's
/// set-based share is exact, and the insert triggers did not add it a second time.
async fn rollups_match_their_rows(app: &TestApp) {
    let pg = app.db.pg().is_some();
    let day = |c: &str| {
        if pg {
            format!("({c} AT TIME ZONE 'UTC')::date")
        } else {
            format!("substr({c}, 1, 10)")
        }
    };
    let secs = if pg {
        "jarvis_call_secs(started_at, ended_at)"
    } else {
        "CASE WHEN ended_at IS NULL THEN 0 ELSE max(0, CAST(round((julianday(ended_at) \
         - julianday(started_at)) * 86400000.0) AS INTEGER) / 1000) END"
    };
    let bucket = if pg {
        "jarvis_latency_bucket(latency_ms)"
    } else {
        "CASE WHEN latency_ms < 1000 THEN latency_ms - latency_ms % 10 \
         WHEN latency_ms < 10000 THEN latency_ms - latency_ms % 50 \
         ELSE latency_ms - latency_ms % 1000 END"
    };
    let topics = if pg {
        "SELECT DISTINCT s.id, s.gym_id, (s.started_at AT TIME ZONE 'UTC')::date AS day, \
         lower(btrim(e.value #>> '{}')) AS topic FROM session_analyses a \
         JOIN voice_sessions s ON s.id = a.session_id, jsonb_array_elements(a.topics) e \
         WHERE a.status = 'done' AND NOT s.demo AND jsonb_typeof(e.value) = 'string' \
         AND btrim(e.value #>> '{}') <> ''"
    } else {
        "SELECT DISTINCT s.id, s.gym_id, substr(s.started_at, 1, 10) AS day, \
         lower(trim(j.value)) AS topic FROM session_analyses a \
         JOIN voice_sessions s ON s.id = a.session_id, json_each(a.topics) j \
         WHERE a.status = 'done' AND NOT s.demo AND j.type = 'text' AND trim(j.value) <> ''"
    };
    let checks = [
        (
            "calls per day",
            "SELECT gym_id, day, conversations, ended, duration_secs FROM session_daily \
             WHERE conversations <> 0"
                .to_string(),
            format!(
                "SELECT gym_id, {}, COUNT(*), COUNT(ended_at), SUM({secs}) FROM voice_sessions \
                 WHERE NOT demo GROUP BY 1, 2",
                day("started_at")
            ),
        ),
        (
            "analyses per day",
            "SELECT gym_id, day, satisfaction_sum, satisfaction_n, sentiment_n FROM session_daily \
             WHERE satisfaction_n <> 0 OR sentiment_n <> 0"
                .to_string(),
            format!(
                "SELECT s.gym_id, {}, SUM(a.satisfaction), COUNT(a.satisfaction), \
                 COUNT(a.sentiment_score) FROM session_analyses a \
                 JOIN voice_sessions s ON s.id = a.session_id \
                 WHERE a.status = 'done' AND NOT s.demo GROUP BY 1, 2",
                day("s.started_at")
            ),
        ),
        (
            "topics per day",
            "SELECT gym_id, day, topic, n FROM topic_daily".to_string(),
            format!("SELECT gym_id, day, topic, COUNT(*) FROM ({topics}) t GROUP BY 1, 2, 3"),
        ),
        (
            "turn latency per day",
            "SELECT gym_id, day, bucket_ms, n FROM latency_daily WHERE source = 'turn'".to_string(),
            format!(
                "SELECT gym_id, {}, {bucket}, COUNT(*) FROM conversation_turns \
                 WHERE latency_ms IS NOT NULL GROUP BY 1, 2, 3",
                day("at")
            ),
        ),
        (
            "members' last calls",
            "SELECT member_id, last_at FROM member_last_call".to_string(),
            "SELECT member_id, MAX(started_at) FROM voice_sessions \
             WHERE member_id IS NOT NULL AND NOT demo GROUP BY member_id"
                .to_string(),
        ),
    ];
    for (what, stored, computed) in checks {
        assert!(
            scalar(app, &format!("SELECT COUNT(*) FROM ({stored}) x")).await > 0,
            "{what}: the seed wrote some"
        );
        for (a, b, missing) in [
            (&stored, &computed, "stored but not in the rows"),
            (&computed, &stored, "in the rows but not stored"),
        ] {
            let n = scalar(app, &format!("SELECT COUNT(*) FROM ({a} EXCEPT {b}) d")).await;
            assert_eq!(n, 0, "{what}: {n} day(s) {missing}");
        }
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
    let first = jarvis_app::demo::seed_scale_in(&*store, N, BATCH, &progress)
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

    rollups_match_their_rows(&app).await;

    // Again: everything is there, nothing is written.
    let again = jarvis_app::demo::seed_scale_in(&*store, N, BATCH, &|_, _| {})
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
