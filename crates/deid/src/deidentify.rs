//! Replacing detected PHI with placeholders, in text and in JSON documents.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::detect::{Detector, KnownMatcher};
use crate::entity::EntityKind;
use crate::known::KnownPhi;
use crate::vault::Vault;

/// De-identifies the texts of one conversation turn, recording placeholders in a [`Vault`].
///
/// The known values are prepared once, so de-identifying many strings (every leaf of a FHIR
/// bundle) costs one detection pass per string.
pub struct Deidentifier<'a> {
    detector: &'a Detector,
    known: KnownMatcher,
    vault: &'a mut Vault,
    seen: BTreeMap<EntityKind, usize>,
}

impl fmt::Debug for Deidentifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deidentifier")
            .field("vault", &self.vault)
            .field("entities_seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl<'a> Deidentifier<'a> {
    /// A de-identifier that detects with `detector`, always finds `known`, and numbers
    /// placeholders in `vault`.
    pub fn new(detector: &'a Detector, known: &'a KnownPhi, vault: &'a mut Vault) -> Self {
        Deidentifier {
            detector,
            known: detector.prepare(known),
            vault,
            seen: BTreeMap::new(),
        }
    }

    /// Returns `text` with every detected span replaced by its placeholder.
    pub fn text(&mut self, text: &str) -> String {
        let entities = self.detector.detect_with(text, &self.known);
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for entity in entities {
            out.push_str(&text[copied..entity.start]);
            let original = &text[entity.start..entity.end];
            out.push_str(&self.vault.placeholder_for(entity.kind, original));
            *self.seen.entry(entity.kind).or_insert(0) += 1;
            copied = entity.end;
        }
        out.push_str(&text[copied..]);
        out
    }

    /// De-identifies every string leaf of `value` in place. Object keys are left as they are:
    /// they are schema, not data.
    pub fn json(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => {
                let replaced = self.text(s);
                *s = replaced;
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.json(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.json(item)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// How many spans of each kind have been replaced so far (for metrics and audit).
    pub fn entities_seen(&self) -> &BTreeMap<EntityKind, usize> {
        &self.seen
    }
}
