//! A budget crossed in the middle of a call: the call hangs up after the response that crossed
//! it (its follow-up response is never asked for), the 80 % and 100 % alerts fire once, and
//! new calls are refused while the hard stop holds.

use crate::*;
use jarvis_fake_openai::{ScriptedCall, Turn};
use jarvis_voice::{StartError, StartRefusal};
use serde_json::json;

pub async fn budget_crossing_hangs_up_within_one_response_and_alerts_once(db: TestDb) {
    let script = Script::new(vec![
        Turn::Call {
            preamble: Some("Je regarde votre profil.".into()),
            calls: vec![ScriptedCall::new("get_member_profile", json!({}))],
        },
        Turn::Say("Voici votre profil.".into()),
    ]);
    let h = H::new(db, script).await;
    // One micro-dollar: admitted at zero spend, spent by the first response.
    let fx = h.gym(json!({"monthly_ai_budget_micros": 1})).await;
    let (st, call) = h.start(&fx, "B-1").await;
    h.fake.handle.say(&call, "Bonjour", 1.0);
    let s = h.ended(&fx, st.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::BudgetExhausted));
    // Hung up after the response that crossed the budget: the follow-up never ran.
    let stats = h.fake.handle.call_stats(&call).unwrap();
    assert_eq!(stats.responses, 1, "{stats:?}");
    assert!(stats.ended);
    assert_eq!(s.responses, 1);
    assert_eq!(
        s.cost_pico,
        h.ledger_of(&call),
        "the crossing response is billed"
    );
    assert_eq!(h.global_live(&fx).await, 0);
    assert_eq!(h.broker.metrics().snapshot().budget_stops, 1);

    // New calls are refused, and the alerts stay at one each.
    for _ in 0..2 {
        match h.broker.start(&fx.kiosk, "B-1", OFFER).await {
            Err(StartError::Refused(StartRefusal::BudgetExhausted)) => {}
            other => panic!("{other:?}"),
        }
    }
    let alerts = h
        .store
        .list_budget_alerts(&fx.scope, PageRequest::new(Some(10), None).unwrap())
        .await
        .unwrap();
    let mut pcts: Vec<u8> = alerts.items.iter().map(|a| a.threshold.percent()).collect();
    pcts.sort_unstable();
    assert_eq!(pcts, vec![80, 100], "{alerts:?}");
    assert!(
        alerts
            .items
            .iter()
            .all(|a| matches!(a.scope, BudgetScope::Gym { gym, .. } if gym == fx.gym.id))
    );

    // With the hard stop off, the same gym may talk (alerts only).
    h.store
        .set_platform_settings(
            &Scope::Platform,
            &Actor::cli(),
            PlatformSettings {
                hard_stop: false,
                ..PlatformSettings::default()
            },
        )
        .await
        .unwrap();
    let started = h.broker.start(&fx.kiosk, "B-1", OFFER).await.unwrap();
    h.broker.end(&fx.kiosk, started.session_id).await.unwrap();
    let s = h.ended(&fx, started.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::MemberEnded));
    let again = h
        .store
        .list_budget_alerts(&fx.scope, PageRequest::new(Some(10), None).unwrap())
        .await
        .unwrap();
    assert_eq!(again.total, 2);
}
