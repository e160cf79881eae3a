//! Optional Sentry: with a DSN pointing at a loopback fake ingest endpoint, a panic and an
//! error-log event are delivered as envelopes (redacted); no internet involved.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use jarvis_app::errors::{ErrorKind, ErrorLog};
use jarvis_store::ErrorLevel;
use jarvis_store::testing::TestDb;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_receives_panics_and_error_events() {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/api/{project}/envelope/",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                "{}"
            }
        }),
    );
    // The fake ingest endpoint on its own thread and runtime: Sentry's flush at shutdown blocks
    // the caller's thread, and must not block the server that answers it.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let _ = axum::serve(listener, app).await;
        });
    });

    let db = TestDb::sqlite().await.unwrap();
    let errors = ErrorLog::new(db.store(), None);
    let dsn = format!("http://publickey@{addr}/42");
    let guard = jarvis_server::sentry_report::init(&dsn, &errors).expect("sentry on");
    errors.push(
        ErrorKind::Http,
        "GET /api/v1/marker",
        ErrorLevel::Error,
        "500 internal: marker-error for ann@example.org",
    );
    // Below error level: not sent.
    errors.push(ErrorKind::Job, "x", ErrorLevel::Warning, "marker-warning");
    // A panic on another thread (it inherits the main hub, like the server's tasks).
    let _ = std::thread::spawn(|| panic!("marker-panic")).join();
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let all = |s: &Vec<String>| s.join("\n");
    for _ in 0..50 {
        let got = all(&received.lock().unwrap());
        if got.contains("marker-error") && got.contains("marker-panic") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = all(&received.lock().unwrap());
    assert!(got.contains("marker-error"), "{got}");
    assert!(got.contains("marker-panic"), "{got}");
    assert!(!got.contains("ann@example.org"), "redacted: {got}");
    assert!(!got.contains("marker-warning"));
}
