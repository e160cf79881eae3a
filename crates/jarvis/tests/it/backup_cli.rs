//! `jarvis backup create|list|verify|restore`, `jarvis export` and `jarvis import` as an
//! operator runs them: on the demo seed, into fresh databases, refusing a non-empty target,
//! and SQLite → PostgreSQL through the binary.

use std::path::Path;
use std::process::{Command, Output};

fn jarvis(dir: &Path, db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jarvis"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("JARVIS_") {
            c.env_remove(k);
        }
    }
    c.env("JARVIS_LOG_LEVEL", "warn")
        .env("JARVIS_DATA_DIR", dir.join("data"))
        .env("JARVIS_DATABASE_URL", db);
    c
}

fn run(dir: &Path, db: &str, args: &[&str]) -> Output {
    jarvis(dir, db).args(args).output().unwrap()
}

fn ok(dir: &Path, db: &str, args: &[&str]) -> String {
    let o = run(dir, db, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "jarvis {args:?}: {text}");
    text
}

fn sqlite(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

#[test]
fn backup_create_list_verify_restore_and_export_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let main = sqlite(d, "main.db");
    ok(d, &main, &["demo", "seed"]);

    let out = ok(d, &main, &["backup", "create"]);
    assert!(out.contains("backup jarvis-"), "{out}");
    let id = out
        .split_whitespace()
        .find(|w| w.starts_with("jarvis-"))
        .unwrap()
        .to_string();
    assert!(
        d.join(format!("data/objects/backups/{id}.jsonl.gz"))
            .is_file()
    );
    let list = ok(d, &main, &["backup", "list"]);
    assert!(list.contains(&id), "{list}");
    let verified = ok(d, &main, &["backup", "verify"]);
    assert!(verified.contains("verified"), "{verified}");
    assert!(verified.contains(&id));

    // Restore into a new database.
    let restored = sqlite(d, "restored.db");
    let out = ok(d, &restored, &["backup", "restore", &id]);
    assert!(out.contains("restored"), "{out}");
    // Refused when the target holds data.
    let o = run(d, &restored, &["backup", "restore", &id]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    ok(d, &restored, &["backup", "restore", &id, "--force-empty"]);
    let o = run(
        d,
        &restored,
        &["backup", "verify", "jarvis-20000101T000000000Z"],
    );
    assert!(!o.status.success());

    // Export and import.
    let file = d.join("all.jsonl.gz");
    let out = ok(d, &main, &["export", file.to_str().unwrap()]);
    assert!(out.contains("exported"), "{out}");
    let other = sqlite(d, "other.db");
    let out = ok(d, &other, &["import", file.to_str().unwrap()]);
    assert!(out.contains("checksums match"), "{out}");
    let o = run(d, &other, &["import", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force-empty"));
    ok(
        d,
        &other,
        &["import", file.to_str().unwrap(), "--force-empty"],
    );
    // The imported installation serves its demo accounts: the seed sees everything there.
    let out = ok(d, &other, &["demo", "seed"]);
    assert!(out.contains("0 account(s) created"), "{out}");
    let o = run(
        d,
        &other,
        &["import", d.join("missing.gz").to_str().unwrap()],
    );
    assert!(!o.status.success());
}

#[tokio::test]
async fn export_from_sqlite_import_into_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let pg = jarvis_store::testing::TestDb::postgres().await.unwrap();
    let pg_url = pg.url().to_string();
    tokio::task::spawn_blocking(move || {
        let main = sqlite(&d, "main.db");
        ok(&d, &main, &["demo", "seed"]);
        let file = d.join("all.jsonl.gz");
        ok(&d, &main, &["export", file.to_str().unwrap()]);
        let out = ok(&d, &pg_url, &["import", file.to_str().unwrap()]);
        assert!(out.contains("checksums match"), "{out}");
        let back = d.join("back.jsonl.gz");
        ok(&d, &pg_url, &["export", back.to_str().unwrap()]);
        let again = sqlite(&d, "again.db");
        let out = ok(&d, &again, &["import", back.to_str().unwrap()]);
        assert!(out.contains("exported from postgres"), "{out}");
        // A PostgreSQL installation backs up logically and verifies.
        ok(&d, &pg_url, &["backup", "create"]);
        let out = ok(&d, &pg_url, &["backup", "verify"]);
        assert!(out.contains("from postgres"), "{out}");
    })
    .await
    .unwrap();
}
