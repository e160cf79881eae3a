//! The sideband WebSocket (`GET /v1/realtime?call_id=…`): typed events in, client events out.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use crate::config::ApiKey;
use crate::error::{OpenAiError, error_chain};
use crate::realtime::{ClientEvent, ServerEvent};
use crate::retry::Failure;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How the server ended the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidebandEnd {
    /// WebSocket close code (1000 normal, 1001 going away, 4000 beta shape, …).
    pub code: u16,
    /// Close reason.
    pub reason: String,
}

/// A connected sideband socket.
pub struct Sideband {
    ws: Ws,
    ended: Option<SidebandEnd>,
}

impl std::fmt::Debug for Sideband {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sideband")
            .field("ended", &self.ended)
            .finish()
    }
}

impl Sideband {
    pub(crate) async fn connect(
        url: &str,
        key: &ApiKey,
        timeout: Duration,
        wall_now: std::time::SystemTime,
    ) -> Result<Self, Failure> {
        let mut req = url
            .into_client_request()
            .map_err(|e| OpenAiError::Config(e.to_string()))?;
        let auth = format!("Bearer {}", key.expose())
            .parse()
            .map_err(|_| OpenAiError::Config("API key is not a valid header value".into()))?;
        req.headers_mut().insert("Authorization", auth);
        let fut = tokio_tungstenite::connect_async(req);
        let (ws, _resp) = match tokio::time::timeout(timeout, fut).await {
            Err(_) => return Err(OpenAiError::Timeout.into()),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                // Keep Retry-After / x-should-retry of a refused upgrade (429, 503, …).
                return Err(crate::client::failure(
                    resp.status().as_u16(),
                    resp.headers(),
                    &body,
                    wall_now,
                ));
            }
            Ok(Err(e)) => return Err(OpenAiError::Connection(error_chain(&e)).into()),
            Ok(Ok(v)) => v,
        };
        Ok(Sideband { ws, ended: None })
    }

    /// Sends one client event.
    pub async fn send(&mut self, event: &ClientEvent) -> Result<(), OpenAiError> {
        let text = serde_json::to_string(event).map_err(|e| OpenAiError::Config(e.to_string()))?;
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| OpenAiError::WebSocket(error_chain(&e)))
    }

    /// Next server event; `Ok(None)` once the server closed cleanly (see [`ended`](Self::ended)).
    ///
    /// A connection dropped without a close frame is an `Err(Connection)`.
    pub async fn next_event(&mut self) -> Result<Option<ServerEvent>, OpenAiError> {
        loop {
            let Some(msg) = self.ws.next().await else {
                if self.ended.is_none() {
                    return Err(OpenAiError::Connection(
                        "sideband closed without close frame".into(),
                    ));
                }
                return Ok(None);
            };
            match msg {
                // Never dropped: a message that is not JSON comes back as `Malformed`.
                Ok(Message::Text(t)) => return Ok(Some(ServerEvent::parse_lossy(t.as_str()))),
                Ok(Message::Close(frame)) => {
                    self.ended = Some(match frame {
                        Some(f) => SidebandEnd {
                            code: f.code.into(),
                            reason: f.reason.to_string(),
                        },
                        None => SidebandEnd {
                            code: 1005,
                            reason: String::new(),
                        },
                    });
                    return Ok(None);
                }
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) if self.ended.is_some() => {
                    return Ok(None);
                }
                Err(e) => return Err(OpenAiError::Connection(error_chain(&e))),
            }
        }
    }

    /// Next event within `d`, for callers that must not wait forever.
    pub async fn next_event_timeout(
        &mut self,
        d: Duration,
    ) -> Result<Option<ServerEvent>, OpenAiError> {
        tokio::time::timeout(d, self.next_event())
            .await
            .map_err(|_| OpenAiError::Timeout)?
    }

    /// The close code/reason once the server closed the socket.
    pub fn ended(&self) -> Option<&SidebandEnd> {
        self.ended.as_ref()
    }

    /// Closes the socket politely.
    pub async fn close(mut self) -> Result<(), OpenAiError> {
        self.ws
            .close(None)
            .await
            .map_err(|e| OpenAiError::WebSocket(error_chain(&e)))
    }
}
