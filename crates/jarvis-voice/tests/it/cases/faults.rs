//! Every fault of the fake: the call ends with the right reason, no slot leaks, and every
//! `response.done` that arrived is billed (the sessions' costs add up to the fake's ledger).

use crate::*;
use jarvis_fake_openai::{Endpoint, Fault, LimitKind, ResponseFault, Turn};
use jarvis_voice::{StartError, StartRefusal};

pub async fn every_fault_frees_the_slot_and_bills_every_response(db: TestDb) {
    let script = Script {
        turns: vec![Turn::Say("Bonjour Camille, comment allez-vous ?".into())],
        repeat: true,
        ..Script::default()
    };
    let h = H::new(db, script).await;
    let fx = h.gym(serde_json::json!({})).await;
    let fake = h.fake.handle.clone();
    let mut sessions = Vec::new();

    // Responses that end badly but leave the call up: billed, then the member ends.
    for fault in [
        ResponseFault::Failed,
        ResponseFault::Cancelled,
        ResponseFault::Incomplete,
    ] {
        let before = h.broker.metrics().snapshot().responses_metered;
        let (st, call) = h.start(&fx, "B-1").await;
        fake.inject_response_fault(fault);
        fake.say(&call, "Bonjour", 1.0);
        h.responses(before + 1).await;
        // A normal response after the fault still works.
        fake.say(&call, "Encore", 0.5);
        h.responses(before + 2).await;
        h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
        let s = h.ended(&fx, st.session_id).await;
        assert_eq!(s.end_reason, Some(EndReason::MemberEnded), "{fault:?}");
        assert_eq!(s.responses, 2, "{fault:?}");
        assert_eq!(s.cost_pico, h.ledger_of(&call), "{fault:?}");
        assert!(fake.call_stats(&call).unwrap().ended, "{fault:?}: hung up");
        sessions.push(st.session_id);
    }

    // The socket drops in the middle of a response.
    let (st, call) = h.start(&fx, "B-1").await;
    fake.inject_response_fault(ResponseFault::DropConnection);
    fake.say(&call, "Bonjour", 1.0);
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::SidebandLost));
    assert_eq!(s.cost_pico, h.ledger_of(&call));
    sessions.push(st.session_id);

    // The transport drops between responses.
    let (st, call) = h.start(&fx, "B-1").await;
    fake.say(&call, "Bonjour", 1.0);
    eventually("response metered", || {
        let store = h.store.clone();
        let scope = fx.scope;
        let id = st.session_id;
        async move { store.voice_session(&scope, id).await.unwrap().responses == 1 }
    })
    .await;
    fake.drop_call(&call);
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::SidebandLost));
    assert_eq!(s.cost_pico, h.ledger_of(&call));
    sessions.push(st.session_id);

    // The provider's session expires.
    let (st, call) = h.start(&fx, "B-1").await;
    fake.expire_session(&call);
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::ProviderError));
    sessions.push(st.session_id);

    // The sideband cannot be opened (500 on every attempt): the call is hung up at once.
    fake.inject_n(Endpoint::Realtime, Fault::ServerError, 2);
    let started = h.broker.start(&fx.kiosk, "B-1", OFFER).await.unwrap();
    let s = h.ended(&fx, started.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::SidebandLost));
    let call = s.provider_call_id.clone().unwrap();
    assert!(
        fake.call_stats(&call).unwrap().ended,
        "hung up although never monitored"
    );
    sessions.push(started.session_id);

    // The hang-up itself fails: the session still ends and frees its slot.
    let (st, _call) = h.start(&fx, "B-1").await;
    fake.inject_n(Endpoint::Hangup, Fault::ServerError, 2);
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::MemberEnded));
    sessions.push(st.session_id);

    // The calls endpoint fails: refused as provider_unavailable, slot freed, nothing billed.
    for (fault, n) in [
        (
            Fault::RateLimited {
                kind: LimitKind::Requests,
                retry_after: Some(Duration::from_millis(10)),
            },
            2,
        ),
        (Fault::ServerError, 2),
        (Fault::Unavailable, 2),
        (Fault::InsufficientQuota, 1),
        (Fault::Hang, 2),
    ] {
        fake.inject_n(Endpoint::Calls, fault.clone(), n);
        let ledger = fake.ledger_total_pico();
        match h.broker.start(&fx.kiosk, "B-1", OFFER).await {
            Err(StartError::Refused(r @ StartRefusal::ProviderUnavailable(_))) => {
                assert_eq!(r.code(), "provider_unavailable");
            }
            other => panic!("{fault:?}: {other:?}"),
        }
        assert_eq!(fake.pending_faults(Endpoint::Calls), 0, "{fault:?}");
        assert_eq!(fake.ledger_total_pico(), ledger);
        assert_eq!(h.global_live(&fx).await, 0, "{fault:?}: slot leaked");
    }
    let failed = h
        .store
        .list_voice_sessions(
            &fx.scope,
            fx.gym.id,
            &SessionFilter {
                end_reason: Some(EndReason::StartFailed),
                ..Default::default()
            },
            PageRequest::new(Some(50), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(failed.total, 5);
    assert!(failed.items.iter().all(|s| s.cost_pico == 0));

    // Nothing leaked, and every response the provider billed is on a session.
    assert_eq!(h.global_live(&fx).await, 0);
    let mut total = 0;
    for id in sessions {
        total += h.session(&fx, id).await.cost_pico;
    }
    assert_eq!(total, fake.ledger_total_pico());
    let m = h.broker.metrics().snapshot();
    assert_eq!(
        (m.malformed_events, m.unbilled_usages, m.unpriced_usages),
        (0, 0, 0)
    );
    h.tracker.close();
    tokio::time::timeout(Duration::from_secs(10), h.tracker.wait())
        .await
        .unwrap();
}
