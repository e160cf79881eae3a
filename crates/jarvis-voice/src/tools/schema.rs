//! Checks tool arguments against the subset of JSON Schema our tools use: object properties,
//! `required`, `additionalProperties: false`, `type`, `enum`, `maxLength`, `minLength`,
//! `maxItems` and array `items`. Anything the model sends outside it is refused before a tool
//! runs.

use serde_json::Value;

/// `Ok` when `args` fits `schema`; else a message naming the offending field.
pub fn validate_args(schema: &Value, args: &Value) -> Result<(), String> {
    check(schema, args, "arguments")
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
                "goals":{"type":"array","maxItems":2,"items":{"type":"string"}}}});
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
        assert!(
            validate_args(&s, &json!({"note":"a","goals":["a",2]}))
                .unwrap_err()
                .contains("goals[1]")
        );
        assert!(validate_args(&s, &json!({"note":"a","goals":["a","b","c"]})).is_err());
        assert!(validate_args(&s, &json!("str")).is_err());
        assert!(validate_args(&s, &json!({"note": 3})).is_err());
    }
}
