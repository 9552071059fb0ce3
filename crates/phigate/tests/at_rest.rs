//! Encrypted at rest: all 38 shipped Synthea bundles go in through `phigate import`, then every
//! byte of every file in the data directory (the SQLite databases with their write-ahead logs
//! and shared-memory files, the audit log, the key files) is searched for each patient's
//! identifiers in several encodings. None may be found. The administrator's one-time password
//! must not be on disk either: only its Argon2id hash.
//!
//! The PostgreSQL half does the same with the store and the audit log in schemas of the test's
//! own on the server at `127.0.0.1:5432`: every text and bytes value of every row of every
//! table, plus every file left in the data directory, is searched.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests; a skip must be visible"
)]

mod common;
mod pg;

use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use common::{patient_of, phigate, synthea_bundles};
use serde_json::Value;

/// Needles shorter than this would match random ciphertext by chance: a 6-byte string turns up
/// in 50 MB of random bytes with probability about 1e-7.
const MIN_NEEDLE: usize = 6;

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The identifiers of one patient, by kind, as the bundle writes them.
fn identifiers(patient: &Value) -> Vec<(&'static str, String)> {
    let mut ids = vec![("patient id", patient["id"].as_str().unwrap().to_owned())];
    for name in patient["name"].as_array().unwrap() {
        for part in strings(&name["given"])
            .into_iter()
            .chain(strings(&name["family"]))
        {
            let letters: String = part.chars().filter(|c| !c.is_ascii_digit()).collect();
            ids.push(("name", part));
            ids.push(("name", letters));
        }
    }
    for id in patient["identifier"].as_array().unwrap() {
        let code = id["type"]["coding"][0]["code"].as_str().unwrap_or("");
        let kind = match code {
            "MR" => "MRN",
            "SS" => "SSN",
            _ => "identifier",
        };
        let value = id["value"].as_str().unwrap().to_owned();
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        ids.push((kind, value));
        if kind == "SSN" {
            ids.push((kind, digits));
        }
    }
    for telecom in patient["telecom"].as_array().into_iter().flatten() {
        let value = telecom["value"].as_str().unwrap().to_owned();
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        ids.push(("phone", value));
        ids.push(("phone", digits));
    }
    for address in patient["address"].as_array().into_iter().flatten() {
        for line in strings(&address["line"]) {
            ids.push(("street", line));
        }
    }
    let birth = patient["birthDate"].as_str().unwrap();
    let (y, m, d) = (&birth[..4], &birth[5..7], &birth[8..10]);
    ids.push(("birth date", birth.to_owned()));
    ids.push(("birth date", format!("{y}{m}{d}")));
    ids.push(("birth date", format!("{m}/{d}/{y}")));
    ids
}

/// The byte strings a stored copy of `value` could take.
fn encodings(value: &str) -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    for text in [value.to_owned(), value.to_uppercase(), value.to_lowercase()] {
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        forms.push(text.into_bytes());
        forms.push(utf16);
    }
    forms.sort();
    forms.dedup();
    forms
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A matcher for every identifier of every bundle's patient, and the administrator's one-time
/// password, in each encoding, with a PHI-free label for each needle.
fn matcher(bundles: &[PathBuf], password: &str) -> (AhoCorasick, Vec<String>) {
    let mut needles = Vec::new();
    let mut labels = Vec::new();
    let mut checked = 0;
    for (index, path) in bundles.iter().enumerate() {
        for (kind, value) in identifiers(&patient_of(path)) {
            for form in encodings(&value) {
                if form.len() >= MIN_NEEDLE {
                    needles.push(form);
                    labels.push(format!("bundle #{index}: a {kind}"));
                    checked += 1;
                }
            }
        }
    }
    for form in encodings(password) {
        needles.push(form);
        labels.push("the administrator's one-time password".to_owned());
    }
    assert!(checked > 38 * 20, "every patient contributes identifiers");
    let matcher = AhoCorasick::new(&needles).unwrap();

    (matcher, labels)
}

