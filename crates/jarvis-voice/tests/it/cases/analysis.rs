//! Post-call analysis against the fake's chat completions: the end of a call enqueues one
//! `voice.analyze` job; a validated answer with a custom field round-trips and its cost lands
//! on the session; a refusal then an invalid answer are retried, then recorded failed, never
//! guessed; a gym that keeps no transcript gets no analysis.

use crate::*;
use jarvis_fake_openai::{ChatScript, LedgerKind, Turn};
use jarvis_voice::{AnalysisConfig, AnalysisJob, AnalysisOutcome, analyze_session};
use serde_json::json;

fn cfg(max_attempts: u32) -> AnalysisConfig {
    AnalysisConfig {
        model: "gpt-4o-mini".into(),
        max_attempts,
    }
}

fn job(fx: &Fx, id: VoiceSessionId) -> AnalysisJob {
    AnalysisJob {
        session_id: id,
        franchise_id: fx.gym.franchise_id,
        gym_id: fx.gym.id,
    }
}

fn answer(custom: serde_json::Value) -> serde_json::Value {
    json!({"summary": "Camille a demandé l'horaire du yoga.", "sentiment": -0.5,
        "topics": ["yoga"], "satisfaction": 2, "follow_up_needed": true,
        "follow_up_reason": "wants a call back", "cancellation_intent": true, "custom": custom})
}

/// One call with one exchange, ended by the kiosk; returns the ended session.
async fn one_call(h: &H, fx: &Fx, n: u64) -> VoiceSession {
    let (st, call) = h.start(fx, "B-1").await;
    h.fake
        .handle
        .say(&call, "À quelle heure est le yoga ?", 1.0);
    h.responses(n).await;
    h.broker.end(&fx.kiosk, st.session_id).await.unwrap();
    h.ended(fx, st.session_id).await
}

