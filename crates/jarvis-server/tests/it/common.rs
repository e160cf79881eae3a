//! Integration-test harness: the real app on 127.0.0.1:0 against a fresh database (SQLite temp
//! file or a new PostgreSQL database), driven over HTTP. Requests are authenticated like a real
//! client: a super admin signs in, enrols TOTP and uses its AAL2 access token; `as_role` makes
//! users of any role the same way.
#![allow(dead_code)]

use jarvis_app::config::{Config, Sources};
use jarvis_core::Role;
use jarvis_core::model::{Actor, Locale, MembershipTarget, NewUser};
use jarvis_server::app::{RunningServer, start};
use jarvis_store::testing::TestDb;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The password of every user the harness creates.
pub const PASSWORD: &str = "test-password-correct-horse";

/// A fixed master key for tests (64 hex characters).
pub const MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A signed-in test user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh: String,
    /// Raw TOTP secret when enrolled.
    pub totp: Option<Vec<u8>>,
}

/// A running app and its database.
pub struct TestApp {
    pub server: Option<RunningServer>,
    pub db: TestDb,
    pub client: reqwest::Client,
    pub base: String,
    /// The super admin's AAL2 access token used by `get`/`post`/….
    pub token: String,
    pub admin: TestUser,
    /// This app's own data directory (objects, reports), removed with the app.
    pub data: tempfile::TempDir,
}

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Test configuration: loopback, a known token, and settings overridable per test.
pub fn config(db_url: &str, overrides: &[(&str, &str)]) -> Config {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("JARVIS_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("JARVIS_DATABASE_URL".into(), db_url.into());
    env.insert("JARVIS_MASTER_KEY".into(), MASTER_KEY.into());
    // Generous limits so ordinary tests never trip them; rate-limit tests lower them.
    env.insert("JARVIS_RATE_LIMIT_API_PER_MIN".into(), "100000".into());
    env.insert("JARVIS_RATE_LIMIT_AUTH_PER_MIN".into(), "10000".into());
    // Not demo mode: no fake is started unless a test asks for it by removing the key.
    env.insert("JARVIS_OPENAI_API_KEY".into(), "sk-test-not-used".into());
    env.insert(
        "JARVIS_OPENAI_BASE_URL".into(),
        "http://127.0.0.1:9/v1".into(),
    );
    env.insert("JARVIS_LOG_LEVEL".into(), "warn".into());
    // E-mails stay queued (sealed) so tests can open them: sending wipes the bodies.
    env.insert("JARVIS_EMAIL_TRANSPORT".into(), "none".into());
    // No daily backup: the scheduler would catch up its latest slot at every test server's
    // start and write into ./data (backups have their own tests in jarvis-app and jarvis).
    env.insert("JARVIS_BACKUP_DAILY".into(), "false".into());
    // Reports and other objects land under target/, never in the crate's ./data.
    env.insert(
        "JARVIS_DATA_DIR".into(),
        format!("{}/jarvis-server-data", env!("CARGO_TARGET_TMPDIR")),
    );
    for (k, v) in overrides {
        if v.is_empty() {
            env.remove(*k);
        } else {
            env.insert((*k).into(), (*v).into());
        }
    }
    Config::load(&Sources {
        file: None,
        env,
        flags: BTreeMap::new(),
    })
    .expect("test config")
}

impl TestApp {
    /// Starts the app on a fresh database of the given backend. Never `None` (kept so callers
    /// compile): without a PostgreSQL server, PostgreSQL cases fail; `scripts/test-all.sh` skips
    /// them by name instead when no server runs locally.
    pub async fn start(backend: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite().await.expect("sqlite test db"),
            Backend::Postgres => TestDb::postgres().await?,
        };
        let data = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("test data dir");
        let data_dir = data.path().display().to_string();
        let mut with_data = vec![("JARVIS_DATA_DIR", data_dir.as_str())];
        with_data.extend_from_slice(overrides);
        let cfg = config(db.url(), &with_data);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = start(cfg, db.store(), listener)
            .await
            .expect("server starts");
        let base = server.url();
        let mut app = TestApp {
            server: Some(server),
            db,
            client: reqwest::Client::new(),
            base,
            token: String::new(),
            data,
            admin: TestUser {
                id: String::new(),
                email: String::new(),
                token: String::new(),
                refresh: String::new(),
                totp: None,
            },
        };
        let admin = app
            .as_role(
                "admin@test.local",
                Role::SuperAdmin,
                MembershipTarget::Platform,
            )
            .await;
        app.token = admin.token.clone();
        app.admin = admin;
        Some(app)
    }

    /// Creates a user directly in storage (password `PASSWORD`), optionally with a role.
    pub async fn create_user(
        &self,
        email: &str,
        grant: Option<(Role, MembershipTarget)>,
    ) -> String {
        let hash = jarvis_app::auth::password::hash(PASSWORD.into())
            .await
            .unwrap();
        let u = self
            .db
            .store()
            .create_user(
                &Actor::cli(),
                NewUser {
                    email: email.into(),
                    display_name: format!("User {email}"),
                    locale: Locale::En,
                    password_hash: Some(hash),
                }
                .validate()
                .unwrap(),
                grant,
            )
            .await
            .unwrap();
        u.id.to_string()
    }

    /// Signs in with the API; returns the login response.
    pub async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        send(
            self.client
                .post(self.url("/api/v1/auth/login"))
                .json(&json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Creates a user with a role and signs them in; MFA-required roles enrol TOTP and get an
    /// AAL2 token, exactly as a real client would.
    pub async fn as_role(&self, email: &str, role: Role, target: MembershipTarget) -> TestUser {
        let id = self.create_user(email, Some((role, target))).await;
        self.sign_in(&id, email, role.requires_mfa()).await
    }

    /// Signs in an existing user (password `PASSWORD`), enrolling TOTP when `mfa` is set.
    pub async fn sign_in(&self, id: &str, email: &str, mfa: bool) -> TestUser {
        let (s, body) = self.login(email, PASSWORD).await;
        assert_eq!(s, 200, "login {email}: {body}");
        let mut user = TestUser {
            id: id.to_string(),
            email: email.to_string(),
            token: body["access_token"].as_str().unwrap().to_string(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
            totp: None,
        };
        if mfa {
            let (s, e) = send(
                self.client
                    .post(self.url("/api/v1/auth/mfa/enroll"))
                    .bearer_auth(&user.token),
            )
            .await;
            assert_eq!(s, 200, "enroll: {e}");
            let secret = base32_decode(e["secret"].as_str().unwrap());
            let (s, c) = send(
                self.client
                    .post(self.url("/api/v1/auth/mfa/confirm"))
                    .bearer_auth(&user.token)
                    .json(&json!({ "code": totp_code(&secret, 0) })),
            )
            .await;
            assert_eq!(s, 200, "confirm: {c}");
            user.token = c["tokens"]["access_token"].as_str().unwrap().to_string();
            user.totp = Some(secret);
        }
        user
    }

    /// A request with a given access token.
    pub fn req_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with the super admin's token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::DELETE, path)).await
    }

    pub async fn stop(mut self) {
        self.stop_server().await;
    }

    /// Shuts the server down gracefully but keeps the database, to inspect what shutdown left.
    #[allow(dead_code)]
    pub async fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

impl TestApp {
    /// The e-mails queued for `address`, newest first, opened with the test master key; waits
    /// (up to 20 s) until there are at least `n` (password resets are queued by a worker).
    pub async fn mails_to(&self, address: &str, n: usize) -> Vec<jarvis_app::outbox::OpenedEmail> {
        let master = jarvis_app::auth::crypto::MasterKey::parse(MASTER_KEY).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let mails = self.db.store().emails_to(address, 20).await.unwrap();
            if mails.len() >= n {
                return mails
                    .iter()
                    .map(|m| jarvis_app::outbox::open(&master, m).unwrap())
                    .collect();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} e-mails to {address}, found {}",
                mails.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// The `token=` value of the link in an e-mail body.
pub fn link_token(body: &str) -> String {
    body.split("token=")
        .nth(1)
        .unwrap()
        .split(|c: char| c.is_whitespace() || c == '"' || c == '&')
        .next()
        .unwrap()
        .to_string()
}

/// The TOTP code `steps` steps of 30 s from now (a later step passes the replay guard after an
/// earlier one was used, within the ±1 step skew).
pub fn totp_code(secret: &[u8], steps: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + steps * 30;
    jarvis_app::auth::totp::code_at(secret, u64::try_from(now).unwrap()).unwrap()
}

/// RFC 4648 base32 (no padding) decoding of the enrolment secret.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = A.iter().position(|x| *x == c.to_ascii_uppercase()).unwrap() as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

/// Sends and returns the status and the JSON body (`Null` when empty or not JSON).
pub async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs each listed async test case on SQLite and on PostgreSQL.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Everything this test process logs (a subscriber installed once, with span closes so every
/// request's fields, `path` included, are written). The only subscriber any test installs: the
/// tests share one process, and a global subscriber can be set only once.
pub fn captured_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
