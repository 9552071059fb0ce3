//! The shipped catalogue agrees with the code: every test it names exists and is a test. Renaming
//! or removing one of them fails this test, and so the test run.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::Path;

use phigate_compliance::Catalogue;

#[test]
fn every_test_the_catalogue_names_exists_in_the_source_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let catalogue = Catalogue::shipped().unwrap();
    let missing = catalogue.missing_tests(&root);
    let report: Vec<String> = missing
        .iter()
        .map(|m| format!("{} ({})", m.test, m.why))
        .collect();
    assert!(
        missing.is_empty(),
        "the compliance catalogue names tests that do not exist:\n{}",
        report.join("\n")
    );
    assert!(catalogue.test_refs().len() >= 20);
}
