//! De-identifying every string leaf of a Messages (or token-counting) request.
//!
//! # What is de-identified
//!
//! The system prompt; every `text` block and its citations; `document` blocks' text and content
//! sources with their `title` and `context`; `tool_use.input` (every leaf); `tool_result.content`
//! in both its forms; tool descriptions and the descriptive keywords of input schemas
//! (`description`, `title`, `examples`, `default`, `const`, `enum`); `metadata` (`user_id`);
//! `stop_sequences`; and the string leaves of fields and block types this gateway does not
//! model. Left alone are the fields that name things rather than carry data: `type`, tool
//! names, `model`, signatures, `cache_control`, and opaque encrypted data. Ids are replaced by
//! surrogates and mapped back on the answer (`ids.rs`). Object keys,
//! names and schema property names cannot be rewritten without breaking the request, so they
//! are checked instead, and a request with an identifier in one is refused (`structure.rs`).
//!
//! # Why placeholders stay stable without server-side state
//!
//! One [`Vault`] is built per request and numbers placeholders by first appearance, walking the
//! request in a fixed order: system, messages in order, tools, metadata. An application that
//! resends the conversation sends the earlier turns first and unchanged (with the values Phigate
//! restored into the answers), so those turns get the same numbers again, and the model sees
//! `[NAME_1]` meaning the same person in every turn and tool call. A later turn can only add
//! numbers after the earlier ones. The one exception is deliberate: if a later turn shows that a
//! word of an earlier turn is an identifier (a name first seen standing alone, then after
//! "Mr."), the earlier turn is masked more from then on, never less.
//!
//! Detection has two steps: the first finds what the detector finds; the second treats every
//! value found as known and numbers them in a fresh vault, so a value detected once in context
//! is also replaced where it stands alone, and numbering follows order of appearance. Each
//! distinct string is analysed once ([`Detector::analyse`]: rules, addresses, names); the second
//! step only adds the known values to that analysis, so the request is read by the detector
//! once, and a string repeated in the history (every turn resends the earlier ones) is analysed
//! once too. The result is the same as detecting every string afresh in each step.
//!
//! Placeholder-shaped text sent by the caller (`[NAME_1]`) is defused to `(NAME_1)` first, so a
//! caller cannot plant a token the vault would later "restore".

use std::collections::HashSet;

use phigate_agent::defuse_placeholders;
use phigate_deid::{
    Analysis, Deidentifier, Detector, EntityKind, KnownMatcher, KnownPhi, Vault, reidentify,
    spelling_key,
};
use phigate_llm::types::{
    ContentBlock, CountTokensRequest, Message, MessageContent, MessagesRequest, Role, System,
    SystemBlock, TextBlock, Tool, ToolResultContent,
};
use serde_json::{Map, Value};

use crate::thinking::ThinkingStore;

/// Keys whose string values name or seal things rather than carry data.
const STRUCTURAL: &[&str] = &[
    "type",
    "id",
    "tool_use_id",
    "name",
    "signature",
    "data",
    "encrypted_content",
    "encrypted_index",
    "cache_control",
    "media_type",
    "model",
    "file_id",
    "container",
    "service_tier",
];

/// Schema keywords whose values are prose or example data.
const SCHEMA_PROSE: &[&str] = &[
    "description",
    "title",
    "examples",
    "default",
    "const",
    "enum",
    "$comment",
];

/// Schema keywords whose values map names to sub-schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];

/// The parts of a request that carry text.
pub struct RequestParts<'r> {
    /// The system prompt.
    pub system: &'r mut Option<System>,
    /// The conversation.
    pub messages: &'r mut Vec<Message>,
    /// Tool definitions.
    pub tools: &'r mut Option<Vec<Tool>>,
    /// `metadata`, for Messages requests.
    pub metadata: Option<&'r mut Option<Value>>,
    /// `stop_sequences`, for Messages requests.
    pub stop_sequences: Option<&'r mut Option<Vec<String>>>,
    /// Fields this crate does not model.
    pub extra: &'r mut Map<String, Value>,
}

