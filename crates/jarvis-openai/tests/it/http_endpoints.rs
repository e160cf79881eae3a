//! Client ↔ fake: every REST endpoint, validation rules, beta rejection, recording.

use crate::common;

use std::time::Duration;

use common::*;
use jarvis_fake_openai::{ChatScript, TEST_ADMIN_KEY, TEST_API_KEY};
use jarvis_openai::realtime::{ClientSecretRequest, SessionConfig, Tool, Voice};
use jarvis_openai::{
    ApiKey, ChatMessage, ChatRequest, EmbeddingsRequest, JsonSchemaFormat, OpenAiClient,
    OpenAiError, Structured,
};
use serde_json::json;

fn coach_session() -> SessionConfig {
    let mut s = SessionConfig::realtime("gpt-realtime-mini").with_voice("marin");
    s.instructions = Some("Tu es le coach de la salle.".into());
    s.tools = Some(vec![Tool::function(
        "get_class_schedule",
        "Returns today's classes",
        json!({"type":"object","properties":{},"required":[]}),
    )]);
    s
}

#[tokio::test]
async fn client_secret_is_minted_with_ga_shape_and_no_beta_header() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    let secret = client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 60))
        .await
        .unwrap();
    assert!(secret.value.expose().starts_with("ek_"));
    assert_eq!(secret.expires_at, fake.handle.now_unix() + 60);
    assert_eq!(
        secret.session.model.as_deref(),
        Some("gpt-realtime-mini-2025-10-06")
    );
    assert_eq!(secret.session.voice().and_then(Voice::name), Some("marin"));
    assert!(secret.session.id.as_deref().unwrap().starts_with("sess_"));
    assert!(
        !format!("{secret:?}").contains(secret.value.expose()),
        "ek_ must not be Debug-printed"
    );
    let reqs = fake.handle.requests_to("/v1/realtime/client_secrets");
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].used_key(TEST_API_KEY));
    assert!(reqs[0].header("openai-beta").is_none());
    assert!(
        !reqs[0]
            .header("authorization")
            .unwrap()
            .contains(TEST_API_KEY),
        "recorded auth is redacted"
    );
    let body: serde_json::Value = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(
        body["expires_after"],
        json!({"anchor":"created_at","seconds":60})
    );
    assert_eq!(body["session"]["audio"]["output"]["voice"], "marin");
    assert_eq!(body["session"]["type"], "realtime");
}

/// A remote MCP server tool, as the GA API accepts it next to function tools.
fn mcp_tool() -> Tool {
    Tool::from_value(json!({"type":"mcp","server_label":"gym-crm",
        "server_url":"https://crm.example/mcp","require_approval":"never",
        "allowed_tools":["member_lookup"],"authorization":"oauth-token-xyz"}))
}

#[tokio::test]
async fn client_secret_with_custom_voice_and_mcp_tool_parses() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    let mut session = coach_session().with_voice(Voice::custom("voice_68b0c5d3e1"));
    session.tools.get_or_insert_with(Vec::new).push(mcp_tool());
    // The secret is minted and the returned session (custom voice, MCP tool) is readable.
    let secret = client
        .create_client_secret(&ClientSecretRequest::new(session, 60))
        .await
        .unwrap();
    assert!(secret.value.expose().starts_with("ek_"));
    assert_eq!(
        secret.session.voice().and_then(Voice::custom_id),
        Some("voice_68b0c5d3e1")
    );
    let tools = secret.session.tools.as_deref().unwrap();
    assert!(matches!(&tools[0], Tool::Function(f) if f.name == "get_class_schedule"));
    assert!(matches!(&tools[1], Tool::Mcp(m) if m.server_label == "gym-crm"));
    // What we sent is the GA shape the fake validated.
    let body: serde_json::Value =
        serde_json::from_str(&fake.handle.requests_to("/v1/realtime/client_secrets")[0].body)
            .unwrap();
    assert_eq!(
        body["session"]["audio"]["output"]["voice"],
        json!({"id":"voice_68b0c5d3e1"})
    );
    assert_eq!(body["session"]["tools"][1]["type"], "mcp");
    // An MCP tool without a server is refused like the real API does.
    let mut bad = coach_session();
    bad.tools = Some(vec![Tool::from_value(
        json!({"type":"mcp","server_label":"x"}),
    )]);
    let err = client
        .create_client_secret(&ClientSecretRequest::new(bad, 60))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAiError::InvalidRequest { ref param, .. } if param.as_deref() == Some("session.tools")),
        "{err:?}"
    );
}

