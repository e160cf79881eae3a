//! The object store against a real S3-compatible server (`moto` in server mode, started here)
//! and against a local directory: the same put/get/list/delete cases, streaming file transfers,
//! and the upload checks (size limit, allowed type, content matching the type).
//!
//! Needs `.venv-test/bin/python` with moto (scripts/test-all.sh installs it) or
//! `JARVIS_TEST_PYTHON`; without it the S3 tests skip loudly, and fail in CI.

use bytes::Bytes;
use jarvis_app::config::{Secret, StorageConfig, StorageLocation};
use jarvis_app::objects::{Objects, ObjectsError, check_upload};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn python() -> Option<PathBuf> {
    let candidate = match std::env::var("JARVIS_TEST_PYTHON") {
        Ok(p) => PathBuf::from(p),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python"),
    };
    let ok = Command::new(&candidate)
        .args(["-c", "import moto.server, flask"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(candidate)
}

/// A running moto S3 server; killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn raw_http(port: u16, request: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Starts moto, or answers `None` (skipping loudly) when it is not installed outside CI.
fn moto() -> Option<Moto> {
    let Some(py) = python() else {
        let msg = "moto is not installed: run scripts/test-all.sh or set JARVIS_TEST_PYTHON to a python with `moto[server]`";
        if jarvis_store::testing::required() {
            panic!("{msg} (required in CI)");
        }
        eprintln!("*** SKIPPED: {msg} ***");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(py)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let m = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Path-style bucket creation, no signature needed by moto.
        if let Some(r) = raw_http(
            port,
            "PUT /jarvis-test HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ) && r.starts_with("HTTP/1.1 200")
        {
            return Some(m);
        }
        assert!(
            Instant::now() < deadline,
            "moto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn storage(location: StorageLocation) -> StorageConfig {
    StorageConfig {
        location,
        upload_max_bytes: 1024,
        upload_allowed_types: vec![
            "text/csv".into(),
            "image/png".into(),
            "application/json".into(),
        ],
    }
}

fn s3(m: &Moto, prefix: &str) -> Objects {
    Objects::open(&storage(StorageLocation::S3 {
        bucket: "jarvis-test".into(),
        prefix: prefix.into(),
        endpoint: Some(format!("http://127.0.0.1:{}", m.port)),
        region: "us-east-1".into(),
        access_key_id: Some(Secret::new("testing")),
        secret_access_key: Some(Secret::new("testing")),
    }))
    .unwrap()
}

/// The cases every backend must pass.
async fn conformance(o: &Objects) {
    o.put("reports/a.html", Bytes::from_static(b"<p>A</p>"))
        .await
        .unwrap();
    o.put("reports/b.html", Bytes::from_static(b"<p>B</p>"))
        .await
        .unwrap();
    o.put("exports/x.csv", Bytes::from_static(b"id\n1\n"))
        .await
        .unwrap();
    assert_eq!(&o.get("reports/a.html").await.unwrap()[..], b"<p>A</p>");
    // Replace.
    o.put("reports/a.html", Bytes::from_static(b"<p>A2</p>"))
        .await
        .unwrap();
    assert_eq!(&o.get("reports/a.html").await.unwrap()[..], b"<p>A2</p>");

    let listed = o.list("reports").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["reports/a.html", "reports/b.html"]);
    assert_eq!(listed[0].size, 9);
    let all = o.list("").await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");

    o.delete("reports/a.html").await.unwrap();
    assert!(matches!(
        o.get("reports/a.html").await,
        Err(ObjectsError::NotFound(_))
    ));
    o.delete("reports/a.html").await.unwrap();
    let keys: Vec<String> = o
        .list("reports")
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, ["reports/b.html"]);
    assert!(matches!(
        o.get("../etc/passwd").await,
        Err(ObjectsError::Config(_))
    ));

    // Streaming both ways, over a size that needs a multipart upload on S3 (> 10 MiB).
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let data: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    assert_eq!(
        o.put_file("backups/big.bin", &src).await.unwrap(),
        data.len() as u64
    );
    let back = dir.path().join("back.bin");
    assert_eq!(
        o.get_to_file("backups/big.bin", &back).await.unwrap(),
        data.len() as u64
    );
    assert!(
        std::fs::read(&back).unwrap() == data,
        "streamed copy differs"
    );
    o.delete("backups/big.bin").await.unwrap();

    // Uploads: size, type, content.
    let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n0000");
    o.put_upload("uploads/logo.png", "image/png", png.clone())
        .await
        .unwrap();
    assert_eq!(o.get("uploads/logo.png").await.unwrap(), png);
    o.put_upload(
        "uploads/m.csv",
        "text/csv; charset=utf-8",
        Bytes::from_static(b"a;b\n1;2\n"),
    )
    .await
    .unwrap();
    assert!(matches!(
        o.put_upload("uploads/big.csv", "text/csv", Bytes::from(vec![b'a'; 1025]))
            .await,
        Err(ObjectsError::TooLarge {
            size: 1025,
            max: 1024
        })
    ));
    assert!(matches!(
        o.put_upload(
            "uploads/x.pdf",
            "application/pdf",
            Bytes::from_static(b"%PDF-1.7")
        )
        .await,
        Err(ObjectsError::ContentType(_))
    ));
    assert!(matches!(
        o.put_upload(
            "uploads/fake.png",
            "image/png",
            Bytes::from_static(b"a,b\n")
        )
        .await,
        Err(ObjectsError::ContentType(_))
    ));
    assert!(matches!(
        o.put_upload("uploads/fake.csv", "text/csv", png.clone())
            .await,
        Err(ObjectsError::ContentType(_))
    ));
    assert!(matches!(
        o.put_upload(
            "uploads/bad.json",
            "application/json",
            Bytes::from_static(b"{no")
        )
        .await,
        Err(ObjectsError::ContentType(_))
    ));
    let keys: Vec<String> = o
        .list("uploads")
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(
        keys,
        ["uploads/logo.png", "uploads/m.csv"],
        "refused uploads are not stored"
    );
}

#[tokio::test]
async fn s3_put_get_list_delete_against_moto() {
    let Some(m) = moto() else { return };
    let o = s3(&m, "");
    conformance(&o).await;
    // A prefix keeps installations apart in one bucket.
    let a = s3(&m, "site-a");
    let b = s3(&m, "site-b");
    a.put("backups/one", Bytes::from_static(b"1"))
        .await
        .unwrap();
    assert!(b.list("backups").await.unwrap().is_empty());
    assert_eq!(a.list("backups").await.unwrap()[0].key, "backups/one");
}

#[tokio::test]
async fn s3_wrong_credentials_fail_against_moto() {
    let Some(m) = moto() else { return };
    let o = s3(&m, "");
    // A missing bucket is an error, not an empty list.
    let other = Objects::open(&storage(StorageLocation::S3 {
        bucket: "no-such-bucket".into(),
        prefix: String::new(),
        endpoint: Some(format!("http://127.0.0.1:{}", m.port)),
        region: "us-east-1".into(),
        access_key_id: Some(Secret::new("testing")),
        secret_access_key: Some(Secret::new("testing")),
    }))
    .unwrap();
    assert!(other.put("x", Bytes::from_static(b"x")).await.is_err());
    o.put("x", Bytes::from_static(b"x")).await.unwrap();
}

#[tokio::test]
async fn local_directory_passes_the_same_cases() {
    let dir = tempfile::tempdir().unwrap();
    let o = Objects::open(&storage(StorageLocation::Dir(dir.path().join("objects")))).unwrap();
    conformance(&o).await;
    assert!(dir.path().join("objects/reports/b.html").is_file());
}

#[test]
fn upload_checks() {
    let allowed = vec!["text/csv".to_string(), "image/jpeg".to_string()];
    assert!(check_upload(b"\xff\xd8\xff\xe0", "IMAGE/JPEG", 10, &allowed).is_ok());
    assert!(check_upload(b"MZ\x90\x00", "text/csv", 10, &allowed).is_err());
    assert!(check_upload(b"a\0b", "text/csv", 10, &allowed).is_err());
    assert!(check_upload(b"abc", "text/html", 10, &allowed).is_err());
}
