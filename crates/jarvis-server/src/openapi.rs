//! The OpenAPI document: its header (info, tags, shared schemas, security schemes, servers) and
//! the one post-processor that declares the statuses the shared machinery answers.
//!
//! Handlers declare only what is theirs (their success, 404, 409, business 422). Extractors and
//! middleware answer the same way on every route, so [`SharedResponses`] adds those statuses to
//! each operation from its shape: path parameters ([`crate::extract::ApiPath`]), query
//! parameters ([`crate::extract::ApiQuery`]), a JSON body ([`crate::extract::ApiJson`] and the
//! body limit), bearer security ([`crate::auth::Caller`], the kiosk device token), the
//! per-client API rate limit and the request timeout / database outage.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

/// Name of the security scheme of signed-in users (RS256 access tokens).
pub const USER_BEARER: &str = "bearer";
/// Name of the security scheme of paired kiosk devices (the device token).
pub const KIOSK_BEARER: &str = "kiosk_device";
/// The error body every error status carries.
pub const ERROR_SCHEMA: &str = "#/components/schemas/ErrorBody";

/// The document's header; the routes add their operations (see [`crate::http::api`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "JARVIS API", description = "Self-hosted AI voice companion for gyms: tenants, members, kiosks."),
    components(schemas(
        crate::error::ErrorBody,
        crate::error::ErrorInner,
        jarvis_core::FieldError,
        jarvis_core::model::MemberSort,
        jarvis_app::knowledge::ImportFormat,
    )),
    tags(
        (name = "tenants", description = "Franchises and gyms"),
        (name = "members", description = "Gym members"),
        (name = "kiosks", description = "Kiosk devices (staff side: pairing codes, status, revoke)"),
        (name = "kiosk-device", description = "The kiosk device API, authenticated by the device token only"),
        (name = "demo", description = "The public demo page's call start (no authentication; only when the demo page is on)"),
        (name = "classes", description = "Class schedules"),
        (name = "knowledge", description = "The gym knowledge base: entries, import, hybrid search"),
        (name = "ops", description = "Health, readiness and audit"),
        (name = "auth", description = "Sign-in, MFA, sessions, passwords, invitations, auth events"),
        (name = "users", description = "Team members of your tenant: list, disable, re-enable, revoke a role"),
    )
)]
pub struct ApiDoc;

/// Completes the document assembled from the routes: servers, security schemes, and the
/// statuses of the shared machinery on every operation.
pub fn complete(doc: &mut utoipa::openapi::OpenApi) {
    Header.modify(doc);
    SharedResponses.modify(doc);
}

/// Servers and security schemes.
struct Header;

impl Modify for Header {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // Relative: the document is served by the server it describes, whatever its address.
        openapi.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some("The server that serves this document"))
                .build(),
        ]);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            USER_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "RS256 access token from POST /api/v1/auth/login (AAL2 after MFA for roles that require it)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            KIOSK_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Kiosk device token from POST /api/v1/kiosk/pair (opaque, long-lived)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Declares on each operation the error statuses its shape implies (see the module docs).
pub struct SharedResponses;

/// What an operation is made of, as far as the shared machinery is concerned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Under `/api/` (rate-limited, JSON errors).
    pub api: bool,
    /// Has path parameters.
    pub path_params: bool,
    /// Has query parameters.
    pub query_params: bool,
    /// Takes a JSON body.
    pub json_body: bool,
    /// Takes a body of another type (the body limit applies to it too).
    pub other_body: bool,
    /// Requires a bearer token (user or kiosk).
    pub bearer: bool,
}

impl Shape {
    /// The shape of `op` at `path`.
    pub fn of(path: &str, op: &Operation) -> Self {
        let params = op.parameters.iter().flatten().filter_map(|p| match p {
            RefOr::T(p) => Some(&p.parameter_in),
            RefOr::Ref(_) => None,
        });
        let (mut path_params, mut query_params) = (false, false);
        for p in params {
            match p {
                ParameterIn::Path => path_params = true,
                ParameterIn::Query | ParameterIn::QueryString => query_params = true,
                _ => {}
            }
        }
        let body_types: Vec<&String> = match &op.request_body {
            Some(RefOr::T(b)) => b.content.keys().collect(),
            _ => Vec::new(),
        };
        let json_body = body_types.iter().any(|t| t.starts_with("application/json"));
        let bearer = op.security.iter().flatten().any(|req| {
            serde_json::to_value(req)
                .is_ok_and(|v| v.get(USER_BEARER).is_some() || v.get(KIOSK_BEARER).is_some())
        });
        Shape {
            api: path.starts_with("/api/"),
            path_params,
            query_params,
            json_body,
            other_body: !json_body && !body_types.is_empty(),
            bearer,
        }
    }

