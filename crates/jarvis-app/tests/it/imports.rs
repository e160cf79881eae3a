//! CSV imports on the durable job queue, SQLite and PostgreSQL: an `imports.run` job whose worker
//! dies (claimed with a short lease, never completed) is finished exactly once by another
//! runner, whether it died before writing the rows or after; progress is read from the store.

use jarvis_app::imports::{self, ImportOptions};
use jarvis_app::jobs::{JobCtx, Registry, Runner, RunnerConfig, builtin};
use jarvis_app::supervisor::Supervisor;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::Duration;

type S = Arc<dyn Store>;

const CSV: &[u8] = b"badge_id,first_name,last_name\nB-1,Ann,One\nB-2,Bob,Two\nB-3,Cy,Three\n";

async fn gym(s: &S) -> Gym {
    let a = Actor::cli();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: "F".into() })
        .await
        .unwrap();
    let new = NewGym {
        franchise_id: f.id,
        name: "G".into(),
        address: None,
        timezone: "Europe/Paris".into(),
        locale: Locale::Fr,
        settings: serde_json::json!({}),
    }
    .validate()
    .unwrap();
    s.create_gym(&Scope::Platform, &a, new, GymStatus::Active)
        .await
        .unwrap()
}

/// Polls the import row (as any instance would) until it ends.
async fn ended(s: &S, sc: &Scope, gym: GymId, id: ImportJobId) -> ImportJob {
    for _ in 0..500 {
        let j = s.import_job(sc, gym, id).await.unwrap();
        if matches!(j.status, ImportStatus::Succeeded | ImportStatus::Failed) {
            return j;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("import {id} did not end");
}

async fn dead_worker(store: S, rows_written: bool) {
    let g = gym(&store).await;
    let sc = Scope::Gym {
        franchise: g.franchise_id,
        gym: g.id,
    };
    let opts = ImportOptions {
        skip_bad_rows: true,
        ..Default::default()
    };
    let import = imports::start(store.clone(), sc, Actor::cli(), g.id, CSV.to_vec(), opts)
        .await
        .unwrap();
    assert_eq!(import.status, ImportStatus::Queued);
    // One queue job per import, carrying ids only.
    let again = store.enqueue(imports::run_job_of(&import)).await.unwrap();
    assert!(!again.created, "the key import:<id> makes one job");
    let qid = again.job.id;
    assert_eq!(
        again.job.payload,
        serde_json::json!({ "import": import.id, "franchise": g.franchise_id, "gym": g.id })
    );

    // Worker A claims it with a short lease, starts, and dies without completing.
    let a = jarvis_app::instance::register(store.as_ref())
        .await
        .unwrap();
    let claimed = store
        .claim(a, &[imports::IMPORTS_RUN.name], 1, Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        store
            .import_progress(&sc, g.id, import.id, ImportStatus::Running, 3, 1)
            .await
            .unwrap()
    );
    if rows_written {
        // It died right after its bulk insert committed, before finishing the row.
        let parsed = jarvis_core::csv_import::parse(CSV, &BTreeMap::new()).unwrap();
        let rows: Vec<NewMember> = parsed.rows.into_iter().map(|(_, m)| m).collect();
        let noop = |_: u64| {};
        let n = store
            .insert_members_bulk(&sc, &Actor::cli(), g.id, Some(import.id), &rows, &noop)
            .await
            .unwrap();
        assert_eq!(n, 3);
    }
    let seen = store.import_job(&sc, g.id, import.id).await.unwrap();
    assert_eq!(
        seen.status,
        ImportStatus::Running,
        "progress from the store"
    );
    assert_eq!(seen.total_rows, 3);
    tokio::time::sleep(StdDuration::from_millis(1200)).await;

    // Runner B (another instance) takes the job over once the lease expired.
    let mut reg = Registry::new();
    builtin::register_store_kinds(&mut reg, store.clone(), None).unwrap();
    let b = jarvis_app::instance::register(store.as_ref())
        .await
        .unwrap();
    let runner = Runner::new(
        store.clone(),
        Arc::new(reg),
        b,
        RunnerConfig {
            poll_interval: StdDuration::from_millis(30),
            schedule_interval: StdDuration::from_secs(3600),
            scheduler: false,
            ..RunnerConfig::default()
        },
    );
    let sup = Supervisor::new();
    runner.start(&sup);
    let done = ended(&store, &sc, g.id, import.id).await;
    assert_eq!(done.status, ImportStatus::Succeeded, "{:?}", done.report);
    assert_eq!((done.total_rows, done.processed_rows), (3, 3));
    assert_eq!(done.report.as_ref().unwrap()["inserted"], 3);
    assert_eq!(store.member_badges(&sc, g.id).await.unwrap().len(), 3);
    let mut q = store.job(qid).await.unwrap();
    for _ in 0..250 {
        if q.status.is_finished() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        q = store.job(qid).await.unwrap();
    }
    assert_eq!(q.status, JobStatus::Succeeded);
    assert_eq!(q.attempts, 2, "worker A's attempt, then B's");
    assert!(
        !store.complete(&claimed[0].claim).await.unwrap(),
        "the dead worker's claim is fenced off"
    );
    assert_eq!(
        store.import_upload(&sc, g.id, import.id).await.unwrap(),
        (None, None),
        "the upload is wiped once the import ends"
    );

    // A duplicate run of the job changes nothing: finished exactly once.
    imports::run_job(
        store.clone(),
        JobCtx::detached(q.clone()),
        q.payload.clone(),
    )
    .await
    .unwrap();
    let after = store.import_job(&sc, g.id, import.id).await.unwrap();
    assert_eq!(after, done);
    assert_eq!(store.member_badges(&sc, g.id).await.unwrap().len(), 3);
    sup.shutdown(StdDuration::from_secs(5)).await;
}

#[tokio::test]
async fn sqlite_an_import_whose_worker_died_is_finished_once_by_another() {
    dead_worker(TestDb::sqlite().await.unwrap().store(), false).await;
}

#[tokio::test]
async fn sqlite_an_import_whose_worker_died_after_writing_is_not_written_twice() {
    dead_worker(TestDb::sqlite().await.unwrap().store(), true).await;
}

#[tokio::test]
async fn postgres_an_import_whose_worker_died_is_finished_once_by_another() {
    let db = TestDb::postgres().await.unwrap();
    dead_worker(db.store(), false).await;
}

#[tokio::test]
async fn postgres_an_import_whose_worker_died_after_writing_is_not_written_twice() {
    let db = TestDb::postgres().await.unwrap();
    dead_worker(db.store(), true).await;
}
