//! Checking an import's references before anything is written. A reference must resolve inside
//! the input (a `fullUrl`, a `Type/id`, a contained `#id`) or, for `Type/id`, to a resource
//! already stored; the store lookup is left to the caller, through [`Unresolved`].
//!
//! Two kinds are accepted without resolving them, and counted: conditional references
//! (`Practitioner?identifier=...`, which Synthea writes for practitioners, organisations and
//! locations held in a directory elsewhere) and absolute URLs to other servers.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::FhirError;
use crate::input::{ImportSet, Located, Location};

/// What the reference check found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReferenceSummary {
    /// References resolved inside the input.
    pub internal: usize,
    /// `Type/id` references left for the store to resolve (see [`References::unresolved`]).
    pub to_store: usize,
    /// Conditional references (`Type?search`), accepted unresolved.
    pub conditional: usize,
    /// Absolute URLs to other servers, accepted unresolved.
    pub external: usize,
}

/// A `Type/id` reference that names nothing in the input. Holds an id, so it has no `Debug`.
pub struct Unresolved {
    /// The referenced type.
    pub resource_type: String,
    /// The referenced id.
    pub id: String,
    at: Location,
    path: String,
}

impl Unresolved {
    /// The error to report when the store does not have it either (names no id).
    pub fn dangling(&self) -> FhirError {
        FhirError::DanglingReference {
            at: self.at.to_string(),
            path: self.path.clone(),
            target: self.resource_type.clone(),
        }
    }
}

/// The outcome of checking an input's references.
pub struct References {
    /// Counts by kind.
    pub summary: ReferenceSummary,
    /// One entry per distinct `Type/id` the store must hold.
    pub unresolved: Vec<Unresolved>,
}

struct Index<'a> {
    full_urls: HashMap<&'a str, (&'a str, &'a str)>,
    defined: HashSet<(&'a str, &'a str)>,
    ids: HashSet<&'a str>,
}

