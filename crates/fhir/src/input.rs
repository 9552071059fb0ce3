//! What `phigate import` reads: a FHIR bundle (transaction, batch or collection) or bulk NDJSON
//! (one resource per line), as resources that remember where in the file they came from, so a
//! problem can be named by line or entry without quoting the data.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::FhirError;
use crate::bundle::{check_resource, resource_type};

/// How an input file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON `Bundle`.
    Bundle,
    /// Newline-delimited JSON, one resource per line (FHIR Bulk Data).
    Ndjson,
}

impl InputFormat {
    /// NDJSON for `.ndjson` and `.jsonl` files, a bundle otherwise.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("ndjson" | "jsonl") => Self::Ndjson,
            _ => Self::Bundle,
        }
    }
}

/// Where a resource sits in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The index of a bundle entry.
    Entry(usize),
    /// A 1-based NDJSON line.
    Line(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Entry(i) => write!(f, "entry[{i}]"),
            Self::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// One resource of the input. Holds PHI, so it has no `Debug`.
pub(crate) struct Located {
    pub(crate) resource: Value,
    pub(crate) full_url: Option<String>,
    pub(crate) at: Location,
}

impl Located {
    pub(crate) fn type_and_id(&self) -> (&str, &str) {
        let id = self.resource.get("id").and_then(Value::as_str);
        (
            resource_type(&self.resource).unwrap_or_default(),
            id.unwrap_or_default(),
        )
    }
}

/// A whole input file, parsed and structurally checked. Holds PHI, so it has no `Debug`.
pub struct ImportSet {
    kind: &'static str,
    pub(crate) resources: Vec<Located>,
}

impl ImportSet {
    /// Parses a file in the given format.
    pub fn parse(format: InputFormat, bytes: &[u8]) -> Result<Self, FhirError> {
        match format {
            InputFormat::Bundle => Self::from_bundle(bytes),
            InputFormat::Ndjson => Self::from_ndjson(bytes),
        }
    }

    /// Parses a `transaction`, `batch` or `collection` bundle. Malformed JSON is refused with
    /// the line and column of the problem; any other bundle type is refused by name.
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, FhirError> {
        let root: Value = serde_json::from_slice(bytes).map_err(|e| FhirError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        if resource_type(&root) != Some("Bundle") {
            return Err(FhirError::invalid("resourceType", "expected \"Bundle\""));
        }
        let kind = match root.get("type").and_then(Value::as_str) {
            Some("transaction") => "transaction bundle",
            Some("batch") => "batch bundle",
            Some("collection") => "collection bundle",
            _ => {
                return Err(FhirError::invalid(
                    "type",
                    "only transaction, batch and collection bundles can be imported",
                ));
            }
        };
        let Some(Value::Array(entries)) = root.get("entry") else {
            return Err(FhirError::invalid("entry", "expected an array of entries"));
        };
        let mut resources = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let method = entry.pointer("/request/method").and_then(Value::as_str);
            if matches!(method, Some("DELETE" | "PATCH")) {
                return Err(FhirError::invalid(
                    format!("entry[{i}].request.method"),
                    "only entries that create or update a resource can be imported",
                ));
            }
            let resource = entry
                .get("resource")
                .filter(|r| r.is_object())
                .ok_or_else(|| {
                    FhirError::invalid(format!("entry[{i}]"), "entry has no resource")
                })?;
            check_resource(resource, &format!("entry[{i}].resource"))?;
            resources.push(Located {
                resource: resource.clone(),
                full_url: entry
                    .get("fullUrl")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                at: Location::Entry(i),
            });
        }
        Ok(Self { kind, resources })
    }

    /// Parses bulk NDJSON: one resource per line (blank lines are skipped). A line that is not
    /// JSON, or not a resource with a type and a valid id, is refused with its line number.
    pub fn from_ndjson(bytes: &[u8]) -> Result<Self, FhirError> {
        let mut resources = Vec::new();
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let number = i + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let resource: Value = serde_json::from_slice(line).map_err(|e| FhirError::Line {
                line: number,
                reason: format!("not valid JSON at column {}", e.column()),
            })?;
            if !resource.is_object() || resource_type(&resource) == Some("Bundle") {
                return Err(FhirError::Line {
                    line: number,
                    reason: "expected one resource (not a bundle) per line".into(),
                });
            }
            check_resource(&resource, "resource").map_err(|e| FhirError::Line {
                line: number,
                reason: e.to_string(),
            })?;
            resources.push(Located {
                resource,
                full_url: None,
                at: Location::Line(number),
            });
        }
        Ok(Self {
            kind: "NDJSON",
            resources,
        })
    }

    /// What the file was: `transaction bundle`, `batch bundle`, `collection bundle`, `NDJSON`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// How many resources the file holds.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether the file holds no resource.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Each resource's `(type, id)` by its bundle `fullUrl`.
    pub(crate) fn by_full_url(&self) -> HashMap<&str, (&str, &str)> {
        self.resources
            .iter()
            .filter_map(|r| Some((r.full_url.as_deref()?, r.type_and_id())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ndjson_line_is_named_by_its_number() {
        let text = b"{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n\n{\"resourceType\":";
        let err = ImportSet::from_ndjson(text).err().unwrap();
        assert!(matches!(err, FhirError::Line { line: 3, .. }), "{err}");
        let text =
            b"{\"resourceType\":\"Patient\",\"id\":\"p1\"}\r\n{\"resourceType\":\"Observation\"}\n";
        let err = ImportSet::from_ndjson(text).err().unwrap();
        assert_eq!(
            err.to_string(),
            "line 2: invalid FHIR at resource.id: missing"
        );
    }

    #[test]
    fn searchset_and_document_bundles_are_refused_by_type() {
        for kind in ["searchset", "document", "history"] {
            let text = format!(r#"{{"resourceType":"Bundle","type":"{kind}","entry":[]}}"#);
            let err = ImportSet::from_bundle(text.as_bytes()).err().unwrap();
            assert!(
                err.to_string()
                    .contains("only transaction, batch and collection")
            );
        }
    }

    #[test]
    fn delete_entries_are_refused() {
        let text = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"request":{"method":"DELETE","url":"Patient/p1"}}]}"#;
        let err = ImportSet::from_bundle(text.as_bytes()).err().unwrap();
        assert!(err.to_string().contains("entry[0].request.method"), "{err}");
    }

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(
            InputFormat::for_path(Path::new("Observation.ndjson")),
            InputFormat::Ndjson
        );
        assert_eq!(
            InputFormat::for_path(Path::new("b.json")),
            InputFormat::Bundle
        );
    }
}
