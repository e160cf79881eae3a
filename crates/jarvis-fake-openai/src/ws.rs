//! Realtime WebSockets: the sideband (`?call_id=`) and direct sessions (`?model=`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::http::{api_error, auth};
use crate::realtime::{self, Call, Outbound};
use crate::state::Shared;

pub(crate) async fn realtime_ws(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if headers.contains_key("openai-beta") {
        // Like the real service: accept, explain in an error event, close with 4000.
        return ws.on_upgrade(|mut socket| async move {
            let ev = json!({"type":"error","event_id":"event_beta","error":{"type":"invalid_request_error",
                "code":"beta_api_shape_disabled","message":"The Realtime API beta shape is no longer supported. Remove the 'OpenAI-Beta' header.",
                "param":null,"event_id":null}});
            let _ = socket.send(Message::text(ev.to_string())).await;
            let _ = socket
                .send(Message::Close(Some(CloseFrame { code: 4000, reason: "beta_api_shape_disabled".into() })))
                .await;
        });
    }
    if let Err(r) = auth(&shared, &headers, &["standard"]) {
        return r;
    }
    let (call, sideband) = if let Some(id) = q.get("call_id") {
        let call = shared.inner().calls.get(id).cloned();
        match call {
            Some(c) if !c.stats().ended => (c, true),
            _ => {
                return api_error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("call_not_found"),
                    Some("call_id"),
                    &format!("Call '{id}' not found."),
                );
            }
        }
    } else if let Some(model) = q.get("model") {
        if !shared.cfg().realtime_models.contains(model) {
            return api_error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
                Some("model"),
                &format!("The model '{model}' does not exist or you do not have access to it."),
            );
        }
        let session = realtime::ws_session(&shared, model);
        (realtime::create_call(&shared, "ws_", session), false)
    } else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("missing_required_parameter"),
            Some("model"),
            "Missing required parameter: 'model' (or 'call_id').",
        );
    };
    ws.on_upgrade(move |socket| serve_socket(shared, call, socket, sideband))
}

async fn serve_socket(shared: Arc<Shared>, call: Arc<Call>, mut socket: WebSocket, sideband: bool) {
    let sid = call.socket_id();
    let mut rx = call.subscribe();
    if sideband {
        call.with_stats(|s| s.sideband_connections += 1);
    }
    let created = call.session_created(&shared);
    if socket.send(Message::text(created)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => realtime::handle_client_event(&shared, &call, sid, t.as_str()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Ok(Outbound::Event { text, only }) => {
                    if only.is_none_or(|o| o == sid) && socket.send(Message::text(text.to_string())).await.is_err() {
                        break;
                    }
                }
                Ok(Outbound::Close { code, reason }) => {
                    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                // Dropping the socket without a close frame is what a network failure looks like.
                Ok(Outbound::Drop) => return,
                Err(RecvError::Lagged(n)) => tracing::warn!(n, "fake socket lagged; events lost"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    if !sideband {
        call.end(1000, "client closed");
    }
}