/// A request whose text can be walked.
pub trait Scrubbable: Clone {
    /// The parts that carry text.
    fn parts(&mut self) -> RequestParts<'_>;
}

impl Scrubbable for MessagesRequest {
    fn parts(&mut self) -> RequestParts<'_> {
        RequestParts {
            system: &mut self.system,
            messages: &mut self.messages,
            tools: &mut self.tools,
            metadata: Some(&mut self.metadata),
            stop_sequences: Some(&mut self.stop_sequences),
            extra: &mut self.extra,
        }
    }
}

impl Scrubbable for CountTokensRequest {
    fn parts(&mut self) -> RequestParts<'_> {
        RequestParts {
            system: &mut self.system,
            messages: &mut self.messages,
            tools: &mut self.tools,
            metadata: None,
            stop_sequences: None,
            extra: &mut self.extra,
        }
    }
}

/// The outcome of de-identifying one request. Holds PHI (the vault), so it has no `Debug`.
pub struct Scrubbed {
    /// Placeholder ↔ original, for restoring the answer.
    pub vault: Vault,
    /// Every value the egress gate must look for.
    pub gate_values: KnownPhi,
    /// Spans replaced.
    pub entities: usize,
    /// Thinking blocks replaced by their remembered de-identified original.
    pub thinking_recalled: usize,
    /// An object key, id, name or other field that cannot be rewritten holds an identifier:
    /// the request must be refused, not sent.
    pub identifier_in_structure: bool,
    /// The caller's ids and the surrogates sent in their place (`ids.rs`).
    pub ids: IdMap,
}

/// De-identifies every string leaf of `request` in place.
#[tracing::instrument(name = "gateway.deidentify", level = "debug", skip_all)]
pub fn scrub<R: Scrubbable>(
    request: &mut R,
    detector: &Detector,
    thinking: &ThinkingStore,
) -> Scrubbed {
    // First step, on a copy: analyse each distinct string once and learn what detection finds.
    let (analyses, mut known) = learn(request, detector);

    // Second step: every found value is known, numbered by first appearance in a fresh vault.
    let matcher = detector.prepare(&known);
    let mut vault = Vault::new();
    let mut entities = {
        let mut second = Deidentifier::prepared(detector, &matcher, &mut vault);
        walk(&mut request.parts(), false, &mut |s| {
            *s = finish(&mut second, &analyses, s);
        });
        count_entities(second.entities_seen());
        second.entities_seen().values().sum::<usize>()
    };
    let (recalled, replaced) = thinking_blocks(
        request.parts().messages,
        detector,
        (&matcher, &analyses),
        &mut vault,
        thinking,
    );
    entities += replaced;

    let learned = known.len();
    for (kind, value) in vault.originals() {
        known.add(kind, value);
    }
    let ids = ids::substitute(request.parts().messages);
    // The vault's originals are nearly always values already learned; only new ones (from
    // thinking blocks) need the values prepared again.
    let matcher = if known.len() == learned {
        matcher
    } else {
        detector.prepare(&known)
    };
    let identifier_in_structure =
        structure::holds_identifier(&mut request.parts(), detector, &matcher);
    Scrubbed {
        vault,
        gate_values: known,
        entities,
        thinking_recalled: recalled,
        identifier_in_structure,
        ids,
    }
}

/// Analyses every distinct string of `request` (thinking included) and returns the analyses
/// with every value detection found in them.
fn learn<R: Scrubbable>(request: &R, detector: &Detector) -> (HashSet<Analysis>, KnownPhi) {
    let mut analyses: HashSet<Analysis> = HashSet::new();
    let none = detector.prepare(&KnownPhi::new());
    let mut learned = Learned::default();
    let mut copy = request.clone();
    walk(&mut copy.parts(), true, &mut |s| {
        let defused = defuse_placeholders(s);
        // A repeated string adds nothing: its values were found where it first appeared.
        if !analyses.contains(defused.as_str()) {
            let analysis = detector.analyse(&defused);
            for entity in detector.entities(&analysis, &none) {
                learned.add(entity.kind, &analysis.text()[entity.start..entity.end]);
            }
            analyses.insert(analysis);
        }
    });
    (analyses, learned.values)
}

