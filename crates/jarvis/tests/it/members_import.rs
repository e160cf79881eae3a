//! `jarvis members import`: dry run with exact per-row errors, all-or-nothing by default,
//! `--skip-bad-rows`, and the job kept as a row.

use jarvis_core::Scope;
use jarvis_core::model::*;
use std::process::{Command, Output};

fn jarvis(dir: &std::path::Path, db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jarvis"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("JARVIS_") {
            c.env_remove(k);
        }
    }
    c.env("JARVIS_LOG_LEVEL", "warn");
    c.env("JARVIS_DATABASE_URL", db);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn import_dry_run_all_or_nothing_and_skip() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("j.db").display());
    let store = jarvis_store::connect(&jarvis_store::ConnectOptions::new(&db))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let f = store
        .create_franchise(
            &Scope::Platform,
            &Actor::cli(),
            NewFranchise { name: "F".into() },
        )
        .await
        .unwrap();
    let g = store
        .create_gym(
            &Scope::Platform,
            &Actor::cli(),
            NewGym {
                franchise_id: f.id,
                name: "G".into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::En,
                settings: serde_json::json!({}),
            },
            GymStatus::Active,
        )
        .await
        .unwrap();
    let csv = dir.path().join("members.csv");
    std::fs::write(
        &csv,
        "\u{feff}Prénom;Nom;Badge;Date de naissance\nAnn;Lee;A1;1990-01-01\nBob;Ray;A2;31/02/1990\nCid;Moe;A3;\n",
    )
    .unwrap();
    let gym = g.id.to_string();
    let path = csv.to_str().unwrap();

    let out = jarvis(dir.path(), &db)
        .args(["members", "import", path, "--gym", &gym, "--dry-run"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("3 rows, 2 valid, 0 imported"), "{t}");
    assert!(t.contains("line 3: Date de naissance: not a date"), "{t}");

    let out = jarvis(dir.path(), &db)
        .args(["members", "import", path, "--gym", &gym])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "errors make the default import fail: {}",
        text(&out)
    );
    assert!(text(&out).contains("nothing was imported"));

    let out = jarvis(dir.path(), &db)
        .args(["members", "import", path, "--gym", &gym, "--skip-bad-rows"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("2 imported, 1 skipped"), "{t}");
    let badges = store.member_badges(&Scope::Platform, g.id).await.unwrap();
    assert_eq!(badges.len(), 2);
    let jobs = store
        .list_import_jobs(&Scope::Platform, g.id, jarvis_core::PageRequest::default())
        .await
        .unwrap();
    assert_eq!(jobs.total, 3, "every run is recorded");

    let out = jarvis(dir.path(), &db)
        .args(["members", "import", path, "--gym", "not-a-uuid"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("--gym must be a gym id"));
    store.close().await;
}
