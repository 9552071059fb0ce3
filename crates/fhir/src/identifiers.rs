//! The values a patient record itself says identify the patient: names, identifiers, contact
//! details, address, birth date, geolocation. These feed both the detector (so a known value is
//! always found in free text) and the egress gate (which checks outbound bytes for them without
//! relying on detection at all).

use phigate_deid::shift::MONTH_NAMES;
use phigate_deid::{EntityKind, KnownPhi};
use serde_json::Value;

use crate::path::{strings_at, values_at};
use crate::{PatientRecord, first_string};

const MOTHERS_MAIDEN_NAME: &str =
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";
const BIRTH_PLACE: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
const GEOLOCATION: &str = "http://hl7.org/fhir/StructureDefinition/geolocation";

/// Everything the record knows to be PHI for its patient, plus the names of the clinicians
/// that appear in it (sensitive by Phigate's policy, though not Safe Harbor identifiers).
pub fn known_phi(record: &PatientRecord) -> KnownPhi {
    let mut known = KnownPhi::new();
    let patient = &record.patient;

    for name in values_at(patient, "name") {
        add_human_name(&mut known, EntityKind::Name, name);
    }
    if let Some(id) = patient.get("id").and_then(Value::as_str) {
        known.add(EntityKind::Id, id);
    }
    for identifier in values_at(patient, "identifier") {
        add_identifier(&mut known, identifier);
    }
    add_telecom(&mut known, patient);
    for address in values_at(patient, "address") {
        add_address(&mut known, address);
    }
    if let Some(birth_date) = first_string(patient, "birthDate") {
        add_date(&mut known, &birth_date);
    }
    add_extensions(&mut known, patient);

    for practitioner in record.of_type("Practitioner") {
        for name in values_at(practitioner, "name") {
            add_human_name(&mut known, EntityKind::Provider, name);
        }
    }
    known
}

fn add_human_name(known: &mut KnownPhi, kind: EntityKind, name: &Value) {
    let given = strings_at(name, "given");
    let family = first_string(name, "family");
    if let Some(text) = first_string(name, "text") {
        add_name_text(known, kind, &text);
    }
    for part in given.iter().chain(family.iter()) {
        add_name_text(known, kind, part);
    }
    if let Some(family) = &family {
        let full = format!("{} {}", given.join(" "), family);
        add_name_text(known, kind, &full);
        if let Some(first) = given.first() {
            add_name_text(known, kind, &format!("{first} {family}"));
            add_name_text(known, kind, &format!("{family}, {first}"));
        }
    }
}

/// Adds a name as written and, when it carries Synthea's numeric suffixes (`Assunta351`), as a
/// person would write it (`Assunta`).
fn add_name_text(known: &mut KnownPhi, kind: EntityKind, text: &str) {
    known.add(kind, text);
    let plain: String = text.chars().filter(|c| !c.is_ascii_digit()).collect();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain != text && plain.chars().filter(|c| c.is_alphabetic()).count() >= 3 {
        known.add(kind, &plain);
    }
}

fn add_identifier(known: &mut KnownPhi, identifier: &Value) {
    let Some(value) = first_string(identifier, "value") else {
        return;
    };
    let codes = strings_at(identifier, "type.coding.code");
    let system = first_string(identifier, "system").unwrap_or_default();
    let kind = if codes.iter().any(|c| c == "SS") || system.ends_with("us-ssn") {
        EntityKind::Ssn
    } else if codes.iter().any(|c| c == "MR") {
        EntityKind::Mrn
    } else if codes.iter().any(|c| c == "MB" || c == "SN") {
        EntityKind::Account
    } else {
        EntityKind::Id
    };
    known.add(kind, &value);
}

fn add_telecom(known: &mut KnownPhi, resource: &Value) {
    for telecom in values_at(resource, "telecom") {
        let Some(value) = first_string(telecom, "value") else {
            continue;
        };
        let kind = match first_string(telecom, "system").as_deref() {
            Some("fax") => EntityKind::Fax,
            Some("email") => EntityKind::Email,
            Some("url") => EntityKind::Url,
            _ => EntityKind::Phone,
        };
        known.add(kind, &value);
    }
}

fn add_address(known: &mut KnownPhi, address: &Value) {
    for line in strings_at(address, "line") {
        known.add(EntityKind::Location, &line);
    }
    for field in ["city", "district"] {
        if let Some(v) = first_string(address, field) {
            known.add(EntityKind::Location, &v);
        }
    }
    if let Some(zip) = first_string(address, "postalCode") {
        known.add(EntityKind::Zip, &zip);
    }
    for ext in values_at(address, "extension") {
        if first_string(ext, "url").as_deref() == Some(GEOLOCATION) {
            for coordinate in strings_at(ext, "extension.valueDecimal") {
                known.add(EntityKind::Location, &coordinate);
            }
        }
    }
}

