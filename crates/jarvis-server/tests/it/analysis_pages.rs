//! The analysis and simulation pages, on both backends: custom fields added on the page become
//! columns of the conversation list and lines of the session page with the stored values; a
//! failed analysis shows its reason; a simulation run shows each scenario's verdict with the
//! judge's reasons, transcript and tool calls, and its cost apart.

use crate::common;

use crate::web::{get, hidden, post, web_login};
use common::{Backend, TestApp, send};
use jarvis_core::model::*;
use jarvis_core::{GymId, Scope, VoiceSessionId};
use serde_json::{Value, json};

const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n";

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// A gym with a member `B-OK` and a paired kiosk; its scope and the kiosk's device token.
async fn gym(app: &TestApp) -> (GymId, Scope, String) {
    let f = created(app, "/api/v1/franchises", json!({"name": "F Analyse"})).await;
    let fid = f["id"].as_str().unwrap().parse().unwrap();
    let g = created(
        app,
        "/api/v1/gyms",
        json!({"franchise_id": fid, "name": "Analyse", "timezone": "Europe/Paris"}),
    )
    .await;
    let gid: GymId = g["id"].as_str().unwrap().parse().unwrap();
    created(
        app,
        &format!("/api/v1/gyms/{gid}/members"),
        json!({"badge_id": "B-OK", "first_name": "Alice", "last_name": "Martin",
               "consent_voice": true, "consent_transcripts": true}),
    )
    .await;
    let k = created(
        app,
        &format!("/api/v1/gyms/{gid}/kiosks"),
        json!({"name": "Door"}),
    )
    .await;
    let kid = k["id"].as_str().unwrap();
    let code = created(
        app,
        &format!("/api/v1/gyms/{gid}/kiosks/{kid}/pairing-code"),
        json!({}),
    )
    .await;
    let (s, p) = send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({"code": code["code"]})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let scope = Scope::Gym {
        franchise: fid,
        gym: gid,
    };
    (gid, scope, p["device_token"].as_str().unwrap().to_string())
}

