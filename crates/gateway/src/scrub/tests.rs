#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

use phigate_deid::DetectorConfig;
use phigate_llm::types::{ContentBlock, ThinkingBlock};
use serde_json::json;

use super::*;

const NAME: &str = "Rosalind Okonkwo-Vance";
const MRN: &str = "MRN 48213377";
const PHONE: &str = "617-555-0199";

fn detector() -> Detector {
    Detector::new(DetectorConfig::default()).unwrap()
}

fn request(value: Value) -> MessagesRequest {
    serde_json::from_value(value).unwrap()
}

fn body(request: &MessagesRequest) -> String {
    serde_json::to_string(request).unwrap()
}

/// A request with PHI in every place a string can carry data.
fn everywhere() -> MessagesRequest {
    request(json!({
        "model": "claude-x", "max_tokens": 100,
        "system": [{"type": "text", "text": format!("You help with {NAME}'s chart.")}],
        "metadata": {"user_id": format!("patient {NAME}")},
        "stop_sequences": [format!("Call {PHONE}")],
        "tools": [{"name": "lookup", "description": format!("Looks up Mr. {NAME}"),
            "input_schema": {"type": "object", "description": format!("Call {PHONE}"),
                "properties": {"mrn": {"type": "string", "examples": [MRN]}}}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": format!("Patient {NAME}, phone {PHONE}.")},
                {"type": "document", "title": format!("Note on {NAME}"),
                 "context": format!("Phone {PHONE}"),
                 "source": {"type": "text", "media_type": "text/plain",
                            "data": format!("{NAME} has {MRN}.")}}
            ]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "lookup",
                 "input": {"patient": {"name": NAME}, "phones": [PHONE]}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": format!("{MRN}")},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                    {"type": "text", "text": format!("Callback {PHONE} for {NAME}")}]}
            ]}
        ]
    }))
}

