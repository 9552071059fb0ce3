//! A deliberately small path language over JSON: dot-separated element names, where arrays are
//! walked transparently (`code.coding.display` visits every coding). It is enough for the
//! projections Phigate declares and has no way to reach outside the resource it is given.

use serde_json::Value;

/// Every string (or number, rendered as text) found at `path` inside `value`.
pub fn strings_at(value: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let steps: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    collect(value, &steps, &mut out);
    out
}

/// The first string found at `path`, if any.
pub fn first_string(value: &Value, path: &str) -> Option<String> {
    strings_at(value, path).into_iter().next()
}

/// The JSON values found at `path` (arrays flattened).
pub(crate) fn values_at<'v>(value: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut current = vec![value];
    for step in path.split('.').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for v in current {
            push_flat(v.get(step), &mut next);
        }
        current = next;
    }
    current
}

fn push_flat<'v>(value: Option<&'v Value>, out: &mut Vec<&'v Value>) {
    match value {
        Some(Value::Array(items)) => out.extend(items.iter()),
        Some(other) => out.push(other),
        None => {}
    }
}

fn collect(value: &Value, steps: &[&str], out: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, steps, out)),
        _ if steps.is_empty() => match value {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Bool(b) => out.push(b.to_string()),
            _ => {}
        },
        Value::Object(map) => {
            if let Some(child) = map.get(steps[0]) {
                collect(child, &steps[1..], out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn arrays_are_walked_transparently() {
        let v = json!({"code": {"coding": [{"display": "A"}, {"display": "B"}], "text": "T"}});
        assert_eq!(strings_at(&v, "code.coding.display"), vec!["A", "B"]);
        assert_eq!(first_string(&v, "code.text").as_deref(), Some("T"));
    }

    #[test]
    fn numbers_render_as_text_and_missing_paths_are_empty() {
        let v = json!({"valueQuantity": {"value": 98.6, "unit": "F"}});
        assert_eq!(strings_at(&v, "valueQuantity.value"), vec!["98.6"]);
        assert!(strings_at(&v, "valueQuantity.nope").is_empty());
        assert!(strings_at(&v, "a.b.c").is_empty());
    }

    #[test]
    fn values_at_flattens_arrays_at_every_step() {
        let v = json!({"name": [{"given": ["A", "B"]}, {"given": ["C"]}]});
        assert_eq!(values_at(&v, "name.given").len(), 3);
    }
}
