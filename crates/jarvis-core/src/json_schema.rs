//! The subset of JSON Schema tools use, in two halves that cannot drift apart:
//!
//! - [`check_schema`] accepts a *schema* only when it uses keywords [`validate_args`] enforces
//!   (`type`, `properties`, `required`, `additionalProperties: false|true`, `enum`, `minLength`,
//!   `maxLength`, `minimum`, `maximum`, `maxItems`, `items`, `description`), so a manager's
//!   custom tool schema never promises a check (`pattern`, `format`, `$ref`, `oneOf`…) that would
//!   silently not happen;
//! - [`validate_args`] checks the model's *arguments* against such a schema before any tool
//!   runs (built-in tools and custom HTTP tools alike).
//!
//! A full draft validator (the `jsonschema` crate) was weighed and left out: it pulls a regex
//! engine, URL and HTTP-resolver machinery into every crate for keywords the tools do not need,
//! and accepting keywords we then ignore would be the worse failure.

use serde_json::{Map, Value};

/// Deepest nesting of schemas accepted (objects in arrays in objects…).
pub const MAX_SCHEMA_DEPTH: usize = 6;
/// Largest schema accepted, as compact JSON (bytes).
pub const MAX_SCHEMA_BYTES: usize = 16 * 1024;

const TYPES: [&str; 7] = [
    "object", "array", "string", "boolean", "integer", "number", "null",
];
const KEYWORDS: [&str; 12] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "maxItems",
    "items",
    "description",
];

/// `Ok` when `args` fits `schema`; else a message naming the offending field.
pub fn validate_args(schema: &Value, args: &Value) -> Result<(), String> {
    check(schema, args, "arguments")
}

/// `Ok` when `schema` is an object schema made only of the supported keywords (see the module
/// documentation); else a message naming the offending place (`properties.day.pattern`).
pub fn check_schema(schema: &Value) -> Result<(), String> {
    let size = serde_json::to_string(schema).map(|s| s.len()).unwrap_or(0);
    if size > MAX_SCHEMA_BYTES {
        return Err(format!("must be at most {MAX_SCHEMA_BYTES} bytes"));
    }
    let obj = schema
        .as_object()
        .ok_or_else(|| "must be a JSON object".to_owned())?;
    if obj.get("type").and_then(Value::as_str) != Some("object") {
        return Err("the top level must have \"type\": \"object\"".into());
    }
    schema_ok(obj, "schema", 0)
}

