//! Custom HTTP tools end to end, against receivers on loopback only (no traffic leaves the
//! machine): arguments that break the schema never reach the URL; SSRF targets (loopback,
//! metadata, private, IPv6 loopback, IPv4-mapped IPv6, a name resolving to loopback) are refused
//! before any connection when not allow-listed; with the allow-list a signed call reaches the
//! receiver, carries only the allowed member fields, and verifies with the tool's secret under
//! the documented reference verifier, which refuses the same request replayed outside the
//! 5-minute window or after a rotation; redirects are not followed; non-JSON, oversized and
//! slow answers become tool errors. The voice path (registry → tool) runs on both backends.

use aws_lc_rs::hmac;
use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::http_tools::{AllowList, HttpTools};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use jarvis_voice::tools::{CallBinding, CallContext, ToolRegistry, tools_for_call};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

type S = Arc<dyn Store>;

/// How the receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Json,
    Redirect(u16),
    NotJson,
    Oversized,
    Slow,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// A loopback HTTP receiver that counts the connections it accepts.
struct Receiver {
    port: u16,
    accepts: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receiver(addr: &str, answer: Answer) -> Option<Receiver> {
    let l = TcpListener::bind(addr).await.ok()?;
    let port = l.local_addr().ok()?.port();
    let accepts = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (a, s) = (accepts.clone(), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).into_owned();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        let mut body = buf[i + 4..].to_vec();
                        while body.len() < len {
                            let Ok(n) = sock.read(&mut chunk).await else {
                                return;
                            };
                            if n == 0 {
                                break;
                            }
                            body.extend_from_slice(&chunk[..n]);
                        }
                        break (head, body);
                    }
                };
                s.lock().await.push(Seen { head, body });
                let (status, ctype, payload, extra) = match answer {
                    Answer::Json => (
                        "200 OK",
                        "application/json",
                        json!({"in_stock": 3, "item": "towel"}).to_string(),
                        String::new(),
                    ),
                    Answer::Redirect(to) => (
                        "302 Found",
                        "application/json",
                        "{}".to_owned(),
                        format!("Location: http://127.0.0.1:{to}/\r\n"),
                    ),
                    Answer::NotJson => (
                        "200 OK",
                        "text/html",
                        "<html>hi</html>".to_owned(),
                        String::new(),
                    ),
                    Answer::Oversized => (
                        "200 OK",
                        "application/json",
                        json!({"blob": "x".repeat(70 * 1024)}).to_string(),
                        String::new(),
                    ),
                    Answer::Slow => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        ("200 OK", "application/json", "{}".to_owned(), String::new())
                    }
                };
                let out = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{payload}",
                    payload.len()
                );
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Some(Receiver {
        port,
        accepts,
        seen,
    })
}

/// The reference verifier of docs/integrator/tools.md, written from the documentation:
/// parse `t` and `v1`, refuse a timestamp more than 300 s from now, compare the HMAC in
/// constant time.
fn verify(secret: &str, header: &str, document: &[u8], now: i64) -> Result<(), &'static str> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp")?;
    if (now - t).abs() > 300 {
        return Err("timestamp outside the 5-minute window");
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(document);
    let ok = sigs.iter().any(|s| {
        let bytes: Option<Vec<u8>> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect();
        bytes.is_some_and(|b| hmac::verify(&key, &signed, &b).is_ok())
    });
    if ok { Ok(()) } else { Err("bad signature") }
}

async fn gym(s: &S) -> (Gym, Scope) {
    let a = Actor::cli();
    let f = s
        .create_franchise(
            &Scope::Platform,
            &a,
            NewFranchise {
                name: format!("F{}", uuid::Uuid::now_v7()),
            },
        )
        .await
        .unwrap();
    let new = NewGym {
        franchise_id: f.id,
        name: "G".into(),
        address: None,
        timezone: "Europe/Paris".into(),
        locale: Locale::Fr,
        settings: json!({}),
    }
    .validate()
    .unwrap();
    let g = s
        .create_gym(&Scope::Platform, &a, new, GymStatus::Active)
        .await
        .unwrap();
    let sc = Scope::Gym {
        franchise: g.franchise_id,
        gym: g.id,
    };
    (g, sc)
}

fn input(url: String) -> HttpToolInput {
    HttpToolInput {
        name: "check_stock".into(),
        description: "Checks the shop's stock of an item".into(),
        parameters: json!({"type": "object", "additionalProperties": false,
            "required": ["item"],
            "properties": {"item": {"type": "string", "maxLength": 20}}}),
        url,
        method: HttpToolMethod::Post,
        timeout_ms: Some(2_000),
        member_fields: vec![MemberField::FirstName, MemberField::MemberId],
        enabled: true,
    }
}

