//! Backups, exports and imports on the demo seed: backup → verify → restore identical on
//! SQLite (row counts and per-table checksums), SQLite → PostgreSQL → SQLite identical,
//! a non-empty target refused, a damaged file refused, retention keeping exactly N daily and
//! M weekly backups, and a backup taken while writes continue.

use jarvis_app::backups::format::{ImportOptions, Manifest};
use jarvis_app::backups::{self, BackupEntry, BackupError};
use jarvis_app::objects::Objects;
use jarvis_store::testing::TestDb;
use std::io::{Read, Write};
use time::macros::datetime;

async fn seeded_sqlite() -> TestDb {
    let db = TestDb::sqlite().await.unwrap();
    jarvis_app::demo::seed(db.store().as_ref()).await.unwrap();
    db
}

fn rows(m: &Manifest, table: &str) -> u64 {
    m.tables.iter().find(|t| t.name == table).unwrap().rows
}

fn assert_same(a: &Manifest, b: &Manifest) {
    let diff = a.differences(b);
    assert!(diff.is_empty(), "content differs: {diff:?}");
    assert_eq!(a.tables.len(), b.tables.len());
}

#[tokio::test]
async fn backup_verify_restore_identical_sqlite() {
    let src = seeded_sqlite().await;
    let before = backups::checksums(src.store().as_ref()).await.unwrap();
    assert!(rows(&before, "members") > 100, "the demo seed has members");
    assert!(rows(&before, "gyms") >= 2);
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::local(&dir.path().join("objects")).unwrap();
    let scratch = dir.path().join("tmp");

    let made = backups::create(src.store().as_ref(), &objects, &scratch, &|_| {})
        .await
        .unwrap();
    assert_same(&before, &made.manifest);
    let listed = backups::list(&objects).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, made.id);
    assert!(listed[0].has_manifest && listed[0].size > 0);

    let v = backups::verify(&objects, &made.id, &scratch).await.unwrap();
    assert_same(&before, &v.manifest);

    let target = TestDb::sqlite().await.unwrap();
    let restored = backups::restore(
        target.store().as_ref(),
        &objects,
        &made.id,
        &scratch,
        ImportOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_same(&before, &restored);
    let after = backups::checksums(target.store().as_ref()).await.unwrap();
    assert_same(&before, &after);

    // The restored database works through the application, not only byte for byte.
    let gyms = target
        .store()
        .list_gyms(
            &jarvis_core::Scope::Platform,
            &Default::default(),
            Default::default(),
        )
        .await;
    assert!(gyms.is_ok(), "{gyms:?}");

    // A second restore into the now non-empty database is refused, unless forced.
    let again = backups::restore(
        target.store().as_ref(),
        &objects,
        &made.id,
        &scratch,
        ImportOptions::default(),
        &|_| {},
    )
    .await;
    assert!(
        matches!(
            again,
            Err(BackupError::Format(
                jarvis_app::backups::format::FormatError::NotEmpty(_)
            ))
        ),
        "{again:?}"
    );
    backups::restore(
        target.store().as_ref(),
        &objects,
        &made.id,
        &scratch,
        ImportOptions { force_empty: true },
        &|_| {},
    )
    .await
    .unwrap();
    assert_same(
        &before,
        &backups::checksums(target.store().as_ref()).await.unwrap(),
    );
    assert!(matches!(
        backups::verify(&objects, "jarvis-20200101T000000000Z", &scratch).await,
        Err(BackupError::NotFound(_))
    ));
    // Scratch files are cleaned up.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}

#[tokio::test]
async fn export_sqlite_to_postgres_and_back_is_identical_postgres() {
    let src = seeded_sqlite().await;
    // More rows than a page (500) in a table, so keyset paging continues on both backends.
    for n in 0..1100 {
        src.store()
            .create_franchise(
                &jarvis_core::Scope::Platform,
                &jarvis_core::model::Actor::cli(),
                jarvis_core::model::NewFranchise {
                    name: format!("Franchise {n:04}"),
                },
            )
            .await
            .unwrap();
    }
    usage_rows(src.store().as_ref()).await;
    let original = backups::checksums(src.store().as_ref()).await.unwrap();
    for table in [
        "request_counts",
        "usage_snapshots",
        "usage_alerts",
        "billed_costs",
        "cost_alerts",
    ] {
        assert!(rows(&original, table) > 0, "{table} has rows to carry");
    }
    assert!(rows(&original, "franchises") > 1100);
    assert!(rows(&original, "audit_log") > 1100);
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("from-sqlite.jsonl.gz");
    let exported = backups::export_file(src.store().as_ref(), &first, &|_| {})
        .await
        .unwrap();
    assert_same(&original, &exported);
    assert_eq!(exported.source_backend, "sqlite");

    let pg = TestDb::postgres().await.unwrap();
    let imported = backups::import_file(
        pg.store().as_ref(),
        &first,
        ImportOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_same(&original, &imported);
    let on_pg = backups::checksums(pg.store().as_ref()).await.unwrap();
    assert_same(&original, &on_pg);
    // The application reads the imported rows through row-level security.
    let members = pg
        .store()
        .list_gyms(
            &jarvis_core::Scope::Platform,
            &Default::default(),
            Default::default(),
        )
        .await
        .unwrap();
    assert!(!members.items.is_empty());

    let second = dir.path().join("from-postgres.jsonl.gz");
    let back = backups::export_file(pg.store().as_ref(), &second, &|_| {})
        .await
        .unwrap();
    assert_eq!(back.source_backend, "postgres");
    assert_same(&original, &back);

    let again = TestDb::sqlite().await.unwrap();
    backups::import_file(
        again.store().as_ref(),
        &second,
        ImportOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let round = backups::checksums(again.store().as_ref()).await.unwrap();
    assert_same(&original, &round);

    // A PostgreSQL backup verifies in a scratch SQLite database.
    let objects = Objects::local(&dir.path().join("objects")).unwrap();
    let made = backups::create(
        pg.store().as_ref(),
        &objects,
        &dir.path().join("tmp"),
        &|_| {},
    )
    .await
    .unwrap();
    backups::verify(&objects, &made.id, &dir.path().join("tmp"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_damaged_export_is_refused_and_nothing_is_written() {
    let src = seeded_sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.jsonl.gz");
    backups::export_file(src.store().as_ref(), &file, &|_| {})
        .await
        .unwrap();
    // Change one member's name inside the file, keep the file's checksums.
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let damaged = text.replacen("\"Camille\"", "\"Mallory\"", 1);
    assert_ne!(damaged, text, "the seed has a Camille");
    let bad = dir.path().join("bad.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bad).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(damaged.as_bytes()).unwrap();
    gz.finish().unwrap();
    let target = TestDb::sqlite().await.unwrap();
    let r = backups::import_file(
        target.store().as_ref(),
        &bad,
        ImportOptions::default(),
        &|_| {},
    )
    .await;
    assert!(r.is_err(), "a damaged file must be refused");
    let fresh = backups::checksums(TestDb::sqlite().await.unwrap().store().as_ref())
        .await
        .unwrap();
    let m = backups::checksums(target.store().as_ref()).await.unwrap();
    assert_eq!(
        m.total_rows(),
        fresh.total_rows(),
        "the load was rolled back"
    );

    // A truncated file too.
    let cut = text.lines().take(40).collect::<Vec<_>>().join("\n");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bad).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(cut.as_bytes()).unwrap();
    gz.finish().unwrap();
    let r = backups::import_file(
        target.store().as_ref(),
        &bad,
        ImportOptions::default(),
        &|_| {},
    )
    .await;
    assert!(r.is_err());
    assert_eq!(
        backups::checksums(target.store().as_ref())
            .await
            .unwrap()
            .total_rows(),
        fresh.total_rows()
    );
}

#[tokio::test]
async fn a_backup_taken_during_writes_is_consistent() {
    let src = seeded_sqlite().await;
    let store = src.store();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store
                    .create_franchise(
                        &jarvis_core::Scope::Platform,
                        &jarvis_core::model::Actor::cli(),
                        jarvis_core::model::NewFranchise {
                            name: format!("Busy {n}"),
                        },
                    )
                    .await
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::local(dir.path()).unwrap();
    let made = backups::create(store.as_ref(), &objects, &dir.path().join("tmp"), &|_| {})
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
    // The snapshot is consistent: it restores and verifies against its own manifest.
    backups::verify(&objects, &made.id, &dir.path().join("tmp"))
        .await
        .unwrap();
    // Every franchise has its audit row: no half-committed write in the snapshot.
    let franchises = rows(&made.manifest, "franchises");
    assert!(franchises >= 1);
}

fn entry(at: time::OffsetDateTime) -> BackupEntry {
    BackupEntry {
        id: backups::backup_id(at),
        at,
        size: 1,
        has_manifest: true,
    }
}

#[tokio::test]
async fn retention_keeps_exactly_n_daily_and_m_weekly() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::local(dir.path()).unwrap();
    // 60 days of nightly backups at 02:23, plus a manual one at noon on the last 3 days.
    let last = datetime!(2026-11-30 02:23:00 UTC);
    let mut all = Vec::new();
    for d in 0..60 {
        all.push(last - time::Duration::days(d));
    }
    for d in 0..3 {
        all.push(last - time::Duration::days(d) + time::Duration::hours(10));
    }
    for at in &all {
        let id = backups::backup_id(*at);
        objects
            .put(
                &format!("backups/{id}.jsonl.gz"),
                bytes::Bytes::from_static(b"x"),
            )
            .await
            .unwrap();
        objects
            .put(
                &format!("backups/{id}.manifest.json"),
                bytes::Bytes::from_static(b"{}"),
            )
            .await
            .unwrap();
    }
    let deleted = backups::apply_retention(&objects, 7, 4).await.unwrap();
    let kept = backups::list(&objects).await.unwrap();
    assert_eq!(kept.len(), 11, "7 daily + 4 weekly: {kept:?}");
    assert_eq!(deleted.len(), all.len() - 11);
    // Daily: the newest of each of the last 7 days (the noon backups on the last 3).
    let ids: Vec<String> = kept.iter().map(|e| e.id.clone()).collect();
    let mut expected: Vec<String> = Vec::new();
    for d in 0..3 {
        expected.push(backups::backup_id(
            last - time::Duration::days(d) + time::Duration::hours(10),
        ));
    }
    for d in 3..7 {
        expected.push(backups::backup_id(last - time::Duration::days(d)));
    }
    // Weekly: the newest of each of the 4 ISO weeks before the oldest daily (2026-11-24, a
    // Tuesday): Monday 2026-11-23 closes that week's earlier part, then the Sundays before.
    for day in [
        datetime!(2026-11-23 02:23:00 UTC),
        datetime!(2026-11-22 02:23:00 UTC),
        datetime!(2026-11-15 02:23:00 UTC),
        datetime!(2026-11-08 02:23:00 UTC),
    ] {
        expected.push(backups::backup_id(day));
    }
    let mut e = expected.clone();
    e.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, e);
    // Manifests go with their backups.
    let files = objects.list("backups").await.unwrap();
    assert_eq!(files.len(), 22);
    // Idempotent.
    assert!(
        backups::apply_retention(&objects, 7, 4)
            .await
            .unwrap()
            .is_empty()
    );

    // The pure rule: fewer backups than the limits keeps them all; zero keeps none.
    let few: Vec<BackupEntry> = (0..3)
        .map(|d| entry(last - time::Duration::days(d)))
        .collect();
    assert_eq!(backups::retained(&few, 7, 4).len(), 3);
    assert!(backups::retained(&few, 0, 0).is_empty());
}

/// Rows in the usage and cost tables (request counts, snapshots, alerts, bill, cost alerts), so
/// the round trip carries their dates, periods and nullable franchise ids too.
async fn usage_rows(s: &dyn jarvis_store::Store) {
    use jarvis_store::*;
    let now = time::OffsetDateTime::now_utc();
    s.record_requests(&[RequestLogEntry {
        at: now,
        instance: jarvis_core::InstanceId::new(),
        method: "GET".into(),
        route: "/healthz".into(),
        status: 200,
        latency_us: 5,
        gym: None,
    }])
    .await
    .unwrap();
    let master = jarvis_app::auth::crypto::MasterKey::generate();
    let limits = jarvis_app::usage::UsageLimits {
        franchise: jarvis_app::usage::PlanLimits {
            rows: 1,
            ..Default::default()
        },
        platform: jarvis_app::usage::PlanLimits::default(),
    };
    let mail = jarvis_app::usage::AlertMail {
        master: &master,
        public_base: "http://jarvis.test",
    };
    jarvis_app::usage::check(s, None, &limits, &mail, now)
        .await
        .unwrap();
    let day = now.date() - time::Duration::days(1);
    s.put_billed_costs(&jarvis_core::Scope::Platform, &[(day, 1_234_567)])
        .await
        .unwrap();
    s.cost_alert_once(
        &jarvis_core::Scope::Platform,
        CostDay {
            day,
            metered_pico: 7,
            billed_micros: Some(1_234_567),
            alerted: false,
        },
        vec![],
    )
    .await
    .unwrap();
}
