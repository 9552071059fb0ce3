//! The command line as a newcomer meets it: help, init, bad input, tampering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{phigate, repo, section};

#[test]
fn help_describes_every_subcommand() {
    let data = tempfile::tempdir().unwrap();
    let output = phigate(data.path(), &["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["init", "demo", "import", "deid", "audit"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} is listed"
        );
    }
}

#[test]
fn init_creates_an_owner_only_root_key_and_refuses_to_run_twice() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    let first = phigate(&dir, &["init"]);
    assert!(first.status.success());
    let stdout = String::from_utf8(first.stdout).unwrap();
    assert!(stdout.contains("one-time password"));
    let mode = std::fs::metadata(dir.join("keys/root.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let second = phigate(&dir, &["init"]);
    assert!(!second.status.success());
    assert!(
        String::from_utf8(second.stderr)
            .unwrap()
            .contains("already initialised")
    );
}

#[test]
fn a_root_key_readable_by_others_is_refused() {
    let data = tempfile::tempdir().unwrap();
    assert!(phigate(data.path(), &["init"]).status.success());
    let key = data.path().join("keys/root.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = phigate(data.path(), &["audit", "verify"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("root key")
    );
}

#[test]
fn a_malformed_bundle_is_refused_with_its_position_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let bad = data.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"resourceType\": \"Bundle\",\n \"type\": \"collection\",\n oops",
    )
    .unwrap();
    let output = phigate(
        &data.path().join("pd"),
        &["demo", "--bundle", bad.to_str().unwrap()],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 3"), "the error says where");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_bad_configuration_value_is_named_at_start() {
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_phigate"))
        .args(["--data-dir", data.path().to_str().unwrap(), "demo"])
        .env("PHIGATE_PROVIDER_KIND", "mystery")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("provider.kind") && stderr.contains("PHIGATE_PROVIDER_KIND"));
}

#[test]
fn anthropic_without_a_key_is_refused_before_anything_is_sent() {
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_phigate"))
        .args([
            "--data-dir",
            data.path().to_str().unwrap(),
            "demo",
            "--provider",
            "anthropic",
        ])
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("ANTHROPIC_API_KEY")
    );
}

#[test]
fn identifiers_typed_into_a_dictated_note_do_not_leave() {
    let data = tempfile::tempdir().unwrap();
    let note = data.path().join("dictation.txt");
    // The shipped demo patient's SSN and phone, dictated into free text.
    std::fs::write(
        &note,
        "Pt seen today. SSN 999-68-5158, call back at 555-890-6174. Follow up in 2 weeks.",
    )
    .unwrap();
    let output = phigate(
        &data.path().join("pd"),
        &["demo", "--dialogue", note.to_str().unwrap()],
    );
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let outbound = section(&stdout, 1);
    assert!(!outbound.contains("999-68-5158") && !outbound.contains("555-890-6174"));
    assert!(
        section(&stdout, 2).contains("999-68-5158"),
        "restored for the clinician"
    );
}

#[test]
fn editing_the_audit_log_is_detected_by_verify() {
    let data = tempfile::tempdir().unwrap();
    assert!(phigate(data.path(), &["demo"]).status.success());
    assert!(phigate(data.path(), &["audit", "verify"]).status.success());

    let conn = rusqlite::Connection::open(data.path().join("audit.db")).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for trigger in triggers {
        conn.execute(&format!("DROP TRIGGER {trigger}"), [])
            .unwrap();
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        tables.iter().any(|t| t == "audit_entries"),
        "the log keeps its entries table"
    );
    conn.execute("DELETE FROM audit_entries WHERE seq = 3", [])
        .unwrap();
    drop(conn);

    let output = phigate(data.path(), &["audit", "verify"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("FAILED at entry 3")
    );
}

#[test]
fn the_example_files_are_where_the_readme_says() {
    assert!(repo().join("examples/README.md").exists());
    assert!(repo().join("phigate.toml").exists());
}

#[test]
fn a_missing_database_is_reported_not_silently_recreated() {
    let data = tempfile::tempdir().unwrap();
    assert!(phigate(data.path(), &["init"]).status.success());
    std::fs::remove_file(data.path().join("phigate.db")).unwrap();
    let output = phigate(data.path(), &["audit", "verify"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("is missing")
    );
    assert!(!data.path().join("phigate.db").exists());
}

#[test]
fn a_data_directory_open_to_others_is_refused() {
    let data = tempfile::tempdir().unwrap();
    assert!(phigate(data.path(), &["init"]).status.success());
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = phigate(data.path(), &["audit", "verify"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("chmod 700")
    );
}

#[test]
fn an_empty_or_multi_line_admin_name_is_refused() {
    let data = tempfile::tempdir().unwrap();
    for name in ["", "ad\nmin"] {
        let output = phigate(&data.path().join("pd"), &["init", "--admin", name]);
        assert!(!output.status.success());
        assert!(
            String::from_utf8(output.stderr)
                .unwrap()
                .contains("username")
        );
    }
}

#[test]
fn the_database_files_are_owner_only() {
    let data = tempfile::tempdir().unwrap();
    assert!(phigate(data.path(), &["demo"]).status.success());
    for db in ["phigate.db", "audit.db"] {
        let mode = std::fs::metadata(data.path().join(db))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{db}");
    }
}
