//! A full disk under the audit log: the gateway must fail closed (503 in the API's shape, and
//! nothing sent upstream), say nothing of the request in its answer, and leave a log that still
//! verifies once space is back.
//!
//! The disk is "filled" by lowering this test process's own file-size limit (RLIMIT_FSIZE,
//! with the util-linux `prlimit` command) to zero: every write that would grow a file then
//! fails with EFBIG, which SQLite reports as a full disk. The signal the kernel also sends
//! (SIGXFSZ) is caught so that it does not end the process. This file holds one test so that
//! no other test shares the limit.

#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

mod common;

use std::process::Command;

use common::*;
use tokio::signal::unix::{SignalKind, signal};

/// SIGXFSZ on Linux.
const SIGXFSZ: i32 = 25;

fn set_file_size_limit(limit: &str) {
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--fsize={limit}:"))
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(
        status.success(),
        "prlimit could not set the file-size limit"
    );
}

#[tokio::test]
async fn a_full_disk_under_the_audit_log_fails_closed_and_sends_nothing() {
    let _caught = signal(SignalKind::from_raw(SIGXFSZ)).unwrap();
    let gw = start(|_| {}).await;
    // One request first, so that the log's files exist and only growing them is refused.
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    assert_eq!(response.status(), 200);
    let sent_before = gw.mock().received().len();

    set_file_size_limit("0");
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    set_file_size_limit("unlimited");

    assert_eq!(status, 503, "a full disk under the audit log");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "api_error");
    let text = body.to_string();
    for (kind, value) in PHI {
        assert!(!text.contains(value), "a {kind} is in the error");
    }
    assert_eq!(
        gw.mock().received().len(),
        sent_before,
        "nothing may be sent when the disclosure cannot be recorded"
    );
    gw.assert_no_phi_upstream();

    // Space is back: the log verifies and takes entries again.
    let report = gw.audit.verify().unwrap();
    assert!(
        report.ok,
        "the audit log does not verify after the full disk"
    );
    let response = gw.post("/v1/messages", &message(&clinical_text())).await;
    assert_eq!(
        response.status(),
        200,
        "the gateway recovers once space is back"
    );
    assert!(gw.audit.verify().unwrap().ok);
}
