//! The command line as a newcomer meets it: help, init, bad input, tampering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{delete_audit_entry, phigate, repo, section};

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

    delete_audit_entry(data.path(), 3);

    let output = phigate(data.path(), &["audit", "verify"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("FAILED at entry 3: missing")
    );
}

/// The shipped demo patient's logical id (synthetic Synthea data).
const DEMO_PATIENT: &str = "963dabe4-84e7-4751-b432-e34bdbdbde05";

#[test]
fn auditors_search_export_account_and_prove_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    assert!(phigate(data.path(), &["demo"]).status.success());
    let run = |args: &[&str]| {
        let output = phigate(data.path(), args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    let found = run(&["audit", "search", "--patient", DEMO_PATIENT]);
    assert!(
        found.contains(" read ") && found.contains(" disclosure "),
        "{found}"
    );
    assert!(!found.contains(DEMO_PATIENT), "the identifier is printed");
    let none = run(&["audit", "search", "--patient", "someone-else"]);
    assert!(none.trim().is_empty(), "{none}");
    let reads = run(&[
        "audit",
        "search",
        "--action",
        "read",
        "--since",
        "2000-01-01",
    ]);
    assert!(
        reads.lines().count() >= 1 && !reads.contains(" disclosure "),
        "{reads}"
    );

    let accounting = run(&["audit", "disclosures", "--patient", DEMO_PATIENT]);
    assert!(accounting.starts_with("1 disclosures"), "{accounting}");
    assert!(accounting.contains(" to echo for "), "{accounting}");

    let export = run(&[
        "audit",
        "export",
        "--format",
        "fhir",
        "--patient",
        DEMO_PATIENT,
    ]);
    assert!(!export.contains(DEMO_PATIENT));
    let events: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().all(|e| e["resourceType"] == "AuditEvent"));
    assert!(events.iter().any(|e| e["subtype"][0]["code"] == "disclose"));

    let proof: serde_json::Value = serde_json::from_str(&run(&[
        "audit",
        "prove",
        "inclusion",
        "--seq",
        "1",
        "--size",
        "3",
    ]))
    .unwrap();
    assert_eq!(proof["tree_size"], 3);
    assert_eq!(proof["path"].as_array().unwrap().len(), 2);

    let pruned = run(&["audit", "prune"]);
    assert!(
        pruned.starts_with("pruned the bodies of 0 entries"),
        "{pruned}"
    );
    let verified = run(&["audit", "verify"]);
    assert!(verified.starts_with("audit log OK"), "{verified}");
    let bad = phigate(data.path(), &["audit", "search", "--action", "teleport"]);
    assert!(!bad.status.success());
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

#[test]
fn the_audit_log_can_live_in_postgres_selected_by_configuration() {
    const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
    let Ok(mut admin) = postgres::Client::connect(ADMIN, postgres::NoTls) else {
        assert!(
            std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
            "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
        );
        eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
        return;
    };
    let unique = format!("cli_{}", std::process::id());
    let (schema, role) = (
        format!("audit_test_{unique}"),
        format!("audit_app_{unique}"),
    );
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .unwrap();
    phigate_audit::postgres::create_schema(&mut admin, &schema, &role).unwrap();

    let data = tempfile::tempdir().unwrap();
    let url = format!("host=127.0.0.1 port=5432 user={role} dbname=test");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_phigate"))
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("PHIGATE_AUDIT_POSTGRES_URL", &url)
            .env("PHIGATE_AUDIT_POSTGRES_SCHEMA", &schema)
            .output()
            .unwrap()
    };
    let demo = run(&["demo"]);
    let verified = run(&["audit", "verify"]);
    let entries: i64 = admin
        .query_one(&format!("SELECT COUNT(*) FROM {schema}.audit_log"), &[])
        .unwrap()
        .get(0);
    admin
        .batch_execute(&format!(
            "DROP SCHEMA {schema} CASCADE; DROP OWNED BY {role}; DROP ROLE {role};"
        ))
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("audit log OK"));
    assert!(entries > 0);
    assert!(!data.path().join("audit.db").exists());
}
