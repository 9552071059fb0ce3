//! De-identifying FHIR JSON: every resource of a bundle, contained ones included.
//!
//! Detection alone cannot be trusted with structured data: `S99989904` in `identifier.value` is
//! PHI because of where it sits, not because of its shape. So the walker knows FHIR's
//! PHI-bearing paths and replaces their values whole (names, identifiers, contact points,
//! addresses, device identifiers, dates), drops what cannot be generalised (geolocation), and
//! runs detection only on the free text that remains (`display`, `text`, narrative `div`,
//! base64 plain-text notes). Ids and references are replaced by keyed pseudonyms, the same for
//! every occurrence, so the de-identified bundle still links up. Codes, systems and other
//! schema values are kept.

mod fields;
mod references;

use std::collections::HashMap;

use phigate_deid::{Deidentifier, EntityKind, Pseudonyms};
use serde_json::{Map, Value};

use fields::{Field, classify, is_fhir_date};

/// De-identifies FHIR resources in place with one [`Deidentifier`] (one vault, one mode) and
/// one set of id [`Pseudonyms`].
pub struct FhirDeidentifier<'d, 'a> {
    deid: &'d mut Deidentifier<'a>,
    ids: &'d mut Pseudonyms,
    /// Free text seen before and what replaced it: Synthea repeats the same display strings
    /// thousands of times, and every mode is deterministic for a given input.
    texts: HashMap<String, String>,
}

impl<'d, 'a> FhirDeidentifier<'d, 'a> {
    /// A walker that replaces through `deid` and pseudonymizes ids through `ids`.
    pub fn new(deid: &'d mut Deidentifier<'a>, ids: &'d mut Pseudonyms) -> Self {
        FhirDeidentifier {
            deid,
            ids,
            texts: HashMap::new(),
        }
    }

    /// De-identifies `value` (a bundle, a resource, or any FHIR JSON) in place.
    pub fn walk(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) => self.object(map),
            Value::Array(items) => items.iter_mut().for_each(|item| self.walk(item)),
            Value::String(s) => *s = self.free_text(s),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>) {
        let is_practitioner =
            map.get("resourceType").and_then(Value::as_str) == Some("Practitioner");
        let extension_url = map
            .get("url")
            .and_then(Value::as_str)
            .filter(|_| {
                map.keys()
                    .any(|k| k.starts_with("value") || k == "extension")
            })
            .map(str::to_owned);
        let is_request = map.contains_key("method") && map.contains_key("url");
        let is_text_attachment = map
            .get("contentType")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("text/"));

        // Extensions that cannot be generalised are removed whole.
        if let Some(Value::Array(extensions)) = map.get_mut("extension") {
            extensions.retain(|ext| !fields::is_dropped_extension(ext));
        }
        if map.contains_key("data") && !is_text_attachment {
            // Images and PDFs cannot be scanned; refuse to pass them on.
            map.remove("data");
        }

        for (key, child) in map.iter_mut() {
            let field = classify(key, extension_url.as_deref(), is_request, is_practitioner);
            self.field(field, child);
        }
    }

    fn field(&mut self, field: Field, value: &mut Value) {
        match (field, value) {
            (Field::Keep, Value::String(_)) => {}
            (Field::Id, Value::String(s)) => *s = self.ids.of(s),
            (Field::Reference, Value::String(s)) => *s = references::pseudonymize(s, self),
            (Field::Whole(kind), Value::String(s)) => *s = self.whole(kind, s),
            (Field::Identifier, Value::Array(items)) => {
                items.iter_mut().for_each(|i| self.identifier(i));
            }
            (Field::Identifier, item @ Value::Object(_)) => self.identifier(item),
            (Field::Telecom, Value::Array(items)) => items.iter_mut().for_each(|t| self.telecom(t)),
            (Field::Address, Value::Array(items)) => items.iter_mut().for_each(|a| self.address(a)),
            (Field::Address, address @ Value::Object(_)) => self.address(address),
            (Field::HumanName(kind), Value::Array(items)) => {
                items.iter_mut().for_each(|n| self.human_name(kind, n));
            }
            (Field::Base64Text, Value::String(s)) => *s = self.base64_text(s),
            (Field::Whole(kind), Value::Array(items)) => {
                for item in items.iter_mut() {
                    if let Value::String(s) = item {
                        *s = self.whole(kind, s);
                    }
                }
            }
            (_, other) => self.walk(other),
        }
    }

    /// A value that is PHI because of where it sits, replaced without detection.
    fn whole(&mut self, kind: EntityKind, value: &str) -> String {
        if value.trim().is_empty() {
            return value.to_owned();
        }
        self.deid.value(kind, value)
    }

    /// Free text: dates written as FHIR dates are replaced whole, anything else goes through
    /// detection.
    pub(crate) fn free_text(&mut self, text: &str) -> String {
        if is_fhir_date(text) {
            return if text.len() == 4 {
                text.to_owned()
            } else {
                self.deid.value(EntityKind::Date, text)
            };
        }
        if let Some(done) = self.texts.get(text) {
            return done.clone();
        }
        let replaced = self.deid.text(text);
        self.texts.insert(text.to_owned(), replaced.clone());
        replaced
    }

    fn identifier(&mut self, identifier: &mut Value) {
        let kind = fields::identifier_kind(identifier);
        let Value::Object(map) = identifier else {
            return self.walk(identifier);
        };
        for (key, child) in map.iter_mut() {
            match (key.as_str(), child) {
                ("value", Value::String(s)) => *s = self.whole(kind, s),
                ("system" | "use", _) => {}
                (_, other) => self.walk(other),
            }
        }
    }

    fn telecom(&mut self, telecom: &mut Value) {
        let kind = fields::telecom_kind(telecom);
        self.with_fields(telecom, |key| match key {
            "value" => Some(Field::Whole(kind)),
            _ => None,
        });
    }

    fn address(&mut self, address: &mut Value) {
        if let Some(Value::Array(extensions)) = address.get_mut("extension") {
            extensions.retain(|ext| !fields::is_dropped_extension(ext));
        }
        self.with_fields(address, |key| match key {
            "line" | "city" | "district" | "text" => Some(Field::Whole(EntityKind::Location)),
            "postalCode" => Some(Field::Whole(EntityKind::Zip)),
            _ => None,
        });
    }

    fn human_name(&mut self, kind: EntityKind, name: &mut Value) {
        self.with_fields(name, |key| match key {
            "given" | "family" | "text" | "suffix" => Some(Field::Whole(kind)),
            _ => None,
        });
    }

    /// Applies `rule` to the fields of an object; fields it does not name are classified as
    /// everywhere else.
    fn with_fields(&mut self, value: &mut Value, rule: impl Fn(&str) -> Option<Field>) {
        let Value::Object(map) = value else {
            return self.walk(value);
        };
        for (key, child) in map.iter_mut() {
            let field = rule(key).unwrap_or_else(|| classify(key, None, false, false));
            self.field(field, child);
        }
    }

    fn base64_text(&mut self, data: &str) -> String {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let Ok(bytes) = engine.decode(data.trim()) else {
            // Not base64: it cannot be scanned, so nothing of it goes on.
            return String::new();
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return String::new();
        };
        let replaced = self.deid.text(&text);
        engine.encode(replaced)
    }

    pub(crate) fn pseudonym(&mut self, id: &str) -> String {
        self.ids.of(id)
    }
}

#[cfg(test)]
mod tests;
