//! Live audio of the demo fake: the μ-law codec, the voice-activity detector, the assistant's
//! tone voice, and a heard conversation over real WebRTC (a str0m offerer standing in for
//! Chromium, whose fake microphone beeps 20 ms of 400 Hz every 500 ms).

use jarvis_fake_openai::audio::{
    self, PCMU_FRAME_SAMPLES, PCMU_RATE, ToneVoice, Vad, VadEvent, mulaw_decode, mulaw_encode,
};
use jarvis_fake_openai::{DemoLanguage, demo_dialogue};
use serde_json::json;

/// 20 ms at 8 kHz of a 400 Hz sine of amplitude `amp`, starting at sample `n0`.
fn sine_frame(n0: usize, amp: f64) -> Vec<i16> {
    (0..PCMU_FRAME_SAMPLES)
        .map(|i| {
            let t = (n0 + i) as f64 / f64::from(PCMU_RATE);
            (amp * (2.0 * std::f64::consts::PI * 400.0 * t).sin()) as i16
        })
        .collect()
}

/// Chromium's fake microphone: a 20 ms beep every 500 ms (frame `k` of 20 ms).
fn chromium_mic_frame(k: usize) -> Vec<i16> {
    if k.is_multiple_of(25) {
        sine_frame(k * PCMU_FRAME_SAMPLES, 12000.0)
    } else {
        vec![0; PCMU_FRAME_SAMPLES]
    }
}

#[test]
fn mulaw_round_trips_every_code_and_stays_close_to_linear() {
    for b in 0..=255u8 {
        // 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
        let expected = if b == 0x7F { 0xFF } else { b };
        assert_eq!(mulaw_encode(mulaw_decode(b)), expected, "code {b:#04x}");
    }
    let mut prev = i16::MIN;
    for x in (i16::MIN..=i16::MAX).step_by(7) {
        let y = mulaw_decode(mulaw_encode(x));
        // Logarithmic quantisation: the error grows with the magnitude (at most half a step of
        // the top segment, 512, plus the clip above 32635).
        let err = (i32::from(y) - i32::from(x)).abs();
        let bound = (i32::from(x).abs() / 16).max(8) + 140;
        assert!(err <= bound, "x={x} y={y} err={err}");
        assert!(y >= prev, "monotonic at {x}");
        prev = y;
    }
    assert_eq!(mulaw_encode(0), audio::MULAW_SILENCE);
    assert_eq!(mulaw_decode(audio::MULAW_SILENCE), 0);
}

#[test]
fn vad_hears_each_chromium_beep_as_a_short_utterance() {
    let mut vad = Vad::default();
    let mut events = Vec::new();
    // 2.2 s of the fake microphone, through the μ-law codec as on the wire.
    for k in 0..110 {
        let wire = audio::mulaw_encode_frame(&chromium_mic_frame(k));
        if let Some(e) = vad.push(&audio::mulaw_decode_frame(&wire), PCMU_RATE) {
            events.push(e);
        }
    }
    assert_eq!(
        events[..4],
        [
            VadEvent::SpeechStarted { at_ms: 0 },
            VadEvent::SpeechStopped {
                start_ms: 0,
                end_ms: 20
            },
            VadEvent::SpeechStarted { at_ms: 500 },
            VadEvent::SpeechStopped {
                start_ms: 500,
                end_ms: 520
            },
        ],
        "{events:?}"
    );
    // Five beeps in 2.2 s, each stopped 400 ms after it ended (the last one at 2000 ms is
    // still within its hangover at 2200 ms).
    let starts = events
        .iter()
        .filter(|e| matches!(e, VadEvent::SpeechStarted { .. }))
        .count();
    let stops = events
        .iter()
        .filter(|e| matches!(e, VadEvent::SpeechStopped { .. }))
        .count();
    assert_eq!((starts, stops), (5, 4), "{events:?}");
}

