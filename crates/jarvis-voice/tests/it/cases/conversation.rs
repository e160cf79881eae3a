//! A full scripted conversation: several function calls in one response, all executed on the
//! server for the call's own member, outputs sent back in order, effects in the database.

use crate::*;
use jarvis_fake_openai::{ScriptedCall, Turn};
use serde_json::{Value, json};

pub async fn full_conversation_runs_every_function_call_of_a_response(db: TestDb) {
    let script = Script::new(vec![
        Turn::Call {
            preamble: Some("Un instant, je regarde.".into()),
            calls: vec![
                ScriptedCall::new("get_member_profile", json!({})),
                ScriptedCall::new("add_member_fact", json!({"note": "aime le <b>yoga</b>"})),
                ScriptedCall::new("log_member_goal", json!({"goal": "courir 10 km"})),
                ScriptedCall::new(
                    "hand_off_to_staff",
                    json!({"reason": "question de facturation"}),
                ),
                ScriptedCall::new("get_class_schedule", json!({"day": "today"})),
                // Arguments a tool refuses: the model gets an error, the call goes on.
                ScriptedCall::new(
                    "add_member_fact",
                    json!({"note": "", "member_id": "someone-else"}),
                ),
            ],
        },
        Turn::Say("C'est noté, et le yoga est à 18h.".into()),
        Turn::Call {
            preamble: Some("Au revoir et bonne séance !".into()),
            calls: vec![ScriptedCall::new("end_conversation", json!({}))],
        },
    ]);
    let h = H::new(db, script).await;
    let fx = h.gym(serde_json::json!({})).await;
    // What the prompt must carry (the original fetched these and left them out).
    h.store
        .add_fact(
            &fx.scope,
            &Actor::cli(),
            fx.gym.id,
            fx.member.id,
            NewMemberFact {
                note: "préfère les séances du matin".into(),
                source: FactSource::Staff,
            },
        )
        .await
        .unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    h.store
        .create_class(
            &fx.scope,
            &Actor::cli(),
            fx.gym.id,
            NewClassSchedule {
                name: "Yoga doux".into(),
                coach: None,
                room: None,
                weekday: None,
                date: Some(today),
                start_time: "18:00".into(),
                duration_minutes: 60,
                capacity: 20,
                recurring: false,
            }
            .validate()
            .unwrap(),
        )
        .await
        .unwrap();
    let (started, call_id) = h.start(&fx, "B-1").await;
    assert!(started.sdp_answer.starts_with("v=0"));
    assert_eq!(started.max_duration_secs, 600);

    // The session was configured by the server: prompt with the member's file, our tools.
    let session = h.fake.handle.session(&call_id).unwrap();
    let instructions = session["instructions"].as_str().unwrap();
    assert!(instructions.contains("Camille"), "{instructions}");
    assert!(
        instructions.contains("préfère les séances du matin"),
        "{instructions}"
    );
    assert!(instructions.contains("Yoga doux"), "{instructions}");
    let tools: Vec<&str> = session["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"end_conversation") && tools.contains(&"hand_off_to_staff"));

    h.fake
        .handle
        .say(&call_id, "Bonjour, je veux courir 10 km.", 1.5);
    // Response 1 (six calls) → outputs → response 2 (speech).
    h.responses(2).await;
    let outputs = h.fake.handle.function_outputs(&call_id);
    assert_eq!(outputs.len(), 6, "{outputs:?}");
    let out: Vec<Value> = outputs
        .iter()
        .map(|(_, o)| serde_json::from_str(o).unwrap())
        .collect();
    // In the order of the calls in the response.
    assert_eq!(out[0]["first_name"], "Camille");
    assert!(out[1]["fact_id"].is_string(), "{:?}", out[1]);
    assert!(
        out[2]["goals"]
            .as_array()
            .unwrap()
            .contains(&json!("courir 10 km"))
    );
    assert!(out[3]["follow_up_id"].is_string());
    assert_eq!(out[4]["classes"][0]["name"], "Yoga doux");
    assert!(
        out[5]["error"]
            .as_str()
            .unwrap()
            .contains("invalid arguments")
    );
    assert!(h.fake.handle.script_mismatches().is_empty());

    h.fake.handle.say(&call_id, "Merci, au revoir !", 1.0);
    let s = h.ended(&fx, started.session_id).await;
    assert_eq!(s.end_reason, Some(EndReason::AssistantEnded));
    assert!(
        h.fake.handle.call_stats(&call_id).unwrap().ended,
        "hung up at the provider"
    );
    assert_eq!(h.global_live(&fx).await, 0);

    // Effects, bound to the call's own member.
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
    assert!(
        facts
            .items
            .iter()
            .any(|f| f.note == "aime le <b>yoga</b>" && f.source == FactSource::Assistant)
    );
    let m = h
        .store
        .member(&fx.scope, fx.gym.id, fx.member.id)
        .await
        .unwrap();
    assert_eq!(
        m.goals,
        vec!["perdre 3 kg".to_string(), "courir 10 km".to_string()]
    );
    let fu = h
        .store
        .list_follow_ups(
            &fx.scope,
            fx.gym.id,
            None,
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(fu.items.len(), 1);
    assert_eq!(fu.items[0].session_id, Some(started.session_id));
    assert_eq!(fu.items[0].member_id, Some(fx.member.id));
    // Every call audited, in order, errors included.
    let calls = h
        .store
        .tool_calls(&fx.scope, started.session_id)
        .await
        .unwrap();
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "get_member_profile",
            "add_member_fact",
            "log_member_goal",
            "hand_off_to_staff",
            "get_class_schedule",
            "add_member_fact",
            "end_conversation"
        ]
    );
    assert!(calls[5].error.is_some() && calls[0].error.is_none());
    // Both sides' turns, and the cost is exactly the provider's.
    let turns = h
        .store
        .turns(
            &fx.scope,
            started.session_id,
            PageRequest::new(Some(50), None).unwrap(),
        )
        .await
        .unwrap();
    let roles: Vec<TurnRole> = turns.items.iter().map(|t| t.role).collect();
    assert!(roles.contains(&TurnRole::Member) && roles.contains(&TurnRole::Assistant));
    assert!(
        turns
            .items
            .iter()
            .any(|t| t.role == TurnRole::Assistant && t.latency_ms.is_some()),
        "responsiveness measured: {:?}",
        turns.items
    );
    assert_eq!(s.cost_pico, h.ledger_of(&call_id));
    assert!(s.cost_pico > 0);
    assert_eq!(s.responses, 3);
    assert_eq!(h.broker.metrics().snapshot().malformed_events, 0);
}

