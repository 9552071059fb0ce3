//! Reading FHIR bundles and gathering one patient's record out of them.

use serde_json::Value;

use crate::FhirError;

/// The kinds of bundle Phigate accepts as input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleKind {
    /// `transaction`: what Synthea writes.
    Transaction,
    /// `batch`.
    Batch,
    /// `collection`: a set of resources assembled for one purpose.
    Collection,
    /// `searchset`: the result of a search.
    Searchset,
}

impl BundleKind {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "transaction" => Some(Self::Transaction),
            "batch" => Some(Self::Batch),
            "collection" => Some(Self::Collection),
            "searchset" => Some(Self::Searchset),
            _ => None,
        }
    }
}

/// A parsed and structurally checked bundle. Holds PHI, so it has no `Debug`.
pub struct Bundle {
    kind: BundleKind,
    resources: Vec<Value>,
}

impl Bundle {
    /// Parses and checks a bundle: every entry must carry a resource with a `resourceType` and
    /// an `id` made only of the characters FHIR allows for ids.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, FhirError> {
        let root: Value = serde_json::from_slice(bytes).map_err(|e| FhirError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        if root.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(FhirError::invalid("resourceType", "expected \"Bundle\""));
        }
        let kind = root
            .get("type")
            .and_then(Value::as_str)
            .and_then(BundleKind::parse)
            .ok_or_else(|| {
                FhirError::invalid(
                    "type",
                    "expected transaction, batch, collection or searchset",
                )
            })?;
        let Some(Value::Array(entries)) = root.get("entry") else {
            return Err(FhirError::invalid("entry", "expected an array of entries"));
        };
        let mut resources = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let resource = entry
                .get("resource")
                .filter(|r| r.is_object())
                .ok_or_else(|| {
                    FhirError::invalid(format!("entry[{i}]"), "entry has no resource")
                })?;
            check_resource(resource, &format!("entry[{i}].resource"))?;
            resources.push(resource.clone());
        }
        Ok(Self { kind, resources })
    }

    /// The bundle's type.
    pub fn kind(&self) -> BundleKind {
        self.kind
    }

    /// How many resources the bundle holds.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether the bundle holds no resources.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Treats the bundle as one patient's record: it must hold exactly one Patient, and every
    /// other resource is taken as part of that patient's record (Synthea writes one bundle per
    /// patient; practitioners and organisations come along as referenced context).
    pub fn into_patient_record(self) -> Result<PatientRecord, FhirError> {
        let (patients, others): (Vec<Value>, Vec<Value>) = self
            .resources
            .into_iter()
            .partition(|r| resource_type(r) == Some("Patient"));
        let found = patients.len();
        let mut patients = patients.into_iter();
        match (patients.next(), found) {
            (Some(patient), 1) => Ok(PatientRecord {
                patient,
                resources: others,
            }),
            _ => Err(FhirError::PatientCount { found }),
        }
    }
}

/// One patient's resources. Holds PHI, so it has no `Debug`.
pub struct PatientRecord {
    /// The Patient resource.
    pub patient: Value,
    /// Every other resource of the record.
    pub resources: Vec<Value>,
}

impl PatientRecord {
    /// Rebuilds a record from stored resources (one Patient among them).
    pub fn from_resources(resources: Vec<Value>) -> Result<Self, FhirError> {
        Bundle {
            kind: BundleKind::Collection,
            resources,
        }
        .into_patient_record()
    }

    /// Every resource as `(type, id, JSON bytes)`, the Patient first, ready to be stored. A
    /// resource that appears twice with the same type and id is stored once, as its last entry
    /// has it (a bundle's later entry updates an earlier one).
    pub fn to_rows(&self) -> Vec<(String, String, Vec<u8>)> {
        let mut rows: Vec<(String, String, Vec<u8>)> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for r in std::iter::once(&self.patient).chain(self.resources.iter()) {
            let rtype = resource_type(r).unwrap_or_default().to_owned();
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let row = (rtype.clone(), id.clone(), r.to_string().into_bytes());
            match seen.get(&(rtype.clone(), id.clone())) {
                Some(&at) => rows[at] = row,
                None => {
                    seen.insert((rtype, id), rows.len());
                    rows.push(row);
                }
            }
        }
        rows
    }

