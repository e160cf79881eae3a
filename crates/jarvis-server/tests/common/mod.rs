//! Integration-test harness: the real app on 127.0.0.1:0 against a fresh database (SQLite temp
//! file or a new PostgreSQL database), driven over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use jarvis_server::app::{RunningServer, start};
use jarvis_server::config::{Config, Sources};
use jarvis_store::testing::TestDb;
use serde_json::Value;
use std::collections::BTreeMap;

/// The operator token every test app accepts.
pub const TOKEN: &str = "test-bootstrap-token-0123456789abcdef";

/// A running app and its database.
pub struct TestApp {
    pub server: Option<RunningServer>,
    pub db: TestDb,
    pub client: reqwest::Client,
    pub base: String,
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
    env.insert("JARVIS_BOOTSTRAP_TOKEN".into(), TOKEN.into());
    // Not demo mode: no fake is started unless a test asks for it by removing the key.
    env.insert("JARVIS_OPENAI_API_KEY".into(), "sk-test-not-used".into());
    env.insert(
        "JARVIS_OPENAI_BASE_URL".into(),
        "http://127.0.0.1:9/v1".into(),
    );
    env.insert("JARVIS_LOG_LEVEL".into(), "warn".into());
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
    /// Starts the app on a fresh database of the given backend; `None` when PostgreSQL is
    /// unavailable outside CI (the helper prints a loud SKIPPED line).
    pub async fn start(backend: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite().await.expect("sqlite test db"),
            Backend::Postgres => TestDb::postgres().await?,
        };
        let cfg = config(db.url(), overrides);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = start(cfg, db.store(), listener)
            .await
            .expect("server starts");
        let base = server.url();
        Some(TestApp {
            server: Some(server),
            db,
            client: reqwest::Client::new(),
            base,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with the operator token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
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
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// Sends and returns the status and the JSON body (`Null` when empty or not JSON).
pub async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs each listed async test case on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::common::Backend::Postgres).await;
                }
            )*
        }
    };
}
