#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

use phigate_deid::EntityKind;
use serde_json::{Value, json};

use super::*;

const NAME: &str = "Rosalind Okonkwo-Vance";
/// Needs JSON escaping inside tool input.
const QUOTED: &str = "Jo \"JJ\" O'Neil\\Jr";

fn vault() -> Vault {
    let mut vault = Vault::new();
    vault.placeholder_for(EntityKind::Name, NAME);
    vault.placeholder_for(EntityKind::Name, QUOTED);
    vault
}

fn block(kind: &str) -> ContentBlock {
    let value = match kind {
        "text" => json!({"type": "text", "text": ""}),
        "thinking" => json!({"type": "thinking", "thinking": "", "signature": ""}),
        _ => json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
    };
    serde_json::from_value(value).unwrap()
}

/// Streams `pieces` as deltas of one block and returns everything the relay sent.
fn relay(kind: &str, pieces: &[&str], store: &ThinkingStore) -> Vec<StreamEvent> {
    let vault = vault();
    let escaped = escaped_vault(&vault).unwrap();
    let ids = IdMap::default();
    let mut relay = BlockRelay::new(&vault, Some(&escaped), &ids, store, true);
    let mut out = Vec::new();
    let start = StreamEvent::ContentBlockStart {
        index: 0,
        content_block: block(kind),
    };
    out.extend(relay.event(start).unwrap());
    out.extend(relay.event(StreamEvent::Ping).unwrap());
    for piece in pieces {
        let delta = match kind {
            "text" => Delta::TextDelta {
                text: (*piece).to_owned(),
            },
            "thinking" => Delta::ThinkingDelta {
                thinking: (*piece).to_owned(),
            },
            _ => Delta::InputJsonDelta {
                partial_json: (*piece).to_owned(),
            },
        };
        out.extend(relay.event(delta_event(0, delta)).unwrap());
    }
    if kind == "thinking" {
        let signature = Delta::SignatureDelta {
            signature: "sig-1".into(),
        };
        out.extend(relay.event(delta_event(0, signature)).unwrap());
    }
    out.extend(
        relay
            .event(StreamEvent::ContentBlockStop { index: 0 })
            .unwrap(),
    );
    out
}

