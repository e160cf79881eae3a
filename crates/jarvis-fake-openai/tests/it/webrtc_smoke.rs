//! Rust-only WebRTC smoke test: a str0m offerer (standing in for the browser) connects to the
//! fake's `/v1/realtime/calls`, exchanges `oai-events` JSON and audio both ways over loopback.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use jarvis_fake_openai::{FakeConfig, FakeOpenAi};
use serde_json::json;
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn post_offer(base_url: &str, ek: &str, sdp: &str) -> (u16, String, String) {
    let addr = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST /v1/realtime/calls HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ek}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sdp}",
        sdp.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("location:")
                .then(|| l[9..].trim().to_owned())
        })
        .unwrap_or_default();
    (status, location, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn str0m_peer_connects_exchanges_events_and_audio() {
    str0m::crypto::from_feature_flags().install_process_default();
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let ek = fake
        .handle
        .mint_secret(&json!({"type":"realtime","model":"gpt-realtime-mini"}), 60)
        .unwrap();

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = sock.local_addr().unwrap();
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let cid = api.add_channel("oai-events".into());
    let (offer, pending) = api.apply().unwrap();
    let (status, location, answer) =
        post_offer(&fake.base_url(), &ek, &offer.to_sdp_string()).await;
    assert_eq!(status, 201, "{answer}");
    let call_id = location.rsplit('/').next().unwrap().to_owned();
    assert!(call_id.starts_with("rtc_"));
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();

    let outcome = tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 2000];
        let deadline = Instant::now() + Duration::from_secs(15);
        let (mut connected, mut sent_create, mut events, mut media_in) =
            (false, false, Vec::<String>::new(), 0u32);
        let mut pt = None;
        let mut next_tick = Instant::now();
        let mut ts = 0u64;
        while Instant::now() < deadline {
            let timeout = loop {
                match rtc.poll_output().unwrap() {
                    Output::Timeout(t) => break t,
                    Output::Transmit(t) => {
                        sock.send_to(&t.contents, t.destination).unwrap();
                    }
                    Output::Event(e) => match e {
                        Event::Connected => connected = true,
                        Event::MediaData(_) => media_in += 1,
                        Event::ChannelData(d) => {
                            let v: serde_json::Value = serde_json::from_slice(&d.data).unwrap();
                            events.push(v["type"].as_str().unwrap_or("").to_owned());
                        }
                        _ => {}
                    },
                }
            };
            if pt.is_none() {
                pt = rtc.writer(mid).and_then(|w| {
                    w.payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .map(|p| p.pt())
                });
            }
            if events.iter().any(|e| e == "session.created")
                && !sent_create
                && let Some(mut ch) = rtc.channel(cid)
            {
                ch.write(false, br#"{"type":"response.create"}"#).unwrap();
                sent_create = true;
            }
            let now = Instant::now();
            if connected && now >= next_tick {
                if let (Some(pt), Some(w)) = (pt, rtc.writer(mid)) {
                    let _ = w.write(
                        pt,
                        now,
                        MediaTime::new(ts, Frequency::FORTY_EIGHT_KHZ),
                        vec![0xF8u8, 0xFF, 0xFE],
                    );
                }
                ts += 960;
                next_tick += Duration::from_millis(20);
                continue;
            }
            if events.iter().any(|e| e == "response.done") && media_in > 10 {
                break;
            }
            // Only a connected peer has an audio deadline; before that, wait for the network.
            let mut wake = timeout.min(now + Duration::from_millis(20));
            if connected {
                wake = wake.min(next_tick);
            }
            let dur = wake.saturating_duration_since(now);
            if dur.is_zero() {
                rtc.handle_input(Input::Timeout(now)).unwrap();
                continue;
            }
            sock.set_read_timeout(Some(dur)).unwrap();
            match sock.recv_from(&mut buf) {
                Ok((n, source)) => {
                    if let Ok(r) = Receive::new(Protocol::Udp, source, local, &buf[..n]) {
                        rtc.handle_input(Input::Receive(Instant::now(), r)).unwrap();
                    }
                }
                Err(_) => rtc.handle_input(Input::Timeout(Instant::now())).unwrap(),
            }
        }
        (connected, events, media_in)
    })
    .await
    .unwrap();
    let (connected, events, media_in) = outcome;
    assert!(connected, "ICE/DTLS connected");
    assert_eq!(
        events.first().map(String::as_str),
        Some("session.created"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e == "response.done"), "{events:?}");
    assert!(media_in > 10, "server audio reached the peer: {media_in}");
    let stats = fake.handle.call_stats(&call_id).unwrap();
    assert!(stats.webrtc_connected && stats.datachannel_open);
    assert!(
        stats.audio_packets_in > 0 && stats.audio_ms_in > 0,
        "{stats:?}"
    );
    assert_eq!(stats.datachannel_messages_in, 1);
}
