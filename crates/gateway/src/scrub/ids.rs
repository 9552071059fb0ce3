//! Ids the caller sends (`tool_use.id`, `tool_result.tool_use_id`, and the `id` and
//! `tool_use_id` of server tool blocks) never reach the provider as sent.
//!
//! An id cannot be de-identified like text: it must stay a valid id, and the detector would
//! take any random id for an account number. Yet a caller building its own history may put
//! anything in one (`call-MRN-4471234`), and the egress gate only finds values seen elsewhere
//! in the request. So every id is replaced by a surrogate (`toolu_phg_1`, or `srvtoolu_phg_1`
//! for server tools), numbered by first appearance like placeholders: an application that
//! resends the conversation gets the same surrogates every turn, and a tool use and its result
//! stay paired. Ids in the answer that are surrogates are mapped back, so the caller sees its
//! own ids; the ids the provider makes for new tool uses pass through untouched.

use phigate_llm::types::{ContentBlock, Message, MessageContent, ToolResultContent};
use serde_json::Value;

/// The keys of a block this gateway does not model that hold ids.
const ID_KEYS: [&str; 2] = ["id", "tool_use_id"];

/// Surrogate ↔ the caller's id, for one request. Holds the caller's ids, so no `Debug`.
#[derive(Default)]
pub struct IdMap {
    pairs: Vec<(String, String)>,
}

impl IdMap {
    /// The surrogate of `original`, made on first sight.
    fn surrogate(&mut self, original: &str) -> String {
        if let Some((surrogate, _)) = self.pairs.iter().find(|(_, o)| o == original) {
            return surrogate.clone();
        }
        let prefix = if original.starts_with("srvtoolu_") {
            "srvtoolu"
        } else {
            "toolu"
        };
        let surrogate = format!("{prefix}_phg_{}", self.pairs.len() + 1);
        self.pairs.push((surrogate.clone(), original.to_owned()));
        surrogate
    }

    /// The caller's id behind `surrogate`, if it is one.
    pub fn original(&self, surrogate: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(s, _)| s == surrogate)
            .map(|(_, o)| o.as_str())
    }

    /// How many ids were replaced.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no id was replaced.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Puts the caller's ids back into the answer's blocks.
    pub fn restore(&self, blocks: &mut [ContentBlock]) {
        if self.is_empty() {
            return;
        }
        for block in blocks {
            match block {
                ContentBlock::ToolUse(tool) => {
                    if let Some(original) = self.original(&tool.id) {
                        tool.id = original.to_owned();
                    }
                }
                ContentBlock::ServerToolUse(raw)
                | ContentBlock::WebSearchToolResult(raw)
                | ContentBlock::Unknown(raw) => {
                    for key in ID_KEYS {
                        if let Some(Value::String(id)) = raw.get_mut(key)
                            && let Some(original) = self.original(id)
                        {
                            *id = original.to_owned();
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Replaces every id in `messages` by its surrogate.
pub fn substitute(messages: &mut [Message]) -> IdMap {
    let mut ids = IdMap::default();
    for message in messages {
        if let MessageContent::Blocks(blocks) = &mut message.content {
            blocks.iter_mut().for_each(|block| replace(block, &mut ids));
        }
    }
    ids
}

fn replace(block: &mut ContentBlock, ids: &mut IdMap) {
    match block {
        ContentBlock::ToolUse(tool) => tool.id = ids.surrogate(&tool.id),
        ContentBlock::ToolResult(result) => {
            result.tool_use_id = ids.surrogate(&result.tool_use_id);
            if let Some(ToolResultContent::Blocks(inner)) = &mut result.content {
                inner.iter_mut().for_each(|b| replace(b, ids));
            }
        }
        ContentBlock::ServerToolUse(raw)
        | ContentBlock::WebSearchToolResult(raw)
        | ContentBlock::Unknown(raw) => {
            for key in ID_KEYS {
                if let Some(Value::String(id)) = raw.get_mut(key) {
                    *id = ids.surrogate(id);
                }
            }
        }
        _ => {}
    }
}