fn add_extensions(known: &mut KnownPhi, patient: &Value) {
    for ext in values_at(patient, "extension") {
        match first_string(ext, "url").as_deref() {
            Some(MOTHERS_MAIDEN_NAME) => {
                if let Some(name) = first_string(ext, "valueString") {
                    add_name_text(known, EntityKind::Name, &name);
                    for part in name.split_whitespace() {
                        add_name_text(known, EntityKind::Name, part);
                    }
                }
            }
            Some(BIRTH_PLACE) => {
                if let Some(city) = first_string(ext, "valueAddress.city") {
                    known.add(EntityKind::Location, &city);
                }
            }
            _ => {}
        }
    }
}

/// Adds an ISO date and the ways people write it in notes.
fn add_date(known: &mut KnownPhi, iso: &str) {
    known.add(EntityKind::Date, iso);
    let mut parts = iso.get(..10).unwrap_or(iso).split('-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let (Ok(month), Ok(day)) = (m.parse::<usize>(), d.parse::<u32>()) else {
        return;
    };
    let Some(lower) = month.checked_sub(1).and_then(|i| MONTH_NAMES.get(i)) else {
        return;
    };
    // Written as in notes: "May 2, 1993".
    let mut chars = lower.chars();
    let name: String = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .chain(chars)
        .collect();
    let short = name.get(..3).unwrap_or(&name);
    for form in [
        format!("{m}/{d}/{y}"),
        format!("{month}/{day}/{y}"),
        format!("{name} {day}, {y}"),
        format!("{short} {day}, {y}"),
        format!("{day} {name} {y}"),
        format!("{day} {short} {y}"),
        format!("{m}-{d}-{y}"),
    ] {
        known.add(EntityKind::Date, &form);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Bundle;

    fn record() -> PatientRecord {
        let bytes = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {
                "resourceType": "Patient", "id": "p-1",
                "name": [{"given": ["Assunta351"], "family": "Dickens475", "prefix": ["Mrs."]}],
                "identifier": [
                    {"type": {"coding": [{"code": "SS"}]}, "value": "999-35-4067"},
                    {"type": {"coding": [{"code": "MR"}]}, "value": "MRN-77"}
                ],
                "telecom": [{"system": "phone", "value": "555-523-6967"}],
                "birthDate": "1993-05-02",
                "address": [{"line": ["611 Gibson Pathway"], "city": "Plymouth",
                             "postalCode": "02360", "extension": [{"url": GEOLOCATION,
                             "extension": [{"url": "latitude", "valueDecimal": 41.88}]}]}],
                "extension": [{"url": MOTHERS_MAIDEN_NAME, "valueString": "Elidia194 Wilk796"}]
            }},
            {"resource": {"resourceType": "Practitioner", "id": "dr",
                          "name": [{"given": ["Gregory"], "family": "House"}]}}
        ]})
        .to_string();
        Bundle::from_slice(bytes.as_bytes())
            .unwrap()
            .into_patient_record()
            .unwrap()
    }

    fn has(known: &KnownPhi, kind: EntityKind, value: &str) -> bool {
        known.values().any(|(k, v)| k == kind && v == value)
    }

    #[test]
    fn names_are_known_as_written_and_without_synthea_suffixes() {
        let known = known_phi(&record());
        assert!(has(&known, EntityKind::Name, "Assunta351 Dickens475"));
        assert!(has(&known, EntityKind::Name, "Assunta Dickens"));
        assert!(has(&known, EntityKind::Name, "Dickens"));
        assert!(has(&known, EntityKind::Name, "Elidia"));
        assert!(has(&known, EntityKind::Provider, "Gregory House"));
    }

    #[test]
    fn identifiers_contacts_address_and_birth_date_are_known() {
        let known = known_phi(&record());
        assert!(has(&known, EntityKind::Ssn, "999-35-4067"));
        assert!(has(&known, EntityKind::Mrn, "MRN-77"));
        assert!(has(&known, EntityKind::Phone, "555-523-6967"));
        assert!(has(&known, EntityKind::Location, "611 Gibson Pathway"));
        assert!(has(&known, EntityKind::Location, "Plymouth"));
        assert!(has(&known, EntityKind::Location, "41.88"));
        assert!(has(&known, EntityKind::Zip, "02360"));
        assert!(has(&known, EntityKind::Date, "1993-05-02"));
        assert!(has(&known, EntityKind::Date, "May 2, 1993"));
        assert!(has(&known, EntityKind::Date, "05/02/1993"));
    }
}
