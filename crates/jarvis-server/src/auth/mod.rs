//! Who is calling. Until accounts land, the JSON API accepts only the operator's bootstrap token
//! from the configuration; with no token configured the API is closed, never open by default.

pub mod password;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use jarvis_core::Scope;
use jarvis_core::model::Actor;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// An authenticated caller: the tenant scope it may act in and the actor recorded for audits.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the caller may see.
    pub scope: Scope,
    /// Who to record in the audit log.
    pub actor: Actor,
}

/// Client IP as seen on the socket (trusted-proxy handling arrives with accounts).
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect())
}

/// Compares two secrets in constant time (on their digests, so lengths do not leak either).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = &state.config.bootstrap_token else {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "api_closed",
                "the API is closed: no bootstrap token is configured (set JARVIS_BOOTSTRAP_TOKEN)",
            ));
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <token>`"))?;
        if !secrets_equal(presented.trim(), expected.expose()) {
            tracing::warn!(ip = ?client_ip(parts), "rejected API token");
            return Err(ApiError::unauthorized("invalid token"));
        }
        Ok(Caller {
            scope: Scope::Platform,
            actor: Actor::bootstrap(client_ip(parts), user_agent(parts)),
        })
    }
}