fn joined(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::ContentBlockDelta { delta, .. } => match delta {
                Delta::TextDelta { text } => Some(text.as_str()),
                Delta::InputJsonDelta { partial_json } => Some(partial_json.as_str()),
                Delta::ThinkingDelta { thinking } => Some(thinking.as_str()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Every way to cut `text` in two and in three pieces at or around its placeholders.
fn cuts(text: &str) -> Vec<Vec<&str>> {
    let mut all = vec![vec![text]];
    for i in 0..=text.len() {
        all.push(vec![&text[..i], &text[i..]]);
        for j in i..=text.len() {
            all.push(vec![&text[..i], &text[i..j], &text[j..]]);
        }
    }
    all
}

#[test]
fn text_cut_at_every_position_of_a_placeholder_is_restored() {
    let text = "Seen [NAME_1] today; [x] ok [NAME_1]";
    let expected = format!("Seen {NAME} today; [x] ok {NAME}");
    for pieces in cuts(text) {
        let events = relay("text", &pieces, &ThinkingStore::new(1));
        assert_eq!(joined(&events), expected, "cut as {:?}", pieces.len());
        assert!(matches!(
            events[0],
            StreamEvent::ContentBlockStart { index: 0, .. }
        ));
        assert!(matches!(events[1], StreamEvent::Ping));
        assert!(matches!(
            events.last(),
            Some(StreamEvent::ContentBlockStop { index: 0 })
        ));
    }
}

#[test]
fn tool_input_cut_at_every_position_stays_valid_json_with_originals_escaped() {
    let json = r#"{"who":"[NAME_2]","also":["[NAME_1]"],"n":1}"#;
    for pieces in cuts(json) {
        let events = relay("tool_use", &pieces, &ThinkingStore::new(1));
        let input: Value = serde_json::from_str(&joined(&events)).unwrap();
        assert_eq!(input, json!({"who": QUOTED, "also": [NAME], "n": 1}));
    }
}

#[test]
fn streamed_thinking_is_restored_before_its_signature_and_remembered_masked() {
    let masked = "Think about [NAME_1] carefully";
    let store = ThinkingStore::new(4);
    let events = relay(
        "thinking",
        &["Think about [NAM", "E_1] careful", "ly"],
        &store,
    );
    assert_eq!(joined(&events), format!("Think about {NAME} carefully"));
    let signature_at = events
        .iter()
        .position(|e| {
            matches!(
                e,
                StreamEvent::ContentBlockDelta {
                    delta: Delta::SignatureDelta { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(
        signature_at,
        events.len() - 2,
        "the signature comes last, before the stop"
    );
    assert_eq!(store.masked_for("sig-1").as_deref(), Some(masked));
}

#[test]
fn unknown_placeholders_are_counted_and_left_as_they_are() {
    let vault = vault();
    let store = ThinkingStore::new(1);
    let ids = IdMap::default();
    let mut relay = BlockRelay::new(&vault, None, &ids, &store, true);
    let start = StreamEvent::ContentBlockStart {
        index: 0,
        content_block: block("text"),
    };
    let mut out = relay.event(start).unwrap();
    let delta = Delta::TextDelta {
        text: "[NAME_7] and [NAME_1]".into(),
    };
    out.extend(relay.event(delta_event(0, delta)).unwrap());
    out.extend(
        relay
            .event(StreamEvent::ContentBlockStop { index: 0 })
            .unwrap(),
    );
    assert_eq!(joined(&out), format!("[NAME_7] and {NAME}"));
    assert_eq!(relay.unknown_placeholders(), 1);
}

#[test]
fn safe_harbor_streams_pass_through_untouched() {
    let vault = vault();
    let store = ThinkingStore::new(1);
    let ids = IdMap::default();
    let mut relay = BlockRelay::new(&vault, None, &ids, &store, false);
    let delta = delta_event(
        0,
        Delta::TextDelta {
            text: "[NAME]".into(),
        },
    );
    assert_eq!(relay.event(delta.clone()).unwrap(), vec![delta]);
}

#[test]
fn a_streamed_stop_sequence_is_restored() {
    let mut vault = Vault::new();
    vault.placeholder_for(EntityKind::Name, "Rosalind Okonkwo");
    let store = ThinkingStore::new(4);
    let ids = IdMap::default();
    let mut relay = BlockRelay::new(&vault, None, &ids, &store, true);
    let event: StreamEvent = serde_json::from_value(json!({
        "type": "message_delta",
        "delta": {"stop_reason": "stop_sequence", "stop_sequence": "[NAME_1]"},
        "usage": {"output_tokens": 3}
    }))
    .unwrap();
    let out = relay.event(event).unwrap();
    let value: Value = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(value["delta"]["stop_sequence"], "Rosalind Okonkwo");
}

#[test]
fn surrogate_ids_in_a_streamed_block_are_mapped_back_in_every_mode() {
    // The caller's history held a server tool use with its own id; the provider saw a surrogate.
    let mut history: Vec<phigate_llm::types::Message> = serde_json::from_value(json!([
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "srvtoolu_caller_42", "name": "web_search",
             "input": {"query": "clinic hours"}}
        ]}
    ]))
    .unwrap();
    let ids = crate::scrub::ids::substitute(&mut history);
    assert_eq!(ids.len(), 1);
    let vault = vault();
    let store = ThinkingStore::new(1);
    for restore in [true, false] {
        let mut relay = BlockRelay::new(&vault, None, &ids, &store, restore);
        let start: StreamEvent = serde_json::from_value(json!({
            "type": "content_block_start", "index": 0,
            "content_block": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_phg_1",
                              "content": []}
        }))
        .unwrap();
        let out = relay.event(start).unwrap();
        let value: Value = serde_json::to_value(&out[0]).unwrap();
        assert_eq!(
            value["content_block"]["tool_use_id"], "srvtoolu_caller_42",
            "restore={restore}"
        );
    }
}