async fn analysis_jobs(h: &H, fx: &Fx) -> Vec<Job> {
    h.store
        .list_jobs(
            &JobFilter {
                kind: Some(jarvis_voice::ANALYSIS_JOB_KIND.into()),
                gym_id: Some(fx.gym.id),
                ..JobFilter::default()
            },
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap()
        .items
}

fn chat_cost(h: &H) -> u64 {
    h.fake
        .handle
        .ledger()
        .iter()
        .filter(|e| e.kind == LedgerKind::Chat)
        .map(|e| e.cost_pico)
        .sum()
}

fn script() -> Script {
    Script {
        turns: vec![Turn::Say("Le yoga est à 18 h.".into())],
        repeat: true,
        ..Script::default()
    }
}

pub async fn analysis_with_a_custom_field_round_trips_and_is_billed_to_the_session(db: TestDb) {
    let h = H::new(db, script()).await;
    let fx = h.gym(json!({"voice": {"storage": "full"}})).await;
    let actor = Actor::cli();
    for f in [
        NewAnalysisField {
            name: "goal".into(),
            kind: AnalysisFieldKind::Enum,
            enum_values: vec!["strength".into(), "cardio".into()],
            description: "the member's main goal".into(),
        },
        NewAnalysisField {
            name: "injured".into(),
            kind: AnalysisFieldKind::Boolean,
            enum_values: vec![],
            description: "mentions an injury".into(),
        },
    ] {
        h.store
            .create_analysis_field(&fx.scope, &actor, fx.gym.id, f)
            .await
            .unwrap();
    }
    let s = one_call(&h, &fx, 1).await;
    // The end enqueued exactly one analysis job for the session.
    // (The call's task enqueues it right after ending the session.)
    for _ in 0..400 {
        if !analysis_jobs(&h, &fx).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let jobs = analysis_jobs(&h, &fx).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let payload: AnalysisJob = serde_json::from_value(jobs[0].payload.clone()).unwrap();
    assert_eq!(payload, job(&fx, s.id));

    h.fake.handle.push_chat(ChatScript::Json(answer(
        json!({"goal": "cardio", "injured": null}),
    )));
    let out = analyze_session(h.store.as_ref(), &h.client, &cfg(3), payload)
        .await
        .unwrap();
    let AnalysisOutcome::Done(a) = out else {
        panic!("not done: {out:?}")
    };
    assert_eq!(a.custom.get("goal"), Some(&json!("cardio")));
    assert_eq!(a.custom.get("injured"), Some(&json!(null)));
    assert_eq!(a.sentiment, Some(Sentiment::Negative));
    assert_eq!(a.sentiment_score, Some(-0.5));
    assert_eq!(a.satisfaction, Some(2));
    assert_eq!(a.follow_up, Some(true));
    assert_eq!(a.cancellation_intent, Some(true));
    assert_eq!(a.attempts, 1);
    // The request was strict and carried the custom fields.
    let req = h.fake.handle.requests_to("/v1/chat/completions");
    let body: serde_json::Value = serde_json::from_str(&req[0].body).unwrap();
    let js = &body["response_format"]["json_schema"];
    assert_eq!(js["strict"], json!(true));
    assert_eq!(
        js["schema"]["properties"]["custom"]["required"],
        json!(["goal", "injured"])
    );
    assert!(body.to_string().contains("yoga"), "the transcript was sent");

    // Round trip: read back, and fed to the next call as the last summary.
    let back = h.store.session_analysis(&fx.scope, s.id).await.unwrap();
    assert_eq!(back.as_ref(), Some(&a));
    let last = h
        .store
        .last_summary(&fx.scope, fx.gym.id, fx.member.id)
        .await
        .unwrap();
    assert_eq!(last, Some(a.clone()));

    // The chat cost is the fake's, and it is on the session.
    assert!(a.cost_pico > 0);
    assert_eq!(a.cost_pico, chat_cost(&h));
    let after = h.session(&fx, s.id).await;
    assert_eq!(after.cost_pico, s.cost_pico + a.cost_pico);

    // Idempotent: a second run of the job does nothing.
    let again = analyze_session(h.store.as_ref(), &h.client, &cfg(3), job(&fx, s.id))
        .await
        .unwrap();
    assert_eq!(again, AnalysisOutcome::Skipped("already_analysed"));
    assert_eq!(h.session(&fx, s.id).await.cost_pico, after.cost_pico);
}

pub async fn refusal_then_invalid_output_is_retried_then_recorded_failed(db: TestDb) {
    let h = H::new(db, script()).await;
    let fx = h.gym(json!({"voice": {"storage": "full"}})).await;
    let s = one_call(&h, &fx, 1).await;
    h.fake
        .handle
        .push_chat(ChatScript::Refusal("I can't help with that.".into()));
    let mut out_of_range = answer(json!({}));
    out_of_range["satisfaction"] = json!(9);
    h.fake.handle.push_chat(ChatScript::Json(out_of_range));
    let out = analyze_session(h.store.as_ref(), &h.client, &cfg(2), job(&fx, s.id))
        .await
        .unwrap();
    let AnalysisOutcome::Failed(a) = out else {
        panic!("not failed: {out:?}")
    };
    assert_eq!(a.status, AnalysisStatus::Failed);
    assert_eq!(a.attempts, 2);
    assert!(
        a.failure.as_deref().unwrap_or("").contains("satisfaction"),
        "{:?}",
        a.failure
    );
    // Nothing guessed.
    assert_eq!(a.summary, "");
    assert_eq!(a.sentiment, None);
    assert_eq!(a.satisfaction, None);
    assert_eq!(h.fake.handle.requests_to("/v1/chat/completions").len(), 2);
    // Both calls are billed to the session; no summary feeds the next call.
    assert!(a.cost_pico > 0);
    assert_eq!(a.cost_pico, chat_cost(&h));
    assert_eq!(
        h.session(&fx, s.id).await.cost_pico,
        s.cost_pico + a.cost_pico
    );
    assert_eq!(
        h.store
            .last_summary(&fx.scope, fx.gym.id, fx.member.id)
            .await
            .unwrap(),
        None
    );
    // A later run (e.g. the job retried by an operator) may still succeed and replaces it.
    h.fake
        .handle
        .push_chat(ChatScript::Text("Sure! Here is the analysis.".into()));
    h.fake.handle.push_chat(ChatScript::Json(answer(json!({}))));
    let out = analyze_session(h.store.as_ref(), &h.client, &cfg(2), job(&fx, s.id))
        .await
        .unwrap();
    let AnalysisOutcome::Done(done) = out else {
        panic!("not done: {out:?}")
    };
    assert_eq!(done.attempts, 2);
    assert_eq!(
        done.cost_pico,
        chat_cost(&h),
        "costs of every attempt add up"
    );
}

pub async fn no_analysis_without_stored_transcripts(db: TestDb) {
    let h = H::new(db, script()).await;
    let fx = h.gym(json!({"voice": {"storage": "metadata"}})).await;
    let s = one_call(&h, &fx, 1).await;
    let out = analyze_session(h.store.as_ref(), &h.client, &cfg(2), job(&fx, s.id))
        .await
        .unwrap();
    assert_eq!(out, AnalysisOutcome::Skipped("no_transcript"));
    assert!(h.fake.handle.requests_to("/v1/chat/completions").is_empty());
    assert_eq!(
        h.store.session_analysis(&fx.scope, s.id).await.unwrap(),
        None
    );
}
