//! `phigate import`: every shipped Synthea bundle imported twice leaves what importing once
//! left; bulk NDJSON is grouped by patient; malformed files and dangling references are refused
//! with their position and leave nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{patient_of, phigate, synthea_bundles};
use phigate_crypto::{LocalKms, sha256_hex};
use phigate_store::Store;
use serde_json::Value;

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let output = phigate(dir, args);
    assert!(!output.status.success(), "phigate {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

fn import_args(files: &[PathBuf]) -> Vec<String> {
    std::iter::once("import".to_owned())
        .chain(files.iter().map(|p| p.to_str().unwrap().to_owned()))
        .collect()
}

fn open_store(dir: &Path) -> Store {
    let kms = LocalKms::open(&dir.join("keys/root.key")).unwrap();
    Store::open(&dir.join("phigate.db"), Arc::new(kms)).unwrap()
}

/// Every stored row as it is on disk (sealed bytes and times included), in key order.
fn raw_rows(dir: &Path) -> Vec<(String, String, String, String, i64)> {
    let conn = rusqlite::Connection::open(dir.join("phigate.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT patient_ref, resource_type, resource_ref, hex(body), updated_at FROM resources
             ORDER BY patient_ref, resource_type, resource_ref",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Per patient id: resource count per type and the digest of every decrypted resource.
fn decrypted(dir: &Path, ids: &[String]) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let store = open_store(dir);
    ids.iter()
        .map(|id| {
            let patient = store.patient_ref("default", id);
            let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for r in store.load_patient("default", &patient).unwrap() {
                by_type
                    .entry(r.resource_type.clone())
                    .or_default()
                    .push(sha256_hex(&r.json));
            }
            by_type.values_mut().for_each(|v| v.sort());
            (sha256_hex(id.as_bytes()), by_type)
        })
        .collect()
}

/// Resources per type in a bundle, each `(type, id)` once.
fn expected_counts(path: &Path) -> BTreeMap<String, usize> {
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for e in bundle["entry"].as_array().unwrap() {
        let r = &e["resource"];
        seen.insert((
            r["resourceType"].as_str().unwrap().to_owned(),
            r["id"].as_str().unwrap().to_owned(),
        ));
    }
    let mut counts = BTreeMap::new();
    for (t, _) in seen {
        *counts.entry(t).or_default() += 1;
    }
    counts
}

#[test]
fn importing_all_38_bundles_twice_leaves_the_same_data_as_once() {
    let bundles = synthea_bundles();
    assert_eq!(bundles.len(), 38);
    let ids: Vec<String> = bundles
        .iter()
        .map(|p| patient_of(p)["id"].as_str().unwrap().to_owned())
        .collect();
    let args = import_args(&bundles);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let once = tempfile::tempdir().unwrap();
    ok(once.path(), &["init"]);
    let first = ok(once.path(), &args);
    assert_eq!(first.lines().count(), 38, "one summary line per file");
    assert!(
        first
            .lines()
            .any(|l| l.contains(" conditional and ") && !l.contains("; 0 conditional")),
        "Synthea's provider references are counted as conditional: {first}"
    );
    let rows_once = raw_rows(once.path());
    let data_once = decrypted(once.path(), &ids);

    let second = ok(once.path(), &args);
    for line in second.lines() {
        assert!(
            line.contains(" 0 new, 0 updated, "),
            "a second import changes nothing: {line}"
        );
    }
    assert_eq!(
        raw_rows(once.path()),
        rows_once,
        "not a byte of the store moved"
    );
    assert_eq!(decrypted(once.path(), &ids), data_once);

    // What is stored is what the bundles hold, type by type.
    for (path, id) in bundles.iter().zip(&ids) {
        let stored = &data_once[&sha256_hex(id.as_bytes())];
        let counts: BTreeMap<String, usize> =
            stored.iter().map(|(t, v)| (t.clone(), v.len())).collect();
        assert_eq!(counts, expected_counts(path));
    }
    assert_eq!(
        open_store(once.path()).patient_count("default").unwrap(),
        38
    );

    // Each file's patient is audited as an import, with what changed.
    let imports = ok(once.path(), &["audit", "search", "--action", "import"]);
    assert_eq!(imports.matches(": 0 new, 0 updated").count(), 38);
    assert!(ok(once.path(), &["audit", "verify"]).starts_with("audit log OK"));
}

#[test]
fn a_changed_resource_updates_the_stored_one_and_nothing_else() {
    let bundle = &synthea_bundles()[0];
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &["init"]);
    ok(data.path(), &["import", bundle.to_str().unwrap()]);
    let mut value: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    value["entry"][1]["resource"]["status"] = Value::String("entered-in-error".into());
    let changed = data.path().join("changed.json");
    std::fs::write(&changed, value.to_string()).unwrap();
    let line = ok(data.path(), &["import", changed.to_str().unwrap()]);
    assert!(line.contains(" 0 new, 1 updated, "), "{line}");
}

#[test]
fn a_truncated_bundle_is_refused_with_its_path_and_line_and_leaves_nothing() {
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &["init"]);
    let good = &synthea_bundles()[1];
    let text = std::fs::read_to_string(&synthea_bundles()[0]).unwrap();
    let cut = data.path().join("truncated.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();

    let err = refused(
        data.path(),
        &["import", good.to_str().unwrap(), cut.to_str().unwrap()],
    );
    assert!(err.contains("truncated.json"), "{err}");
    let expected_line = text[..text.len() / 2].matches('\n').count() + 1;
    assert!(
        err.contains(&format!("not valid JSON at line {expected_line}, column")),
        "{err}"
    );
    let store = open_store(data.path());
    assert_eq!(
        store.patient_count("default").unwrap(),
        1,
        "only the good file"
    );
    let truncated_patient = store.patient_ref(
        "default",
        patient_of(&synthea_bundles()[0])["id"].as_str().unwrap(),
    );
    assert!(store.load_patient("default", &truncated_patient).is_err());
}

#[test]
fn a_bad_ndjson_line_is_refused_by_number_and_leaves_nothing() {
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &["init"]);
    let file = data.path().join("Patient.ndjson");
    std::fs::write(
        &file,
        concat!(
            "{\"resourceType\":\"Patient\",\"id\":\"nd-1\",\"name\":[{\"family\":\"Zebulon\"}]}\n",
            "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"subject\":{\"reference\":\"Patient/nd-1\"}}\n",
            "\n",
            "{\"resourceType\":\"Observation\",\"id\":\"o2\",\"subject\":{\"reference\":\n",
        ),
    )
    .unwrap();
    let err = refused(data.path(), &["import", file.to_str().unwrap()]);
    assert!(err.contains("Patient.ndjson"), "{err}");
    assert!(err.contains("line 4: not valid JSON"), "{err}");
    assert!(!err.contains("Zebulon"), "errors quote no data");
    assert!(raw_rows(data.path()).is_empty(), "not even line 1 was kept");
}

#[test]
fn dangling_references_are_refused_without_naming_the_id_and_leave_nothing() {
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &["init"]);
    let bundle = data.path().join("dangling.json");
    std::fs::write(
        &bundle,
        r#"{"resourceType":"Bundle","type":"batch","entry":[
          {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",
           "resource":{"resourceType":"Patient","id":"11111111-1111-1111-1111-111111111111"}},
          {"resource":{"resourceType":"Condition","id":"c1",
           "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
           "encounter":{"reference":"urn:uuid:99999999-9999-9999-9999-999999999999"}}}]}"#,
    )
    .unwrap();
    let err = refused(data.path(), &["import", bundle.to_str().unwrap()]);
    assert!(
        err.contains("entry[1]: encounter.reference refers to a bundle entry"),
        "{err}"
    );
    assert!(!err.contains("99999999"));

    let ndjson = data.path().join("Observation.ndjson");
    std::fs::write(
        &ndjson,
        "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"subject\":{\"reference\":\"Patient/MRN-4471\"}}\n",
    )
    .unwrap();
    let err = refused(data.path(), &["import", ndjson.to_str().unwrap()]);
    assert!(
        err.contains("line 1: subject.reference refers to a Patient that is neither"),
        "{err}"
    );
    assert!(!err.contains("MRN-4471"));
    assert!(raw_rows(data.path()).is_empty());
}