/// The one-time password `phigate init` printed.
fn one_time_password(init: &std::process::Output) -> String {
    String::from_utf8_lossy(&init.stdout)
        .lines()
        .find(|l| l.contains("one-time password"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap()
        .trim()
        .to_owned()
}

/// Fails naming the identifier's kind and where it is, never the value.
fn assert_unreadable(matcher: &AhoCorasick, labels: &[String], name: &str, bytes: &[u8]) {
    if let Some(found) = matcher.find(bytes) {
        panic!(
            "{} is readable in {name} at byte {}",
            labels[found.pattern().as_usize()],
            found.start()
        );
    }
}

#[test]
fn no_identifier_of_any_imported_patient_is_in_any_file_of_the_data_directory() {
    let bundles = synthea_bundles();
    assert_eq!(bundles.len(), 38, "all 38 shipped bundles are present");
    let dir = tempfile::tempdir().unwrap();
    let init = phigate(dir.path(), &["init"]);
    assert!(init.status.success());
    let password = one_time_password(&init);

    // Connections held open across the import keep both write-ahead logs on disk (the last
    // connection to close would otherwise fold them into the databases and delete them).
    let hold_store = rusqlite::Connection::open(dir.path().join("phigate.db")).unwrap();
    let hold_audit = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
    for conn in [&hold_store, &hold_audit] {
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    }
    let mut args = vec!["import".to_owned()];
    args.extend(bundles.iter().map(|p| p.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let imported = phigate(dir.path(), &args);
    assert!(imported.status.success(), "import failed");
    let wal = dir.path().join("phigate.db-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the store's write-ahead log is part of the scan"
    );

    let (matcher, labels) = matcher(&bundles, &password);

    let files = files_under(dir.path());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["phigate.db", "phigate.db-wal", "audit.db", "root.key"] {
        assert!(names.iter().any(|n| n == expected), "{expected} is scanned");
    }
    let mut scanned = 0;
    for (file, name) in files.iter().zip(&names) {
        let bytes = std::fs::read(file).unwrap();
        scanned += bytes.len();
        assert_unreadable(&matcher, &labels, name, &bytes);
    }
    assert!(scanned > 1_000_000, "the import wrote the records");
    drop((hold_store, hold_audit));
}

#[test]
fn no_identifier_of_any_imported_patient_is_in_any_row_of_the_postgres_store_or_audit_log() {
    let Some(scratch) = pg::Scratch::new("at_rest") else {
        return;
    };
    let bundles = synthea_bundles();
    assert_eq!(bundles.len(), 38, "all 38 shipped bundles are present");
    let dir = tempfile::tempdir().unwrap();
    let config = scratch.write_config(dir.path(), "");
    let init = pg::phigate(&config, &["init"]);
    assert!(init.status.success(), "init failed");
    let password = one_time_password(&init);
    let mut args = vec!["import".to_owned()];
    args.extend(bundles.iter().map(|p| p.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let imported = pg::phigate(&config, &args);
    assert!(imported.status.success(), "import failed");
    assert!(
        !dir.path().join("data").join("phigate.db").exists(),
        "the store went to PostgreSQL, not to a file"
    );

    let (matcher, labels) = matcher(&bundles, &password);
    let mut scanned = 0;
    let mut tables = Vec::new();
    for (table, bytes) in scratch.stored_values() {
        scanned += bytes.len();
        assert_unreadable(&matcher, &labels, &table, &bytes);
        tables.push(table);
    }
    for expected in ["resources", "keys", "users", "audit_log"] {
        assert!(
            tables.iter().any(|t| t.ends_with(&format!(".{expected}"))),
            "{expected} is scanned"
        );
    }
    assert!(scanned > 1_000_000, "the import wrote the records");
    for file in files_under(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_unreadable(&matcher, &labels, &name, &bytes);
    }
}