/// "Today" is the gym's: in a zone whose date differs from UTC's right now, the instructions and
/// the class-schedule tool both use the local date (the UTC day's class is not "today").
pub async fn today_is_the_gym_local_date(db: TestDb) {
    let script = Script::new(vec![
        Turn::Call {
            preamble: None,
            calls: vec![ScriptedCall::new(
                "get_class_schedule",
                json!({"day": "today"}),
            )],
        },
        Turn::Say("Voilà.".into()),
    ]);
    let h = H::new(db, script).await;
    let mut fx = h.gym(json!({})).await;
    // UTC+14 is already tomorrow from 10:00 UTC on; UTC-11 is still yesterday before 11:00 UTC.
    let utc_now = time::OffsetDateTime::now_utc();
    let zone = if utc_now.hour() >= 10 {
        "Pacific/Kiritimati"
    } else {
        "Pacific/Pago_Pago"
    };
    let local = jarvis_core::tz::Zone::load(zone)
        .unwrap()
        .local(utc_now)
        .date();
    assert_ne!(
        local,
        utc_now.date(),
        "the zone is chosen so the dates differ"
    );
    let gym = h
        .store
        .update_gym(
            &fx.scope,
            &Actor::cli(),
            fx.gym.id,
            GymPatch {
                timezone: Some(zone.into()),
                ..Default::default()
            }
            .validate()
            .unwrap(),
        )
        .await
        .unwrap();
    fx.kiosk.gym = gym.clone();
    fx.gym = gym;
    for (name, date) in [("Cours local", local), ("Cours UTC", utc_now.date())] {
        h.store
            .create_class(
                &fx.scope,
                &Actor::cli(),
                fx.gym.id,
                NewClassSchedule {
                    name: name.into(),
                    coach: None,
                    room: None,
                    weekday: None,
                    date: Some(date),
                    start_time: "12:00".into(),
                    duration_minutes: 60,
                    capacity: 20,
                    recurring: false,
                }
                .validate()
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let (_, call_id) = h.start(&fx, "B-1").await;
    let session = h.fake.handle.session(&call_id).unwrap();
    let instructions = session["instructions"].as_str().unwrap();
    assert!(
        instructions.contains(&format!("Today is {local}")),
        "{instructions}"
    );
    assert!(instructions.contains(zone), "{instructions}");
    assert!(instructions.contains("Cours local"), "{instructions}");
    assert!(!instructions.contains("Cours UTC"), "{instructions}");

    h.fake
        .handle
        .say(&call_id, "Quels cours aujourd'hui ?", 1.0);
    h.responses(2).await;
    let outputs = h.fake.handle.function_outputs(&call_id);
    let out: Value = serde_json::from_str(&outputs[0].1).unwrap();
    let names: Vec<&str> = out["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Cours local"], "{out}");
}
