//! Helpers shared by the process tests: a real `jarvis serve` child on a shared database and a
//! plain HTTP/1.0 client (no client crate, so hundreds of threads can fire at once).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `jarvis serve` on `db`, sharing `dir` (and so the master key) with the others.
pub struct Serve {
    /// The child process.
    pub child: Child,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
}

impl Serve {
    /// Starts `jarvis serve` with `extra` environment and waits until `/readyz` answers 200.
    pub fn start(dir: &std::path::Path, db: &str, extra: &[(&str, &str)]) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = Command::new(env!("CARGO_BIN_EXE_jarvis"));
        c.current_dir(dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("JARVIS_") {
                c.env_remove(k);
            }
        }
        c.env("JARVIS_LOG_LEVEL", "warn")
            .env("JARVIS_DATABASE_URL", db)
            .env("JARVIS_DATABASE_MAX_CONNECTIONS", "4")
            // No catch-up backup at each start: these tests time job take-overs.
            .env("JARVIS_BACKUP_DAILY", "false");
        for (k, v) in extra {
            c.env(k, v);
        }
        // JARVIS_TEST_SERVE_STDERR=1 shows the instances' logs (debugging a process test).
        let stderr = if std::env::var_os("JARVIS_TEST_SERVE_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = c
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let s = Serve { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if s.request("GET", "/readyz", None).0 == 200 {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("jarvis serve on port {port} did not become ready");
    }

    /// A plain HTTP/1.0 request: (status, body); status 0 when the connection failed.
    pub fn request(&self, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
        self.request_as(None, method, path, json)
    }

    /// [`Serve::request`] with `Authorization: Bearer <token>` when given.
    pub fn request_as(
        &self,
        bearer: Option<&str>,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> (u16, String) {
        request_to(self.port, bearer, method, path, json)
    }

    /// `kill -9`: no shutdown path runs.
    pub fn kill9(&mut self) {
        let st = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (30 s at most) for the exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A plain HTTP/1.0 request to `127.0.0.1:port`: (status, body); 0 when the connection failed.
pub fn request_to(
    port: u16,
    bearer: Option<&str>,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> (u16, String) {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(330)));
    let body = json.unwrap_or("");
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut r = String::new();
    let _ = s.read_to_string(&mut r);
    let status = r
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = r
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, body)
}

/// Polls `f` every 100 ms until it gives a value; panics after `secs`.
pub async fn wait_for<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
