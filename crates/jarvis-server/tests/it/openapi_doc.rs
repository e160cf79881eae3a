//! The OpenAPI document tells the whole truth about its shape: every `$ref` resolves, path
//! parameters match the path templates, every operation declares the statuses the shared
//! extractors and middleware answer for its shape, and every error status carries the error body.
//! (What the server really answers is checked by the schema fuzz in `openapi_fuzz.rs`.)

use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];
const ERROR_REF: &str = "#/components/schemas/ErrorBody";

fn document() -> Value {
    let (_, doc) = jarvis_server::http::api();
    serde_json::to_value(&doc).unwrap()
}

/// Every operation as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push((m.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn refs(v: &Value, at: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "$ref" {
                    if let Some(r) = x.as_str() {
                        out.push((at.clone(), r.to_string()));
                    }
                } else {
                    refs(x, format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                refs(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves() {
    let doc = document();
    let mut all = Vec::new();
    refs(&doc, String::new(), &mut all);
    assert!(
        all.len() > 50,
        "only {} $refs: is this the document?",
        all.len()
    );
    let dangling: Vec<String> = all
        .iter()
        .filter(|(_, r)| resolve(&doc, r).is_none())
        .map(|(at, r)| format!("{r} (at {at})"))
        .collect();
    assert!(
        dangling.is_empty(),
        "dangling $ref:\n{}",
        dangling.join("\n")
    );
}

/// The parameters of an operation with the given location.
fn params(op: &Value, location: &str) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == location)
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn path_parameters_match_the_templates() {
    let doc = document();
    let mut wrong = Vec::new();
    for (m, path, op) in operations(&doc) {
        let template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        let declared = params(&op, "path");
        if template != declared {
            wrong.push(format!(
                "{m} {path}: template has {template:?}, `in: path` parameters are {declared:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What the shared machinery answers, from an operation's shape (see `jarvis_server::openapi`).
fn implied_statuses(path: &str, op: &Value) -> BTreeSet<u16> {
    let mut s = BTreeSet::from([503]);
    if path.starts_with("/api/") {
        s.insert(429);
    }
    if !params(op, "path").is_empty() || !params(op, "query").is_empty() {
        s.insert(400);
    }
    // Not shared machinery but as universal: a path names a resource, which may not exist (or
    // belong to another tenant, which answers the same).
    if !params(op, "path").is_empty() {
        s.insert(404);
    }
    let body = op["requestBody"]["content"].as_object();
    if let Some(types) = body {
        s.insert(413);
        if types.keys().any(|t| t.starts_with("application/json")) {
            s.extend([400, 415, 422]);
        }
    }
    if op["security"].as_array().is_some_and(|reqs| {
        reqs.iter()
            .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
    }) {
        s.extend([401, 403]);
    }
    s
}

#[test]
fn every_operation_declares_what_its_shape_implies() {
    let doc = document();
    let ops = operations(&doc);
    assert!(ops.len() >= 60, "only {} operations", ops.len());
    let mut missing = Vec::new();
    for (m, path, op) in &ops {
        let declared: BTreeSet<u16> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.parse().ok())
            .collect();
        assert!(
            declared.iter().any(|s| (200..300).contains(s)),
            "{m} {path} declares no success status"
        );
        let lacking: Vec<u16> = implied_statuses(path, op)
            .difference(&declared)
            .copied()
            .collect();
        if !lacking.is_empty() {
            missing.push(format!("{m} {path}: does not declare {lacking:?}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Whether a response schema is the error body (directly or as one alternative).
fn is_error_schema(schema: &Value) -> bool {
    if schema["$ref"] == ERROR_REF {
        return true;
    }
    ["oneOf", "anyOf"].iter().any(|k| {
        schema[*k]
            .as_array()
            .is_some_and(|alts| alts.iter().any(|a| a["$ref"] == ERROR_REF))
    })
}

#[test]
fn every_error_response_carries_the_error_body() {
    let doc = document();
    let mut wrong = Vec::new();
    for (m, path, op) in operations(&doc) {
        for (status, resp) in op["responses"].as_object().unwrap() {
            let code: u16 = status.parse().unwrap();
            if code < 400 {
                continue;
            }
            let schema = &resp["content"]["application/json"]["schema"];
            if !is_error_schema(schema) {
                wrong.push(format!("{m} {path} {status}: {resp}"));
            }
            if (code == 429 || code == 503) && resp["headers"].get("Retry-After").is_none() {
                wrong.push(format!("{m} {path} {status}: no Retry-After header"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn security_and_servers_are_declared() {
    let doc = document();
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (m, path, op) in operations(&doc) {
        for req in op["security"].as_array().into_iter().flatten() {
            for name in req.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(name),
                    "{m} {path} uses undeclared security scheme `{name}`"
                );
            }
        }
        assert!(
            op["operationId"].is_string(),
            "{m} {path} has no operationId"
        );
    }
    for (name, s) in schemes {
        assert_eq!(
            (s["type"].as_str(), s["scheme"].as_str()),
            (Some("http"), Some("bearer")),
            "{name}"
        );
    }
    let servers = doc["servers"].as_array().expect("servers");
    assert!(
        servers.iter().any(|s| s["url"] == "/"),
        "the document describes the server that serves it: {servers:?}"
    );
    let ids: Vec<String> = operations(&doc)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds are not unique");
}

#[test]
fn pagination_parameters_state_their_bounds() {
    let doc = document();
    let mut wrong = Vec::new();
    let mut seen = 0;
    for (m, path, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let s = &p["schema"];
            let bounds = (s["minimum"].as_u64(), s["maximum"].as_u64());
            match p["name"].as_str() {
                Some("limit") if p["in"] == "query" => {
                    seen += 1;
                    if bounds != (Some(1), Some(200)) {
                        wrong.push(format!("{m} {path}: limit {s}"));
                    }
                }
                Some("offset")
                    if p["in"] == "query" && (bounds.0 != Some(0) || s["format"] != "int64") =>
                {
                    wrong.push(format!("{m} {path}: offset {s}"));
                }
                _ => {}
            }
        }
    }
    assert!(seen >= 10, "only {seen} paginated operations");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
