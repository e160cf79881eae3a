//! Real WebRTC answerer (str0m): one std::thread per call, blocking UDP socket on loopback.
//!
//! The data channel `oai-events` carries the same JSON events as the sideband; the fake sends
//! Opus silence (`F8 FF FE`) every 20 ms and counts incoming audio packets for usage.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::channel::ChannelId;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::broadcast::error::TryRecvError;

use crate::realtime::{self, Call, Outbound};
use crate::state::Shared;

/// The 3-byte Opus "silence" frame (TOC 0xF8 = CELT FB 20 ms, then DTX padding).
const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];
const FRAME: Duration = Duration::from_millis(20);

/// Accepts `offer`, starts the peer thread and returns the SDP answer.
pub(crate) fn answer(
    shared: &Arc<Shared>,
    call: &Arc<Call>,
    offer: &str,
) -> Result<String, String> {
    // Idempotent: only the first install wins, later calls are no-ops.
    str0m::crypto::from_feature_flags().install_process_default();
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let mut rtc = Rtc::builder().build(Instant::now());
    let cand = Candidate::host(local, "udp").map_err(|e| e.to_string())?;
    rtc.add_local_candidate(cand);
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| e.to_string())?;
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| e.to_string())?;
    let sdp = answer.to_sdp_string();
    let rx = call.subscribe();
    let (shared, call) = (shared.clone(), call.clone());
    std::thread::Builder::new()
        .name(format!("webrtc-{}", call.id))
        .spawn(move || {
            let id = call.id.clone();
            if let Err(e) = run(&shared, &call, rtc, sock, rx) {
                tracing::debug!(call = %id, error = %e, "webrtc peer ended");
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(sdp)
}

fn run(
    shared: &Shared,
    call: &Call,
    mut rtc: Rtc,
    sock: UdpSocket,
    mut rx: tokio::sync::broadcast::Receiver<Outbound>,
) -> Result<(), String> {
    let sid = call.socket_id();
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 2000];
    let mut audio: Option<(Mid, Pt)> = None;
    let mut channel: Option<ChannelId> = None;
    let mut connected = false;
    let mut next_tick = Instant::now();
    let mut ts: u64 = 0;
    let started = Instant::now();
    loop {
        // Server events from the engine → data channel.
        loop {
            match rx.try_recv() {
                Ok(Outbound::Event { text, only }) => {
                    if only.is_none_or(|o| o == sid)
                        && let Some(mut ch) = channel.and_then(|c| rtc.channel(c))
                    {
                        let _ = ch.write(false, text.as_bytes());
                    }
                }
                Ok(Outbound::Close { .. }) | Ok(Outbound::Drop) | Err(TryRecvError::Closed) => {
                    rtc.disconnect();
                    return Ok(());
                }
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty) => break,
            }
        }
        if !rtc.is_alive() {
            return Ok(());
        }
        // A peer that never connects must not leak a thread forever.
        if !connected && started.elapsed() > Duration::from_secs(60) {
            return Err("never connected".into());
        }
        let timeout = loop {
            match rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    let _ = sock.send_to(&t.contents, t.destination);
                }
                Output::Event(e) => match e {
                    Event::Connected => {
                        connected = true;
                        next_tick = Instant::now();
                        call.with_stats(|s| s.webrtc_connected = true);
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        return Ok(());
                    }
                    Event::MediaAdded(m) if m.kind == MediaKind::Audio => {
                        let pt = rtc.writer(m.mid).and_then(|w| {
                            w.payload_params()
                                .find(|p| p.spec().codec == Codec::Opus)
                                .map(|p| p.pt())
                        });
                        audio = pt.map(|pt| (m.mid, pt));
                    }
                    Event::MediaData(_) => call.add_incoming_audio(1, 20),
                    Event::ChannelOpen(id, label) if label == "oai-events" => {
                        channel = Some(id);
                        call.with_stats(|s| s.datachannel_open = true);
                        let created = call.session_created(shared);
                        if let Some(mut ch) = rtc.channel(id) {
                            let _ = ch.write(false, created.as_bytes());
                        }
                    }
                    Event::ChannelData(d) if Some(d.id) == channel && !d.binary => {
                        call.with_stats(|s| s.datachannel_messages_in += 1);
                        let text = String::from_utf8_lossy(&d.data).into_owned();
                        realtime::handle_client_event(shared, call, sid, &text);
                    }
                    _ => {}
                },
            }
        };
        let now = Instant::now();
        if connected
            && let Some((mid, pt)) = audio
            && now >= next_tick
        {
            if let Some(w) = rtc.writer(mid) {
                let t = MediaTime::new(ts, Frequency::FORTY_EIGHT_KHZ);
                if w.write(pt, now, t, OPUS_SILENCE.to_vec()).is_ok() {
                    call.with_stats(|s| s.audio_packets_out += 1);
                }
            }
            ts += 960;
            next_tick += FRAME;
            continue;
        }
        let mut wake = timeout.min(now + FRAME);
        if connected && audio.is_some() {
            wake = wake.min(next_tick);
        }
        let dur = wake.saturating_duration_since(now);
        if dur.is_zero() {
            rtc.handle_input(Input::Timeout(now))
                .map_err(|e| e.to_string())?;
            continue;
        }
        sock.set_read_timeout(Some(dur))
            .map_err(|e| e.to_string())?;
        match sock.recv_from(&mut buf) {
            Ok((n, source)) => {
                // Non-STUN/DTLS/RTP garbage is skipped, not fatal.
                if let Ok(r) = Receive::new(Protocol::Udp, source, local, &buf[..n]) {
                    let _ = rtc.handle_input(Input::Receive(Instant::now(), r));
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                rtc.handle_input(Input::Timeout(Instant::now()))
                    .map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}
