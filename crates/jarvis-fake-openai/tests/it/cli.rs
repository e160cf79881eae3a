//! The standalone binary: `--help` names the accepted keys, `--accept-any-key` does what it says.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use jarvis_fake_openai::{TEST_ADMIN_KEY, TEST_API_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_jarvis-fake-openai");

#[test]
fn help_names_the_accepted_keys_and_how_to_accept_any() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        TEST_API_KEY,
        TEST_ADMIN_KEY,
        "ek_",
        "--accept-any-key",
        "To accept any `sk-` key",
        "--demo",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

/// Kills the server when the test ends, even on panic.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("JARVIS_FAKE_OPENAI_LISTENING base_url=http://")
        .and_then(|s| s.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (server, addr)
}

/// Status code of an embeddings call with `key` (raw HTTP/1.1, no client dependency).
fn embeddings_status(addr: &str, key: &str) -> u16 {
    let body = r#"{"model":"text-embedding-3-small","input":"hello"}"#;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v1/embeddings HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad response {resp:?}"))
}

#[test]
fn accept_any_key_flag_accepts_unknown_standard_keys_only() {
    let (_strict, addr) = start(&[]);
    assert_eq!(embeddings_status(&addr, TEST_API_KEY), 200);
    assert_eq!(embeddings_status(&addr, "sk-anything-at-all"), 401);

    let (_lenient, addr) = start(&["--accept-any-key"]);
    assert_eq!(embeddings_status(&addr, "sk-anything-at-all"), 200);
    // Not a standard key, and admin keys are never "any".
    assert_eq!(embeddings_status(&addr, "nope"), 401);
    assert_eq!(embeddings_status(&addr, "sk-admin-anything"), 401);
}
