//! `phigate tasks list` shows the shipped task policies.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::phigate;

#[test]
fn tasks_list_shows_each_task_with_its_roles_checks_and_signature() {
    let data = tempfile::tempdir().unwrap();
    let output = phigate(data.path(), &["tasks", "list"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for task in ["clinical-note", "triage", "coding", "admin"] {
        assert!(
            text.contains(&format!("=== {task} ===")),
            "{task} is listed"
        );
    }
    assert!(text.contains("post-checks:  output-screen, icd10cm, quotes-in-input"));
    assert!(text.contains("without baa:  refuse"));
    assert!(text.contains("data classes: demographic, scheduling, financial"));
    assert!(text.contains("anthropic may receive: "));
    assert!(text.contains("book_slot [user/Slot.r user/Appointment.c]"));
}

#[test]
fn run_drafts_a_note_that_a_clinician_then_approves_and_a_nurse_cannot() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    assert!(phigate(&dir, &["init"]).status.success());
    let root = common::repo();
    let bundle =
        root.join("examples/synthea/Marcos_Delagarza_4acb6705-25a7-430a-b799-a4ad8d7fbb38.json");
    let dialogue = root.join("testdata/aci-bench/D2N005.json");
    let output = phigate(
        &dir,
        &[
            "run",
            "clinical-note",
            "--bundle",
            bundle.to_str().unwrap(),
            "--input",
            dialogue.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("task clinical-note (policy v"));
    assert!(
        stdout.contains("Marcos"),
        "the answer names the patient once restored"
    );
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("draft "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();

    let listed = phigate(&dir, &["drafts", "list", "--status", "awaiting"]);
    assert!(String::from_utf8(listed.stdout).unwrap().contains(&id));
    let nurse = phigate(&dir, &["drafts", "approve", &id, "--role", "nurse"]);
    assert!(!nurse.status.success());
    assert!(
        String::from_utf8(nurse.stderr)
            .unwrap()
            .contains("permission denied")
    );
    let approved = phigate(&dir, &["drafts", "approve", &id]);
    assert!(approved.status.success());
    let shown = String::from_utf8(phigate(&dir, &["drafts", "show", &id]).stdout).unwrap();
    assert!(shown.contains("signed by") && shown.contains("AI-generated draft"));
}

#[test]
fn run_refuses_an_unknown_task_and_a_json_task_whose_answer_is_not_json() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    assert!(phigate(&dir, &["init"]).status.success());
    let bundle = common::repo()
        .join("examples/synthea/Marcos_Delagarza_4acb6705-25a7-430a-b799-a4ad8d7fbb38.json");
    let unknown = phigate(
        &dir,
        &["run", "surgery", "--bundle", bundle.to_str().unwrap()],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8(unknown.stderr)
            .unwrap()
            .contains("no such task")
    );
    // The offline echo provider answers with what it received, which is not a coding answer.
    let note = data.path().join("note.txt");
    std::fs::write(&note, "Assessment: essential hypertension.").unwrap();
    let coding = phigate(
        &dir,
        &[
            "run",
            "coding",
            "--role",
            "coder",
            "--bundle",
            bundle.to_str().unwrap(),
            "--input",
            note.to_str().unwrap(),
        ],
    );
    assert!(!coding.status.success());
    assert!(
        String::from_utf8(coding.stderr)
            .unwrap()
            .contains("the model's answer is not valid")
    );
}

#[test]
fn slots_are_imported_and_a_malformed_file_is_refused_with_its_position() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    assert!(phigate(&dir, &["init"]).status.success());
    let file = data.path().join("slots.json");
    std::fs::write(
        &file,
        r#"[{"resourceType": "Slot", "id": "s1", "status": "free", "start": "2030-01-02T09:00:00Z",
             "end": "2030-01-02T09:30:00Z", "serviceType": [{"text": "primary-care"}]}]"#,
    )
    .unwrap();
    let output = phigate(&dir, &["slots", "import", file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("1 slots loaded")
    );
    std::fs::write(&file, "[{\"resourceType\": \"Slot\",").unwrap();
    let bad = phigate(&dir, &["slots", "import", file.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8(bad.stderr).unwrap().contains("line 1"));
}