fn svc(s: &S, allow: &str) -> HttpTools {
    HttpTools::new(
        s.clone(),
        MasterKey::generate(),
        AllowList::parse(allow).unwrap(),
    )
}

/// Through the voice registry, for a real member: bad arguments never reach the receiver, good
/// ones arrive signed with the allowed member fields only; the reference verifier accepts them
/// now and refuses them replayed 6 minutes later or after a rotation.
async fn signed_voice_call(s: S) {
    let (g, sc) = gym(&s).await;
    let m = s
        .create_member(
            &sc,
            &Actor::cli(),
            g.id,
            NewMember {
                badge_id: "B-1".into(),
                first_name: "Ann".into(),
                last_name: "Secret-Lastname".into(),
                email: Some("ann@example.com".into()),
                phone: None,
                birth_date: None,
                preferred_language: Locale::Fr,
                membership_type: "standard".into(),
                membership_status: MembershipStatus::Active,
                membership_end_date: None,
                goals: vec![],
                limitations: None,
                consent_voice: true,
                consent_transcripts: true,
            },
        )
        .await
        .unwrap();
    let r = receiver("127.0.0.1:0", Answer::Json).await.unwrap();
    let tools = svc(&s, "127.0.0.1");
    let created = tools
        .create(
            &sc,
            &Actor::cli(),
            g.id,
            input(format!("http://127.0.0.1:{}/stock", r.port)),
        )
        .await
        .unwrap();
    let mut disabled = input(format!("http://127.0.0.1:{}/off", r.port));
    disabled.name = "switched_off".into();
    disabled.enabled = false;
    tools
        .create(&sc, &Actor::cli(), g.id, disabled)
        .await
        .unwrap();

    let registry = tools_for_call(&ToolRegistry::builtin(), Some(&tools), &sc, g.id).await;
    assert!(registry.get("check_stock").is_some());
    assert!(
        registry.get("get_member_profile").is_some(),
        "built-ins stay"
    );
    assert!(
        registry.get("switched_off").is_none(),
        "disabled tools are not offered"
    );
    let ctx = CallContext::new(CallBinding {
        store: s.clone(),
        scope: sc,
        gym: g.id,
        member: m.id,
        session: VoiceSessionId::new(),
        kiosk: None,
        language: Locale::Fr,
        today: time::OffsetDateTime::now_utc().date(),
        settings: Arc::new(GymSettings::default()),
        storage: StorageLevel::Full,
    });

    for bad in [
        r#"{}"#,
        r#"{"item": 3}"#,
        r#"{"item": "towel", "member_id": "someone-else"}"#,
        r#"{"item": "a very long item name indeed"}"#,
        "not json",
    ] {
        let ex = registry.execute(&ctx, "call_bad", "check_stock", bad).await;
        assert!(ex.failed, "{bad}");
        assert!(ex.output.contains("invalid arguments"), "{}", ex.output);
    }
    assert_eq!(
        r.accepts.load(Ordering::SeqCst),
        0,
        "bad arguments never reach the URL"
    );

    let ex = registry
        .execute(&ctx, "call_1", "check_stock", r#"{"item": "towel"}"#)
        .await;
    assert!(!ex.failed, "{}", ex.output);
    let out: Value = serde_json::from_str(&ex.output).unwrap();
    assert_eq!(out["in_stock"], 3);
    assert_eq!(r.accepts.load(Ordering::SeqCst), 1);
    let seen = r.seen.lock().await[0].clone();
    assert!(seen.head.starts_with("POST /stock "), "{}", seen.head);
    let doc: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        doc,
        json!({"tool": "check_stock", "arguments": {"item": "towel"},
            "member": {"member_id": m.id.to_string(), "first_name": "Ann"}})
    );
    assert!(!String::from_utf8_lossy(&seen.body).contains("Secret-Lastname"));
    assert_eq!(
        seen.header("idempotency-key").unwrap(),
        format!("{}:call_1", ctx.session())
    );
    let sig = seen.header("jarvis-signature").unwrap();
    let t: i64 = sig
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    let secret = &created.secret;
    assert_eq!(verify(secret, &sig, &seen.body, t + 5), Ok(()));
    assert_eq!(
        verify(secret, &sig, &seen.body, t + 301),
        Err("timestamp outside the 5-minute window"),
        "a replay 5 minutes later is refused"
    );
    assert_eq!(
        verify("jtsec_wrong", &sig, &seen.body, t),
        Err("bad signature")
    );
    let mut tampered = seen.body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(verify(secret, &sig, &tampered, t), Err("bad signature"));

    // A rotation: the next call is signed with the new secret only.
    let rotated = tools
        .rotate_secret(&sc, &Actor::cli(), g.id, created.tool.id)
        .await
        .unwrap();
    assert_ne!(rotated.secret, *secret);
    let ex = registry
        .execute(&ctx, "call_2", "check_stock", r#"{"item": "mat"}"#)
        .await;
    assert!(!ex.failed, "{}", ex.output);
    let seen = r.seen.lock().await[1].clone();
    let sig = seen.header("jarvis-signature").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(verify(&rotated.secret, &sig, &seen.body, now), Ok(()));
    assert_eq!(verify(secret, &sig, &seen.body, now), Err("bad signature"));
    // Neither secret is stored in clear.
    assert!(
        s.http_tool_secret(&sc, g.id, created.tool.id)
            .await
            .unwrap()
            .starts_with("v1.")
    );
}

#[tokio::test]
async fn sqlite_signed_voice_call() {
    signed_voice_call(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_signed_voice_call() {
    let db = TestDb::postgres().await.unwrap();
    signed_voice_call(db.store()).await;
}

/// SSRF: each target is refused before any connection when not allow-listed.
#[tokio::test]
async fn ssrf_targets_are_refused_before_connecting() {
    let db = TestDb::sqlite().await.unwrap();
    let s = db.store();
    let (g, sc) = gym(&s).await;
    let v4 = receiver("127.0.0.1:0", Answer::Json).await.unwrap();
    let v6 = receiver("[::1]:0", Answer::Json).await;
    let v6_port = v6.as_ref().map_or(v4.port, |r| r.port);
    let tools = svc(&s, "");
    let targets = [
        format!("https://127.0.0.1:{}/x", v4.port),
        format!("https://localhost:{}/x", v4.port),
        format!("https://[::ffff:127.0.0.1]:{}/x", v4.port),
        format!("https://[::1]:{v6_port}/x"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://10.0.0.1/x".to_owned(),
    ];
    for (i, url) in targets.iter().enumerate() {
        let mut inp = input(url.clone());
        inp.name = format!("target_{i}");
        let t = tools.create(&sc, &Actor::cli(), g.id, inp).await.unwrap();
        let ex = tools
            .test(&sc, g.id, t.tool.id, r#"{"item": "towel"}"#)
            .await
            .unwrap();
        let err = ex.outcome.unwrap_err();
        assert!(err.contains("refused"), "{url}: {err}");
        assert!(ex.duration_ms < 1_000, "{url}: refused at once");
    }
    assert_eq!(
        v4.accepts.load(Ordering::SeqCst),
        0,
        "no connection on 127.0.0.1"
    );
    if let Some(v6) = v6 {
        assert_eq!(v6.accepts.load(Ordering::SeqCst), 0, "no connection on ::1");
    }
    // Plain http to a host that is not allow-listed is refused on save.
    let e = tools
        .create(
            &sc,
            &Actor::cli(),
            g.id,
            input(format!("http://127.0.0.1:{}/x", v4.port)),
        )
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("url"), "{e:?}");
}

/// Redirects are not followed; non-JSON, oversized and slow answers are tool errors; the test
/// endpoint refuses arguments that break the schema without sending anything.
#[tokio::test]
async fn bad_answers_become_tool_errors() {
    let db = TestDb::sqlite().await.unwrap();
    let s = db.store();
    let (g, sc) = gym(&s).await;
    let target = receiver("127.0.0.1:0", Answer::Json).await.unwrap();
    let cases = [
        (Answer::Redirect(target.port), "redirect"),
        (Answer::NotJson, "not JSON"),
        (Answer::Oversized, "larger than 64 KiB"),
        (Answer::Slow, "timed out"),
    ];
    let tools = svc(&s, "127.0.0.0/8");
    for (i, (answer, needle)) in cases.into_iter().enumerate() {
        let r = receiver("127.0.0.1:0", answer).await.unwrap();
        let mut inp = input(format!("http://127.0.0.1:{}/x", r.port));
        inp.name = format!("case_{i}");
        inp.timeout_ms = Some(500);
        let t = tools.create(&sc, &Actor::cli(), g.id, inp).await.unwrap();
        let bad = tools.test(&sc, g.id, t.tool.id, r#"{"item": 1}"#).await;
        assert!(
            matches!(bad, Err(jarvis_app::AppError::Invalid(_))),
            "{bad:?}"
        );
        assert_eq!(r.accepts.load(Ordering::SeqCst), 0);
        let ex = tools
            .test(&sc, g.id, t.tool.id, r#"{"item": "towel"}"#)
            .await
            .unwrap();
        let err = ex.outcome.unwrap_err();
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(r.accepts.load(Ordering::SeqCst), 1);
        let req = ex.request.unwrap();
        assert!(req.headers.iter().any(|(k, _)| k == "Jarvis-Signature"));
        assert!(!req.body.contains("jtsec_"), "the secret is never shown");
    }
    assert_eq!(
        target.accepts.load(Ordering::SeqCst),
        0,
        "the redirect target was never contacted"
    );
}