/// The values the first step finds, each spelling of a value once: the first spelling, in the
/// order of first appearance, as a vault would number them (see [`spelling_key`]). The
/// placeholders and de-identified texts a vault would also make are not needed here.
#[derive(Default)]
struct Learned {
    spellings: HashSet<(EntityKind, String)>,
    values: KnownPhi,
}

impl Learned {
    fn add(&mut self, kind: EntityKind, original: &str) {
        if self.spellings.insert((kind, spelling_key(original))) {
            self.values.add(kind, original);
        }
    }
}

/// The de-identified form of `text`, from its analysis when the first step made one.
fn finish(deid: &mut Deidentifier<'_>, analyses: &HashSet<Analysis>, text: &str) -> String {
    let defused = defuse_placeholders(text);
    match analyses.get(defused.as_str()) {
        Some(analysis) => deid.analysed(analysis),
        None => deid.text(&defused),
    }
}

/// Thinking blocks must come back exactly as the provider signed them. A block whose signature
/// the gateway remembers, and whose text is what the gateway restored from it, is replaced by
/// the remembered de-identified original. Any other is de-identified like text (if that changes
/// it, the provider will refuse the altered block: failing is better than leaking).
fn thinking_blocks(
    messages: &mut [Message],
    detector: &Detector,
    (known, analyses): (&KnownMatcher, &HashSet<Analysis>),
    vault: &mut Vault,
    store: &ThinkingStore,
) -> (usize, usize) {
    let mut recalled = 0;
    let mut unknown = Vec::new();
    for message in messages.iter_mut().filter(|m| m.role == Role::Assistant) {
        let MessageContent::Blocks(blocks) = &mut message.content else {
            continue;
        };
        for block in blocks.iter_mut() {
            let ContentBlock::Thinking(thinking) = block else {
                continue;
            };
            match store.masked_for(&thinking.signature) {
                Some(masked) if reidentify(&masked, vault).text == thinking.thinking => {
                    thinking.thinking = masked;
                    recalled += 1;
                }
                _ => unknown.push(&mut thinking.thinking),
            }
        }
    }
    if unknown.is_empty() {
        return (recalled, 0);
    }
    let mut deid = Deidentifier::prepared(detector, known, vault);
    for text in unknown {
        *text = finish(&mut deid, analyses, text);
    }
    count_entities(deid.entities_seen());
    (recalled, deid.entities_seen().values().sum())
}

/// Adds what one de-identifier replaced to the per-type counters.
fn count_entities(seen: &std::collections::BTreeMap<phigate_deid::EntityKind, usize>) {
    for (kind, count) in seen {
        phigate_telemetry::metrics().deid_entities(kind.tag(), *count as u64);
    }
}

/// Calls `visit` on every string leaf that carries data. `with_thinking` includes the text of
/// thinking blocks (for detection only: they are replaced separately).
fn walk(parts: &mut RequestParts<'_>, with_thinking: bool, visit: &mut dyn FnMut(&mut String)) {
    match parts.system {
        Some(System::Text(text)) => visit(text),
        Some(System::Blocks(blocks)) => blocks.iter_mut().for_each(|block| {
            let SystemBlock::Text(text) = block;
            text_block(text, visit);
        }),
        None => {}
    }
    for message in parts.messages.iter_mut() {
        match &mut message.content {
            MessageContent::Text(text) => visit(text),
            MessageContent::Blocks(blocks) => {
                for block in blocks {
                    content_block(block, with_thinking, visit);
                }
            }
        }
    }
    for tool in parts.tools.iter_mut().flatten() {
        if let Some(description) = &mut tool.description {
            visit(description);
        }
        schema(&mut tool.input_schema, visit);
        map_leaves(&mut tool.extra, visit);
    }
    if let Some(Some(metadata)) = parts.metadata.as_deref_mut() {
        all_leaves(metadata, visit);
    }
    if let Some(Some(stops)) = parts.stop_sequences.as_deref_mut() {
        for stop in stops.iter_mut() {
            visit(stop);
        }
    }
    map_leaves(parts.extra, visit);
}

