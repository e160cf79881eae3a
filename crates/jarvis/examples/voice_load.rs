//! Voice-start load for `bench/run` (issue 15, target 3): fires concurrent kiosk voice starts at
//! a running `jarvis serve`, all released at once, then ends the calls it started.
//!
//!     voice_load start ADDR PAIRS_FILE SESSIONS_OUT   (PAIRS_FILE: "device_token badge_id" lines)
//!     voice_load end ADDR SESSIONS_FILE               (SESSIONS_FILE: what `start` wrote)
//!
//! Each request is one kiosk's `POST /api/v1/kiosk/voice/sessions` with a browser-like SDP offer
//! on its own connection (connected before the release, so the burst is the requests, not the
//! TCP handshakes). Prints one `RESULT {json}` line: answers by status and the client-side
//! latency. The calls stay up on the server after `start` exits (the server holds them, not the
//! kiosk's request). Bench tool only: plain HTTP/1.1 on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// A browser-like SDP offer (audio and the `oai-events` data channel).
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n";

const STARTS: &str = "/api/v1/kiosk/voice/sessions";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One request on `stream`: the status and the body.
async fn exchange(
    mut stream: TcpStream,
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Result<(u16, String), Error> {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn lines(path: &str) -> Result<Vec<(String, String)>, Error> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        })
        .collect())
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e3
}

/// Runs one request per `(token, arg)` pair, all released together.
async fn burst(
    addr: &str,
    pairs: Vec<(String, String)>,
    request: fn(&str, &str) -> (String, String, String),
) -> Result<Vec<(String, u16, String, Duration)>, Error> {
    let barrier = Arc::new(Barrier::new(pairs.len()));
    let mut tasks = Vec::new();
    for (token, arg) in pairs {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (barrier, addr) = (barrier.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let (method, path, body) = request(&token, &arg);
            barrier.wait().await;
            let t = Instant::now();
            let r = exchange(stream, &addr, &method, &path, &token, &body).await;
            (token, r, t.elapsed())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        let (token, r, took) = t.await?;
        let (status, body) = r?;
        out.push((token, status, body, took));
    }
    Ok(out)
}

fn report(results: &[(String, u16, String, Duration)], extra: serde_json::Value) {
    let mut took: Vec<Duration> = results.iter().map(|r| r.3).collect();
    took.sort();
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    for r in results {
        let v: serde_json::Value = serde_json::from_str(&r.2).unwrap_or_default();
        let key = match v["error"]["code"].as_str() {
            Some(code) => format!("{} {code}", r.1),
            None => r.1.to_string(),
        };
        *statuses.entry(key).or_default() += 1;
    }
    let mut v = serde_json::json!({
        "requests": results.len(),
        "statuses": statuses,
        "client_p50_ms": percentile(&took, 0.5),
        "client_p99_ms": percentile(&took, 0.99),
        "client_max_ms": percentile(&took, 1.0),
    });
    if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    println!("RESULT {v}");
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["start", addr, pairs, out] => {
            let results = burst(addr, lines(pairs)?, |_, badge| {
                let body = serde_json::json!({ "badge_id": badge, "sdp": OFFER }).to_string();
                ("POST".into(), STARTS.into(), body)
            })
            .await?;
            let mut sessions = String::new();
            for (token, status, body, _) in &results {
                let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                if *status == 201
                    && let Some(id) = v["session_id"].as_str()
                {
                    sessions.push_str(&format!("{token} {id}\n"));
                }
            }
            std::fs::write(out, sessions)?;
            let created = results.iter().filter(|r| r.1 == 201).count();
            report(&results, serde_json::json!({ "created": created }));
        }
        ["end", addr, sessions] => {
            let results = burst(addr, lines(sessions)?, |_, id| {
                ("DELETE".into(), format!("{STARTS}/{id}"), String::new())
            })
            .await?;
            let ended = results.iter().filter(|r| r.1 == 204).count();
            report(&results, serde_json::json!({ "ended": ended }));
        }
        _ => {
            eprintln!(
                "usage: voice_load start ADDR PAIRS_FILE SESSIONS_OUT | voice_load end ADDR SESSIONS_FILE"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
