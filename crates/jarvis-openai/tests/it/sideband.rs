//! Sideband WebSocket against the fake: scripted conversation with parallel function calls,
//! usage/ledger reconciliation, unknown events, response faults, expiry, drop, hangup.

use crate::common;

use std::time::Duration;

use common::*;
use jarvis_core::cost::{ModelPrice, PriceTable};
use jarvis_fake_openai::{FakeConfig, LedgerKind, ResponseFault, Script, ScriptedCall, Turn};
use jarvis_openai::realtime::{AudioConfig, ClientEvent, ServerEvent, SessionConfig, Tool, Voice};
use jarvis_openai::{OpenAiError, SessionMeter, Sideband};
use serde_json::json;

const T: Duration = Duration::from_secs(5);

/// Reads events until `pred` matches (bounded), returning everything read.
async fn until(sb: &mut Sideband, pred: impl Fn(&ServerEvent) -> bool) -> Vec<ServerEvent> {
    let mut seen = Vec::new();
    for _ in 0..200 {
        let ev = sb
            .next_event_timeout(T)
            .await
            .unwrap()
            .expect("socket still open");
        let done = pred(&ev);
        seen.push(ev);
        if done {
            return seen;
        }
    }
    panic!("event not seen in 200 events: {seen:?}");
}

fn is_response_done(e: &ServerEvent) -> bool {
    matches!(e, ServerEvent::ResponseDone { .. })
}

fn gym_script() -> Script {
    Script::new(vec![
        Turn::Call {
            preamble: Some("One moment.".into()),
            calls: vec![
                ScriptedCall::new("get_class_schedule", json!({"day":"today"}))
                    .expect_output(json!({"classes":["yoga 18:00"]})),
                ScriptedCall::new("get_member_profile", json!({"member":"m1"}))
                    .expect_output(json!({"name":"Léa"})),
            ],
        },
        Turn::Say("Léa, there is yoga at six tonight.".into()),
    ])
}

async fn setup(
    script: Script,
) -> (
    jarvis_fake_openai::FakeOpenAi,
    jarvis_openai::OpenAiClient,
    String,
    Sideband,
) {
    let (fake, client, call_id, sb, _created) = setup_keeping_created(script).await;
    (fake, client, call_id, sb)
}

/// Like [`setup`], also returning the `session.created` event.
async fn setup_keeping_created(
    script: Script,
) -> (
    jarvis_fake_openai::FakeOpenAi,
    jarvis_openai::OpenAiClient,
    String,
    Sideband,
    ServerEvent,
) {
    let fake = fake_with(FakeConfig {
        real_webrtc: false,
        script,
        ..FakeConfig::default()
    })
    .await;
    let (client, _) = client(&fake);
    let mut session = SessionConfig::realtime("gpt-realtime-mini");
    session.instructions = Some("You are the gym coach.".into());
    session.tools = Some(vec![
        Tool::function(
            "get_class_schedule",
            "schedule",
            json!({"type":"object","properties":{}}),
        ),
        Tool::function(
            "get_member_profile",
            "profile",
            json!({"type":"object","properties":{}}),
        ),
    ]);
    let call = client.create_call(OFFER, &session).await.unwrap();
    let mut sb = client.connect_sideband(&call.call_id).await.unwrap();
    let first = sb.next_event_timeout(T).await.unwrap().unwrap();
    assert!(
        matches!(first, ServerEvent::SessionCreated { ref session } if session.instructions.as_deref() == Some("You are the gym coach.")),
        "{first:?}"
    );
    (fake, client, call.call_id, sb, first)
}