impl ImportSet {
    /// Checks every `reference` in every resource. A reference that cannot resolve at all (an
    /// unknown `urn:uuid`, a missing contained resource, a malformed value) is an error naming
    /// where it is; `Type/id` references to nothing in the input are returned for the caller to
    /// look up in the store.
    pub fn references(&self) -> Result<References, FhirError> {
        let index = Index {
            full_urls: self.by_full_url(),
            defined: self.resources.iter().map(Located::type_and_id).collect(),
            ids: self.resources.iter().map(|r| r.type_and_id().1).collect(),
        };
        let mut out = References {
            summary: ReferenceSummary::default(),
            unresolved: Vec::new(),
        };
        let mut pending = HashSet::new();
        for located in &self.resources {
            let contained: HashSet<&str> = located
                .resource
                .get("contained")
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(|r| r.get("id")?.as_str()).collect())
                .unwrap_or_default();
            let mut found = Vec::new();
            collect(&located.resource, String::new(), &mut found);
            for (path, value) in found {
                let at = located.at;
                match classify(value, &index, &contained) {
                    Kind::Internal => out.summary.internal += 1,
                    Kind::Conditional => out.summary.conditional += 1,
                    Kind::External => out.summary.external += 1,
                    Kind::Store(rtype, id) => {
                        out.summary.to_store += 1;
                        if pending.insert((rtype, id)) {
                            out.unresolved.push(Unresolved {
                                resource_type: rtype.to_owned(),
                                id: id.to_owned(),
                                at,
                                path,
                            });
                        }
                    }
                    Kind::Dangling(target) => {
                        return Err(FhirError::DanglingReference {
                            at: at.to_string(),
                            path,
                            target: target.into(),
                        });
                    }
                    Kind::Malformed => {
                        return Err(FhirError::Invalid {
                            path: format!("{at}: {path}"),
                            reason: "not a FHIR reference",
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

enum Kind<'v> {
    Internal,
    Conditional,
    External,
    Store(&'v str, &'v str),
    Dangling(&'static str),
    Malformed,
}

fn classify<'v>(value: &'v str, index: &Index<'_>, contained: &HashSet<&str>) -> Kind<'v> {
    if let Some(fragment) = value.strip_prefix('#') {
        return if fragment.is_empty() || contained.contains(fragment) {
            Kind::Internal
        } else {
            Kind::Dangling("contained resource")
        };
    }
    if value.starts_with("urn:") {
        let uuid = value.strip_prefix("urn:uuid:").unwrap_or_default();
        return if index.full_urls.contains_key(value) || index.ids.contains(uuid) {
            Kind::Internal
        } else {
            Kind::Dangling("bundle entry")
        };
    }
    // A conditional reference's query may hold URLs (`Practitioner?identifier=http://...|1`),
    // so it is recognised by its leading type before anything else.
    if let Some((rtype, query)) = value.split_once('?')
        && is_type(rtype)
    {
        return if query.is_empty() {
            Kind::Malformed
        } else {
            Kind::Conditional
        };
    }
    if value.contains("://") {
        return if index.full_urls.contains_key(value) {
            Kind::Internal
        } else {
            Kind::External
        };
    }
    if value.contains('?') {
        return Kind::Malformed;
    }
    match type_and_id(value) {
        Some(key) if index.defined.contains(&key) => Kind::Internal,
        Some((rtype, id)) => Kind::Store(rtype, id),
        None => Kind::Malformed,
    }
}

/// `Type/id` or `Type/id/_history/version`, with a plausible type and a valid FHIR id.
pub(crate) fn type_and_id(value: &str) -> Option<(&str, &str)> {
    let mut parts = value.split('/');
    let (rtype, id) = (parts.next()?, parts.next()?);
    let rest: Vec<&str> = parts.collect();
    let history_ok = rest.is_empty() || (rest.len() == 2 && rest[0] == "_history");
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    (is_type(rtype) && id_ok && history_ok).then_some((rtype, id))
}

fn is_type(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphabetic())
}

/// Every string under a `reference` key, with its JSON path.
fn collect<'v>(value: &'v Value, path: String, out: &mut Vec<(String, &'v str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (key.as_str(), child) {
                    ("reference", Value::String(s)) => out.push((child_path, s)),
                    _ => collect(child, child_path, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ndjson(lines: &[&str]) -> ImportSet {
        // Each resource is written over several lines here for reading; NDJSON has one each.
        let one_per_line: Vec<String> = lines.iter().map(|l| l.replace('\n', " ")).collect();
        ImportSet::from_ndjson(one_per_line.join("\n").as_bytes()).unwrap()
    }

    #[test]
    fn references_inside_the_input_resolve_and_others_are_left_for_the_store() {
        let set = ndjson(&[
            r#"{"resourceType":"Patient","id":"p1"}"#,
            r#"{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},
               "performer":[{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1"}],
               "basedOn":[{"reference":"https://other.example/fhir/ServiceRequest/s1"}],
               "encounter":{"reference":"Encounter/e9"}}"#,
        ]);
        let refs = set.references().unwrap();
        assert_eq!(refs.summary.internal, 1);
        assert_eq!(refs.summary.conditional, 1);
        assert_eq!(refs.summary.external, 1);
        assert_eq!(refs.unresolved.len(), 1);
        let err = refs.unresolved[0].dangling().to_string();
        assert_eq!(
            err,
            "line 2: encounter.reference refers to a Encounter that is neither in the input nor stored"
        );
        assert!(!err.contains("e9"), "the error names no id");
    }

    #[test]
    fn an_unknown_urn_is_dangling_and_names_its_entry() {
        let text = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:aaa","resource":{"resourceType":"Patient","id":"aaa"}},
            {"fullUrl":"urn:uuid:bbb","resource":{"resourceType":"Condition","id":"bbb",
              "subject":{"reference":"urn:uuid:aaa"},
              "encounter":{"reference":"urn:uuid:ccc"}}}]}"#;
        let set = ImportSet::from_bundle(text.as_bytes()).unwrap();
        let err = set.references().err().unwrap().to_string();
        assert!(err.starts_with("entry[1]: encounter.reference"), "{err}");
    }

    #[test]
    fn contained_and_malformed_references_are_checked() {
        let set = ndjson(&[
            r##"{"resourceType":"MedicationRequest","id":"m1","contained":[{"resourceType":"Medication","id":"med"}],
               "medicationReference":{"reference":"#med"}}"##,
        ]);
        assert_eq!(set.references().unwrap().summary.internal, 1);
        let set = ndjson(&[
            r##"{"resourceType":"Observation","id":"o1","subject":{"reference":"#gone"}}"##,
        ]);
        assert!(set.references().is_err());
        let set = ndjson(&[
            r#"{"resourceType":"Observation","id":"o1","subject":{"reference":"not a ref"}}"#,
        ]);
        assert!(set.references().is_err());
    }

    #[test]
    fn type_and_id_accepts_versions_only_in_history_form() {
        assert_eq!(type_and_id("Patient/p1"), Some(("Patient", "p1")));
        assert_eq!(
            type_and_id("Patient/p1/_history/2"),
            Some(("Patient", "p1"))
        );
        assert_eq!(type_and_id("Patient/p1/x"), None);
        assert_eq!(type_and_id("patient/p1"), None);
    }
}