    /// The error statuses the shared machinery may answer for this shape, with what they mean.
    pub fn statuses(&self) -> Vec<(u16, String)> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        if self.path_params {
            bad.push("`invalid_path`: a path parameter is malformed (ids are UUIDs)");
        }
        if self.query_params {
            bad.push("`invalid_query`: a query parameter is unknown or out of range");
        }
        if self.json_body {
            bad.push("`malformed_json`: the body is not JSON");
        }
        if !bad.is_empty() {
            out.push((400, bad.join("; ")));
        }
        if self.bearer {
            out.push((
                401,
                "`unauthorized`: no, invalid or expired bearer token, or its session ended".into(),
            ));
            out.push((
                403,
                "`forbidden`: the role does not allow this; `mfa_required`: finish two-factor authentication first".into(),
            ));
        }
        if self.json_body || self.other_body {
            out.push((
                413,
                "`payload_too_large`: the body is larger than the server accepts".into(),
            ));
        }
        if self.json_body {
            out.push((
                415,
                "`unsupported_media_type`: send the body with `Content-Type: application/json`"
                    .into(),
            ));
            out.push((
                422,
                "`validation_failed`: a field is missing, unknown or invalid; `details.fields` names them".into(),
            ));
        }
        if self.api {
            out.push((
                429,
                "`rate_limited`: too many requests from this client or account; retry after `Retry-After` seconds".into(),
            ));
        }
        out.push((
            503,
            "`unavailable`: the database is unreachable, or `timeout`: the request took too long; retry after `Retry-After` seconds".into(),
        ));
        out
    }
}

/// The error response: the error body, and `Retry-After` where the client should wait.
fn error_response(status: u16, description: &str) -> Response {
    let mut b = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::new(ERROR_SCHEMA)))
            .build(),
    );
    if status == 429 || status == 503 {
        b = b.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    b.build()
}

/// A handler's own JSON error answer (e.g. the readiness report) may also be the error body of
/// the shared machinery (a timeout): its schema becomes "either".
fn also_error_body(own: &mut Response) {
    let Some(RefOr::T(content)) = own.content.get_mut("application/json") else {
        return;
    };
    if matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location == ERROR_SCHEMA) {
        return;
    }
    if let Some(schema) = content.schema.take() {
        content.schema = Some(
            utoipa::openapi::schema::AnyOfBuilder::new()
                .item(schema)
                .item(Ref::new(ERROR_SCHEMA))
                .into(),
        );
    }
}

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
                let shape = Shape::of(path, op);
                for (status, description) in shape.statuses() {
                    let shared = error_response(status, &description);
                    match op.responses.responses.get_mut(&status.to_string()) {
                        // The handler's own description (its specific cases) comes first.
                        Some(RefOr::T(own)) => {
                            own.description = if own.description.is_empty() {
                                shared.description
                            } else {
                                format!("{}; {}", own.description, shared.description)
                            };
                            if own.content.is_empty() {
                                own.content = shared.content;
                            } else {
                                also_error_body(own);
                            }
                            for (k, v) in shared.headers {
                                own.headers.entry(k).or_insert(v);
                            }
                        }
                        Some(RefOr::Ref(_)) => {}
                        None => {
                            op.responses
                                .responses
                                .insert(status.to_string(), RefOr::T(shared));
                        }
                    }
                }
            }
        }
    }
}

/// A CSV file sent as the raw request body: bytes (UTF-8 or Windows-1252), not a JSON string.
pub struct CsvFile;

impl utoipa::PartialSchema for CsvFile {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .description(Some("The CSV file, as raw bytes"))
            .into()
    }
}

impl utoipa::ToSchema for CsvFile {}