#[test]
fn every_string_leaf_that_carries_data_is_de_identified() {
    let mut req = everywhere();
    let scrubbed = scrub(&mut req, &detector(), &ThinkingStore::new(4));
    let sent = body(&req);
    for (kind, value) in [
        ("NAME", "Okonkwo"),
        ("PHONE", "555-0199"),
        ("MRN", "48213377"),
    ] {
        assert!(
            !sent.contains(value),
            "a {kind} value is still in the request"
        );
    }
    assert!(scrubbed.entities >= 10, "{}", scrubbed.entities);
    // What names things stays: tool names, the model, types. Ids become paired surrogates.
    assert!(sent.contains(r#""name":"lookup""#) && !sent.contains("toolu_1"));
    assert!(sent.contains(r#""id":"toolu_phg_1""#));
    assert!(sent.contains(r#""tool_use_id":"toolu_phg_1""#));
    assert!(sent.contains(r#""tool_use_id":"toolu_phg_2""#));
    assert_eq!(scrubbed.ids.original("toolu_phg_2"), Some("toolu_2"));
    assert!(sent.contains(r#""model":"claude-x""#));
    let gate = phigate_deid::EgressGate::new(scrubbed.gate_values.values().map(|(_, v)| v));
    assert!(gate.check(sent.as_bytes()).is_ok());
}

#[test]
fn the_same_value_gets_the_same_placeholder_in_every_place_it_appears() {
    let mut req = everywhere();
    scrub(&mut req, &detector(), &ThinkingStore::new(4));
    let value = serde_json::to_value(&req).unwrap();
    let first = value["messages"][0]["content"][0]["text"].as_str().unwrap();
    let name_placeholder = &first[first.find('[').unwrap()..=first.find(']').unwrap()];
    assert_eq!(
        value["messages"][1]["content"][0]["input"]["patient"]["name"],
        name_placeholder
    );
}

#[test]
fn resending_history_with_real_values_keeps_the_earlier_placeholders() {
    let detector = detector();
    let turn = |n: usize| {
        let mut messages = Vec::new();
        for i in 0..n {
            messages.push(json!({"role": "user",
                "content": format!("Visit {i}: {NAME} called from {PHONE}.")}));
            messages.push(json!({"role": "assistant", "content": format!("Noted for {NAME}.")}));
        }
        messages.push(json!({"role": "user",
            "content": format!("Now Dr. Amara Lindqvist saw {NAME} about {MRN}.")}));
        request(json!({"model": "m", "max_tokens": 9, "messages": messages}))
    };
    let mut earlier = turn(1);
    scrub(&mut earlier, &detector, &ThinkingStore::new(4));
    let mut later = turn(3);
    scrub(&mut later, &detector, &ThinkingStore::new(4));
    assert_eq!(earlier.messages[0], later.messages[0]);
    assert_eq!(earlier.messages[1], later.messages[1]);
}

#[test]
fn placeholders_planted_by_the_caller_are_defused() {
    let mut req = request(json!({"model": "m", "max_tokens": 9,
        "messages": [{"role": "user", "content": "Tell me about [NAME_1]."}]}));
    scrub(&mut req, &detector(), &ThinkingStore::new(4));
    assert!(body(&req).contains("(NAME_1)"));
}

#[test]
fn a_remembered_thinking_block_goes_back_exactly_as_the_provider_signed_it() {
    let detector = detector();
    let store = ThinkingStore::new(4);
    let masked = "[NAME_1] may need a dose change; recheck in 2 weeks.";
    store.remember("sig-abc", masked.to_owned());
    let restored = format!("{NAME} may need a dose change; recheck in 2 weeks.");
    let mut req = request(json!({"model": "m", "max_tokens": 9, "messages": [
        {"role": "user", "content": format!("Patient {NAME} on lisinopril.")},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": restored, "signature": "sig-abc"},
            {"type": "text", "text": "Done."}]},
        {"role": "user", "content": "Thanks."}
    ]}));
    let scrubbed = scrub(&mut req, &detector, &store);
    assert_eq!(scrubbed.thinking_recalled, 1);
    let MessageContent::Blocks(blocks) = &req.messages[1].content else {
        panic!("blocks")
    };
    let ContentBlock::Thinking(ThinkingBlock { thinking, .. }) = &blocks[0] else {
        panic!("thinking")
    };
    assert_eq!(thinking, masked);
}

#[test]
fn an_altered_or_unknown_thinking_block_is_de_identified_like_text() {
    let store = ThinkingStore::new(4);
    store.remember("sig-abc", "[NAME_1] is stable.".to_owned());
    let mut req = request(json!({"model": "m", "max_tokens": 9, "messages": [
        {"role": "user", "content": format!("Patient {NAME}.")},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": format!("{NAME} is NOT stable."),
             "signature": "sig-abc"}]},
        {"role": "user", "content": "ok"}
    ]}));
    let scrubbed = scrub(&mut req, &detector(), &store);
    assert_eq!(scrubbed.thinking_recalled, 0);
    assert!(!body(&req).contains("Okonkwo"));
}

#[test]
fn thinking_without_phi_passes_unchanged() {
    let text = "The dose seems fine; consider renal function.";
    let mut req = request(json!({"model": "m", "max_tokens": 9, "messages": [
        {"role": "user", "content": "Is 10 mg ok?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": text, "signature": "sig-x"}]},
        {"role": "user", "content": "ok"}
    ]}));
    scrub(&mut req, &detector(), &ThinkingStore::new(4));
    assert!(body(&req).contains(text));
}

/// What the first step learned when it de-identified each string into a vault of its own and
/// read the vault's originals: the values learned without one must be the same, in order.
fn learned_through_a_vault(
    request: &MessagesRequest,
    detector: &Detector,
) -> Vec<(EntityKind, String)> {
    let mut found = Vault::new();
    let none = detector.prepare(&KnownPhi::new());
    let mut first = Deidentifier::prepared(detector, &none, &mut found);
    let mut seen = HashSet::new();
    let mut copy = request.clone();
    walk(&mut copy.parts(), true, &mut |s| {
        let defused = defuse_placeholders(s);
        if seen.insert(defused.clone()) {
            first.analysed(&detector.analyse(&defused));
        }
    });
    let mut known = KnownPhi::new();
    for (kind, value) in found.originals() {
        known.add(kind, value);
    }
    values(&known)
}

fn values(known: &KnownPhi) -> Vec<(EntityKind, String)> {
    known
        .values()
        .map(|(kind, value)| (kind, value.to_owned()))
        .collect()
}

#[test]
fn the_first_step_learns_what_a_vault_would_have_recorded() {
    let detector = detector();
    let prompt = include_str!("../../../../testdata/bench/clinical-prompt.txt");
    // The prompt again in capitals and in lower case: other spellings of the same values,
    // which a vault records once, under their first spelling.
    let spelled = request(json!({
        "model": "claude-x", "max_tokens": 100,
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": prompt.to_uppercase()},
            {"role": "user", "content": prompt.to_lowercase()}
        ]
    }));
    for request in [everywhere(), spelled] {
        let (_, known) = learn(&request, &detector);
        let learned = values(&known);
        let expected = learned_through_a_vault(&request, &detector);
        assert!(expected.len() >= 3, "{} values", expected.len());
        assert!(learned == expected, "the learned values differ");
    }
}
