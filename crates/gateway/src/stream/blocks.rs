//! Re-identifying a stream of events, one content block at a time.
//!
//! Each text, tool-use and thinking block gets its own [`StreamRestorer`], so a placeholder cut
//! across deltas (or across network reads) is held back until it is whole, then restored. A
//! delta whose text is entirely held back is not sent; what is still held when the block ends is
//! sent as one more delta just before `content_block_stop` (for thinking, before the
//! `signature_delta`). Every other event passes unchanged and in order.
//!
//! Tool input streams as fragments of JSON text, so there a placeholder is replaced by its
//! original *escaped as JSON string content*, keeping the concatenated input valid JSON.

use std::collections::HashMap;

use phigate_deid::{StreamRestorer, Vault, reidentify};
use phigate_llm::LlmError;
use phigate_llm::types::{ContentBlock, Delta, StreamEvent};

use crate::scrub::{IdMap, all_leaves, data_leaves};
use crate::thinking::ThinkingStore;

/// A vault whose originals are written as JSON string content, numbered exactly like `vault`;
/// `None` if the numbering cannot be reproduced.
pub(crate) fn escaped_vault(vault: &Vault) -> Option<Vault> {
    let mut probe = vault.clone();
    let mut escaped = Vault::new();
    for (kind, original) in vault.originals() {
        let quoted = serde_json::to_string(original).ok()?;
        let inner = quoted.get(1..quoted.len().saturating_sub(1))?;
        if escaped.placeholder_for(kind, inner) != probe.placeholder_for(kind, original) {
            return None;
        }
    }
    Some(escaped)
}

enum Block<'v> {
    Text(StreamRestorer<'v>),
    Json(StreamRestorer<'v>),
    Thinking {
        restorer: StreamRestorer<'v>,
        masked: String,
        restored: String,
        signature: String,
    },
}

/// The per-block restoring state of one streamed answer.
pub(crate) struct BlockRelay<'v> {
    vault: &'v Vault,
    escaped: Option<&'v Vault>,
    ids: &'v IdMap,
    store: &'v ThinkingStore,
    restore: bool,
    blocks: HashMap<usize, Block<'v>>,
    unknown: usize,
}

impl<'v> BlockRelay<'v> {
    /// A relay restoring from `vault` (tool input from `escaped`), or passing events through
    /// unchanged when `restore` is false (Safe Harbor data has nothing to restore). Ids that
    /// are surrogates from `ids` are mapped back in either case.
    pub fn new(
        vault: &'v Vault,
        escaped: Option<&'v Vault>,
        ids: &'v IdMap,
        store: &'v ThinkingStore,
        restore: bool,
    ) -> Self {
        BlockRelay {
            vault,
            escaped,
            ids,
            store,
            restore,
            blocks: HashMap::new(),
            unknown: 0,
        }
    }

    /// Placeholders seen that the vault did not issue.
    pub fn unknown_placeholders(&self) -> usize {
        self.unknown
    }

    /// The events to send for one upstream event, in order.
    pub fn event(&mut self, event: StreamEvent) -> Result<Vec<StreamEvent>, LlmError> {
        // The caller's own ids come back whatever the mode: they were never the provider's.
        let event = match event {
            StreamEvent::ContentBlockStart {
                index,
                mut content_block,
            } => {
                self.ids.restore(std::slice::from_mut(&mut content_block));
                StreamEvent::ContentBlockStart {
                    index,
                    content_block,
                }
            }
            other => other,
        };
        if !self.restore {
            return Ok(vec![event]);
        }
        match event {
            StreamEvent::ContentBlockStart {
                index,
                mut content_block,
            } => {
                self.start(index, &mut content_block)?;
                Ok(vec![StreamEvent::ContentBlockStart {
                    index,
                    content_block,
                }])
            }
            StreamEvent::ContentBlockDelta { index, delta } => Ok(self.delta(index, delta)),
            StreamEvent::ContentBlockStop { index } => {
                let mut out = self.flush(index);
                out.push(StreamEvent::ContentBlockStop { index });
                Ok(out)
            }
            // The stop sequence that was hit is one the caller sent; it went out de-identified.
            StreamEvent::MessageDelta { mut delta, usage } => {
                if let Some(stop) = &mut delta.stop_sequence {
                    *stop = reidentify(stop, self.vault).text;
                }
                Ok(vec![StreamEvent::MessageDelta { delta, usage }])
            }
            other => Ok(vec![other]),
        }
    }

