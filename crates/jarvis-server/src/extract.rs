//! Request extractors whose rejections are our JSON errors naming the bad field, instead of
//! axum's plain-text defaults.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::{
    JsonRejection, MissingJsonContentType, PathRejection, QueryRejection,
};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;

/// A JSON object body; malformed JSON, wrong types, unknown fields, bodies that are not an
/// object and oversize bodies become clear 4xx.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(json_rejection(MissingJsonContentType::default().into()));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| json_rejection(r.into()))?;
        // serde reads a struct from a JSON array too (`[null, null]` is a valid patch to it);
        // every body of this API is an object, so anything else is refused.
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => {}
            Some(_) => return Err(not_an_object()),
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `application/json` or any `application/*+json`, as axum's own `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

fn not_an_object() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "invalid request body: expected a JSON object",
    )
    .with_details(json!({ "fields": [{ "field": "", "code": "invalid", "message": "expected a JSON object" }] }))
}

/// Pulls the field path out of serde's message ("badge_id: invalid type…", "unknown field `x`").
fn field_of(message: &str) -> Option<String> {
    if let Some(rest) = message.split("unknown field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    if let Some(rest) = message.split("missing field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    let (path, _) = message.split_once(": ")?;
    let path = path.trim();
    (!path.is_empty() && path != "." && !path.contains(' ')).then(|| path.to_string())
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let text = r.body_text();
    match r {
        JsonRejection::JsonDataError(_) => {
            let detail = text
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                .to_string();
            let field = field_of(&detail);
            let message = match &field {
                Some(f) => format!("invalid value for `{f}`: {detail}"),
                None => format!("invalid request body: {detail}"),
            };
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message)
                .with_details(json!({ "fields": [{ "field": field.unwrap_or_default(), "code": "invalid", "message": detail }] }))
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request(
            "malformed_json",
            format!(
                "the body is not valid JSON: {}",
                text.trim_start_matches("Failed to parse the request body as JSON: ")
            ),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(_) if r_status_is_too_large(&text) => too_large(),
        _ => ApiError::bad_request("bad_body", text),
    }
}

fn r_status_is_too_large(text: &str) -> bool {
    text.contains("length limit")
}

/// 413 for bodies above the configured limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is larger than the server accepts",
    )
}

/// Path parameters; an invalid id is a 400 naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let kind = e.into_kind();
                let message = match &kind {
                    axum::extract::path::ErrorKind::ParseErrorAtKey { key, value, .. } => {
                        format!("`{key}` in the path must be a UUID, got `{value}`")
                    }
                    axum::extract::path::ErrorKind::ParseError { value, .. } => {
                        format!("the id in the path must be a UUID, got `{value}`")
                    }
                    other => format!("invalid path parameter: {other}"),
                };
                Err(ApiError::bad_request("invalid_path", message))
            }
            Err(other) => Err(ApiError::bad_request("invalid_path", other.body_text())),
        }
    }
}

/// Query parameters; bad values are a 400 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let detail = text
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_string();
                let field = field_of(&detail).unwrap_or_default();
                Err(ApiError::bad_request(
                    "invalid_query",
                    format!("invalid query parameter: {detail}"),
                )
                .with_details(json!({ "field": field })))
            }
            Err(other) => Err(ApiError::bad_request("invalid_query", other.body_text())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{ApiJson, field_of};
    use axum::extract::{FromRequest, Request};

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Patch {
        name: Option<String>,
        note: Option<String>,
    }

    async fn body(content_type: &str, body: &'static str) -> Result<Patch, (u16, String)> {
        let req = Request::builder()
            .method("PATCH")
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        ApiJson::<Patch>::from_request(req, &())
            .await
            .map(|ApiJson(p)| p)
            .map_err(|e| (e.status.as_u16(), e.code.to_string()))
    }

    #[tokio::test]
    async fn json_bodies_must_be_objects() {
        assert!(body("application/json", r#" {"name": "x"}"#).await.is_ok());
        assert!(
            body("application/merge-patch+json; charset=utf-8", "{}")
                .await
                .is_ok()
        );
        // serde alone accepts a sequence for a struct.
        for not_object in [
            "[null, null]",
            " [\"a\", \"b\"]",
            "\"x\"",
            "3",
            "null",
            "true",
        ] {
            assert_eq!(
                body("application/json", not_object).await.unwrap_err(),
                (422, "validation_failed".into()),
                "{not_object}"
            );
        }
        assert_eq!(body("application/json", "").await.unwrap_err().0, 400);
        assert_eq!(body("application/json", "{").await.unwrap_err().0, 400);
        assert_eq!(body("text/plain", "{}").await.unwrap_err().0, 415);
        assert_eq!(body("application/jsonx", "{}").await.unwrap_err().0, 415);
        assert_eq!(
            body("application/json", r#"{"x": 1}"#).await.unwrap_err(),
            (422, "validation_failed".into())
        );
    }

    #[test]
    fn finds_fields_in_serde_messages() {
        assert_eq!(
            field_of("badge_id: invalid type: integer `5`, expected a string at line 1 column 14")
                .as_deref(),
            Some("badge_id")
        );
        assert_eq!(
            field_of("unknown field `gym_id`, expected one of `badge_id`").as_deref(),
            Some("gym_id")
        );
        assert_eq!(
            field_of("missing field `first_name` at line 1 column 2").as_deref(),
            Some("first_name")
        );
        assert_eq!(field_of("expected value at line 1 column 1"), None);
    }
}
