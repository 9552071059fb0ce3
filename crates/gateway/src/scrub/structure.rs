//! The strings de-identification leaves alone because rewriting them would break the request:
//! object keys, ids, tool names, schema property names, `model`, cache and container settings.
//! None of them is meant to carry data, so each is checked with the detector (and against every
//! value found elsewhere in the request), and a request that carries an identifier in one is
//! refused rather than sent. Ids (`toolu_…`) are random by nature and the detector would take
//! them for account numbers, so they are not checked here: every id is replaced by a surrogate
//! before the request leaves (`ids.rs`). Opaque sealed values (signatures, encrypted or base64 data) are not
//! text and are not checked.

use phigate_deid::{Detector, KnownMatcher};
use phigate_llm::types::{ContentBlock, MessageContent, ToolResultContent};
use serde_json::Value;

use super::{RequestParts, SCHEMA_MAPS, STRUCTURAL};

/// Structural values that are sealed blobs or random ids, not text.
const OPAQUE: &[&str] = &[
    "signature",
    "data",
    "encrypted_content",
    "encrypted_index",
    "id",
    "tool_use_id",
    "file_id",
];

/// Whether any string the scrubber could not rewrite holds an identifier.
pub(super) fn holds_identifier(
    parts: &mut RequestParts<'_>,
    detector: &Detector,
    known: &KnownMatcher,
) -> bool {
    let mut found = false;
    let mut check = |s: &str| {
        if !found && !s.is_empty() && !detector.detect_with(s, known).is_empty() {
            found = true;
        }
    };
    for message in parts.messages.iter() {
        if let MessageContent::Blocks(blocks) = &message.content {
            blocks
                .iter()
                .for_each(|block| block_strings(block, &mut check));
        }
    }
    for tool in parts.tools.iter().flatten() {
        check(&tool.name);
        schema_names(&tool.input_schema, &mut check);
        object_strings(&Value::Object(tool.extra.clone()), &mut check);
    }
    if let Some(Some(metadata)) = parts.metadata.as_deref() {
        keys(metadata, &mut check);
    }
    object_strings(&Value::Object(parts.extra.clone()), &mut check);
    found
}

fn block_strings(block: &ContentBlock, check: &mut dyn FnMut(&str)) {
    match block {
        ContentBlock::ToolUse(tool) => {
            check(&tool.name);
            keys(&tool.input, check);
        }
        ContentBlock::ToolResult(result) => {
            if let Some(ToolResultContent::Blocks(blocks)) = &result.content {
                blocks.iter().for_each(|b| block_strings(b, check));
            }
        }
        ContentBlock::ServerToolUse(raw)
        | ContentBlock::WebSearchToolResult(raw)
        | ContentBlock::Unknown(raw) => object_strings(raw, check),
        _ => {}
    }
}

/// Every object key below `value`.
fn keys(value: &Value, check: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(map) => map.iter().for_each(|(key, sub)| {
            check(key);
            keys(sub, check);
        }),
        Value::Array(items) => items.iter().for_each(|item| keys(item, check)),
        _ => {}
    }
}

/// Object keys, and the values of structural keys that are text, below `value`.
fn object_strings(value: &Value, check: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(map) => map.iter().for_each(|(key, sub)| {
            check(key);
            let structural = STRUCTURAL.contains(&key.as_str());
            if structural && !OPAQUE.contains(&key.as_str()) {
                all_strings(sub, check);
            } else if !structural {
                object_strings(sub, check);
            }
        }),
        Value::Array(items) => items.iter().for_each(|item| object_strings(item, check)),
        _ => {}
    }
}

fn all_strings(value: &Value, check: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => check(s),
        Value::Array(items) => items.iter().for_each(|item| all_strings(item, check)),
        Value::Object(map) => map.iter().for_each(|(key, sub)| {
            check(key);
            all_strings(sub, check);
        }),
        _ => {}
    }
}

/// Property names, `required` entries and `pattern`s of a JSON Schema.
fn schema_names(value: &Value, check: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, sub) in map {
                if SCHEMA_MAPS.contains(&key.as_str()) {
                    if let Value::Object(named) = sub {
                        for (name, inner) in named {
                            check(name);
                            schema_names(inner, check);
                        }
                    }
                } else if key == "required" || key == "pattern" {
                    all_strings(sub, check);
                } else {
                    schema_names(sub, check);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| schema_names(item, check)),
        _ => {}
    }
}
