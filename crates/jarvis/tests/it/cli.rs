//! The `jarvis` binary end to end: help everywhere, configuration errors, migrations, admin
//! creation from stdin, demo seeding, and serve with graceful SIGTERM shutdown.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn jarvis(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jarvis"));
    c.current_dir(dir);
    // A clean environment for configuration: only what each test sets.
    for (k, _) in std::env::vars() {
        if k.starts_with("JARVIS_") {
            c.env_remove(k);
        }
    }
    c.env("JARVIS_LOG_LEVEL", "warn");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["config", "--help"],
        vec!["config", "show", "--help"],
        vec!["demo", "--help"],
        vec!["demo", "seed", "--help"],
        vec!["admin", "--help"],
        vec!["admin", "create", "--help"],
        vec!["keys", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["members", "--help"],
        vec!["members", "import", "--help"],
        vec!["jobs", "--help"],
        vec!["jobs", "list", "--help"],
        vec!["jobs", "run", "--help"],
        vec!["jobs", "history", "--help"],
        vec!["jobs", "retry", "--help"],
        vec!["backup", "--help"],
        vec!["backup", "create", "--help"],
        vec!["backup", "list", "--help"],
        vec!["backup", "verify", "--help"],
        vec!["backup", "restore", "--help"],
        vec!["export", "--help"],
        vec!["import", "--help"],
        vec!["simulate", "--help"],
    ] {
        let o = jarvis(dir.path()).args(&args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn invalid_configuration_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = jarvis(dir.path())
        .env("JARVIS_LISTEN", "localhost")
        .args(["config", "show"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(
        t.contains("`listen`") && t.contains("JARVIS_LISTEN") && t.contains("host:port"),
        "{t}"
    );
    std::fs::write(dir.path().join("jarvis.toml"), "log_format = \"xml\"\n").unwrap();
    let o = jarvis(dir.path())
        .args(["config", "show"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("log_format") && text(&o).contains("jarvis.toml"),
        "{}",
        text(&o)
    );
}

#[test]
fn config_show_redacts_secrets_and_tells_origins() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("openai.key");
    std::fs::write(&key, "sk-very-secret-key\n").unwrap();
    let o = jarvis(dir.path())
        .env("JARVIS_OPENAI_API_KEY_FILE", &key)
        .env(
            "JARVIS_DATABASE_URL",
            "postgres://app:hunter2@db.internal/jarvis",
        )
        .args(["config", "show", "--log-format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        !t.contains("sk-very-secret-key") && !t.contains("hunter2"),
        "{t}"
    );
    assert!(
        t.contains("openai_api_key = \"*** (set)\"  # secret file"),
        "{t}"
    );
    assert!(
        t.contains("log_format = \"json\"  # flag --log-format"),
        "{t}"
    );
}

#[test]
fn migrate_dry_run_then_apply() {
    let dir = tempfile::tempdir().unwrap();
    let o = jarvis(dir.path())
        .args(["migrate", "--dry-run"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("pending migration(s)") && text(&o).contains("tenancy core"),
        "{}",
        text(&o)
    );
    let o = jarvis(dir.path()).args(["migrate"]).output().unwrap();
    assert!(
        o.status.success() && text(&o).contains("applied"),
        "{}",
        text(&o)
    );
    let o = jarvis(dir.path())
        .args(["migrate", "--dry-run"])
        .output()
        .unwrap();
    assert!(text(&o).contains("up to date"), "{}", text(&o));
    assert!(
        dir.path().join("data/jarvis.db").exists(),
        "SQLite file under ./data by default"
    );
}

fn admin_create(dir: &std::path::Path, email: &str, password: &str) -> Output {
    let mut child = jarvis(dir)
        .args(["admin", "create", "--email", email, "--name", "Root"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let o = admin_create(dir.path(), "root@example.com", "short");
    assert!(!o.status.success());
    assert!(text(&o).contains("at least 12 characters"), "{}", text(&o));
    let o = admin_create(dir.path(), "root@example.com", "a long enough passphrase");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created super admin root@example.com"));
    let o = admin_create(dir.path(), "ROOT@example.com", "a long enough passphrase");
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    let o = admin_create(dir.path(), "not-an-email", "a long enough passphrase");
    assert!(text(&o).contains("email"), "{}", text(&o));
    // There is no way to pass a password on the command line.
    let o = jarvis(dir.path())
        .args([
            "admin",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--password",
            "p",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
}

#[test]
fn demo_seed_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let o = jarvis(dir.path()).args(["demo", "seed"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("200 member(s)"), "{}", text(&o));
    let o = jarvis(dir.path()).args(["demo", "seed"]).output().unwrap();
    assert!(
        text(&o).contains("0 member(s)") && text(&o).contains("200 member(s) already there"),
        "{}",
        text(&o)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_answers_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = jarvis(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ready = false;
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Read;
            s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n").unwrap();
            let mut r = String::new();
            let _ = s.read_to_string(&mut r);
            if r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200") {
                ready = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready, "server became ready");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
}

#[test]
fn serve_with_unreachable_database_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let o = jarvis(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://jarvis:pw@127.0.0.1:1/jarvis",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("cannot open database postgres://jarvis:***@127.0.0.1:1/jarvis"),
        "{t}"
    );
    assert!(!t.contains(":pw@"), "password redacted: {t}");
}

#[test]
fn keys_rotate_adds_a_sealed_key_and_demo_prints_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let o = jarvis(dir.path())
        .args(["keys", "rotate", "--help"])
        .output()
        .unwrap();
    assert!(
        o.status.success() && text(&o).contains("signing key"),
        "{}",
        text(&o)
    );
    let o = jarvis(dir.path())
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("new signing key"), "{}", text(&o));
    // Without a configured master key one is generated (0600) in the data directory.
    let key = dir.path().join("data").join("master.key");
    assert!(key.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A wrong master key cannot open the existing keys, and says so instead of starting.
    let o = jarvis(dir.path())
        .env("JARVIS_MASTER_KEY", "short")
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("master_key") && !text(&o).contains("short\""),
        "{}",
        text(&o)
    );
    let o = jarvis(dir.path()).args(["demo", "seed"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("owner@demo.jarvis.local") && t.contains("manager.paris@demo.jarvis.local"),
        "{t}"
    );
    assert!(
        t.contains("jarvis-demo-password") && t.contains("3 account(s) created"),
        "{t}"
    );
}

#[test]
fn jobs_list_run_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let o = jarvis(dir.path()).args(["migrate"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = jarvis(dir.path()).args(["jobs", "list"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    for kind in [
        "mail.drain",
        "sessions.purge",
        "imports.run",
        "imports.sweep",
        "jobs.purge",
        "retention.purge",
        "voice.reap",
    ] {
        assert!(t.contains(kind), "{kind} listed: {t}");
    }
    assert!(
        t.contains("*/10 * * * *") && !t.contains("diag.sleep"),
        "{t}"
    );
    let purge_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("sessions.purge"))
            .unwrap()
            .split_whitespace()
            .rev()
            .nth(3)
            .unwrap()
            .to_string()
    };
    assert_eq!(purge_line(&t), "0", "nothing due yet: {t}");

    let o = jarvis(dir.path())
        .args(["jobs", "run", "sessions.purge"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("queued sessions.purge job"),
        "{}",
        text(&o)
    );
    let o = jarvis(dir.path()).args(["jobs", "list"]).output().unwrap();
    assert_eq!(purge_line(&text(&o)), "1", "one due: {}", text(&o));

    let o = jarvis(dir.path())
        .args(["jobs", "run", "no.such"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("unknown job kind `no.such`"),
        "{}",
        text(&o)
    );
    let o = jarvis(dir.path())
        .args(["jobs", "history", "sessions.purge"])
        .output()
        .unwrap();
    assert!(
        o.status.success() && text(&o).contains("no runs yet"),
        "{}",
        text(&o)
    );
    // The diagnostic kind exists only when enabled.
    let o = jarvis(dir.path())
        .env("JARVIS_JOBS_DIAGNOSTICS", "true")
        .args(["jobs", "list"])
        .output()
        .unwrap();
    assert!(text(&o).contains("diag.sleep"), "{}", text(&o));
}
