//! Real WebRTC answerer (str0m): one std::thread per call, blocking UDP socket on loopback.
//!
//! The data channel `oai-events` carries the same JSON events as the sideband; the fake sends
//! Opus silence (`F8 FF FE`) every 20 ms and counts incoming audio packets for usage.
//!
//! Live audio (`FakeConfig.live_audio`, the demo) when the offer allows PCMU: the answer
//! negotiates PCMU only, the member's microphone is decoded and fed to an energy VAD whose
//! utterances drive the conversation, and each response's audio is played as a tone pattern
//! for as long as it is billed. Half duplex: the fake does not listen while it speaks.

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

use crate::audio::{self, ToneVoice, Vad, VadEvent};
use crate::realtime::{self, Call, Outbound};
use crate::state::Shared;

/// The 3-byte Opus "silence" frame (TOC 0xF8 = CELT FB 20 ms, then DTX padding).
const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];
const FRAME: Duration = Duration::from_millis(20);
/// Quiet after the assistant's audio before the fake listens again (its own tail, room echo).
const LISTEN_GUARD: Duration = Duration::from_millis(300);
/// Longest goodbye played after a hang-up before the peer closes.
const MAX_DRAIN: Duration = Duration::from_secs(10);

/// Whether the SDP offer lists PCMU (G.711 μ-law, static payload type 0) for audio.
pub(crate) fn offer_has_pcmu(offer: &str) -> bool {
    offer.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase();
        l.starts_with("a=rtpmap:") && l.contains(" pcmu/8000")
    })
}

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
    let live = shared.cfg().live_audio && offer_has_pcmu(offer);
    let builder = if live {
        // PCMU only, so the browser sends μ-law the fake can decode (and plays ours).
        Rtc::builder().clear_codecs().enable_pcmu(true, false)
    } else {
        Rtc::builder()
    };
    let mut rtc = builder.build(Instant::now());
    let cand = Candidate::host(local, "udp").map_err(|e| e.to_string())?;
    rtc.add_local_candidate(cand);
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| e.to_string())?;
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| e.to_string())?;
    let sdp = answer.to_sdp_string();
    let rx = call.subscribe();
    call.with_stats(|s| s.live_audio = live);
    let (shared, call) = (shared.clone(), call.clone());
    std::thread::Builder::new()
        .name(format!("webrtc-{}", call.id))
        .spawn(move || {
            let id = call.id.clone();
            if let Err(e) = run(&shared, &call, rtc, sock, rx, live) {
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
    live: bool,
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
    let codec = if live { Codec::PCMU } else { Codec::Opus };
    let mut vad = Vad::default();
    let mut voice = ToneVoice::new(0);
    let mut responses_voiced: u64 = 0;
    // Assistant audio still to play, and when the fake may listen again.
    let mut speak_ms: u64 = 0;
    let mut listen_after = Instant::now();
    let mut channel_open_at: Option<Instant> = None;
    // Hung up while speaking: play the rest (bounded), then close.
    let mut draining: Option<Instant> = None;
    let mut channel_closed_at: Option<Instant> = None;
    loop {
        if let Some(since) = draining
            && (speak_ms == 0 || since.elapsed() > MAX_DRAIN)
        {
            // Close the data channel first (the kiosk sees a clean end, not a lost network),
            // give the reset a moment to leave, then stop.
            match (channel.take(), channel_closed_at) {
                (Some(id), _) => {
                    rtc.direct_api().close_data_channel(id);
                    channel_closed_at = Some(Instant::now());
                }
                (None, Some(t)) if t.elapsed() < Duration::from_millis(300) => {}
                _ => {
                    rtc.disconnect();
                    return Ok(());
                }
            }
        }
        // Server events from the engine → data channel.
        while draining.is_none() {
            match rx.try_recv() {
                Ok(Outbound::Event { text, only }) => {
                    if only.is_none_or(|o| o == sid)
                        && let Some(mut ch) = channel.and_then(|c| rtc.channel(c))
                    {
                        let _ = ch.write(false, text.as_bytes());
                    }
                }
                Ok(Outbound::Close { .. }) if live && connected => {
                    // The demo's goodbye is heard to the end, then the peer closes.
                    speak_ms += call.take_playback_ms();
                    draining = Some(Instant::now());
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
                                .find(|p| p.spec().codec == codec)
                                .map(|p| p.pt())
                        });
                        audio = pt.map(|pt| (m.mid, pt));
                    }
                    Event::MediaData(d) => {
                        call.add_incoming_audio(1, 20);
                        if live && d.params.spec().codec == Codec::PCMU {
                            let pcm = audio::mulaw_decode_frame(&d.data);
                            let ms = (pcm.len() as u64 * 1000) / u64::from(audio::PCMU_RATE);
                            let now = Instant::now();
                            // Listen once the events can reach the kiosk and the broker
                            // (data channel open, sideband attached or given 3 s), and never
                            // while the assistant speaks.
                            let ready = channel_open_at.is_some_and(|t| {
                                now >= t + Duration::from_millis(500)
                                    && (call.stats().sideband_connections > 0
                                        || now >= t + Duration::from_secs(3))
                            });
                            if !ready
                                || speak_ms > 0
                                || now < listen_after
                                || draining.is_some()
                                || !call.listening()
                            {
                                vad.skip(ms);
                            } else {
                                match vad.push(&pcm, audio::PCMU_RATE) {
                                    Some(VadEvent::SpeechStarted { at_ms }) => {
                                        realtime::heard_speech_started(shared, call, at_ms);
                                    }
                                    Some(VadEvent::SpeechStopped { start_ms, end_ms }) => {
                                        realtime::heard_speech_stopped(
                                            shared, call, start_ms, end_ms,
                                        );
                                    }
                                    None => {}
                                }
                            }
                        }
                    }
                    Event::ChannelOpen(id, label) if label == "oai-events" => {
                        channel = Some(id);
                        channel_open_at = Some(Instant::now());
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
            let (frame, t, step) = if live {
                let queued = call.take_playback_ms();
                if queued > 0 && speak_ms == 0 {
                    // A new reply: a new melody.
                    responses_voiced += 1;
                    voice = ToneVoice::new(responses_voiced);
                }
                speak_ms += queued;
                let frame = if speak_ms > 0 {
                    // The last frame of a reply is partly sound: count only what was billed.
                    let played = speak_ms.min(20);
                    speak_ms -= played;
                    call.with_stats(|s| s.audio_ms_spoken += played);
                    if speak_ms == 0 {
                        listen_after = now + LISTEN_GUARD;
                    }
                    voice.next_frame()
                } else {
                    vec![audio::MULAW_SILENCE; audio::PCMU_FRAME_SAMPLES]
                };
                (frame, MediaTime::new(ts, Frequency::EIGHT_KHZ), 160)
            } else {
                (
                    OPUS_SILENCE.to_vec(),
                    MediaTime::new(ts, Frequency::FORTY_EIGHT_KHZ),
                    960,
                )
            };
            if let Some(w) = rtc.writer(mid)
                && w.write(pt, now, t, frame).is_ok()
            {
                call.with_stats(|s| s.audio_packets_out += 1);
            }
            ts += step;
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