#[test]
fn vad_ignores_quiet_bridges_short_pauses_and_caps_long_speech() {
    let mut vad = Vad::new(320.0, 400, 2000);
    // Quiet room noise (about -50 dBFS) is not speech.
    for k in 0..50 {
        assert_eq!(vad.push(&sine_frame(k * 160, 150.0), PCMU_RATE), None);
    }
    // 300 ms of speech, a 200 ms pause, 300 ms more: one utterance.
    let mut events = Vec::new();
    let pattern = [15usize, 10, 15, 30];
    let mut loud = true;
    for n in pattern {
        for k in 0..n {
            let f = if loud {
                sine_frame(k * 160, 6000.0)
            } else {
                vec![0; 160]
            };
            events.extend(vad.push(&f, PCMU_RATE));
        }
        loud = !loud;
    }
    assert_eq!(
        events,
        vec![
            VadEvent::SpeechStarted { at_ms: 1000 },
            VadEvent::SpeechStopped {
                start_ms: 1000,
                end_ms: 1800
            },
        ]
    );
    // A room that never goes quiet is cut at the cap and heard again right after.
    let mut events = Vec::new();
    for k in 0..150 {
        events.extend(vad.push(&sine_frame(k * 160, 6000.0), PCMU_RATE));
    }
    assert!(
        matches!(events[1], VadEvent::SpeechStopped { start_ms, end_ms } if end_ms - start_ms == 2000),
        "{events:?}"
    );
    // Skipped time (the assistant talking) forgets the utterance in progress.
    vad.skip(1000);
    assert!(!vad.in_speech());
    assert_eq!(vad.now_ms(), 1000 + 1400 + 3000 + 1000);
}

#[test]
fn the_assistant_voice_is_audible_in_syllables() {
    let mut v = ToneVoice::new(1);
    let frames: Vec<Vec<i16>> = (0..100)
        .map(|_| audio::mulaw_decode_frame(&v.next_frame()))
        .collect();
    let levels: Vec<f64> = frames.iter().map(|f| audio::rms(f)).collect();
    let loud = levels.iter().filter(|l| **l > 1000.0).count();
    let quiet = levels.iter().filter(|l| **l < 100.0).count();
    // Mostly sound (clearly above the detector's threshold), with audible gaps between syllables.
    assert!(loud > 50, "{levels:?}");
    assert!(quiet > 3, "{levels:?}");
    let peak = frames.iter().flatten().map(|s| s.unsigned_abs()).max();
    assert!(peak.is_some_and(|p| p < 12000), "no clipping: {peak:?}");
    // Another response gets another melody.
    let mut w = ToneVoice::new(2);
    let other: Vec<u8> = (0..25).flat_map(|_| w.next_frame()).collect();
    let mut v = ToneVoice::new(1);
    let first: Vec<u8> = (0..25).flat_map(|_| v.next_frame()).collect();
    assert_ne!(first, other);
}

#[test]
fn the_dialogue_follows_the_language_the_server_asks_for() {
    let fr = json!({"audio":{"input":{"transcription":{"model":"gpt-4o-mini-transcribe","language":"fr"}}}});
    assert_eq!(DemoLanguage::of_session(&fr), DemoLanguage::Fr);
    let en = json!({"instructions":"Speak French unless…","audio":{"input":{"transcription":{"language":"en"}}}});
    assert_eq!(DemoLanguage::of_session(&en), DemoLanguage::En);
    let by_instructions = json!({"instructions":"You are Max. Speak French unless the member…"});
    assert_eq!(DemoLanguage::of_session(&by_instructions), DemoLanguage::Fr);
    assert_eq!(DemoLanguage::of_session(&json!({})), DemoLanguage::En);
    let d = demo_dialogue(DemoLanguage::En);
    assert_eq!(d.member_line(0), "Hi! What classes are on today?");
    assert_eq!(d.member_line(3), d.member_line(0));
}

#[cfg(feature = "webrtc")]
mod webrtc {
    use super::*;

    use std::net::UdpSocket;
    use std::time::{Duration, Instant};

    use jarvis_fake_openai::{FakeConfig, FakeOpenAi, LedgerKind};
    use serde_json::Value;
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

    /// What the stand-in browser saw.
    struct Seen {
        answer: String,
        call_id: String,
        events: Vec<Value>,
        /// Loudest incoming audio frame (RMS), decoded from PCMU.
        max_level: f64,
        media_in: u32,
    }