    fn start(&mut self, index: usize, block: &mut ContentBlock) -> Result<(), LlmError> {
        let vault = self.vault;
        let mut restore = |s: &mut String| {
            if s.contains('[') {
                *s = reidentify(s, vault).text;
            }
        };
        let state = match block {
            ContentBlock::Text(text) => {
                restore(&mut text.text);
                Block::Text(StreamRestorer::new(vault))
            }
            ContentBlock::ToolUse(tool) => {
                all_leaves(&mut tool.input, &mut restore);
                let escaped = self.escaped.ok_or(LlmError::Config {
                    reason: "tool input cannot be restored safely",
                })?;
                Block::Json(StreamRestorer::new(escaped))
            }
            ContentBlock::Thinking(thinking) => Block::Thinking {
                restorer: StreamRestorer::new(vault),
                masked: String::new(),
                restored: String::new(),
                signature: thinking.signature.clone(),
            },
            _ => return Ok(()),
        };
        self.blocks.insert(index, state);
        Ok(())
    }

    fn delta(&mut self, index: usize, delta: Delta) -> Vec<StreamEvent> {
        let vault = self.vault;
        let restored = match (self.blocks.get_mut(&index), delta) {
            (Some(Block::Text(restorer)), Delta::TextDelta { text }) => Some(Delta::TextDelta {
                text: restorer.push(&text),
            }),
            (Some(Block::Json(restorer)), Delta::InputJsonDelta { partial_json }) => {
                Some(Delta::InputJsonDelta {
                    partial_json: restorer.push(&partial_json),
                })
            }
            (
                Some(Block::Thinking {
                    restorer,
                    masked,
                    restored,
                    ..
                }),
                Delta::ThinkingDelta { thinking },
            ) => {
                masked.push_str(&thinking);
                let out = restorer.push(&thinking);
                restored.push_str(&out);
                Some(Delta::ThinkingDelta { thinking: out })
            }
            (Some(Block::Thinking { signature, .. }), Delta::SignatureDelta { signature: sig }) => {
                signature.clone_from(&sig);
                let mut out = self.flush_thinking(index);
                out.push(delta_event(index, Delta::SignatureDelta { signature: sig }));
                return out;
            }
            (_, Delta::CitationsDelta { mut citation }) => {
                data_leaves(&mut citation, &mut |s: &mut String| {
                    *s = reidentify(s, vault).text;
                });
                Some(Delta::CitationsDelta { citation })
            }
            (_, other) => Some(other),
        };
        restored
            .filter(|delta| !is_empty(delta))
            .map(|delta| vec![delta_event(index, delta)])
            .unwrap_or_default()
    }

    /// Ends a block: whatever its restorer still holds goes out as one last delta.
    fn flush(&mut self, index: usize) -> Vec<StreamEvent> {
        let Some(block) = self.blocks.remove(&index) else {
            return Vec::new();
        };
        let delta = match block {
            Block::Text(restorer) => {
                let rest = restorer.finish();
                self.unknown += rest.unknown_placeholders.len();
                Delta::TextDelta { text: rest.text }
            }
            Block::Json(restorer) => {
                let rest = restorer.finish();
                self.unknown += rest.unknown_placeholders.len();
                Delta::InputJsonDelta {
                    partial_json: rest.text,
                }
            }
            Block::Thinking {
                restorer,
                masked,
                mut restored,
                signature,
            } => {
                let rest = restorer.finish();
                self.unknown += rest.unknown_placeholders.len();
                restored.push_str(&rest.text);
                if restored != masked {
                    self.store.remember(&signature, masked);
                }
                Delta::ThinkingDelta {
                    thinking: rest.text,
                }
            }
        };
        if is_empty(&delta) {
            Vec::new()
        } else {
            vec![delta_event(index, delta)]
        }
    }

    /// Flushes a thinking block before its signature, keeping it open for the `stop`.
    fn flush_thinking(&mut self, index: usize) -> Vec<StreamEvent> {
        let vault = self.vault;
        let Some(Block::Thinking {
            restorer, restored, ..
        }) = self.blocks.get_mut(&index)
        else {
            return Vec::new();
        };
        let rest = std::mem::replace(restorer, StreamRestorer::new(vault)).finish();
        self.unknown += rest.unknown_placeholders.len();
        restored.push_str(&rest.text);
        if rest.text.is_empty() {
            return Vec::new();
        }
        vec![delta_event(
            index,
            Delta::ThinkingDelta {
                thinking: rest.text,
            },
        )]
    }
}

fn delta_event(index: usize, delta: Delta) -> StreamEvent {
    StreamEvent::ContentBlockDelta { index, delta }
}

fn is_empty(delta: &Delta) -> bool {
    match delta {
        Delta::TextDelta { text } => text.is_empty(),
        Delta::InputJsonDelta { partial_json } => partial_json.is_empty(),
        Delta::ThinkingDelta { thinking } => thinking.is_empty(),
        Delta::SignatureDelta { .. } | Delta::CitationsDelta { .. } => false,
    }
}

#[cfg(test)]
mod tests;
