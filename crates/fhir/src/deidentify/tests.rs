use phigate_deid::{Detector, DetectorConfig, KnownPhi, Mode, Vault};
use serde_json::json;

use super::*;

fn detector() -> Detector {
    match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(_) => panic!("detector builds"),
    }
}

fn run(mut value: Value, mode: Mode) -> Value {
    let detector = detector();
    let mut vault = Vault::new();
    let known = KnownPhi::new();
    let mut deid = Deidentifier::with_mode(&detector, &known, &mut vault, mode);
    let mut ids = Pseudonyms::keyed(b"test key");
    FhirDeidentifier::new(&mut deid, &mut ids).walk(&mut value);
    value
}

fn patient() -> Value {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p-1", "resource": {
            "resourceType": "Patient", "id": "p-1",
            "name": [{"use": "official", "given": ["Assunta351"], "family": "Dickens475",
                      "prefix": ["Mrs."]}],
            "identifier": [{"type": {"coding": [{"code": "SS"}]},
                            "system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-35-4067"}],
            "telecom": [{"system": "phone", "value": "555-523-6967"}],
            "birthDate": "1927-05-02",
            "address": [{"line": ["611 Gibson Pathway"], "city": "Plymouth",
                         "state": "MA", "postalCode": "02360",
                         "extension": [{"url": fields::GEOLOCATION, "extension": [
                            {"url": "latitude", "valueDecimal": 41.88}]}]}],
            "extension": [{"url": fields::MOTHERS_MAIDEN_NAME,
                           "valueString": "Elidia194 Wilk796"}]
        }},
        {"fullUrl": "urn:uuid:d-1", "resource": {
            "resourceType": "Device", "id": "d-1", "serialNumber": "218635944",
            "lotNumber": "89211769684", "udiCarrier": [{"deviceIdentifier": "37990429784417"}],
            "patient": {"reference": "urn:uuid:p-1"}
        }},
        {"fullUrl": "urn:uuid:n-1", "resource": {
            "resourceType": "DocumentReference", "id": "n-1",
            "subject": {"reference": "Patient/p-1", "display": "Mrs. Assunta351 Dickens475"},
            "author": [{"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|99"}],
            "content": [{"attachment": {"contentType": "text/plain",
                "data": "MjAxOS0wMy0wMQpBc3N1bnRhMzUxIGlzIGEgbmV3Ym9ybi4="}},
                        {"attachment": {"contentType": "application/pdf", "data": "JVBERi0="}}]
        }}
    ]})
}

#[test]
fn structured_identifiers_are_replaced_by_position_and_schema_is_kept() {
    let out = run(patient(), Mode::Placeholder);
    let p = &out["entry"][0]["resource"];
    let placeholder = |v: &Value, tag: &str| {
        v.as_str()
            .is_some_and(|s| s.starts_with(&format!("[{tag}_")) && s.ends_with(']'))
    };
    assert!(placeholder(&p["name"][0]["given"][0], "NAME"));
    assert_eq!(p["name"][0]["prefix"][0], "Mrs.");
    assert_eq!(p["identifier"][0]["value"], "[SSN_1]");
    assert_eq!(
        p["identifier"][0]["system"],
        "http://hl7.org/fhir/sid/us-ssn"
    );
    assert_eq!(p["telecom"][0]["value"], "[PHONE_1]");
    assert_eq!(p["address"][0]["state"], "MA");
    assert_eq!(p["address"][0]["postalCode"], "[ZIP_1]");
    assert!(
        p["address"][0]
            .get("extension")
            .is_some_and(|e| e == &json!([]))
    );
    assert!(placeholder(&p["extension"][0]["valueString"], "NAME"));
    let device = &out["entry"][1]["resource"];
    assert!(placeholder(&device["serialNumber"], "ID"));
    assert!(placeholder(&device["lotNumber"], "ID"));
    assert!(placeholder(
        &device["udiCarrier"][0]["deviceIdentifier"],
        "ID"
    ));
}

#[test]
fn ids_and_references_share_one_pseudonym() {
    let out = run(patient(), Mode::Placeholder);
    let id = out["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(id, "p-1");
    assert_eq!(out["entry"][0]["fullUrl"], format!("urn:uuid:{id}"));
    assert_eq!(
        out["entry"][1]["resource"]["patient"]["reference"],
        format!("urn:uuid:{id}")
    );
    assert_eq!(
        out["entry"][2]["resource"]["subject"]["reference"],
        format!("Patient/{id}")
    );
    let author = out["entry"][2]["resource"]["author"][0]["reference"]
        .as_str()
        .unwrap_or_default();
    assert!(author.starts_with("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|"));
    assert!(!author.ends_with("|99"));
}

#[test]
fn text_notes_are_decoded_deidentified_and_re_encoded_and_other_attachments_dropped() {
    use base64::Engine as _;
    let out = run(patient(), Mode::Placeholder);
    let content = &out["entry"][2]["resource"]["content"];
    let data = content[0]["attachment"]["data"]
        .as_str()
        .unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap_or_default();
    let note = String::from_utf8(decoded).unwrap_or_default();
    assert!(note.starts_with("[DATE_"), "the note's date is replaced");
    assert!(!note.contains("Assunta"));
    assert!(content[1]["attachment"].get("data").is_none());
}

#[test]
fn safe_harbor_keeps_years_and_shift_moves_dates() {
    let out = run(patient(), Mode::SafeHarbor);
    let p = &out["entry"][0]["resource"];
    // Born 90 or more years ago: even the year goes (the over-89 rule).
    assert_eq!(p["birthDate"], "[DATE]");
    let claim_year = run(
        json!({"resourceType": "Claim", "id": "c", "created": "2024-03-05T10:00:00Z"}),
        Mode::SafeHarbor,
    );
    assert_eq!(claim_year["created"], "2024");
    assert_eq!(p["address"][0]["postalCode"], "023");
    assert_eq!(p["name"][0]["family"], "[NAME]");

    let shifted = run(
        patient(),
        Mode::Shift(phigate_deid::shift::DateShift::by_days(-2)),
    );
    assert_eq!(shifted["entry"][0]["resource"]["birthDate"], "1927-04-30");
}

#[test]
fn related_people_coverage_contained_resources_and_narratives_are_covered() {
    let input = json!({
        "resourceType": "Coverage", "id": "cov-1", "subscriberId": "W123456789",
        "text": {"status": "generated",
                 "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Call 617-555-0199</div>"},
        "contained": [{
            "resourceType": "RelatedPerson", "id": "rp1",
            "name": [{"given": ["Hope"], "family": "Castellanos"}],
            "telecom": [{"system": "email", "value": "hope@example.org"}],
            "relationship": [{"coding": [{"code": "WIFE", "display": "wife"}]}]
        }],
        "subscriber": {"reference": "#rp1"},
        "beneficiary": {"reference": "Patient/p-1"}
    });
    let out = run(input, Mode::Placeholder);
    let text = out.to_string();
    for value in [
        "W123456789",
        "617-555-0199",
        "Castellanos",
        "hope@example.org",
        "rp1",
    ] {
        assert!(
            !text.contains(value),
            "an identifier of kind {} remains",
            value.len()
        );
    }
    assert_eq!(
        out["contained"][0]["relationship"][0]["coding"][0]["code"],
        "WIFE"
    );
    let contained_id = out["contained"][0]["id"].as_str().unwrap_or_default();
    assert_eq!(out["subscriber"]["reference"], format!("#{contained_id}"));
}