fn content_block(
    block: &mut ContentBlock,
    with_thinking: bool,
    visit: &mut dyn FnMut(&mut String),
) {
    match block {
        ContentBlock::Text(text) => text_block(text, visit),
        ContentBlock::Image(image) => map_leaves(&mut image.extra, visit),
        ContentBlock::Document(doc) => {
            document_source(&mut doc.source, visit);
            if let Some(title) = &mut doc.title {
                visit(title);
            }
            if let Some(context) = &mut doc.context {
                visit(context);
            }
            map_leaves(&mut doc.extra, visit);
        }
        ContentBlock::ToolUse(tool) => {
            all_leaves(&mut tool.input, visit);
            map_leaves(&mut tool.extra, visit);
        }
        ContentBlock::ToolResult(result) => {
            match &mut result.content {
                Some(ToolResultContent::Text(text)) => visit(text),
                Some(ToolResultContent::Blocks(blocks)) => {
                    for block in blocks {
                        content_block(block, with_thinking, visit);
                    }
                }
                None => {}
            }
            map_leaves(&mut result.extra, visit);
        }
        ContentBlock::Thinking(thinking) if with_thinking => visit(&mut thinking.thinking),
        ContentBlock::Thinking(_) | ContentBlock::RedactedThinking(_) => {}
        ContentBlock::ServerToolUse(raw)
        | ContentBlock::WebSearchToolResult(raw)
        | ContentBlock::Unknown(raw) => data_leaves(raw, visit),
    }
}

fn text_block(block: &mut TextBlock, visit: &mut dyn FnMut(&mut String)) {
    visit(&mut block.text);
    for citation in block.citations.iter_mut().flatten() {
        data_leaves(citation, visit);
    }
    map_leaves(&mut block.extra, visit);
}

/// Text and content sources carry text inline; other sources are media, refused by default.
fn document_source(source: &mut Value, visit: &mut dyn FnMut(&mut String)) {
    let kind = source
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let field = match kind {
        "text" => "data",
        "content" => "content",
        _ => return,
    };
    if let Some(inline) = source.get_mut(field) {
        data_leaves(inline, visit);
    }
}

/// Descriptive keywords of a JSON Schema are prose; the rest is structure.
fn schema(value: &mut Value, visit: &mut dyn FnMut(&mut String)) {
    match value {
        Value::Object(map) => {
            for (key, sub) in map.iter_mut() {
                if SCHEMA_PROSE.contains(&key.as_str()) {
                    all_leaves(sub, visit);
                } else if SCHEMA_MAPS.contains(&key.as_str()) {
                    if let Value::Object(named) = sub {
                        named.values_mut().for_each(|s| schema(s, visit));
                    }
                } else {
                    schema(sub, visit);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| schema(item, visit)),
        _ => {}
    }
}

/// Every string leaf.
pub(crate) fn all_leaves(value: &mut Value, visit: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter_mut().for_each(|item| all_leaves(item, visit)),
        Value::Object(map) => map.values_mut().for_each(|item| all_leaves(item, visit)),
        _ => {}
    }
}

/// Every string leaf except under structural keys.
pub(crate) fn data_leaves(value: &mut Value, visit: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter_mut().for_each(|item| data_leaves(item, visit)),
        Value::Object(map) => map_leaves(map, visit),
        _ => {}
    }
}

fn map_leaves(map: &mut Map<String, Value>, visit: &mut dyn FnMut(&mut String)) {
    for (key, value) in map.iter_mut() {
        if !STRUCTURAL.contains(&key.as_str()) {
            data_leaves(value, visit);
        }
    }
}

pub(crate) mod ids;
mod structure;

pub use ids::IdMap;

#[cfg(test)]
mod tests;
