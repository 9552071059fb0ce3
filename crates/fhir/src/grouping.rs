//! Sorting an import's resources into patient records. A Patient is its own record; any other
//! resource joins the patient its `subject`, `patient` or `beneficiary` names. In a file with
//! exactly one Patient (a Synthea bundle), every other resource joins that patient, as
//! [`crate::Bundle::into_patient_record`] does. Otherwise a resource naming no patient
//! (a Practitioner in a multi-patient export, say) belongs to no record and is not stored.

use std::collections::HashMap;

use crate::input::{ImportSet, Located};
use crate::references::type_and_id;

/// One patient's resources from an input file. Holds PHI, so it has no `Debug`.
pub struct PatientGroup {
    /// The Patient's logical id.
    pub patient_id: String,
    /// `(type, id, JSON bytes)`, the Patient first when the file holds it; a resource listed
    /// twice is kept once, as its last occurrence has it.
    pub rows: Vec<(String, String, Vec<u8>)>,
}

/// An input sorted into patient records.
pub struct Grouped {
    /// The records, in order of first appearance.
    pub patients: Vec<PatientGroup>,
    /// Resources that belong to no patient, left out.
    pub unassigned: usize,
}

impl ImportSet {
    /// Sorts the resources into patient records (see the module documentation).
    pub fn into_patients(self) -> Grouped {
        let full_urls: HashMap<String, (String, String)> = self
            .by_full_url()
            .into_iter()
            .map(|(url, (t, id))| (url.to_owned(), (t.to_owned(), id.to_owned())))
            .collect();
        let patient_ids: Vec<String> = self
            .resources
            .iter()
            .filter(|r| r.type_and_id().0 == "Patient")
            .map(|r| r.type_and_id().1.to_owned())
            .collect();
        let only = match patient_ids.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };

        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Vec<&Located>> = HashMap::new();
        let mut unassigned = 0;
        for located in &self.resources {
            let owner = owner(located, &full_urls).or_else(|| only.clone());
            let Some(owner) = owner else {
                unassigned += 1;
                continue;
            };
            groups
                .entry(owner.clone())
                .or_insert_with(|| {
                    order.push(owner);
                    Vec::new()
                })
                .push(located);
        }
        let patients = order
            .into_iter()
            .map(|patient_id| {
                let members = groups.remove(&patient_id).unwrap_or_default();
                PatientGroup {
                    rows: rows(&members),
                    patient_id,
                }
            })
            .collect();
        Grouped {
            patients,
            unassigned,
        }
    }
}

/// The patient a resource belongs to, by its own type or its patient reference.
fn owner(located: &Located, full_urls: &HashMap<String, (String, String)>) -> Option<String> {
    let (rtype, id) = located.type_and_id();
    if rtype == "Patient" {
        return Some(id.to_owned());
    }
    ["subject", "patient", "beneficiary"]
        .iter()
        .filter_map(|field| located.resource.get(*field)?.get("reference")?.as_str())
        .find_map(|reference| patient_of(reference, full_urls))
}

fn patient_of(reference: &str, full_urls: &HashMap<String, (String, String)>) -> Option<String> {
    if let Some((rtype, id)) = full_urls.get(reference) {
        return (rtype == "Patient").then(|| id.clone());
    }
    let relative = match reference.find("/Patient/") {
        Some(at) if reference.contains("://") => &reference[at + 1..],
        _ => reference,
    };
    match type_and_id(relative) {
        Some(("Patient", id)) => Some(id.to_owned()),
        _ => None,
    }
}

/// Rows with the Patient first and duplicates collapsed to their last occurrence.
fn rows(members: &[&Located]) -> Vec<(String, String, Vec<u8>)> {
    let mut sorted: Vec<&&Located> = members.iter().collect();
    sorted.sort_by_key(|r| r.type_and_id().0 != "Patient");
    let mut rows: Vec<(String, String, Vec<u8>)> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for located in sorted {
        let (rtype, id) = located.type_and_id();
        let key = (rtype.to_owned(), id.to_owned());
        let row = (
            key.0.clone(),
            key.1.clone(),
            located.resource.to_string().into_bytes(),
        );
        match seen.get(&key) {
            Some(&at) => rows[at] = row,
            None => {
                seen.insert(key, rows.len());
                rows.push(row);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_file_is_split_by_patient_reference() {
        let text = [
            r#"{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/a"}}"#,
            r#"{"resourceType":"Patient","id":"a"}"#,
            r#"{"resourceType":"Patient","id":"b"}"#,
            r#"{"resourceType":"Coverage","id":"c1","beneficiary":{"reference":"Patient/b"}}"#,
            r#"{"resourceType":"Practitioner","id":"dr"}"#,
            r#"{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/a"},"v":2}"#,
        ]
        .join("\n");
        let grouped = ImportSet::from_ndjson(text.as_bytes())
            .unwrap()
            .into_patients();
        assert_eq!(grouped.unassigned, 1);
        let a = &grouped.patients[0];
        assert_eq!(a.patient_id, "a");
        assert_eq!(a.rows.len(), 2);
        assert_eq!(a.rows[0].0, "Patient");
        assert!(String::from_utf8_lossy(&a.rows[1].2).contains("\"v\":2"));
        assert_eq!(grouped.patients[1].rows.len(), 2);
    }

    #[test]
    fn in_a_one_patient_bundle_everything_joins_the_patient() {
        let text = r#"{"resourceType":"Bundle","type":"collection","entry":[
            {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p"}},
            {"resource":{"resourceType":"Practitioner","id":"dr"}},
            {"resource":{"resourceType":"Encounter","id":"e","subject":{"reference":"urn:uuid:p"}}}]}"#;
        let grouped = ImportSet::from_bundle(text.as_bytes())
            .unwrap()
            .into_patients();
        assert_eq!(grouped.unassigned, 0);
        assert_eq!(grouped.patients.len(), 1);
        assert_eq!(grouped.patients[0].rows.len(), 3);
    }
}
