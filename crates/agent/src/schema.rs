//! A small JSON Schema checker for the subset task policies use: `type`, `required`,
//! `properties`, `additionalProperties: false`, `items`, `enum`, `minimum`, `maximum`,
//! `minLength`, `maxLength`, `minItems`, `maxItems`. Unknown keywords are refused when the
//! policy is loaded rather than ignored, so a schema never checks less than it seems to.
//!
//! Errors name the JSON path and the rule, never the value: the value may be PHI.

use serde_json::Value;

const KEYWORDS: &[&str] = &[
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "description",
];

/// Checks that `schema` only uses keywords this checker understands.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    let Some(map) = schema.as_object() else {
        return Err("a schema must be an object".into());
    };
    if let Some(key) = map.keys().find(|k| !KEYWORDS.contains(&k.as_str())) {
        return Err(format!("unsupported schema keyword {key}"));
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        props.values().try_for_each(check_schema)?;
    }
    if let Some(items) = map.get("items") {
        check_schema(items)?;
    }
    Ok(())
}

/// Validates `value` against `schema`; the error is `path: rule`.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    walk(schema, value, "$")
}

fn walk(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let fail = |rule: &str| Err(format!("{path}: {rule}"));
    if let Some(kind) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, kind)
    {
        return fail(&format!("expected {kind}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return fail("not one of the allowed values");
    }
    if let Some(n) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            return fail("below minimum");
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            return fail("above maximum");
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if bound(schema, "minLength").is_some_and(|m| len < m) {
            return fail("shorter than minLength");
        }
        if bound(schema, "maxLength").is_some_and(|m| len > m) {
            return fail("longer than maxLength");
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if bound(schema, "minItems").is_some_and(|m| len < m) {
            return fail("fewer items than minItems");
        }
        if bound(schema, "maxItems").is_some_and(|m| len > m) {
            return fail("more items than maxItems");
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                walk(item_schema, item, &format!("{path}[{i}]"))?;
            }
        }
    }
    if let Some(map) = value.as_object() {
        object(schema, map, path)?;
    }
    Ok(())
}

fn object(schema: &Value, map: &serde_json::Map<String, Value>, path: &str) -> Result<(), String> {
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                return Err(format!("{path}: missing required {key}"));
            }
        }
    }
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (key, item) in map {
        match props.and_then(|p| p.get(key)) {
            Some(sub) => walk(sub, item, &format!("{path}.{key}"))?,
            // Property names come from the model, so only their count is reported.
            None if closed => return Err(format!("{path}: a property not in the schema")),
            None => {}
        }
    }
    Ok(())
}

fn bound(schema: &Value, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// The first JSON object in a model's text: the text may wrap it in prose or a code fence.
pub fn first_object(text: &str) -> Option<Value> {
    let mut from = 0;
    while let Some(at) = text[from..].find('{') {
        let start = from + at;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(value @ Value::Object(_))) = stream.next() {
            return Some(value);
        }
        from = start + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "required": ["esi"], "additionalProperties": false,
               "properties": {"esi": {"type": "integer", "minimum": 1, "maximum": 5},
                              "flags": {"type": "array", "maxItems": 2,
                                        "items": {"type": "string", "maxLength": 5}}}})
    }

    #[test]
    fn a_conforming_answer_passes_and_each_rule_names_its_path() {
        assert!(validate(&schema(), &json!({"esi": 3, "flags": ["a"]})).is_ok());
        let cases = [
            (json!({}), "$: missing required esi"),
            (json!({"esi": 0}), "$.esi: below minimum"),
            (json!({"esi": 2.5}), "$.esi: expected integer"),
            (
                json!({"esi": 2, "flags": ["toolong"]}),
                "$.flags[0]: longer than maxLength",
            ),
            (
                json!({"esi": 2, "flags": ["a", "b", "c"]}),
                "$.flags: more items than maxItems",
            ),
            (json!({"esi": 2, "x": 1}), "$: a property not in the schema"),
            (json!([]), "$: expected object"),
        ];
        for (value, expected) in cases {
            assert_eq!(validate(&schema(), &value).unwrap_err(), expected);
        }
    }

    #[test]
    fn unsupported_keywords_are_refused_rather_than_ignored() {
        assert!(check_schema(&schema()).is_ok());
        let err = check_schema(&json!({"type": "object", "oneOf": []})).unwrap_err();
        assert!(err.contains("oneOf"));
    }

    #[test]
    fn the_object_is_found_inside_prose_and_fences() {
        let text = "Here you go:\n```json\n{\"esi\": 2, \"note\": \"a {brace}\"}\n```";
        assert_eq!(
            first_object(text),
            Some(json!({"esi": 2, "note": "a {brace}"}))
        );
        assert_eq!(first_object("no json {here"), None);
    }
}
