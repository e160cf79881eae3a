//! The SMTP transport against a real SMTP server process (Python `aiosmtpd`, started here with
//! STARTTLS and AUTH required, see `smtp_server.py`): what arrives (envelope, headers, both
//! parts, the link, escaped names), transient failures retried with back-off, permanent ones
//! given up, a rejected login kept retryable, nothing sent twice.
//!
//! Needs `.venv-test/bin/python` with aiosmtpd (scripts/test-all.sh installs it) or
//! `JARVIS_TEST_PYTHON`, and `openssl`; without them the tests skip loudly, and fail in CI.

use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::config::{Secret, SmtpConfig};
use jarvis_app::mailer::{Mailer, SmtpMailer};
use jarvis_app::outbox::{self, DeliveryReport};
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const USER: &str = "jarvis-mailer";
const PASSWORD: &str = "s3cret-pass";

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("JARVIS_TEST_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python");
    let ok = Command::new(&venv)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(venv)
}

/// A running SMTP server; killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    out: PathBuf,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a server certificate for 127.0.0.1 signed by it (rustls refuses a
/// self-signed CA certificate used as the server's own).
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    ca.extend(["-subj", "/CN=JARVIS test CA"]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    csr.extend(["-subj", "/CN=127.0.0.1"]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server, or says loudly why it cannot (and fails in CI).
fn start_server() -> Option<SmtpServer> {
    let Some(python) = python() else {
        assert!(
            !jarvis_store::testing::required(),
            "CI needs Python with aiosmtpd (.venv-test, installed by scripts/test-all.sh)"
        );
        eprintln!("*** SKIPPED: no Python with aiosmtpd (run scripts/test-all.sh once) ***");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let out = dir.path().join("delivered");
    std::fs::create_dir(&out).unwrap();
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(&out)
        .arg(dir.path().join("server.pem"))
        .arg(dir.path().join("server.key"))
        .args([USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the SMTP server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start");
    Some(SmtpServer {
        child,
        port,
        out,
        ca: dir.path().join("ca.pem"),
        _dir: dir,
    })
}

fn mailer(server: &SmtpServer, password: &str) -> Mailer {
    let smtp = SmtpConfig {
        url: Secret::new(format!(
            "smtp://{USER}:{password}@127.0.0.1:{}?tls=required",
            server.port
        )),
        from: "JARVIS <jarvis@gym.test>".into(),
        ca_file: Some(server.ca.clone()),
    };
    Mailer::Smtp(Box::new(SmtpMailer::new(&smtp).unwrap()))
}

fn delivered(server: &SmtpServer) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&server.out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            all.push(serde_json::from_str(&text).unwrap());
        }
    }
    all
}

async fn queue(store: &dyn Store, master: &MasterKey, to: &str) -> uuid::Uuid {
    let mail = jarvis_app::accounts::email::reset(
        to,
        "Zoé <script>alert(1)</script>",
        "https://jarvis.gym.test/app/reset?token=tok_abc123",
        jarvis_core::model::Locale::En,
    );
    outbox::enqueue(store, master, mail).await.unwrap()
}

async fn row(store: &dyn Store, to: &str) -> OutboxEmail {
    store.emails_to(to, 1).await.unwrap().remove(0)
}

#[tokio::test]
async fn smtp_delivers_over_starttls_with_auth_both_parts_and_escaped_names() {
    let Some(server) = start_server() else { return };
    let db = TestDb::sqlite().await.unwrap();
    let store = db.store();
    let master = MasterKey::generate();
    queue(store.as_ref(), &master, "Member@Gym.test").await;

    let report = outbox::deliver(store.as_ref(), &master, &mailer(&server, PASSWORD)).await;
    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            retrying: 0,
            failed: 0
        }
    );
    let got = delivered(&server);
    assert_eq!(got.len(), 1, "exactly one message arrives");
    let m = &got[0];
    assert_eq!(m["tls"], true, "sent after STARTTLS");
    assert_eq!(m["authenticated"], true, "sent after AUTH");
    assert_eq!(m["mail_from"], "jarvis@gym.test");
    assert_eq!(m["rcpt_tos"], serde_json::json!(["member@gym.test"]));
    let h = &m["headers"];
    assert_eq!(h["from"], "JARVIS <jarvis@gym.test>");
    assert_eq!(h["to"], "member@gym.test");
    assert_eq!(h["subject"], "JARVIS: reset your password");
    assert!(h["message-id"].as_str().is_some_and(|v| v.contains('@')));
    assert!(h["date"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(m["content_type"], "multipart/alternative");
    let text = m["text"].as_str().unwrap();
    let html = m["html"].as_str().unwrap();
    let link = "https://jarvis.gym.test/app/reset?token=tok_abc123";
    assert!(text.contains(link), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    // The name is user input: plain in the text part, escaped in the HTML part.
    assert!(text.contains("Zoé <script>"), "{text}");
    assert!(
        html.contains("Zoé &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");

    // Marked sent, bodies wiped, and a second drain sends nothing.
    let r = row(store.as_ref(), "member@gym.test").await;
    assert!(r.sent_at.is_some() && r.body_text.is_empty() && r.body_html.is_empty());
    assert_eq!(r.attempts, 1);
    let again = outbox::deliver(store.as_ref(), &master, &mailer(&server, PASSWORD)).await;
    assert_eq!(again, DeliveryReport::default());
    assert_eq!(delivered(&server).len(), 1);
}

#[tokio::test]
async fn smtp_retries_transient_failures_and_gives_up_permanent_ones() {
    let Some(server) = start_server() else { return };
    let db = TestDb::sqlite().await.unwrap();
    let store = db.store();
    let master = MasterKey::generate();
    queue(store.as_ref(), &master, "later@gym.test").await;
    queue(store.as_ref(), &master, "refuse@gym.test").await;
    let m = mailer(&server, PASSWORD);

    let report = outbox::deliver(store.as_ref(), &master, &m).await;
    assert_eq!(
        report,
        DeliveryReport {
            sent: 0,
            retrying: 1,
            failed: 1
        }
    );
    assert!(delivered(&server).is_empty());

    // 451: kept, with the error, not claimable before its back-off ends.
    let later = row(store.as_ref(), "later@gym.test").await;
    assert_eq!(later.attempts, 1);
    assert!(later.sent_at.is_none() && later.failed_at.is_none());
    assert!(
        later
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("451")),
        "{:?}",
        later.last_error
    );
    assert!(!later.body_text.is_empty(), "still sealed for the retry");
    // 550: given up for good, bodies wiped.
    let refused = row(store.as_ref(), "refuse@gym.test").await;
    assert!(refused.failed_at.is_some() && refused.sent_at.is_none());
    assert!(refused.body_text.is_empty() && refused.body_html.is_empty());
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("550"))
    );

    // Neither is taken again right away: the retry waits about a minute, the refusal forever.
    let again = outbox::deliver(store.as_ref(), &master, &m).await;
    assert_eq!(again, DeliveryReport::default());
}

#[tokio::test]
async fn smtp_rejected_login_stays_retryable() {
    let Some(server) = start_server() else { return };
    let db = TestDb::sqlite().await.unwrap();
    let store = db.store();
    let master = MasterKey::generate();
    queue(store.as_ref(), &master, "member@gym.test").await;

    let report = outbox::deliver(store.as_ref(), &master, &mailer(&server, "wrong")).await;
    assert_eq!(
        report,
        DeliveryReport {
            sent: 0,
            retrying: 1,
            failed: 0
        }
    );
    let r = row(store.as_ref(), "member@gym.test").await;
    assert!(
        r.failed_at.is_none(),
        "a login problem is the operator's to fix"
    );
    assert!(delivered(&server).is_empty());
    // Give the server a moment so a late message would show up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(delivered(&server).is_empty());
}
