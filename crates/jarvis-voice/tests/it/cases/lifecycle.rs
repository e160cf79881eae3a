//! Shutdown, reaping of a dead owner's calls, refusal codes and the kiosk's end button.

use crate::*;
use jarvis_openai::realtime::SessionConfig;
use jarvis_voice::{EndError, StartError, StartRefusal, reap};
use serde_json::json;

pub async fn shutdown_ends_every_call_as_shutdown(db: TestDb) {
    let h = H::new(db, Script::default()).await;
    let fx = h.gym(json!({})).await;
    h.member(&fx.scope, &fx.gym, "B-2", |_| {}).await;
    let (a, call_a) = h.start(&fx, "B-1").await;
    let (b, call_b) = h.start(&fx, "B-2").await;
    assert_eq!(h.broker.live_calls(), 2);
    h.shutdown.cancel();
    h.tracker.close();
    tokio::time::timeout(Duration::from_secs(10), h.tracker.wait())
        .await
        .expect("every call task drains");
    for (id, call) in [(a.session_id, call_a), (b.session_id, call_b)] {
        let s = h.session(&fx, id).await;
        assert_eq!(s.end_reason, Some(EndReason::Shutdown));
        assert!(h.fake.handle.call_stats(&call).unwrap().ended);
    }
    assert_eq!(h.global_live(&fx).await, 0);
    assert_eq!(h.broker.live_calls(), 0);
    match h.broker.start(&fx.kiosk, "B-1", OFFER).await {
        Err(StartError::Refused(StartRefusal::ProviderUnavailable(_))) => {}
        other => panic!("{other:?}"),
    }
}

