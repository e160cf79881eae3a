//! `/__fake/*` admin routes for browser tests and the demo (fake-only; never on the real API).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::state::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__fake/mint", post(mint))
        .route("/__fake/calls", get(calls))
        .route("/__fake/calls/{id}", get(call_stats))
        .route("/__fake/calls/{id}/say", post(say))
        .route("/__fake/ledger", get(ledger))
        .route("/__fake/advance", post(advance))
        .route("/__fake/webrtc-test", get(test_page))
}

/// Mints an `ek_` without an `sk-` key (fake-only shortcut for browser tests).
async fn mint(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let session = serde_json::from_slice::<Value>(&body)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"type":"realtime"}));
    match crate::mint_secret(&shared, &session, 600) {
        Ok((value, expires_at)) => {
            axum::Json(json!({"value":value,"expires_at":expires_at})).into_response()
        }
        Err(r) => r,
    }
}

async fn calls(State(shared): State<Arc<Shared>>) -> Response {
    let ids: Vec<String> = shared.inner().calls.keys().cloned().collect();
    axum::Json(json!({"calls": ids})).into_response()
}

async fn call_stats(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let call = shared.inner().calls.get(&id).cloned();
    match call {
        Some(c) => {
            let s = c.stats();
            axum::Json(
                json!({"id": id, "stats": s, "audio_seconds_in": s.audio_ms_in as f64 / 1000.0}),
            )
            .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct SayBody {
    text: String,
    #[serde(default = "one")]
    seconds: f64,
}

fn one() -> f64 {
    1.0
}

async fn say(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    axum::Json(b): axum::Json<SayBody>,
) -> Response {
    let call = shared.inner().calls.get(&id).cloned();
    match call {
        Some(c) => {
            crate::realtime::member_says(&shared, &c, &b.text, b.seconds);
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn ledger(State(shared): State<Arc<Shared>>) -> Response {
    let l = shared.inner().ledger.clone();
    let total: u64 = l.iter().map(|e| e.cost_pico).sum();
    let rows: Vec<Value> = l
        .iter()
        .map(|e| json!({"at_unix":e.at_unix,"kind":format!("{:?}",e.kind),"model":e.model,"call_id":e.call_id,
            "response_id":e.response_id,"total_tokens":e.usage.total(),"audio_ms":e.audio_ms,"cost_pico":e.cost_pico}))
        .collect();
    axum::Json(json!({"entries":rows,"total_pico":total})).into_response()
}

async fn advance(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let secs = q
        .get("seconds")
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    if secs.is_finite() && secs > 0.0 {
        shared.clock.advance(Duration::from_secs_f64(secs));
    }
    axum::Json(json!({"now_unix": shared.clock.now_unix()})).into_response()
}

async fn test_page() -> Html<&'static str> {
    Html(include_str!("webrtc_test.html"))
}
