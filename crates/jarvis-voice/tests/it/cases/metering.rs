//! Metered cost equals the provider's ledger exactly, to the pico-dollar, over 1,000 scripted
//! responses (and their input transcriptions) priced with a table that is not the default.

use crate::*;
use jarvis_core::cost::{BudgetPeriod, ModelPrice};
use jarvis_fake_openai::Turn;

/// Odd prices (pico-USD per token), far from the published ones.
fn odd_prices() -> (ModelPrice, ModelPrice) {
    (
        ModelPrice::new(
            777_777, 77_771, 3_333_331, 11_111_117, 333_337, 22_222_229, 900_001, 90_001,
        ),
        ModelPrice {
            text_in: 1_234_567,
            audio_in: 3_456_789,
            text_out: 5_678_901,
            ..Default::default()
        },
    )
}

pub async fn metered_cost_equals_the_ledger_with_custom_prices(db: TestDb) {
    const N: u64 = 1000;
    let (realtime, asr) = odd_prices();
    let mut table = PriceTable::new();
    table.set("gpt-realtime-2.1-mini", realtime);
    table.set("gpt-4o-mini-transcribe", asr);
    assert_ne!(
        table.get("gpt-realtime-2.1-mini"),
        PriceTable::default_2026().get("gpt-realtime-2.1-mini")
    );
    let script = Script {
        turns: vec![
            Turn::Say("D'accord.".into()),
            Turn::Say("Très bien, continuons l'entraînement !".into()),
            Turn::Say("Bravo.".into()),
        ],
        repeat: true,
        ..Script::default()
    };
    let h = H::with(db, script, table, |c| {
        c.idle_override = Some(Duration::from_secs(300));
    })
    .await;
    // The deployment's prices, as a super admin would set them.
    for (model, price) in [
        ("gpt-realtime-2.1-mini", realtime),
        ("gpt-4o-mini-transcribe", asr),
    ] {
        h.store
            .set_model_price(
                &Scope::Platform,
                &Actor::cli(),
                NewModelPrice {
                    model: model.into(),
                    price,
                    effective_from: time::OffsetDateTime::now_utc() - time::Duration::days(1),
                }
                .validate()
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let fx = h.gym(serde_json::json!({})).await;
    let (st, call) = h.start(&fx, "B-1").await;
    for i in 0..N {
        h.fake.handle.say(
            &call,
            &format!("Phrase numéro {i}"),
            0.3 + (i % 7) as f64 * 0.4,
        );
        h.responses(i + 1).await;
    }
    let b = h.broker.clone();
    eventually("transcriptions metered", || {
        let b = b.clone();
        async move { b.metrics().snapshot().transcriptions_metered >= N }
    })
    .await;
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    let s = h.ended(&fx, st.session_id).await;
    let ledger = h.fake.handle.ledger();
    assert_eq!(
        ledger.len() as u64,
        2 * N,
        "one line per response and transcription"
    );
    assert_eq!(s.responses as u64, N);
    assert_eq!(
        s.cost_pico,
        h.ledger_of(&call),
        "session cost equals the ledger"
    );
    let asr_ledger: u64 = ledger
        .iter()
        .filter(|e| e.model == "gpt-4o-mini-transcribe")
        .map(|e| e.cost_pico)
        .sum();
    assert_eq!(s.transcription_cost_pico, asr_ledger);
    let month = h
        .store
        .month_to_date(
            &fx.scope,
            fx.gym.id,
            BudgetPeriod::of(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
    assert_eq!(month.cost_pico, s.cost_pico, "daily rollups agree");
    assert_eq!(month.responses, N);
    // The same usage at the default prices would cost something else: the table was used.
    let default_cost: u64 = ledger
        .iter()
        .map(|e| {
            if e.audio_ms > 0 {
                0
            } else {
                PriceTable::default_2026()
                    .cost_pico(&e.model, &e.usage)
                    .unwrap()
            }
        })
        .sum();
    assert_ne!(default_cost, s.cost_pico);
    // Cost per turn: every assistant turn carries its response's cost.
    let turns = h
        .store
        .turns(
            &fx.scope,
            st.session_id,
            PageRequest::new(Some(200), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(turns.total, 2 * N);
    assert!(
        turns
            .items
            .iter()
            .filter(|t| t.role == TurnRole::Assistant)
            .all(|t| t.cost_pico.is_some_and(|c| c > 0) && t.usage.is_some())
    );
    let m = h.broker.metrics().snapshot();
    assert_eq!(
        (m.malformed_events, m.unbilled_usages, m.unpriced_usages),
        (0, 0, 0)
    );
}
