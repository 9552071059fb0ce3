//! De-identify, then re-identify: placeholders stay consistent, JSON is walked, streamed output
//! restores exactly like whole output, and nothing prints a value.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use phigate_deid::{
    Deidentifier, Detector, DetectorConfig, EgressGate, EntityKind, KnownPhi, StreamRestorer,
    Vault, reidentify,
};
use serde_json::json;

fn detector() -> Detector {
    match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(error) => panic!("detector failed to build: {error}"),
    }
}

fn known() -> KnownPhi {
    let mut known = KnownPhi::new();
    known.add(EntityKind::Name, "Martha Collins");
    known.add(EntityKind::Mrn, "00451239");
    known.add(EntityKind::Date, "1961-04-12");
    known
}

#[test]
fn the_same_value_gets_the_same_placeholder_across_calls() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let first =
        Deidentifier::new(&detector, &known, &mut vault).text("Martha Collins, MRN 00451239.");
    let second =
        Deidentifier::new(&detector, &known, &mut vault).text("Spoke with MARTHA COLLINS again.");
    assert_eq!(first, "[NAME_1], MRN [MRN_1].");
    assert_eq!(second, "Spoke with [NAME_1] again.");
    assert_eq!(vault.len(), 2);
}

#[test]
fn name_parts_get_their_own_placeholders_and_restore_to_their_spelling() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let text = "Ms. Collins said Martha is better.";
    let out = Deidentifier::new(&detector, &known, &mut vault).text(text);
    assert_eq!(out, "Ms. [NAME_1] said [NAME_2] is better.");
    assert_eq!(reidentify(&out, &vault).text, text);
}

#[test]
fn every_string_leaf_of_json_is_deidentified_and_keys_are_kept() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let mut value = json!({
        "Martha Collins": "key stays",
        "name": [{"text": "Martha Collins"}],
        "note": "DOB 1961-04-12, call 617-555-0199.",
        "count": 3,
        "ok": true,
        "nothing": null
    });
    let mut deid = Deidentifier::new(&detector, &known, &mut vault);
    deid.json(&mut value);
    let seen = deid.entities_seen().clone();
    assert_eq!(value["name"][0]["text"], "[NAME_1]");
    assert_eq!(value["note"], "DOB [DATE_1], call [PHONE_1].");
    assert_eq!(value["Martha Collins"], "key stays");
    assert_eq!(value["count"], 3);
    assert_eq!(seen.get(&EntityKind::Name), Some(&1));
    assert_eq!(seen.get(&EntityKind::Phone), Some(&1));
}

#[test]
fn reidentify_restores_issued_placeholders_and_reports_invented_ones() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let deidentified = Deidentifier::new(&detector, &known, &mut vault).text("Martha Collins");
    let answer = format!("{deidentified} and [NAME_7] and [NAME_1] and [LOCATION_2].");
    let restored = reidentify(&answer, &vault);
    assert_eq!(
        restored.text,
        "Martha Collins and [NAME_7] and Martha Collins and [LOCATION_2]."
    );
    assert_eq!(restored.unknown_placeholders, ["[NAME_7]", "[LOCATION_2]"]);
}

#[test]
fn streamed_restoration_equals_whole_restoration_at_every_split_point() {
    let mut vault = Vault::new();
    vault.placeholder_for(EntityKind::Name, "Martha Collins");
    vault.placeholder_for(EntityKind::Date, "March 3, 2026");
    vault.placeholder_for(EntityKind::Provider, "Dr Émile Zoë");
    let text =
        "[NAME_1] seen [DATE_1] by [PROVIDER_1]; [[NAME_1]] [NAME_9] [NAME_ [DATE_1]x[PHONE_1]";
    let whole = reidentify(text, &vault);
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();

    for &split in &boundaries {
        let mut stream = StreamRestorer::new(&vault);
        let mut out = stream.push(&text[..split]);
        out.push_str(&stream.push(&text[split..]));
        let rest = stream.finish();
        out.push_str(&rest.text);
        assert_eq!(out, whole.text, "split at {split}");
        assert_eq!(
            rest.unknown_placeholders, whole.unknown_placeholders,
            "split at {split}"
        );
    }

    for chunk in 1..=4 {
        let mut stream = StreamRestorer::new(&vault);
        let mut out = String::new();
        let mut at = 0;
        while at < text.len() {
            let mut to = (at + chunk).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            out.push_str(&stream.push(&text[at..to]));
            at = to;
        }
        out.push_str(&stream.finish().text);
        assert_eq!(out, whole.text, "chunks of {chunk}");
    }
}

#[test]
fn vault_bytes_round_trip_through_a_conversation() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let out = Deidentifier::new(&detector, &known, &mut vault).text("Martha Collins, MRN 00451239");
    let Ok(restored_vault) = Vault::from_bytes(&vault.to_bytes()) else {
        panic!("round trip")
    };
    assert_eq!(
        reidentify(&out, &restored_vault).text,
        "Martha Collins, MRN 00451239"
    );
}

#[test]
fn the_gate_passes_deidentified_output_and_catches_the_original() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let text = "Martha Collins (MRN 00451239) born 1961-04-12";
    let out = Deidentifier::new(&detector, &known, &mut vault).text(text);
    let body = serde_json::to_vec(&json!({"messages": [{"content": out}]})).unwrap_or_default();
    let raw = serde_json::to_vec(&json!({"messages": [{"content": text}]})).unwrap_or_default();
    let gate = EgressGate::new(
        known
            .values()
            .map(|(_, v)| v)
            .chain(vault.originals().map(|(_, v)| v)),
    );
    assert_eq!(gate.check(&body), Ok(()));
    assert!(gate.check(&raw).is_err());
}

#[test]
fn no_debug_or_display_output_contains_a_value() {
    let (detector, known) = (detector(), known());
    let mut vault = Vault::new();
    let mut deid = Deidentifier::new(&detector, &known, &mut vault);
    let out = deid.text("Martha Collins, MRN 00451239");
    let entities = detector.detect("Martha Collins, MRN 00451239", &known);
    let shown = [
        format!("{deid:?}"),
        format!("{known:?}"),
        format!("{detector:?}"),
        format!("{entities:?}"),
        format!("{:?}", reidentify(&out, &vault)),
        format!("{vault:?}"),
        format!("{:?}", StreamRestorer::new(&vault)),
        format!("{:?}", Vault::from_bytes(b"garbage").err()),
        Vault::from_bytes(b"{\"Martha\":1}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
    ];
    for text in shown {
        assert!(
            !text.contains("Martha") && !text.contains("Collins") && !text.contains("00451239"),
            "{text}"
        );
    }
}
