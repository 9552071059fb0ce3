//! The coding task's post-checks: every suggested code must be a billable code of the shipped
//! ICD-10-CM set, and every supporting quote must be words of the note.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;

/// The ICD-10-CM code set shipped with Phigate (April 2026 update; public domain; see
/// `crates/agent/data/README.md`): every category and code with whether it is billable.
const CODE_SET: &str = include_str!("../data/icd10cm-2026.tsv");

/// Whether a code is in the set and billable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeStatus {
    /// A billable (most specific) code.
    Billable,
    /// A category or header code: valid ICD-10-CM, but not billable.
    NotBillable,
    /// Not an ICD-10-CM code.
    Unknown,
}

static CODES: LazyLock<HashMap<&'static str, bool>> = LazyLock::new(|| {
    CODE_SET
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .map(|(code, kind)| (code, kind == "b"))
        .collect()
});

/// Looks a code up, accepting it with or without the dot and in any case.
pub fn lookup(code: &str) -> CodeStatus {
    let normalized = normalize(code);
    match CODES.get(normalized.as_str()) {
        Some(true) => CodeStatus::Billable,
        Some(false) => CodeStatus::NotBillable,
        None => CodeStatus::Unknown,
    }
}

/// `e119` and ` E11.9 ` both become `E11.9`.
pub fn normalize(code: &str) -> String {
    let compact: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() > 3 {
        format!("{}.{}", &compact[..3], &compact[3..])
    } else {
        compact
    }
}

/// A suggestion that was dropped, and why. Codes are not PHI; quotes are never reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// The code as the model wrote it (trimmed, at most 16 characters).
    pub code: String,
    /// `unknown-code`, `not-billable` or `quote-not-in-note`.
    pub reason: &'static str,
}

/// Keeps the suggestions that pass every declared check, normalizing their codes, and reports
/// the rest. `note` is the note as the caller sent it; quotes are compared after folding case,
/// whitespace and invisible characters.
pub fn check_codes(
    output: &mut Value,
    note: &str,
    check_codes: bool,
    check_quotes: bool,
) -> Vec<Dropped> {
    let mut dropped = Vec::new();
    let Some(codes) = output.get_mut("codes").and_then(Value::as_array_mut) else {
        return dropped;
    };
    let note = fold(note);
    codes.retain_mut(|item| {
        let code = item
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let shown: String = code.trim().chars().take(16).collect();
        let reason = match lookup(&code) {
            CodeStatus::Unknown if check_codes => Some("unknown-code"),
            CodeStatus::NotBillable if check_codes => Some("not-billable"),
            _ => None,
        };
        let quote = item
            .get("quote")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let quoted = !fold(quote).trim().is_empty() && note.contains(fold(quote).trim());
        let reason = reason.or((check_quotes && !quoted).then_some("quote-not-in-note"));
        match reason {
            Some(reason) => {
                dropped.push(Dropped {
                    code: shown,
                    reason,
                });
                false
            }
            None => {
                if let Some(obj) = item.as_object_mut() {
                    obj.insert("code".into(), Value::String(normalize(&code)));
                }
                true
            }
        }
    });
    dropped
}

fn fold(text: &str) -> String {
    let (text, _) = crate::screen::strip_invisible(text);
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in
        lower.split(|c: char| c.is_whitespace() || c == '"' || c == '\u{201C}' || c == '\u{201D}')
    {
        if word.is_empty() {
            continue;
        }
        out.push(' ');
        out.push_str(word);
    }
    out.push(' ');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_shipped_set_knows_billable_and_header_codes() {
        assert_eq!(lookup("E11.9"), CodeStatus::Billable);
        assert_eq!(lookup("e119"), CodeStatus::Billable);
        assert_eq!(lookup("I10"), CodeStatus::Billable);
        assert_eq!(lookup("E11"), CodeStatus::NotBillable);
        assert_eq!(lookup("Z99.999"), CodeStatus::Unknown);
        assert!(CODES.len() > 90_000);
    }

    #[test]
    fn unknown_unbillable_and_unquoted_suggestions_are_dropped_and_reported() {
        let note = "Assessment: essential  hypertension, well controlled.\nType 2 diabetes.";
        let mut output = json!({"codes": [
            {"code": "i10", "quote": "Essential hypertension", "confidence": 0.9},
            {"code": "E11", "quote": "Type 2 diabetes", "confidence": 0.8},
            {"code": "Q99.99X", "quote": "Type 2 diabetes", "confidence": 0.5},
            {"code": "E11.9", "quote": "insulin pump failure", "confidence": 0.7}
        ]});
        let dropped = check_codes(&mut output, note, true, true);
        assert_eq!(output["codes"].as_array().unwrap().len(), 1);
        assert_eq!(output["codes"][0]["code"], "I10");
        let reasons: Vec<(&str, &str)> = dropped
            .iter()
            .map(|d| (d.code.as_str(), d.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("E11", "not-billable"),
                ("Q99.99X", "unknown-code"),
                ("E11.9", "quote-not-in-note")
            ]
        );
    }
}