#[tokio::test]
async fn scripted_parallel_function_calls_round_trip() {
    let (fake, _client, call_id, mut sb) = setup(gym_script()).await;
    // Turn on transcription over the sideband.
    let update = SessionConfig {
        audio: Some(
            serde_json::from_value(
                json!({"input":{"transcription":{"model":"gpt-4o-mini-transcribe"}}}),
            )
            .unwrap(),
        ),
        ..SessionConfig::default()
    };
    sb.send(&ClientEvent::session_update(update)).await.unwrap();
    let ev = until(&mut sb, |e| matches!(e, ServerEvent::SessionUpdated { .. })).await;
    let ServerEvent::SessionUpdated { session } = ev.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(
        session.instructions.as_deref(),
        Some("You are the gym coach."),
        "update merges, not replaces"
    );

    // The member speaks: transcript, then an automatic response with two calls at once.
    assert!(fake.handle.say(&call_id, "What classes are on today?", 2.0));
    let events = until(&mut sb, is_response_done).await;
    assert!(events.iter().any(|e| matches!(e, ServerEvent::InputTranscriptionCompleted { transcript, .. } if transcript == "What classes are on today?")));
    assert!(events.iter().any(
        |e| matches!(e, ServerEvent::RateLimitsUpdated { rate_limits } if rate_limits.len() == 2)
    ));
    let arg_done: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::FunctionCallArgumentsDone {
                call_id,
                name,
                arguments,
                ..
            } => Some((call_id.clone(), name.clone(), arguments.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(arg_done.len(), 2);
    let ServerEvent::ResponseDone { response } = events.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(response.status, "completed");
    let calls: Vec<(String, String, String)> = response
        .function_calls()
        .map(|(a, b, c)| (a.into(), b.into(), c.into()))
        .collect();
    assert_eq!(
        calls, arg_done,
        "response.done lists every call, not just output[0]"
    );
    assert!(events.iter().any(|e| matches!(e, ServerEvent::Unknown { event_type, .. } if event_type == "response.output_item.added")), "unknown events surface as Unknown");

    // Execute both tools server-side, send both outputs, then a single response.create.
    for (cid, name, _) in &calls {
        let out = if name == "get_class_schedule" {
            json!({"classes":["yoga 18:00"]})
        } else {
            json!({"name":"Léa"})
        };
        sb.send(&ClientEvent::function_output(cid.clone(), out.to_string()))
            .await
            .unwrap();
    }
    sb.send(&ClientEvent::response_create()).await.unwrap();
    let events = until(&mut sb, is_response_done).await;
    assert!(events.iter().any(|e| matches!(e, ServerEvent::OutputAudioTranscriptDone { transcript, .. } if transcript == "Léa, there is yoga at six tonight.")));
    let outs = fake.handle.function_outputs(&call_id);
    assert_eq!(outs.len(), 2);
    assert!(
        fake.handle.script_mismatches().is_empty(),
        "{:?}",
        fake.handle.script_mismatches()
    );

    // A wrong output is recorded as a mismatch; an unknown call_id is an error event.
    sb.send(&ClientEvent::function_output("call_nope", "{}"))
        .await
        .unwrap();
    let ev = until(&mut sb, |e| matches!(e, ServerEvent::Error { .. })).await;
    let ServerEvent::Error { error } = ev.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(error.param.as_deref(), Some("item.call_id"));
}

/// Every default price changed (×3 + 1 pico, per-minute prices too), so a meter or ledger that
/// silently fell back to the default table cannot agree with one that used this table.
fn non_default_prices() -> PriceTable {
    let skew = |p: u64| p * 3 + 1;
    let mut t = PriceTable::new();
    for (model, p) in PriceTable::default_2026().iter() {
        t.set(
            model,
            ModelPrice {
                text_in: skew(p.text_in),
                text_cached: skew(p.text_cached),
                text_out: skew(p.text_out),
                audio_in: skew(p.audio_in),
                audio_cached: skew(p.audio_cached),
                audio_out: skew(p.audio_out),
                image_in: skew(p.image_in),
                image_cached: skew(p.image_cached),
                per_minute: if p.per_minute > 0 {
                    skew(p.per_minute)
                } else {
                    0
                },
            },
        );
    }
    t
}

/// `session.update` switching input transcription to `model`.
fn transcribe_with(model: &str) -> ClientEvent {
    ClientEvent::session_update(SessionConfig {
        audio: Some(
            serde_json::from_value::<AudioConfig>(
                json!({"input":{"transcription":{"model":model}}}),
            )
            .unwrap(),
        ),
        ..SessionConfig::default()
    })
}

#[tokio::test]
async fn usage_matches_ledger_to_the_picodollar_and_is_deterministic() {
    async fn run() -> (Vec<jarvis_core::cost::TokenUsage>, SessionMeter, u64, u64) {
        let (fake, _client, call_id, mut sb, created) = setup_keeping_created(Script::new(vec![
            Turn::Say("Hello! Welcome to the gym.".into()),
            Turn::Say("Yoga is at six.".into()),
            Turn::Say("See you!".into()),
            Turn::Say("Bye.".into()),
        ]))
        .await;
        // Both sides use the same, explicitly non-default table.
        let prices = non_default_prices();
        fake.handle.configure(|c| c.prices = prices.clone());
        let mut meter = SessionMeter::new(prices);
        let mut default_meter = SessionMeter::new(PriceTable::default_2026());
        let mut observe = |events: &[ServerEvent]| {
            for ev in events {
                meter.observe(ev);
                default_meter.observe(ev);
            }
        };
        observe(std::slice::from_ref(&created));
        let mut usages = Vec::new();
        // Token-billed transcription first, then per-minute whisper-1 from the third turn.
        for (i, text) in ["hi", "when is yoga?", "thanks", "bye"].iter().enumerate() {
            let asr = match i {
                0 => Some("gpt-4o-mini-transcribe"),
                2 => Some("whisper-1"),
                _ => None,
            };
            if let Some(model) = asr {
                sb.send(&transcribe_with(model)).await.unwrap();
                observe(&until(&mut sb, |e| matches!(e, ServerEvent::SessionUpdated { .. })).await);
            }
            fake.handle.say(&call_id, text, 1.5 + i as f64 * 0.25);
            let events = until(&mut sb, is_response_done).await;
            observe(&events);
            let ServerEvent::ResponseDone { response } = events.last().unwrap() else {
                unreachable!()
            };
            let u = response.usage.clone().unwrap();
            assert_eq!(u.total_tokens, u.input_tokens + u.output_tokens);
            let cached = u.input_token_details.cached_tokens;
            assert!(cached <= u.input_tokens && cached % 64 == 0);
            usages.push(u.to_token_usage());
        }
        // The model reported by the session is the dated snapshot; pricing resolved it.
        assert_eq!(meter.model(), Some("gpt-realtime-mini-2025-10-06"));
        assert!(meter.unpriced().is_empty(), "{:?}", meter.unpriced());
        // Later turns re-send the conversation: input grows, caching kicks in.
        assert!(usages[2].input_total() > usages[0].input_total());
        assert!(usages[2].cached_text + usages[2].cached_audio > 0);
        let ledger = fake.handle.ledger();
        let kinds = |k: LedgerKind| ledger.iter().filter(|e| e.kind == k).count();
        assert_eq!(kinds(LedgerKind::RealtimeResponse), 4);
        assert_eq!(kinds(LedgerKind::Transcription), 4);
        assert!(
            ledger
                .iter()
                .any(|e| e.model == "whisper-1" && e.audio_ms == 2000 && e.usage.total() == 0),
            "whisper-1 is billed by duration"
        );
        let transcription_ledger: u64 = ledger
            .iter()
            .filter(|e| e.kind == LedgerKind::Transcription)
            .map(|e| e.cost_pico)
            .sum();
        assert_eq!(meter.transcriptions_pico(), transcription_ledger);
        assert!(transcription_ledger > 0);
        // A meter on the default table gets a different answer: a wrong price cannot pass.
        assert_ne!(default_meter.total_pico(), meter.total_pico());
        assert_ne!(default_meter.total_pico(), fake.handle.ledger_total_pico());
        let total = fake.handle.ledger_total_pico();
        (usages, meter, total, transcription_ledger)
    }
    let (u1, meter, ledger1, _) = run().await;
    let (u2, _, _, _) = run().await;
    assert_eq!(
        meter.total_pico(),
        ledger1,
        "our meter equals the fake's ledger exactly"
    );
    assert_eq!(
        meter.responses_pico() + meter.transcriptions_pico(),
        meter.total_pico()
    );
    assert!(meter.responses_pico() > 0);
    assert_eq!(u1, u2, "usage is deterministic");
}

#[tokio::test]
async fn response_faults_failed_cancelled_incomplete() {
    let (fake, client, call_id, mut sb) = setup(Script::new(vec![Turn::Say(
        "A fairly long scripted reply for the test.".into(),
    )]))
    .await;
    for (fault, status) in [
        (ResponseFault::Failed, "failed"),
        (ResponseFault::Cancelled, "cancelled"),
        (ResponseFault::Incomplete, "incomplete"),
    ] {
        fake.handle.inject_response_fault(fault);
        sb.send(&ClientEvent::response_create()).await.unwrap();
        let ev = until(&mut sb, is_response_done).await;
        let ServerEvent::ResponseDone { response } = ev.last().unwrap() else {
            unreachable!()
        };
        assert_eq!(response.status, status);
        let usage = response.usage.clone().unwrap();
        if fault == ResponseFault::Failed {
            assert_eq!(response.error_code(), Some("rate_limit_exceeded"));
            assert_eq!(usage.output_tokens, 0);
        } else {
            assert!(
                usage.output_tokens > 0,
                "partial responses are still billed"
            );
        }
    }
    // Dropping mid-response: the sideband sees a connection error (no close frame).
    fake.handle
        .inject_response_fault(ResponseFault::DropConnection);
    sb.send(&ClientEvent::response_create()).await.unwrap();
    let mut got_err = None;
    for _ in 0..50 {
        match sb.next_event_timeout(T).await {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                got_err = Some(e);
                break;
            }
        }
    }
    assert!(
        matches!(got_err, Some(OpenAiError::Connection(_))),
        "{got_err:?}"
    );
    assert!(fake.handle.call_stats(&call_id).unwrap().ended);
    drop(client);
}

#[tokio::test]
async fn session_expires_on_the_fake_clock() {
    let (fake, _client, _call_id, mut sb) = setup(Script::default()).await;
    fake.handle.advance(Duration::from_secs(3599));
    sb.send(&ClientEvent::response_create()).await.unwrap();
    until(&mut sb, is_response_done).await;
    // One second before the limit the session is alive: only the response's trailing events follow.
    let ev = until(&mut sb, |e| matches!(e, ServerEvent::Unknown { event_type, .. } if event_type == "output_audio_buffer.stopped")).await;
    assert!(!ev.iter().any(|e| matches!(e, ServerEvent::Error { .. })));
    fake.handle.advance(Duration::from_secs(1));
    let ev = sb.next_event_timeout(T).await.unwrap().unwrap();
    assert!(
        matches!(ev, ServerEvent::Error { ref error } if error.code.as_deref() == Some("session_expired")),
        "{ev:?}"
    );
    assert_eq!(sb.next_event_timeout(T).await.unwrap(), None);
    assert_eq!(sb.ended().unwrap().code, 1001);
}

#[tokio::test]
async fn hangup_closes_the_sideband_and_unknown_events_are_not_fatal() {
    let (fake, client, call_id, mut sb) = setup(Script::default()).await;
    fake.handle.push_event(
        &call_id,
        json!({"type":"conversation.item.brand_new_2027","x":1}),
    );
    let ev = sb.next_event_timeout(T).await.unwrap().unwrap();
    assert!(
        matches!(ev, ServerEvent::Unknown { ref event_type, .. } if event_type == "conversation.item.brand_new_2027")
    );
    // Invalid client event: error echoing our event id, session stays open.
    sb.send(&ClientEvent::ResponseCancel {
        event_id: Some("evt_mine".into()),
    })
    .await
    .unwrap();
    let ev = until(&mut sb, |e| matches!(e, ServerEvent::Error { .. })).await;
    let ServerEvent::Error { error } = ev.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(error.code.as_deref(), Some("response_cancel_not_active"));
    assert_eq!(error.event_id.as_deref(), Some("evt_mine"));
    client.hangup(&call_id).await.unwrap();
    assert_eq!(sb.next_event_timeout(T).await.unwrap(), None);
    assert_eq!(sb.ended().unwrap().code, 1000);
    // The sideband used the standard key, never an OpenAI-Beta header.
    let ws = fake.handle.requests_to("/v1/realtime");
    assert_eq!(ws.len(), 1);
    assert!(ws[0].used_key(jarvis_fake_openai::TEST_API_KEY));
    assert!(ws[0].header("openai-beta").is_none());
    assert!(ws[0].query.as_deref().unwrap().contains(&call_id));
}

#[tokio::test]
async fn voice_cannot_change_after_audio_and_session_type_is_required() {
    let (_fake, _client, _call_id, mut sb) = setup(Script::default()).await;
    sb.send(&ClientEvent::response_create()).await.unwrap();
    until(&mut sb, is_response_done).await;
    sb.send(&ClientEvent::session_update(
        SessionConfig::default().with_voice("cedar"),
    ))
    .await
    .unwrap();
    let ev = until(&mut sb, |e| matches!(e, ServerEvent::Error { .. })).await;
    let ServerEvent::Error { error } = ev.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(error.param.as_deref(), Some("session.audio.output.voice"));
}

#[tokio::test]
async fn session_events_with_custom_voice_and_mcp_tool_are_typed() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    // A session carrying a custom voice and an MCP tool, minted as the kiosk's secret.
    let ek = fake
        .handle
        .mint_secret(
            &json!({"type":"realtime","model":"gpt-realtime-mini",
                "audio":{"output":{"voice":{"id":"voice_custom_1"}}},
                "tools":[{"type":"mcp","server_label":"crm","server_url":"https://crm.example/mcp"},
                         {"type":"function","name":"book_class","parameters":{"type":"object"}}]}),
            60,
        )
        .unwrap();
    let call = client
        .create_call_with_ephemeral(&jarvis_openai::ApiKey::new(ek), OFFER)
        .await
        .unwrap();
    let mut sb = client.connect_sideband(&call.call_id).await.unwrap();
    let first = sb.next_event_timeout(T).await.unwrap().unwrap();
    let ServerEvent::SessionCreated { session } = &first else {
        panic!("session.created not typed: {first:?}");
    };
    assert_eq!(
        session.voice().and_then(Voice::custom_id),
        Some("voice_custom_1")
    );
    let tools = session.tools.as_deref().unwrap();
    assert!(
        matches!(&tools[0], Tool::Mcp(m) if m.server_url.as_deref() == Some("https://crm.example/mcp"))
    );
    assert!(matches!(&tools[1], Tool::Function(f) if f.name == "book_class"));
    // The effective session round-trips: what we parsed serializes to what the fake holds.
    assert_eq!(
        serde_json::to_value(session).unwrap(),
        fake.handle.session(&call.call_id).unwrap()
    );
    // Changing to another custom voice over the sideband: session.updated is typed too.
    sb.send(&ClientEvent::session_update(
        SessionConfig::default().with_voice(Voice::custom("voice_custom_2")),
    ))
    .await
    .unwrap();
    let ev = until(&mut sb, |e| {
        matches!(
            e,
            ServerEvent::SessionUpdated { .. }
                | ServerEvent::Unknown { .. }
                | ServerEvent::Malformed { .. }
        )
    })
    .await;
    let ServerEvent::SessionUpdated { session } = ev.last().unwrap() else {
        panic!("session.updated not typed: {:?}", ev.last());
    };
    assert_eq!(
        session.voice().and_then(Voice::custom_id),
        Some("voice_custom_2")
    );
    assert!(matches!(
        &session.tools.as_deref().unwrap()[0],
        Tool::Mcp(_)
    ));
}

#[tokio::test]
async fn unreadable_events_are_surfaced_not_dropped() {
    let (fake, _client, call_id, mut sb) = setup(Script::default()).await;
    // A known type with a shape we cannot read.
    fake.handle
        .push_event(&call_id, json!({"type":"session.updated","session":5}));
    let ev = sb.next_event_timeout(T).await.unwrap().unwrap();
    assert!(
        matches!(ev, ServerEvent::Malformed { ref event_type, ref raw, .. }
            if event_type == "session.updated" && raw["session"] == 5),
        "{ev:?}"
    );
    // Still connected: the next event arrives normally.
    fake.handle
        .push_event(&call_id, json!({"type":"conversation.item.brand_new_2027"}));
    let ev = sb.next_event_timeout(T).await.unwrap().unwrap();
    assert!(matches!(ev, ServerEvent::Unknown { .. }), "{ev:?}");
}