#[tokio::test]
async fn client_secret_validation_rules() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    let err = client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAiError::InvalidRequest { ref param, .. } if param.as_deref() == Some("expires_after.seconds")),
        "{err:?}"
    );
    let err = client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 7201))
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::InvalidRequest { .. }));
    let err = client
        .create_client_secret(&ClientSecretRequest::new(
            coach_session().with_voice("bob"),
            60,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAiError::InvalidRequest { ref param, .. } if param.as_deref() == Some("session.audio.output.voice")),
        "{err:?}"
    );
    let err = client
        .create_client_secret(&ClientSecretRequest::new(
            SessionConfig::realtime("gpt-4o-realtime-preview"),
            60,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAiError::InvalidRequest { ref code, .. } if code.as_deref() == Some("model_not_found")),
        "{err:?}"
    );
    let mut bad_type = coach_session();
    bad_type.session_type = "speech".into();
    let err = client
        .create_client_secret(&ClientSecretRequest::new(bad_type, 60))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAiError::InvalidRequest { ref param, .. } if param.as_deref() == Some("session.type"))
    );
    // Wrong keys: a standard key that does not exist, and an admin key.
    for key in ["sk-wrong", TEST_ADMIN_KEY] {
        let mut cfg = config(&fake);
        cfg.api_key = ApiKey::new(key);
        let c = OpenAiClient::new(cfg).unwrap();
        let err = c
            .create_client_secret(&ClientSecretRequest::new(coach_session(), 60))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OpenAiError::Auth { status: 401, .. }),
            "{key}: {err:?}"
        );
    }
    // No sleep happened: 4xx are never retried.
    assert_eq!(
        fake.handle.requests_to("/v1/realtime/client_secrets").len(),
        7
    );
}

