//! Simulations against the fake: scripted personas talk to the gym's assistant over the
//! realtime text path; one scenario passes and one fails (a tool it must call is never called,
//! decided from the recorded calls), the judge's reasons are kept, tools run in a sandbox so
//! no real member (nor any real session) is written, and costs stay on the run.

use crate::*;
use jarvis_fake_openai::{ChatScript, ScriptedCall, Turn};
use jarvis_voice::{SimEvent, Simulator};
use serde_json::json;

const FACT: &str = "sim-marker-fact never stored for real";

pub async fn a_simulation_reports_a_passing_and_a_failing_scenario(db: TestDb) {
    let script = Script {
        turns: vec![
            Turn::Call {
                preamble: None,
                calls: vec![
                    ScriptedCall::new("get_class_schedule", json!({"day": "today"})),
                    ScriptedCall::new("add_member_fact", json!({"note": FACT})),
                ],
            },
            Turn::Say("Le yoga est à 18 h.".into()),
        ],
        ..Script::default()
    };
    let h = H::new(db, script).await;
    let fx = h.gym(json!({"voice": {"storage": "full"}})).await;
    let members_before = h
        .store
        .list_members(
            &fx.scope,
            fx.gym.id,
            &MemberFilter::default(),
            PageRequest::new(Some(50), None).unwrap(),
        )
        .await
        .unwrap()
        .total;
    let file = ScenarioFile::parse(
        &json!({"scenarios": [
            {"name": "yoga times", "persona": {"scripted": {"turns": ["À quelle heure est le yoga ?"]}},
             "expect": {"must_mention": ["the yoga time"], "must_call_tool": ["get_class_schedule"]}},
            {"name": "wants to cancel", "persona": {"scripted": {"turns": ["Je veux résilier."]}},
             "expect": {"must_not": ["share another member's data"],
                        "must_call_tool": ["hand_off_to_staff"]}}
        ]})
        .to_string(),
    )
    .unwrap();
    h.fake
        .handle
        .push_chat(ChatScript::Json(json!({"pass": true,
        "reasons": [{"expectation": 1, "met": true, "reason": "it said 18 h"}]})));
    h.fake
        .handle
        .push_chat(ChatScript::Json(json!({"pass": true,
        "reasons": [{"expectation": 1, "met": true, "reason": "no data shared"}]})));
    let sim = Simulator {
        store: h.store.clone(),
        client: h.client.clone(),
        tools: h.broker.tools().clone(),
        chat_model: "gpt-4o-mini".into(),
    };
    let mut seen = Vec::new();
    let (run, results) = sim
        .run(&fx.scope, fx.gym.id, &file, |e| {
            if let SimEvent::Result(r) = e {
                seen.push((r.scenario.clone(), r.passed));
            }
        })
        .await
        .unwrap();
    assert_eq!(
        seen,
        [
            ("yoga times".to_string(), true),
            ("wants to cancel".to_string(), false)
        ]
    );
    assert_eq!(run.status, SimulationStatus::Failed);
    assert_eq!((run.scenarios, run.passed), (2, 1));

    let (a, b) = (&results[0], &results[1]);
    assert!(a.passed, "{a:?}");
    assert_eq!(a.checks.len(), 2);
    assert_eq!(a.checks[0].kind, CheckKind::MustMention);
    assert_eq!(a.checks[0].reason, "it said 18 h");
    assert!(
        a.transcript
            .iter()
            .any(|l| l.role == "assistant" && l.text.contains("18 h"))
    );
    assert_eq!(a.tool_calls[0].name, "get_class_schedule");
    assert!(!b.passed);
    let tool = b
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::MustCallTool)
        .unwrap();
    assert_eq!(
        (tool.expectation.as_str(), tool.passed, tool.reason.as_str()),
        ("hand_off_to_staff", false, "never called")
    );
    assert!(
        b.checks
            .iter()
            .any(|c| c.kind == CheckKind::MustNot && c.passed)
    );

    // The assistant ran with the broker's text session: instructions and tools.
    let sessions: Vec<_> = h
        .fake
        .handle
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("realtime"))
        .collect();
    assert!(!sessions.is_empty());

    // Stored: the run and both results, readable back.
    let (back, stored) = h
        .store
        .simulation_run(&fx.scope, fx.gym.id, run.id)
        .await
        .unwrap();
    assert_eq!(back, run);
    assert_eq!(stored, results);
    assert!(run.cost_pico > 0, "realtime and judge calls are metered");
    assert_eq!(run.cost_pico, a.cost_pico + b.cost_pico);

    // Nothing real was written: no fact, no member, no voice session, no cost rollup.
    // (The fact's text is only in the recorded tool call of the result.)
    let hits = h.db.find_text(&[FACT]).await.unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|hit| hit.starts_with("simulation_results")),
        "{hits:?}"
    );
    let members_after = h
        .store
        .list_members(
            &fx.scope,
            fx.gym.id,
            &MemberFilter::default(),
            PageRequest::new(Some(50), None).unwrap(),
        )
        .await
        .unwrap()
        .total;
    assert_eq!(members_before, members_after);
    let sessions = h
        .store
        .list_voice_sessions(
            &fx.scope,
            fx.gym.id,
            &SessionFilter::default(),
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(sessions.total, 0);
    let facts = h
        .store
        .list_facts(
            &fx.scope,
            fx.gym.id,
            fx.member.id,
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(facts.total, 0);
}