#[test]
fn bulk_ndjson_is_grouped_by_patient_and_resolves_to_stored_patients() {
    // Two collection bundles assembled from a bulk export, written back as bulk files: the
    // Patient file first, then every other resource in one file.
    let sources: Vec<PathBuf> = synthea_bundles()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("C_smart-bulk"))
        .take(2)
        .collect();
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &["init"]);
    let (mut patients, mut others) = (String::new(), String::new());
    for source in &sources {
        let bundle: Value = serde_json::from_slice(&std::fs::read(source).unwrap()).unwrap();
        for e in bundle["entry"].as_array().unwrap() {
            let line = format!("{}\n", e["resource"]);
            match e["resource"]["resourceType"].as_str() {
                Some("Patient") => patients.push_str(&line),
                _ => others.push_str(&line),
            }
        }
    }
    let patient_file = data.path().join("Patient.ndjson");
    let other_file = data.path().join("Clinical.ndjson");
    std::fs::write(&patient_file, patients).unwrap();
    std::fs::write(&other_file, others).unwrap();

    let err = refused(data.path(), &["import", other_file.to_str().unwrap()]);
    assert!(
        err.contains("refers to a Patient"),
        "patients must come first: {err}"
    );
    let out = ok(
        data.path(),
        &[
            "import",
            patient_file.to_str().unwrap(),
            other_file.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("Patient.ndjson: NDJSON, 2 resources, 2 patients"),
        "{out}"
    );
    assert!(out.contains("Clinical.ndjson: NDJSON"), "{out}");

    // The same records as importing the bundles themselves.
    let ids: Vec<String> = sources
        .iter()
        .map(|p| patient_of(p)["id"].as_str().unwrap().to_owned())
        .collect();
    let from_bundles = tempfile::tempdir().unwrap();
    ok(from_bundles.path(), &["init"]);
    let args = import_args(&sources);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(from_bundles.path(), &args);
    assert_eq!(
        decrypted(data.path(), &ids),
        decrypted(from_bundles.path(), &ids)
    );
    let again = ok(
        data.path(),
        &[
            "import",
            patient_file.to_str().unwrap(),
            other_file.to_str().unwrap(),
        ],
    );
    assert_eq!(again.matches(" 0 new, 0 updated, ").count(), 2, "{again}");
}

#[test]
fn searchset_bundles_are_refused_by_type() {
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &["init"]);
    let file = data.path().join("search.json");
    std::fs::write(
        &file,
        r#"{"resourceType":"Bundle","type":"searchset","entry":[]}"#,
    )
    .unwrap();
    let err = refused(data.path(), &["import", file.to_str().unwrap()]);
    assert!(
        err.contains("only transaction, batch and collection bundles"),
        "{err}"
    );
}