fn schema_ok(s: &Map<String, Value>, path: &str, depth: usize) -> Result<(), String> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(format!(
            "{path}: nested deeper than {MAX_SCHEMA_DEPTH} levels"
        ));
    }
    for k in s.keys() {
        if !KEYWORDS.contains(&k.as_str()) {
            return Err(format!(
                "{path}.{k}: keyword not supported (allowed: {})",
                KEYWORDS.join(", ")
            ));
        }
    }
    let types: Vec<&str> = match s.get("type") {
        None => Vec::new(),
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) if !ts.is_empty() => ts
            .iter()
            .map(|t| {
                t.as_str()
                    .ok_or_else(|| format!("{path}.type: must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(format!(
                "{path}.type: must be a type name or a list of them"
            ));
        }
    };
    if let Some(t) = types.iter().find(|t| !TYPES.contains(t)) {
        return Err(format!("{path}.type: unknown type {t:?}"));
    }
    if let Some(d) = s.get("description")
        && !d.is_string()
    {
        return Err(format!("{path}.description: must be a string"));
    }
    for k in ["minLength", "maxLength", "maxItems"] {
        if let Some(v) = s.get(k)
            && v.as_u64().is_none()
        {
            return Err(format!("{path}.{k}: must be a non-negative integer"));
        }
    }
    for k in ["minimum", "maximum"] {
        if let Some(v) = s.get(k)
            && !v.is_number()
        {
            return Err(format!("{path}.{k}: must be a number"));
        }
    }
    if let Some(e) = s.get("enum") {
        match e.as_array() {
            Some(a) if !a.is_empty() => {}
            _ => return Err(format!("{path}.enum: must be a non-empty list")),
        }
    }
    if let Some(a) = s.get("additionalProperties")
        && !a.is_boolean()
    {
        return Err(format!(
            "{path}.additionalProperties: only true or false is supported"
        ));
    }
    let props = match s.get("properties") {
        None => None,
        Some(Value::Object(p)) => Some(p),
        Some(_) => return Err(format!("{path}.properties: must be an object")),
    };
    if let Some(p) = props {
        for (name, sub) in p {
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                return Err(format!(
                    "{path}.properties: property names must be 1 to 64 printable characters"
                ));
            }
            let sub = sub
                .as_object()
                .ok_or_else(|| format!("{path}.properties.{name}: must be a schema object"))?;
            schema_ok(sub, &format!("{path}.properties.{name}"), depth + 1)?;
        }
    }
    if let Some(r) = s.get("required") {
        let list = r
            .as_array()
            .ok_or_else(|| format!("{path}.required: must be a list of property names"))?;
        for n in list {
            let n = n
                .as_str()
                .ok_or_else(|| format!("{path}.required: must be a list of property names"))?;
            if !props.is_some_and(|p| p.contains_key(n)) {
                return Err(format!(
                    "{path}.required: {n:?} is not among the properties"
                ));
            }
        }
    }
    if let Some(items) = s.get("items") {
        let items = items
            .as_object()
            .ok_or_else(|| format!("{path}.items: must be a schema object"))?;
        schema_ok(items, &format!("{path}.items"), depth + 1)?;
    }
    Ok(())
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn check(schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            return Err(format!("{path} must be of type {t}"));
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            return Err(format!("{path} has the wrong type"));
        }
        _ => {}
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        return Err(format!(
            "{path} must be one of {}",
            Value::Array(allowed.clone())
        ));
    }
    if let Some(s) = v.as_str() {
        let n = s.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && n > max
        {
            return Err(format!("{path} must be at most {max} characters"));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && n < min
        {
            return Err(format!("{path} must be at least {min} characters"));
        }
    }
    if let Some(x) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && x < min
        {
            return Err(format!("{path} must be at least {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && x > max
        {
            return Err(format!("{path} must be at most {max}"));
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            return Err(format!("{path} must have at most {max} items"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{path}[{i}]"))?;
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    return Err(format!("{path}.{r} is required"));
                }
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, val, &format!("{path}.{k}"))?,
                None if closed => return Err(format!("{path}.{k} is not a known field")),
                None => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_the_subset() {
        let s = json!({"type":"object","additionalProperties":false,"required":["note"],
            "properties":{"note":{"type":"string","minLength":1,"maxLength":5},
                "day":{"type":"string","enum":["today","tomorrow"]},
                "n":{"type":"integer","minimum":1,"maximum":3},
                "goals":{"type":"array","maxItems":2,"items":{"type":"string"}}}});
        assert_eq!(check_schema(&s), Ok(()));
        assert_eq!(validate_args(&s, &json!({"note":"ok"})), Ok(()));
        assert!(
            validate_args(&s, &json!({}))
                .unwrap_err()
                .contains("note is required")
        );
        assert!(
            validate_args(&s, &json!({"note":"toolong"}))
                .unwrap_err()
                .contains("at most 5")
        );
        assert!(validate_args(&s, &json!({"note":""})).is_err());
        assert!(
            validate_args(&s, &json!({"note":"a","x":1}))
                .unwrap_err()
                .contains("x is not")
        );
        assert!(validate_args(&s, &json!({"note":"a","day":"monday"})).is_err());
        assert!(validate_args(&s, &json!({"note":"a","n":4})).is_err());
        assert!(validate_args(&s, &json!({"note":"a","n":0})).is_err());
        assert!(
            validate_args(&s, &json!({"note":"a","goals":["a",2]}))
                .unwrap_err()
                .contains("goals[1]")
        );
        assert!(validate_args(&s, &json!({"note":"a","goals":["a","b","c"]})).is_err());
        assert!(validate_args(&s, &json!("str")).is_err());
        assert!(validate_args(&s, &json!({"note": 3})).is_err());
    }

    #[test]
    fn schemas_outside_the_subset_are_refused() {
        let bad = [
            (json!([]), "JSON object"),
            (json!({"type": "string"}), "top level"),
            (json!({"properties": {}}), "top level"),
            (
                json!({"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}),
                "properties.a.pattern",
            ),
            (json!({"type":"object","$ref":"#/x"}), "$ref"),
            (json!({"type":"object","oneOf":[]}), "oneOf"),
            (
                json!({"type":"object","properties":{"a":{"type":"strin"}}}),
                "unknown type",
            ),
            (
                json!({"type":"object","required":["b"],"properties":{"a":{}}}),
                "not among",
            ),
            (
                json!({"type":"object","properties":{"a":3}}),
                "schema object",
            ),
            (
                json!({"type":"object","additionalProperties":{"type":"string"}}),
                "only true or false",
            ),
            (
                json!({"type":"object","properties":{"a":{"maxLength":-1}}}),
                "non-negative",
            ),
            (
                json!({"type":"object","properties":{"a":{"enum":[]}}}),
                "non-empty",
            ),
        ];
        for (schema, needle) in bad {
            let e = check_schema(&schema).unwrap_err();
            assert!(e.contains(needle), "{schema}: {e}");
        }
        let mut deep = json!({"type": "string"});
        for _ in 0..10 {
            deep = json!({"type": "array", "items": deep});
        }
        let deep = json!({"type":"object","properties":{"a": deep}});
        assert!(check_schema(&deep).unwrap_err().contains("deeper"));
        let big = json!({"type":"object","description": "x".repeat(MAX_SCHEMA_BYTES)});
        assert!(check_schema(&big).unwrap_err().contains("bytes"));
    }
}