pub async fn dead_owner_sessions_are_reaped_and_hung_up(db: TestDb) {
    let h = H::new(db, Script::default()).await;
    let fx = h.gym(json!({})).await;
    let instance = |name: &str| NewInstance {
        hostname: name.into(),
        pid: 1,
        version: "test".into(),
    };
    let dead = h.store.register_instance(instance("dead")).await.unwrap();
    let alive = h.store.register_instance(instance("alive")).await.unwrap();
    let new = |owner: InstanceId, lease: time::Duration| NewVoiceSession {
        member_id: fx.member.id,
        kiosk_id: Some(fx.kiosk.kiosk.id),
        owner,
        lease,
        model: "gpt-realtime-2.1-mini".into(),
        transcription_model: None,
        language: Locale::Fr,
        max_duration_secs: 600,
    };
    // The dead instance had a call running at the provider when it vanished (kill -9).
    let created = h
        .client
        .create_call(OFFER, &SessionConfig::realtime("gpt-realtime-2.1-mini"))
        .await
        .unwrap();
    let orphan = h
        .store
        .start_session(
            &fx.scope,
            fx.gym.id,
            new(dead.id, time::Duration::minutes(10)),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        h.store
            .activate(&fx.scope, orphan.id, dead.id, &created.call_id)
            .await
            .unwrap()
    );
    // A live instance's call with a valid lease is left alone; one whose lease ran out is not.
    let healthy = h
        .store
        .start_session(
            &fx.scope,
            fx.gym.id,
            new(alive.id, time::Duration::minutes(10)),
        )
        .await
        .unwrap()
        .unwrap();
    let lapsed = h
        .store
        .start_session(
            &fx.scope,
            fx.gym.id,
            new(alive.id, time::Duration::seconds(-1)),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.global_live(&fx).await, 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(h.store.instance_heartbeat(alive.id).await.unwrap());

    let report = reap(h.store.as_ref(), &h.client, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!((report.reaped, report.hung_up), (2, 1), "{report:?}");
    let s = h.session(&fx, orphan.id).await;
    assert_eq!(s.end_reason, Some(EndReason::Reaped));
    assert!(
        h.fake.handle.call_stats(&created.call_id).unwrap().ended,
        "hung up at the provider"
    );
    assert_eq!(
        h.session(&fx, lapsed.id).await.end_reason,
        Some(EndReason::Reaped)
    );
    assert!(h.session(&fx, healthy.id).await.is_live());
    assert_eq!(h.global_live(&fx).await, 1);
    // Idempotent: a second pass (or another instance's) finds nothing.
    let again = reap(h.store.as_ref(), &h.client, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(again.reaped, 0);
}

pub async fn refusals_have_codes_and_cost_nothing(db: TestDb) {
    let h = H::new(db, Script::default()).await;
    let fx = h.gym(json!({"voice_session_cap": 1})).await;
    h.member(&fx.scope, &fx.gym, "B-FROZEN", |m| {
        m.membership_status = MembershipStatus::Frozen
    })
    .await;
    h.member(&fx.scope, &fx.gym, "B-NOCONSENT", |m| {
        m.consent_voice = false
    })
    .await;
    let code = |r: Result<Started, StartError>| match r {
        Err(StartError::Refused(r)) => r.code(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(h.broker.start(&fx.kiosk, "NOPE", OFFER).await),
        "member_not_found"
    );
    assert_eq!(
        code(h.broker.start(&fx.kiosk, "B-FROZEN", OFFER).await),
        "membership_inactive"
    );
    assert_eq!(
        code(h.broker.start(&fx.kiosk, "B-NOCONSENT", OFFER).await),
        "consent_missing"
    );
    // A badge of another gym is not found from this kiosk.
    let other = h.gym(json!({})).await;
    h.member(&other.scope, &other.gym, "B-OTHER", |_| {}).await;
    assert_eq!(
        code(h.broker.start(&fx.kiosk, "B-OTHER", OFFER).await),
        "member_not_found"
    );
    let none = h
        .store
        .list_voice_sessions(
            &fx.scope,
            fx.gym.id,
            &SessionFilter::default(),
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0, "refused before a slot: nothing stored");

    let (st, _) = h.start(&fx, "B-1").await;
    match h.broker.start(&fx.kiosk, "B-1", OFFER).await {
        Err(StartError::Refused(r @ StartRefusal::CapacityReached(cap))) => {
            assert_eq!(r.code(), "capacity_reached");
            assert_eq!((cap.cap, cap.limit), (Cap::Gym, 1));
        }
        other => panic!("{other:?}"),
    }
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    h.ended(&fx, st.session_id).await;

    let broke = h.gym(json!({"monthly_ai_budget_micros": 0})).await;
    assert_eq!(
        code(h.broker.start(&broke.kiosk, "B-1", OFFER).await),
        "budget_exhausted"
    );
    let off = h.gym(json!({"features": {"voice": false}})).await;
    assert_eq!(
        code(h.broker.start(&off.kiosk, "B-1", OFFER).await),
        "voice_disabled"
    );
    // A corrupt stored settings row (as `kiosk_by_token` would hand it over) refuses with the
    // core rule's code instead of running on default caps and budgets; so does an inactive gym.
    let mut corrupt = h.gym(json!({})).await;
    corrupt.kiosk.gym.settings = json!({"voice_session_cap": 0, "monthly_ai_budget_micros": "x"});
    assert_eq!(
        code(h.broker.start(&corrupt.kiosk, "B-1", OFFER).await),
        "gym_misconfigured"
    );
    let mut suspended = h.gym(json!({})).await;
    suspended.kiosk.gym.status = GymStatus::Suspended;
    assert_eq!(
        code(h.broker.start(&suspended.kiosk, "B-1", OFFER).await),
        "gym_inactive"
    );
    for g in [&corrupt, &suspended] {
        let usage = h.store.slot_usage(&g.scope, g.gym.id).await.unwrap();
        assert_eq!(usage.gym_live, 0);
        let stored = h
            .store
            .list_voice_sessions(
                &g.scope,
                g.gym.id,
                &SessionFilter::default(),
                PageRequest::new(Some(10), None).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(stored.total, 0, "refused before a slot: nothing stored");
    }
    assert_eq!(
        h.fake.handle.requests_to("/v1/realtime/calls").len(),
        1,
        "only the admitted call reached the provider"
    );
    assert_eq!(h.fake.handle.ledger_total_pico(), 0);
    assert_eq!(h.global_live(&fx).await, 0);
    assert_eq!(h.broker.metrics().snapshot().starts_refused, 9);
}

pub async fn kiosk_ends_only_its_own_sessions(db: TestDb) {
    let h = H::new(db, Script::default()).await;
    let fx = h.gym(json!({})).await;
    let second = h
        .store
        .create_kiosk(
            &fx.scope,
            &Actor::cli(),
            fx.gym.id,
            NewKiosk {
                name: "Vestiaire".into(),
            },
        )
        .await
        .unwrap();
    let other_kiosk = KioskIdentity {
        kiosk: second,
        gym: fx.gym.clone(),
    };
    let foreign = h.gym(json!({})).await;
    let (st, call) = h.start(&fx, "B-1").await;
    assert!(matches!(
        h.broker.end(&other_kiosk, st.session_id).await,
        Err(EndError::NotFound)
    ));
    assert!(matches!(
        h.broker.end(&foreign.kiosk, st.session_id).await,
        Err(EndError::NotFound)
    ));
    assert!(h.session(&fx, st.session_id).await.is_live());

    // Ended through another instance (the kiosk's DELETE reached it): the owner notices at its
    // next lease renewal and closes its socket; the reason stays the member's.
    let other_instance = jarvis_voice::VoiceBroker::new(
        h.store.clone(),
        h.client.clone(),
        VoiceConfig::new(InstanceId::new()),
        TaskTracker::new(),
        CancellationToken::new(),
    );
    other_instance.end(&fx.kiosk, st.session_id).await.unwrap();
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::MemberEnded));
    assert!(h.fake.handle.call_stats(&call).unwrap().ended);
    let b = h.broker.clone();
    eventually("owner task gone", || {
        let b = b.clone();
        async move { b.live_calls() == 0 }
    })
    .await;
    // Ending again is not an error.
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    assert_eq!(h.global_live(&fx).await, 0);
}

pub async fn an_abandoned_start_still_completes_and_ends_cleanly(db: TestDb) {
    use jarvis_fake_openai::{Endpoint, Fault};
    let h = H::new(db, Script::default()).await;
    let fx = h.gym(json!({})).await;
    // The caller gives up (request timeout, client gone) once the slot is held and while the
    // provider is still answering.
    h.fake
        .handle
        .inject(Endpoint::Calls, Fault::Latency(Duration::from_millis(1500)));
    let (broker, kiosk) = (h.broker.clone(), fx.kiosk.clone());
    let caller = tokio::spawn(async move { broker.start(&kiosk, "B-1", OFFER).await });
    let (store, scope, gym) = (h.store.clone(), fx.scope, fx.gym.id);
    eventually("slot held", || {
        let store = store.clone();
        async move {
            !store
                .live_voice_sessions(&scope, gym)
                .await
                .unwrap()
                .is_empty()
        }
    })
    .await;
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    // The start finished on its own: the call runs under its task, nothing is stranded.
    let b = h.broker.clone();
    eventually("call task running", || {
        let b = b.clone();
        async move { b.live_calls() == 1 }
    })
    .await;
    let live = h
        .store
        .live_voice_sessions(&fx.scope, fx.gym.id)
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert!(live[0].provider_call_id.is_some());
    h.broker.end(&fx.kiosk, live[0].id).await.unwrap();
    let s = h.ended(&fx, live[0].id).await;
    assert_eq!(s.end_reason, Some(EndReason::MemberEnded));
    assert_eq!(h.global_live(&fx).await, 0);
}

pub async fn two_instances_never_exceed_the_global_cap(db: TestDb) {
    let h = H::new(db, Script::default()).await;
    h.store
        .set_platform_settings(
            &Scope::Platform,
            &Actor::cli(),
            PlatformSettings {
                voice_session_cap: 30,
                ..PlatformSettings::default()
            },
        )
        .await
        .unwrap();
    // Three gyms whose own caps (30 each) leave only the global cap to refuse.
    let mut gyms = Vec::new();
    for _ in 0..3 {
        gyms.push(h.gym(json!({"voice_session_cap": 30})).await);
    }
    for fx in &gyms {
        for i in 0..40 {
            h.member(&fx.scope, &fx.gym, &format!("C-{i}"), |_| {})
                .await;
        }
    }
    let second_stop = CancellationToken::new();
    let second_tracker = TaskTracker::new();
    let second = VoiceBroker::new(
        h.store.clone(),
        h.client.clone(),
        VoiceConfig::new(InstanceId::new()),
        second_tracker.clone(),
        second_stop.clone(),
    );
    let attempts: Vec<_> = (0..120)
        .map(|i| {
            let broker = if i % 2 == 0 {
                h.broker.clone()
            } else {
                second.clone()
            };
            let kiosk = gyms[i % 3].kiosk.clone();
            tokio::spawn(async move { broker.start(&kiosk, &format!("C-{}", i / 3), OFFER).await })
        })
        .collect();
    let (mut admitted, mut refused) = (0, 0);
    for a in attempts {
        match a.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(StartError::Refused(StartRefusal::CapacityReached(cap))) => {
                assert_eq!((cap.cap, cap.limit), (Cap::Global, 30));
                refused += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((admitted, refused), (30, 90));
    assert_eq!(h.global_live(&gyms[0]).await, 30);
    assert_eq!(h.broker.live_calls() + second.live_calls(), 30);
    // Both instances shut down: every call ends once, every slot is free.
    h.shutdown.cancel();
    second_stop.cancel();
    h.tracker.close();
    second_tracker.close();
    tokio::time::timeout(Duration::from_secs(30), async {
        h.tracker.wait().await;
        second_tracker.wait().await;
    })
    .await
    .unwrap();
    assert_eq!(h.global_live(&gyms[0]).await, 0);
    let mut ended = 0;
    for fx in &gyms {
        let all = h
            .store
            .list_voice_sessions(
                &fx.scope,
                fx.gym.id,
                &SessionFilter::default(),
                PageRequest::new(Some(100), None).unwrap(),
            )
            .await
            .unwrap();
        assert!(
            all.items
                .iter()
                .all(|s| s.end_reason == Some(EndReason::Shutdown))
        );
        ended += all.total;
    }
    assert_eq!(ended, 30);
    assert!(
        h.fake
            .handle
            .calls()
            .iter()
            .all(|c| h.fake.handle.call_stats(c).unwrap().ended)
    );
}