/// A call started at the kiosk and ended at once.
async fn ended_call(app: &TestApp, scope: &Scope, kiosk: &str) -> VoiceSessionId {
    let (s, v) = send(
        app.client
            .post(app.url("/api/v1/kiosk/voice/sessions"))
            .bearer_auth(kiosk)
            .json(&json!({"badge_id": "B-OK", "sdp": OFFER})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id: VoiceSessionId = v["session_id"].as_str().unwrap().parse().unwrap();
    app.db
        .store()
        .end_session(
            scope,
            id,
            EndReason::MemberEnded,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    id
}

async fn analysis_fields_become_columns_and_failures_show(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let (gid, scope, kiosk) = gym(&app).await;
    let store = app.db.store();
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let base = format!("/app/gyms/{gid}/voice/analysis");

    // Add a field on the page (an invalid name first: the error is next to the field).
    let (s, html) = get(&app, &admin, &base).await;
    assert_eq!(s, 200);
    let csrf = hidden(&html, "csrf");
    let (s, html) = post(
        &app,
        &admin,
        &base,
        &crate::web::form(&[
            ("csrf", &csrf),
            ("name", "Bad Name"),
            ("kind", "enum"),
            ("values", "force, cardio"),
            ("description", "main goal"),
        ]),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    let (s, _) = post(
        &app,
        &admin,
        &base,
        &crate::web::form(&[
            ("csrf", &csrf),
            ("name", "goal"),
            ("kind", "enum"),
            ("values", "force, cardio"),
            ("description", "main goal"),
        ]),
    )
    .await;
    assert_eq!(s, 303);
    let (_, html) = get(&app, &admin, &base).await;
    assert!(html.contains(r#"data-field="goal""#), "{html}");
    assert!(html.contains("liste de valeurs") || html.contains("list of values"));

    // One analysed conversation, one failed.
    let done = ended_call(&app, &scope, &kiosk).await;
    let failed = ended_call(&app, &scope, &kiosk).await;
    let mut custom = serde_json::Map::new();
    custom.insert("goal".into(), json!("cardio"));
    store
        .put_session_analysis(
            &scope,
            done,
            NewSessionAnalysis {
                summary: "Alice wants more cardio classes.".into(),
                sentiment: Sentiment::Positive,
                sentiment_score: Some(0.8),
                satisfaction: Some(5),
                follow_up: Some(false),
                cancellation_intent: Some(false),
                custom,
                attempts: 1,
                model: Some("gpt-4o-mini".into()),
                cost_pico: 1_234_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .record_analysis_failure(
            &scope,
            failed,
            "invalid output: satisfaction is not an integer from 1 to 5",
            3,
            "gpt-4o-mini",
            10,
        )
        .await
        .unwrap();

    let (s, html) = get(&app, &admin, &format!("/app/gyms/{gid}/voice/sessions")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(r#"<th data-field="goal">goal</th>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<td class="an-custom">cardio</td>"#),
        "{html}"
    );
    assert!(html.contains(r#"data-analysis="failed""#));
    assert!(html.contains("5/5"));

    let (_, html) = get(
        &app,
        &admin,
        &format!("/app/gyms/{gid}/voice/sessions/{done}"),
    )
    .await;
    assert!(html.contains("Alice wants more cardio classes."), "{html}");
    assert!(html.contains(r#"data-field="goal">cardio</dd>"#));
    assert!(
        html.contains(r#"id="analysis-cost">$0.000001</dd>"#),
        "{html}"
    );
    let (_, html) = get(
        &app,
        &admin,
        &format!("/app/gyms/{gid}/voice/sessions/{failed}"),
    )
    .await;
    assert!(html.contains(r#"id="analysis-failed""#), "{html}");
    assert!(html.contains("satisfaction is not an integer from 1 to 5"));

    // The API says the same.
    let (s, v) = app
        .get(&format!(
            "/api/v1/gyms/{gid}/voice/sessions/{failed}/analysis"
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "failed");
    let (s, v) = app
        .get(&format!("/api/v1/gyms/{gid}/analysis-fields"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["name"], "goal");
}

async fn simulation_pages_show_each_verdict(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    let (gid, scope, _) = gym(&app).await;
    let store = app.db.store();
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let run = store.start_simulation(&scope, gid).await.unwrap();
    let check = |kind, expectation: &str, passed, reason: &str| SimulationCheck {
        kind,
        expectation: expectation.into(),
        passed,
        reason: reason.into(),
    };
    for (seq, name, passed, checks) in [
        (
            0,
            "yoga times",
            true,
            vec![check(
                CheckKind::MustMention,
                "the yoga time",
                true,
                "it said 18 h",
            )],
        ),
        (
            1,
            "wants to cancel",
            false,
            vec![check(
                CheckKind::MustCallTool,
                "hand_off_to_staff",
                false,
                "never called",
            )],
        ),
    ] {
        store
            .add_simulation_result(
                &scope,
                &SimulationResult {
                    run_id: run.id,
                    seq,
                    scenario: name.into(),
                    passed,
                    checks,
                    transcript: vec![SimulationLine {
                        role: "member".into(),
                        text: "<b>À quelle heure ?</b>".into(),
                    }],
                    tool_calls: vec![SimulationToolCall {
                        name: "get_class_schedule".into(),
                        arguments: json!({"day": "today"}),
                        output: json!({"classes": []}),
                    }],
                    cost_pico: 2_000_000,
                },
            )
            .await
            .unwrap();
    }
    store.finish_simulation(&scope, run.id, None).await.unwrap();

    let base = format!("/app/gyms/{gid}/voice/simulations");
    let (s, html) = get(&app, &admin, &base).await;
    assert_eq!(s, 200);
    assert!(html.contains(r#"data-status="failed""#), "{html}");
    assert!(html.contains("1 / 2"));
    assert!(html.contains("$0.000004"), "the run's cost, apart");
    assert!(
        html.contains("asks for yoga times in English"),
        "the example file is offered"
    );

    let (s, html) = get(&app, &admin, &format!("{base}/{}", run.id)).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(r#"data-scenario="yoga times" data-passed="true""#),
        "{html}"
    );
    assert!(html.contains(r#"data-scenario="wants to cancel" data-passed="false""#));
    assert!(html.contains("it said 18 h") && html.contains("never called"));
    assert!(html.contains(r#"data-tool="get_class_schedule""#));
    assert!(
        !html.contains("<b>À quelle heure ?</b>"),
        "transcript escaped"
    );

    // An invalid scenario file is refused with its errors, the text kept.
    let csrf = hidden(&html, "csrf");
    let (s, html) = post(
        &app,
        &admin,
        &base,
        &crate::web::form(&[("csrf", &csrf), ("scenarios", r#"{"scenarios": []}"#)]),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains(r#"id="errors""#));
    // A valid one is saved and a run is queued.
    let (s, html) = post(
        &app,
        &admin,
        &base,
        &crate::web::form(&[
            ("csrf", &csrf),
            (
                "scenarios",
                r#"{"scenarios": [{"name": "hi", "persona": {"scripted": {"turns": ["Bonjour"]}}}]}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert_eq!(
        store
            .simulation_scenarios(&scope, gid)
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"scenarios": [{"name": "hi", "persona": {"scripted": {"turns": ["Bonjour"]}}}]}"#)
    );
    let (s, _) = post(
        &app,
        &admin,
        &format!("{base}/run"),
        &crate::web::form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(s, 200);
}

both_backends!(
    analysis_fields_become_columns_and_failures_show,
    simulation_pages_show_each_verdict,
);
