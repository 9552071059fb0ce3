//! Replacing detected PHI with placeholders, in text and in JSON documents.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::detect::{Analysis, Detector, KnownMatcher};
use crate::entity::Entity;
use crate::entity::EntityKind;
use crate::known::KnownPhi;
use crate::mode::Mode;
use crate::vault::Vault;

/// De-identifies the texts of one conversation turn, recording placeholders in a [`Vault`].
///
/// The known values are prepared once, so de-identifying many strings (every leaf of a FHIR
/// bundle) costs one detection pass per string.
pub struct Deidentifier<'a> {
    detector: &'a Detector,
    known: Cow<'a, KnownMatcher>,
    vault: &'a mut Vault,
    mode: Mode,
    seen: BTreeMap<EntityKind, usize>,
}

impl fmt::Debug for Deidentifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deidentifier")
            .field("vault", &self.vault)
            .field("mode", &self.mode)
            .field("entities_seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl<'a> Deidentifier<'a> {
    /// A de-identifier that detects with `detector`, always finds `known`, and numbers
    /// placeholders in `vault`.
    pub fn new(detector: &'a Detector, known: &'a KnownPhi, vault: &'a mut Vault) -> Self {
        Self::with_mode(detector, known, vault, Mode::Placeholder)
    }

    /// As [`Deidentifier::new`], replacing what it finds as `mode` says.
    pub fn with_mode(
        detector: &'a Detector,
        known: &KnownPhi,
        vault: &'a mut Vault,
        mode: Mode,
    ) -> Self {
        Deidentifier {
            detector,
            known: Cow::Owned(detector.prepare(known)),
            vault,
            mode,
            seen: BTreeMap::new(),
        }
    }

    /// As [`Deidentifier::new`], with known values already prepared by
    /// [`Detector::prepare`] (so several de-identifiers of one request prepare them once).
    pub fn prepared(detector: &'a Detector, known: &'a KnownMatcher, vault: &'a mut Vault) -> Self {
        Deidentifier {
            detector,
            known: Cow::Borrowed(known),
            vault,
            mode: Mode::Placeholder,
            seen: BTreeMap::new(),
        }
    }

    /// The replacement mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Replaces a whole value the caller already knows to be PHI of kind `kind` (a FHIR
    /// `identifier.value`, say), without running detection on it.
    pub fn value(&mut self, kind: EntityKind, value: &str) -> String {
        *self.seen.entry(kind).or_insert(0) += 1;
        self.mode.replace(self.detector, self.vault, kind, value)
    }

    /// Returns `text` with every detected span replaced by its placeholder.
    pub fn text(&mut self, text: &str) -> String {
        let entities = self.detector.detect_with(text, &self.known);
        self.replace(text, &entities)
    }

    /// As [`Deidentifier::text`] for the text of `analysis`, without analysing it again.
    pub fn analysed(&mut self, analysis: &Analysis) -> String {
        let entities = self.detector.finish(analysis, &self.known);
        self.replace(analysis.text(), &entities)
    }

    fn replace(&mut self, text: &str, entities: &[Entity]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for entity in entities {
            out.push_str(&text[copied..entity.start]);
            let original = &text[entity.start..entity.end];
            out.push_str(
                &self
                    .mode
                    .replace(self.detector, self.vault, entity.kind, original),
            );
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