#[tokio::test]
async fn unified_call_relays_sdp_with_session_multipart_and_reads_location() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    let call = client.create_call(OFFER, &coach_session()).await.unwrap();
    assert!(call.call_id.starts_with("rtc_"), "{}", call.call_id);
    assert!(call.sdp_answer.starts_with("v=0"));
    assert!(call.sdp_answer.contains("webrtc-datachannel"));
    let session = fake.handle.session(&call.call_id).unwrap();
    assert_eq!(session["instructions"], "Tu es le coach de la salle.");
    assert_eq!(session["tools"][0]["name"], "get_class_schedule");
    let req = &fake.handle.requests_to("/v1/realtime/calls")[0];
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data")
    );
    assert_eq!(req.header("accept"), Some("application/sdp"));
    assert!(req.body.contains("name=\"sdp\"") && req.body.contains("name=\"session\""));
    // Hangup ends the call; a second hangup is a 404.
    client.hangup(&call.call_id).await.unwrap();
    assert!(fake.handle.call_stats(&call.call_id).unwrap().ended);
    let err = client.hangup(&call.call_id).await.unwrap_err();
    assert!(matches!(err, OpenAiError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn ephemeral_call_expiry_and_reuse() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    let secret = client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 30))
        .await
        .unwrap();
    // The kiosk's request: raw SDP with the ek_. The real key must never be on it.
    let call = client
        .create_call_with_ephemeral(&secret.value, OFFER)
        .await
        .unwrap();
    assert!(call.call_id.starts_with("rtc_"));
    for r in fake.handle.requests_to("/v1/realtime/calls") {
        assert!(r.used_key(secret.value.expose()));
        assert!(
            !r.contains(TEST_API_KEY),
            "the org key reached the kiosk path"
        );
    }
    // Multi-use is allowed by default (spec), until expiry.
    client
        .create_call_with_ephemeral(&secret.value, OFFER)
        .await
        .unwrap();
    fake.handle.advance(Duration::from_secs(30));
    let err = client
        .create_call_with_ephemeral(&secret.value, OFFER)
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::Auth { .. }), "{err:?}");
    // Single-use mode (reported real behaviour) rejects a reuse before expiry.
    fake.handle.configure(|c| c.single_use_secrets = true);
    let s2 = client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 600))
        .await
        .unwrap();
    client
        .create_call_with_ephemeral(&s2.value, OFFER)
        .await
        .unwrap();
    let err = client
        .create_call_with_ephemeral(&s2.value, OFFER)
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::Auth { .. }), "{err:?}");
    // An ek_ cannot mint secrets or call chat.
    let mut cfg = config(&fake);
    cfg.api_key = s2.value.clone();
    let eph_client = OpenAiClient::new(cfg).unwrap();
    let err = eph_client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 60))
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::Auth { .. }));
    // Invalid SDP is a 400.
    let s3 = client
        .create_client_secret(&ClientSecretRequest::new(coach_session(), 600))
        .await
        .unwrap();
    let err = client
        .create_call_with_ephemeral(&s3.value, "hello")
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn fake_rejects_beta_shaped_traffic() {
    let fake = fake().await;
    let http = reqwest::Client::new();
    let base = fake.base_url();
    let auth = format!("Bearer {TEST_API_KEY}");
    let r = http
        .post(format!("{base}/realtime/client_secrets"))
        .header("Authorization", &auth)
        .header("OpenAI-Beta", "realtime=v1")
        .json(&json!({"session":{"type":"realtime"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "beta_api_shape_disabled");
    let r = http
        .post(format!("{base}/realtime/sessions"))
        .header("Authorization", &auth)
        .json(&json!({"model":"gpt-4o-realtime-preview","modalities":["audio","text"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "beta_api_shape_disabled");
    // The flat beta session shape inside a GA request is refused too.
    let r = http
        .post(format!("{base}/realtime/client_secrets"))
        .header("Authorization", &auth)
        .json(&json!({"session":{"type":"realtime","voice":"alloy"}}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "beta_api_shape_disabled");
    // WebSocket with the beta header: error event, then close 4000.
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let ws_url = base.replace("http://", "ws://") + "/realtime?model=gpt-realtime";
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", auth.parse().unwrap());
    req.headers_mut()
        .insert("OpenAI-Beta", "realtime=v1".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let first = ws.next().await.unwrap().unwrap();
    let ev: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(ev["type"], "error");
    assert_eq!(ev["error"]["code"], "beta_api_shape_disabled");
    match ws.next().await.unwrap().unwrap() {
        Message::Close(Some(f)) => assert_eq!(u16::from(f.code), 4000),
        other => panic!("expected close 4000, got {other:?}"),
    }
    // Unknown paths answer the OpenAI 404 shape.
    let r = http
        .get(format!("{base}/nope"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Summary {
    summary: String,
    topics: Vec<String>,
    sentiment: String,
    sentiment_score: f64,
}

fn summary_request() -> ChatRequest {
    ChatRequest::new(
        "gpt-4o-mini",
        vec![ChatMessage::system("Summarise the gym conversation."), ChatMessage::user("Member: bonjour")],
    )
    .with_json_schema(JsonSchemaFormat {
        name: "session_summary".into(),
        strict: true,
        schema: json!({"type":"object","additionalProperties":false,
            "required":["summary","topics","sentiment","sentiment_score"],
            "properties":{"summary":{"type":"string"},"topics":{"type":"array","items":{"type":"string"}},
                "sentiment":{"type":"string","enum":["positive","neutral","negative","mixed"]},
                "sentiment_score":{"type":"number"}}}),
    })
}

#[tokio::test]
async fn chat_structured_output_parsed_scripted_and_refused() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    // Schema-derived default.
    let out = client
        .chat_structured::<Summary>(&summary_request())
        .await
        .unwrap();
    assert_eq!(
        out.value,
        Structured::Parsed(Summary {
            summary: "fake".into(),
            topics: vec![],
            sentiment: "positive".into(),
            sentiment_score: 0.0
        })
    );
    let usage = out.completion.usage.clone().unwrap();
    assert!(
        usage.prompt_tokens > 0
            && usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    );
    // Scripted answer.
    fake.handle.push_chat(ChatScript::Json(json!({"summary":"Booked yoga","topics":["yoga"],"sentiment":"positive","sentiment_score":0.9})));
    let out = client
        .chat_structured::<Summary>(&summary_request())
        .await
        .unwrap();
    assert!(
        matches!(out.value, Structured::Parsed(ref s) if s.summary == "Booked yoga" && s.topics == vec!["yoga"])
    );
    // Refusal.
    fake.handle
        .push_chat(ChatScript::Refusal("I can't help with that.".into()));
    let out = client
        .chat_structured::<Summary>(&summary_request())
        .await
        .unwrap();
    assert_eq!(
        out.value,
        Structured::Refusal("I can't help with that.".into())
    );
    // Content that does not match the type is a Decode error.
    fake.handle.push_chat(ChatScript::Text("not json".into()));
    let err = client
        .chat_structured::<Summary>(&summary_request())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::Decode(_)), "{err:?}");
    // Strict schema rules enforced by the fake.
    let mut bad = summary_request();
    bad.response_format = Some(
        json!({"type":"json_schema","json_schema":{"name":"x","strict":true,
        "schema":{"type":"object","properties":{"a":{"type":"string"}},"required":[]}}}),
    );
    let err = client.chat_structured::<Summary>(&bad).await.unwrap_err();
    assert!(matches!(err, OpenAiError::InvalidRequest { .. }), "{err:?}");
    // Unknown model.
    let mut bad = summary_request();
    bad.model = "gpt-nope".into();
    assert!(matches!(
        client.chat_completion(&bad).await.unwrap_err(),
        OpenAiError::NotFound { .. }
    ));
    // Ledger priced at gpt-4o-mini rates.
    let chat_lines: Vec<_> = fake
        .handle
        .ledger()
        .into_iter()
        .filter(|e| e.model == "gpt-4o-mini")
        .collect();
    assert_eq!(chat_lines.len(), 4);
    let table = jarvis_core::cost::PriceTable::default_2026();
    for l in chat_lines {
        assert_eq!(Some(l.cost_pico), table.cost_pico("gpt-4o-mini", &l.usage));
    }
}

#[tokio::test]
async fn embeddings_are_deterministic_and_validated() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    let mut req = EmbeddingsRequest::new(
        "text-embedding-3-small",
        vec!["yoga à 18h".into(), "cross-training".into()],
    );
    let a = client.embeddings(&req).await.unwrap();
    assert_eq!(a.data.len(), 2);
    assert_eq!(a.data[0].embedding.len(), 1536);
    let norm: f32 = a.data[0].embedding.iter().map(|x| x * x).sum();
    assert!((norm - 1.0).abs() < 1e-3);
    let b = client.embeddings(&req).await.unwrap();
    assert_eq!(a.data, b.data, "same text, same vector");
    assert_ne!(a.data[0].embedding, a.data[1].embedding);
    assert!(a.usage.prompt_tokens > 0);
    req.dimensions = Some(256);
    assert_eq!(
        client.embeddings(&req).await.unwrap().data[0]
            .embedding
            .len(),
        256
    );
    let empty = EmbeddingsRequest::new("text-embedding-3-small", vec!["".into()]);
    assert!(matches!(
        client.embeddings(&empty).await.unwrap_err(),
        OpenAiError::InvalidRequest { .. }
    ));
    let too_many = EmbeddingsRequest::new("text-embedding-3-small", vec!["x".into(); 2049]);
    assert!(matches!(
        client.embeddings(&too_many).await.unwrap_err(),
        OpenAiError::InvalidRequest { .. }
    ));
    let too_long = EmbeddingsRequest::new("text-embedding-3-small", vec!["x".repeat(40_000)]);
    assert!(matches!(
        client.embeddings(&too_long).await.unwrap_err(),
        OpenAiError::InvalidRequest { .. }
    ));
}

#[tokio::test]
async fn organization_costs_need_admin_key_and_sum_the_ledger() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    client
        .embeddings(&EmbeddingsRequest::new(
            "text-embedding-3-small",
            vec!["hello world".into()],
        ))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/organization/costs?start_time={}",
        fake.base_url(),
        fake.handle.now_unix() - 10
    );
    let r = http
        .get(&url)
        .bearer_auth(TEST_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "standard keys cannot read costs");
    let r = http
        .get(&url)
        .bearer_auth(TEST_ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let total: f64 = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["results"][0]["amount"]["value"].as_f64().unwrap())
        .sum();
    assert!((total - fake.handle.ledger_total_pico() as f64 / 1e12).abs() < 1e-15);
    assert!(total > 0.0);
}

#[tokio::test]
async fn organization_costs_follow_pages_and_retry_server_errors() {
    let fake = fake().await;
    let (client, _) = client(&fake);
    client
        .embeddings(&EmbeddingsRequest::new(
            "text-embedding-3-small",
            vec!["hello world".into()],
        ))
        .await
        .unwrap();
    let day = 86_400;
    let today = fake.handle.now_unix().div_euclid(day) * day;
    let admin = ApiKey::new(TEST_ADMIN_KEY);
    // 40 days up to tomorrow: two pages (31 buckets, then 9); a 500 first, retried.
    fake.handle.inject(
        jarvis_fake_openai::Endpoint::Organization,
        jarvis_fake_openai::Fault::ServerError,
    );
    let days = client
        .organization_costs(&admin, today - 39 * day, today + day)
        .await
        .unwrap();
    assert_eq!(days.len(), 40);
    assert!(
        days.windows(2)
            .all(|w| w[1].start_time == w[0].start_time + day)
    );
    let billed: u64 = days.iter().map(|d| d.micros).sum();
    assert_eq!(billed, days.last().unwrap().micros, "only today is billed");
    assert_eq!(
        u128::from(billed),
        (u128::from(fake.handle.ledger_total_pico()) + 500_000) / 1_000_000,
        "the ledger in micro-dollars"
    );
    assert_eq!(
        fake.handle.requests_to("/v1/organization/costs").len(),
        3,
        "one failed attempt and two pages"
    );
    // A standard key is refused, and not retried.
    assert!(matches!(
        client
            .organization_costs(&ApiKey::new(TEST_API_KEY), today, today + day)
            .await
            .unwrap_err(),
        OpenAiError::Auth { .. } | OpenAiError::InvalidRequest { .. }
    ));
}