    /// A peer offering Opus and PCMU (as Chromium does) with a beeping microphone. It plays
    /// the broker's part on the data channel: every function call gets a canned output and a
    /// `response.create`; it stops after `end_conversation` or at `run_for`.
    async fn converse(cfg: FakeConfig, session: Value, run_for: Duration) -> (FakeOpenAi, Seen) {
        str0m::crypto::from_feature_flags().install_process_default();
        let fake = FakeOpenAi::start(cfg).await.unwrap();
        let ek = fake.handle.mint_secret(&session, 60).unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let local = sock.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .enable_pcmu(true, false)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let cid = api.add_channel("oai-events".into());
        let (offer, pending) = api.apply().unwrap();
        let offer = offer.to_sdp_string();
        assert!(offer.contains("PCMU/8000") && offer.contains("opus/48000"));
        let (status, location, answer) = post_offer(&fake.base_url(), &ek, &offer).await;
        assert_eq!(status, 201, "{answer}");
        let call_id = location.rsplit('/').next().unwrap().to_owned();
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();

        let seen = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 2000];
            let deadline = Instant::now() + run_for;
            let mut connected = false;
            let mut events: Vec<Value> = Vec::new();
            let (mut max_level, mut media_in) = (0.0f64, 0u32);
            let mut pt = None;
            let mut next_tick = Instant::now();
            let (mut ts, mut k) = (0u64, 0usize);
            let mut ended = false;
            while Instant::now() < deadline && !ended {
                let mut replies: Vec<String> = Vec::new();
                let timeout = loop {
                    match rtc.poll_output().unwrap() {
                        Output::Timeout(t) => break t,
                        Output::Transmit(t) => {
                            sock.send_to(&t.contents, t.destination).unwrap();
                        }
                        Output::Event(e) => match e {
                            Event::Connected => {
                                connected = true;
                                next_tick = Instant::now();
                            }
                            Event::MediaData(d) => {
                                media_in += 1;
                                if d.params.spec().codec == Codec::PCMU {
                                    let level = audio::rms(&audio::mulaw_decode_frame(&d.data));
                                    max_level = max_level.max(level);
                                }
                            }
                            Event::ChannelData(d) => {
                                let v: Value = serde_json::from_slice(&d.data).unwrap();
                                if v["type"] == "response.done" {
                                    for item in v["response"]["output"].as_array().unwrap() {
                                        if item["type"] != "function_call" {
                                            continue;
                                        }
                                        let output = match item["name"].as_str().unwrap() {
                                            "get_class_schedule" => json!({"day":"2026-11-30 (mon)",
                                                "classes":[{"name":"Yoga","start_time":"18:00:00"},
                                                    {"name":"Cross-training","start_time":"19:00:00"}]}),
                                            "end_conversation" => {
                                                ended = true;
                                                json!({"ok": true})
                                            }
                                            _ => json!({"ok": true}),
                                        };
                                        replies.push(json!({"type":"conversation.item.create","item":{
                                            "type":"function_call_output","call_id":item["call_id"],
                                            "output":output.to_string()}}).to_string());
                                    }
                                    if !replies.is_empty() && !ended {
                                        replies.push(json!({"type":"response.create"}).to_string());
                                    }
                                }
                                events.push(v);
                            }
                            _ => {}
                        },
                    }
                };
                if let Some(mut ch) = rtc.channel(cid) {
                    for r in &replies {
                        ch.write(false, r.as_bytes()).unwrap();
                    }
                }
                if pt.is_none() {
                    pt = rtc.writer(mid).and_then(|w| {
                        w.payload_params()
                            .find(|p| p.spec().codec == Codec::PCMU)
                            .map(|p| p.pt())
                    });
                }
                let now = Instant::now();
                if connected && now >= next_tick {
                    if let (Some(pt), Some(w)) = (pt, rtc.writer(mid)) {
                        let frame = audio::mulaw_encode_frame(&chromium_mic_frame(k));
                        let _ = w.write(pt, now, MediaTime::new(ts, Frequency::EIGHT_KHZ), frame);
                    }
                    ts += 160;
                    k += 1;
                    next_tick += Duration::from_millis(20);
                    continue;
                }
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
            (events, max_level, media_in)
        })
        .await
        .unwrap();
        let (events, max_level, media_in) = seen;
        (
            fake,
            Seen {
                answer,
                call_id,
                events,
                max_level,
                media_in,
            },
        )
    }

    fn french_session() -> Value {
        json!({"type":"realtime","model":"gpt-realtime-mini",
            "instructions":"You are Max. Speak French unless the member clearly prefers another language.",
            "audio":{"input":{"transcription":{"model":"gpt-4o-mini-transcribe","language":"fr"},
                "turn_detection":{"type":"server_vad","create_response":true}}}})
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().filter_map(|e| e["type"].as_str()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn heard_beeps_drive_the_bilingual_demo_conversation_and_the_assistant_is_audible() {
        let (fake, seen) = converse(
            FakeConfig::demo(),
            french_session(),
            Duration::from_secs(90),
        )
        .await;
        // PCMU only in the answer: the browser sends μ-law the fake can hear.
        assert!(seen.answer.contains("PCMU/8000"), "{}", seen.answer);
        assert!(
            !seen.answer.to_lowercase().contains("opus"),
            "{}",
            seen.answer
        );
        let t = types(&seen.events);

        // The first heard utterance: the GA sequence, in order, then the scripted response.
        let order = [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.input_audio_transcription.completed",
            "response.created",
            "output_audio_buffer.started",
            "response.output_audio_transcript.done",
            "response.function_call_arguments.done",
            "response.done",
        ];
        let mut at = 0;
        for o in order {
            let found = t[at..].iter().position(|x| *x == o);
            assert!(found.is_some(), "{o} after #{at} in {t:?}");
            at += found.unwrap_or(0) + 1;
        }
        let first_user = seen
            .events
            .iter()
            .find(|e| e["type"] == "conversation.item.added")
            .unwrap();
        assert_eq!(first_user["item"]["role"], "user");
        let stopped = seen
            .events
            .iter()
            .find(|e| e["type"] == "input_audio_buffer.speech_stopped")
            .unwrap();
        assert_eq!(first_user["item"]["id"], stopped["item_id"]);

        // The member's scripted lines in French, in order; the tool calls in order.
        let heard: Vec<&str> = seen
            .events
            .iter()
            .filter(|e| e["type"] == "conversation.item.input_audio_transcription.completed")
            .filter_map(|e| e["transcript"].as_str())
            .collect();
        let d = demo_dialogue(DemoLanguage::Fr);
        assert_eq!(heard, d.member_lines, "{t:?}");
        let calls: Vec<&str> = seen
            .events
            .iter()
            .filter(|e| e["type"] == "response.function_call_arguments.done")
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(
            calls,
            ["get_class_schedule", "log_member_goal", "end_conversation"]
        );
        // The answer after the tool call reads the tool's output.
        let said: Vec<&str> = seen
            .events
            .iter()
            .filter(|e| e["type"] == "response.output_audio_transcript.done")
            .filter_map(|e| e["transcript"].as_str())
            .collect();
        assert!(
            said.iter()
                .any(|s| s.contains("Yoga à 18:00, Cross-training à 19:00")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.contains("au revoir") || s.contains("bientôt"))
        );

        // Audible: decoded PCMU frames well above silence.
        assert!(seen.max_level > 1000.0, "max level {}", seen.max_level);
        assert!(seen.media_in > 50);
        let stats = fake.handle.call_stats(&seen.call_id).unwrap();
        assert!(stats.live_audio, "{stats:?}");
        assert_eq!(stats.utterances_heard, 3, "{stats:?}");
        // Every billed second of assistant audio was played (a response's audio is 50 ms per
        // output audio token).
        let billed_ms: u64 = fake
            .handle
            .ledger()
            .iter()
            .filter(|e| e.kind == LedgerKind::RealtimeResponse)
            .map(|e| e.usage.output_audio * 50)
            .sum();
        assert!(
            stats.audio_ms_spoken > 0 && stats.audio_ms_spoken <= billed_ms,
            "{stats:?} billed {billed_ms}"
        );
        // Three heard utterances were transcribed and billed.
        let transcriptions = fake
            .handle
            .ledger()
            .iter()
            .filter(|e| e.kind == LedgerKind::Transcription)
            .count();
        assert_eq!(transcriptions, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_english_session_gets_the_english_dialogue() {
        let session = json!({"type":"realtime","model":"gpt-realtime-mini",
            "instructions":"You are Max. Speak English unless the member clearly prefers another language.",
            "audio":{"input":{"transcription":{"model":"gpt-4o-mini-transcribe","language":"en"}}}});
        let (_fake, seen) = converse(FakeConfig::demo(), session, Duration::from_secs(90)).await;
        let heard: Vec<&str> = seen
            .events
            .iter()
            .filter(|e| e["type"] == "conversation.item.input_audio_transcription.completed")
            .filter_map(|e| e["transcript"].as_str())
            .collect();
        assert_eq!(heard, demo_dialogue(DemoLanguage::En).member_lines);
        let said: Vec<&str> = seen
            .events
            .iter()
            .filter(|e| e["type"] == "response.output_audio_transcript.done")
            .filter_map(|e| e["transcript"].as_str())
            .collect();
        assert!(
            said.contains(&"Today: Yoga at 18:00, Cross-training at 19:00. What is your goal?"),
            "{said:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_live_audio_the_fake_keeps_opus_silence_and_does_not_listen() {
        let (fake, seen) = converse(
            FakeConfig::default(),
            french_session(),
            Duration::from_secs(5),
        )
        .await;
        assert!(
            seen.answer.to_lowercase().contains("opus/48000"),
            "{}",
            seen.answer
        );
        assert!(!seen.answer.contains("PCMU"), "{}", seen.answer);
        assert!(seen.media_in > 50, "Opus silence still flows");
        let t = types(&seen.events);
        assert!(!t.contains(&"input_audio_buffer.speech_started"), "{t:?}");
        let stats = fake.handle.call_stats(&seen.call_id).unwrap();
        assert!(
            !stats.live_audio && stats.utterances_heard == 0,
            "{stats:?}"
        );
        assert!(stats.audio_packets_out > 50, "{stats:?}");
    }
}