    /// The Patient resource's logical id.
    pub fn patient_id(&self) -> &str {
        self.patient
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Resources of one type, in bundle order.
    pub fn of_type<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.resources
            .iter()
            .filter(move |r| self::resource_type(r) == Some(resource_type))
    }
}

/// The `resourceType` of a resource.
pub(crate) fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("resourceType").and_then(Value::as_str)
}

pub(crate) fn check_resource(resource: &Value, path: &str) -> Result<(), FhirError> {
    let rtype = resource_type(resource)
        .ok_or_else(|| FhirError::invalid(format!("{path}.resourceType"), "missing"))?;
    if rtype.is_empty() || !rtype.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(FhirError::invalid(
            format!("{path}.resourceType"),
            "not a resource type",
        ));
    }
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FhirError::invalid(format!("{path}.id"), "missing"))?;
    // FHIR R4 ids: [A-Za-z0-9\-\.]{1,64}.
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid {
        return Err(FhirError::invalid(
            format!("{path}.id"),
            "not a valid FHIR id",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bundle(entries: Value) -> Vec<u8> {
        json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
            .to_string()
            .into()
    }

    #[test]
    fn a_bundle_with_one_patient_becomes_a_record() {
        let bytes = bundle(json!([
            {"resource": {"resourceType": "Patient", "id": "p1"}},
            {"resource": {"resourceType": "Condition", "id": "c1"}}
        ]));
        let record = Bundle::from_slice(&bytes)
            .unwrap()
            .into_patient_record()
            .unwrap();
        assert_eq!(record.patient_id(), "p1");
        assert_eq!(record.of_type("Condition").count(), 1);
    }

    #[test]
    fn a_resource_listed_twice_is_stored_once_as_last_written() {
        let bytes = bundle(json!([
            {"resource": {"resourceType": "Patient", "id": "p1"}},
            {"resource": {"resourceType": "Condition", "id": "c1", "v": 1}},
            {"resource": {"resourceType": "Condition", "id": "c1", "v": 2}}
        ]));
        let rows = Bundle::from_slice(&bytes)
            .unwrap()
            .into_patient_record()
            .unwrap()
            .to_rows();
        assert_eq!(rows.len(), 2);
        assert!(String::from_utf8_lossy(&rows[1].2).contains("\"v\":2"));
    }

    #[test]
    fn malformed_json_is_refused_with_its_position() {
        let err = Bundle::from_slice(b"{\n  \"resourceType\": \"Bundle\",\n  oops")
            .err()
            .unwrap();
        assert!(matches!(err, FhirError::Json { line: 3, .. }), "{err}");
    }

    #[test]
    fn an_entry_without_an_id_is_refused_with_its_path() {
        let bytes = bundle(json!([{"resource": {"resourceType": "Patient"}}]));
        let err = Bundle::from_slice(&bytes).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid FHIR at entry[0].resource.id: missing"
        );
    }

    #[test]
    fn ids_with_path_characters_are_refused() {
        let bytes = bundle(json!([{"resource": {"resourceType": "Patient", "id": "../etc"}}]));
        assert!(Bundle::from_slice(&bytes).is_err());
    }

    #[test]
    fn two_patients_are_not_one_record() {
        let bytes = bundle(json!([
            {"resource": {"resourceType": "Patient", "id": "p1"}},
            {"resource": {"resourceType": "Patient", "id": "p2"}}
        ]));
        let err = Bundle::from_slice(&bytes)
            .unwrap()
            .into_patient_record()
            .err()
            .unwrap();
        assert!(matches!(err, FhirError::PatientCount { found: 2 }));
    }

    #[test]
    fn other_documents_are_not_bundles() {
        assert!(Bundle::from_slice(br#"{"resourceType":"Patient","id":"x"}"#).is_err());
        let bad_type = br#"{"resourceType":"Bundle","type":"document","entry":[]}"#;
        assert!(Bundle::from_slice(bad_type).is_err());
    }
}
