//! The call's own limits and odd events: the context bound, idle and max-duration timers, a
//! hang-up pressed on the dashboard, and provider events that cannot be parsed (counted, and a
//! `response.done` still billed when its usage is readable).

use crate::*;
use jarvis_fake_openai::Turn;
use serde_json::json;

pub async fn context_is_bounded_by_max_context_turns(db: TestDb) {
    let script = Script {
        turns: vec![Turn::Say("Oui, bien sûr.".into())],
        repeat: true,
        ..Script::default()
    };
    let h = H::new(db, script).await;
    let fx = h.gym(json!({"voice": {"max_context_turns": 4}})).await;
    let (st, call) = h.start(&fx, "B-1").await;
    for i in 0..12 {
        h.fake.handle.say(&call, "Encore une question.", 1.0);
        h.responses(i + 1).await;
        // Pace on the provider having applied every delete sent so far.
        let (b, fake, c) = (h.broker.clone(), h.fake.handle.clone(), call.clone());
        eventually("deletes applied", || {
            let (b, fake, c) = (b.clone(), fake.clone(), c.clone());
            async move {
                fake.call_stats(&c).unwrap().items_deleted
                    == b.metrics().snapshot().context_items_deleted
            }
        })
        .await;
    }
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    let s = h.ended(&fx, st.session_id).await;
    assert!(h.fake.handle.call_stats(&call).unwrap().items_deleted >= 12);
    // Same utterance, same reply: without a bound every response re-reads a longer context;
    // with it the context stops growing.
    let inputs: Vec<u64> = h
        .fake
        .handle
        .ledger()
        .iter()
        .filter(|e| e.response_id.is_some())
        .map(|e| e.usage.input_text + e.usage.input_audio)
        .collect();
    assert_eq!(inputs.len(), 12);
    let early = inputs[..6].iter().max().unwrap();
    let late = inputs[6..].iter().max().unwrap();
    assert!(late <= early, "{inputs:?}");
    assert_eq!(inputs[10], inputs[11], "{inputs:?}");
    assert_eq!(s.cost_pico, h.ledger_of(&call));
}

pub async fn idle_max_duration_and_staff_hangups_end_the_call(db: TestDb) {
    let h = H::with(db, Script::default(), PriceTable::default_2026(), |c| {
        c.idle_override = Some(Duration::from_millis(600));
    })
    .await;
    let fx = h.gym(json!({})).await;

    // Nobody speaks.
    let (st, call) = h.start(&fx, "B-1").await;
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::Idle));
    assert!(h.fake.handle.call_stats(&call).unwrap().ended);

    // Someone keeps talking past the maximum duration.
    let mut cfg = VoiceConfig::new(InstanceId::new());
    cfg.max_duration_override = Some(Duration::from_millis(900));
    cfg.heartbeat = Duration::from_millis(300);
    let long = VoiceBroker::new(
        h.store.clone(),
        h.client.clone(),
        cfg,
        h.tracker.clone(),
        h.shutdown.clone(),
    );
    let started = long.start(&fx.kiosk, "B-1", OFFER).await.unwrap();
    let call = h.call_id(&fx, started.session_id).await;
    for _ in 0..30 {
        if !h.session(&fx, started.session_id).await.is_live() {
            break;
        }
        h.fake.handle.say(&call, "Je parle encore.", 0.2);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = h.ended(&fx, started.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::MaxDuration));

    // Hang-up pressed on the dashboard: the owner learns it at its next lease renewal.
    let (st, call) = h.start(&fx, "B-1").await;
    assert!(
        h.store
            .request_hangup(&fx.scope, &Actor::cli(), st.session_id)
            .await
            .unwrap()
    );
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::StaffEnded));
    assert!(h.fake.handle.call_stats(&call).unwrap().ended);
    assert_eq!(h.global_live(&fx).await, 0);
}

pub async fn unparseable_events_are_counted_and_usage_salvaged(db: TestDb) {
    let h = H::new(db, Script::default()).await;
    let fx = h.gym(json!({})).await;
    let (st, call) = h.start(&fx, "B-1").await;
    let fake = h.fake.handle.clone();
    // Not JSON-shaped as expected at all, an unknown type (ignored), and a response.done whose
    // output is unreadable but whose usage is.
    assert!(fake.push_event(&call, json!({"type": "response.done", "response": 7})));
    assert!(fake.push_event(&call, json!({"type": "some.future_event", "x": 1})));
    assert!(fake.push_event(
        &call,
        json!({"type": "response.done", "response": {"id": "resp_odd", "status": "completed",
            "output": "not a list",
            "usage": {"total_tokens": 150, "input_tokens": 100, "output_tokens": 50,
                "input_token_details": {"text_tokens": 100, "audio_tokens": 0, "image_tokens": 0,
                    "cached_tokens": 0, "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
                "output_token_details": {"text_tokens": 20, "audio_tokens": 30}}}})
    ));
    let b = h.broker.clone();
    eventually("malformed counted", || {
        let b = b.clone();
        async move {
            let m = b.metrics().snapshot();
            m.malformed_events == 2 && m.unbilled_usages == 1 && m.responses_metered == 1
        }
    })
    .await;
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    let s = h.ended(&fx, st.session_id).await;
    let expected = PriceTable::default_2026()
        .cost_pico(
            "gpt-realtime-2.1-mini",
            &jarvis_core::cost::TokenUsage {
                input_text: 100,
                output_text: 20,
                output_audio: 30,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(s.cost_pico, expected);
    assert_eq!(s.responses, 1);
}
