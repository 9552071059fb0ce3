//! Putting the originals back into a whole (non-streamed) answer.
//!
//! Text blocks and their citations, every string leaf of `tool_use.input`, and thinking blocks
//! are restored from the request's vault. Restored thinking is remembered in its de-identified
//! form so it stays valid when the caller sends it back (see [`crate::thinking`]).

use phigate_deid::{Vault, reidentify};
use phigate_llm::types::{ContentBlock, MessagesResponse};

use crate::scrub::{all_leaves, data_leaves};
use crate::thinking::ThinkingStore;

/// Restores `answer` in place; returns how many placeholders the vault did not know.
pub(crate) fn restore_message(
    answer: &mut MessagesResponse,
    vault: &Vault,
    store: &ThinkingStore,
) -> usize {
    let mut unknown = 0;
    let mut restore = |s: &mut String| {
        if s.contains('[') {
            let restored = reidentify(s, vault);
            unknown += restored.unknown_placeholders.len();
            *s = restored.text;
        }
    };
    // The stop sequence that was hit is one the caller sent; it went out de-identified.
    if let Some(stop) = &mut answer.stop_sequence {
        restore(stop);
    }
    for block in &mut answer.content {
        match block {
            ContentBlock::Text(text) => {
                restore(&mut text.text);
                for citation in text.citations.iter_mut().flatten() {
                    data_leaves(citation, &mut restore);
                }
            }
            ContentBlock::ToolUse(tool) => all_leaves(&mut tool.input, &mut restore),
            ContentBlock::Thinking(thinking) => {
                let masked = thinking.thinking.clone();
                restore(&mut thinking.thinking);
                if thinking.thinking != masked {
                    store.remember(&thinking.signature, masked);
                }
            }
            ContentBlock::ServerToolUse(raw)
            | ContentBlock::WebSearchToolResult(raw)
            | ContentBlock::Unknown(raw) => data_leaves(raw, &mut restore),
            ContentBlock::Image(_)
            | ContentBlock::Document(_)
            | ContentBlock::ToolResult(_)
            | ContentBlock::RedactedThinking(_) => {}
        }
    }
    unknown
}

#[cfg(test)]
mod tests {
    use phigate_deid::EntityKind;
    use serde_json::json;

    use super::*;

    #[test]
    fn text_tool_input_and_thinking_are_restored_and_thinking_is_remembered_masked() {
        let mut vault = Vault::new();
        vault.placeholder_for(EntityKind::Name, "Rosalind Okonkwo");
        let mut answer: MessagesResponse = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [
                {"type": "thinking", "thinking": "[NAME_1] is hypertensive.", "signature": "sig1"},
                {"type": "text", "text": "Hello [NAME_1] and [NAME_9]."},
                {"type": "tool_use", "id": "t1", "name": "lookup",
                 "input": {"patient": {"name": "[NAME_1]"}, "ids": ["[NAME_1]", 3]}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let store = ThinkingStore::new(4);
        let unknown = restore_message(&mut answer, &vault, &store);
        assert_eq!(unknown, 1);
        let value = serde_json::to_value(&answer).unwrap_or_default();
        assert_eq!(
            value["content"][0]["thinking"],
            "Rosalind Okonkwo is hypertensive."
        );
        assert_eq!(
            value["content"][1]["text"],
            "Hello Rosalind Okonkwo and [NAME_9]."
        );
        assert_eq!(
            value["content"][2]["input"]["patient"]["name"],
            "Rosalind Okonkwo"
        );
        assert_eq!(value["content"][2]["input"]["ids"][0], "Rosalind Okonkwo");
        assert_eq!(
            store.masked_for("sig1").as_deref(),
            Some("[NAME_1] is hypertensive.")
        );
    }

    #[test]
    fn the_stop_sequence_that_was_hit_comes_back_as_the_caller_wrote_it() {
        let mut vault = Vault::new();
        vault.placeholder_for(EntityKind::Name, "Rosalind Okonkwo");
        let mut answer: MessagesResponse = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "Patient:"}],
            "stop_reason": "stop_sequence", "stop_sequence": "[NAME_1]",
            "usage": {"input_tokens": 1, "output_tokens": 1}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        restore_message(&mut answer, &vault, &ThinkingStore::new(4));
        assert_eq!(answer.stop_sequence.as_deref(), Some("Rosalind Okonkwo"));
    }
}
