//! `phigate patient confine|assign|unassign`: a confined tenant refuses a task on a patient
//! outside the caller's care relationships, and lifting it lets the same task run again.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::phigate;

fn bundle() -> PathBuf {
    common::repo()
        .join("examples/synthea/Marcos_Delagarza_4acb6705-25a7-430a-b799-a4ad8d7fbb38.json")
}

fn run_note(dir: &Path, patient: &str) -> Output {
    let dialogue = common::repo().join("testdata/aci-bench/D2N005.json");
    let input = dialogue.to_str().unwrap();
    phigate(
        dir,
        &[
            "run",
            "clinical-note",
            "--patient",
            patient,
            "--input",
            input,
        ],
    )
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_confined_tenant_refuses_patients_outside_the_care_team_until_lifted() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    assert!(phigate(&dir, &["init"]).status.success());
    assert!(
        phigate(&dir, &["import", bundle().to_str().unwrap()])
            .status
            .success()
    );
    let patient = common::patient_of(&bundle())["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = run_note(&dir, &patient);
    assert!(before.status.success(), "{}", stderr(&before));

    let confine = phigate(&dir, &["patient", "confine"]);
    assert!(confine.status.success(), "{}", stderr(&confine));
    let refused = run_note(&dir, &patient);
    assert!(!refused.status.success(), "outside the care team");
    assert!(
        stderr(&refused).contains("care relationships"),
        "{}",
        stderr(&refused)
    );

    let assign = ["patient", "assign", "--user", "dr-1", "--patient"];
    let unknown = phigate(&dir, &[&assign[..], &["no-such-patient"]].concat());
    assert!(
        !unknown.status.success(),
        "an unknown patient cannot be assigned"
    );
    let known = phigate(&dir, &[&assign[..], &[patient.as_str()]].concat());
    assert!(known.status.success(), "{}", stderr(&known));
    let unassign = [
        "patient",
        "unassign",
        "--user",
        "dr-1",
        "--patient",
        &patient,
    ];
    assert!(phigate(&dir, &unassign).status.success());
    assert!(
        !phigate(&dir, &unassign).status.success(),
        "already off the team"
    );

    assert!(
        phigate(&dir, &["patient", "confine", "--off"])
            .status
            .success()
    );
    let after = run_note(&dir, &patient);
    assert!(after.status.success(), "{}", stderr(&after));
}
