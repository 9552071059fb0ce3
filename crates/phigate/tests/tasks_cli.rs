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
    assert!(text.contains("book_slot [user/Slot.r user/Appointment.w]"));
}
