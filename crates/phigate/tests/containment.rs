//! Incident containment against a running `phigate serve`: a blocked provider receives nothing
//! from any route, a frozen patient's data is refused to tasks, drafts, `phigate run`, import
//! and forget, and every refusal is in the audit log under `containment`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing step fails the test"
)]

mod common;
mod serve_support;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::phigate;
use phigate_llm::mock::MockUpstream;
use serve_support::{http, post_form, serve};

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn refused(output: &Output, why: &str) {
    assert!(!output.status.success(), "the command should be refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(why), "{stderr}");
}

fn token(data: &Path, role: &str) -> String {
    ok(&phigate(
        data,
        &["token", "--role", role, "--subject", role],
    ))
    .trim()
    .to_owned()
}

/// The number of containment entries with `outcome` in the audit log.
fn containment_entries(data: &Path, outcome: &str) -> usize {
    let found = ok(&phigate(
        data,
        &["audit", "search", "--action", "containment"],
    ));
    found
        .lines()
        .filter(|l| l.contains("containment") && l.contains(outcome))
        .count()
}

fn bundle() -> PathBuf {
    common::repo()
        .join("examples/synthea/Marcos_Delagarza_4acb6705-25a7-430a-b799-a4ad8d7fbb38.json")
}

const MESSAGE: &str = r#"{"model": "claude-sonnet-4-5", "max_tokens": 64,
    "messages": [{"role": "user", "content": "Summarise: chest pain for two days."}]}"#;

#[test]
fn a_blocked_provider_receives_nothing_from_any_route_until_unblocked() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockUpstream::start()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(&phigate(dir, &["init"]));
    ok(&phigate(dir, &["import", bundle().to_str().unwrap()]));
    let patient = common::patient_of(&bundle())["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base_url = mock.base_url();
    let server = serve(
        dir,
        &[
            ("PHIGATE_PROVIDER_KIND", "anthropic"),
            ("PHIGATE_PROVIDER_BASE_URL", &base_url),
            ("PHIGATE_PROVIDER_BAA_ON_RECORD", "true"),
            ("PHIGATE_PROVIDER_MAX_RETRIES", "0"),
            ("ANTHROPIC_API_KEY", "sk-ant-mock-upstream-key"),
        ],
    );
    let clinician = token(dir, "clinician");
    let nurse = token(dir, "nurse");

    // Before the block the path works end to end.
    let (status, body) = http(&server.addr, "POST", "/v1/messages", &clinician, MESSAGE);
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.received().len(), 1);

    let blocked = phigate(
        dir,
        &[
            "providers",
            "block",
            "anthropic",
            "--reason",
            "INC-0042 suspected exfiltration through the model",
        ],
    );
    assert!(ok(&blocked).contains("provider anthropic blocked"));
    let listed = ok(&phigate(dir, &["providers", "list"]));
    assert!(listed.contains("anthropic") && listed.contains("INC-0042"));

    // The running server refuses every route that would reach the provider, without restart.
    let task = format!(r#"{{"patient": "{patient}", "input": "chest pain since this morning"}}"#);
    let attempts = [
        ("POST", "/v1/messages", clinician.as_str(), MESSAGE),
        ("POST", "/v1/messages/count_tokens", &clinician, MESSAGE),
        ("GET", "/v1/models", &clinician, ""),
        ("POST", "/v1/tasks/triage", &nurse, &task),
    ];
    for (method, path, token, body) in attempts {
        let (status, answer) = http(&server.addr, method, path, token, body);
        assert_eq!(status, 503, "{path}: {answer}");
        assert!(answer.contains("blocked"), "{path}: {answer}");
        assert!(answer.contains("nothing was sent"), "{path}: {answer}");
    }
    assert_eq!(
        mock.received().len(),
        1,
        "the blocked provider received nothing"
    );
    assert_eq!(containment_entries(dir, "denied"), attempts.len());
    assert_eq!(containment_entries(dir, "success"), 1, "the block itself");

    // Unblocking restores the path, and is audited too.
    ok(&phigate(
        dir,
        &[
            "providers",
            "unblock",
            "anthropic",
            "--reason",
            "INC-0042 closed",
        ],
    ));
    let (status, body) = http(&server.addr, "POST", "/v1/messages", &clinician, MESSAGE);
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.received().len(), 2);
    assert_eq!(containment_entries(dir, "success"), 2);
    drop(server);
    ok(&phigate(dir, &["audit", "verify"]));
}

#[test]
fn block_refuses_an_unknown_provider_and_a_reason_that_names_someone() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(&phigate(dir, &["init"]));
    let typo = phigate(
        dir,
        &["providers", "block", "antropic", "--reason", "INC-1"],
    );
    refused(&typo, "unknown provider");
    let named = phigate(
        dir,
        &[
            "providers",
            "block",
            "anthropic",
            "--reason",
            "Rosalind Okonkwo-Vance's chart was sent",
        ],
    );
    refused(&named, "looks like it holds an identifier");
    let stderr = String::from_utf8_lossy(&named.stderr);
    assert!(!stderr.contains("Okonkwo"), "the refusal does not echo PHI");
    assert!(!ok(&phigate(dir, &["providers", "list"])).contains("anthropic"));
    refused(
        &phigate(
            dir,
            &["providers", "unblock", "anthropic", "--reason", "INC-1"],
        ),
        "not blocked",
    );
}

#[test]
fn a_frozen_patient_is_refused_to_tasks_drafts_run_import_and_forget_until_unfrozen() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(&phigate(dir, &["init"]));
    let dialogue = common::repo().join("testdata/aci-bench/D2N005.json");
    let bundle = bundle();
    let ran = ok(&phigate(
        dir,
        &[
            "run",
            "clinical-note",
            "--bundle",
            bundle.to_str().unwrap(),
            "--input",
            dialogue.to_str().unwrap(),
        ],
    ));
    let draft = ran
        .lines()
        .find_map(|l| l.strip_prefix("draft "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let patient = common::patient_of(&bundle)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let frozen = ok(&phigate(
        dir,
        &[
            "patient",
            "freeze",
            "--patient",
            &patient,
            "--reason",
            "INC-0043 record disclosed to the wrong clinic",
        ],
    ));
    assert!(frozen.contains("frozen"));
    assert!(!frozen.contains(&patient), "the id is not printed back");
    let listed = ok(&phigate(dir, &["patient", "frozen"]));
    assert!(listed.contains("INC-0043") && !listed.contains(&patient));

    // The command line: run, drafts, import and forget are refused.
    let run = phigate(
        dir,
        &["run", "triage", "--patient", &patient, "--role", "nurse"],
    );
    refused(&run, "frozen");
    refused(&phigate(dir, &["drafts", "show", &draft]), "frozen");
    refused(&phigate(dir, &["drafts", "approve", &draft]), "frozen");
    assert!(!ok(&phigate(dir, &["drafts", "list"])).contains(&draft));
    refused(
        &phigate(dir, &["import", bundle.to_str().unwrap()]),
        "frozen",
    );
    refused(&phigate(dir, &["patient", "forget", &patient]), "frozen");

    // A running server refuses the task and the draft; break-glass is not asked for because a
    // freeze is checked whatever the caller holds.
    let server = serve(dir, &[]);
    let clinician = token(dir, "clinician");
    let task = format!(r#"{{"patient": "{patient}", "input": "chest pain"}}"#);
    let (status, body) = http(&server.addr, "POST", "/v1/tasks/triage", &clinician, &task);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("frozen"), "{body}");
    let path = format!("/v1/drafts/{draft}");
    let (status, body) = http(&server.addr, "GET", &path, &clinician, "");
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("Marcos"), "no content of the draft");
    let (status, body) = http(&server.addr, "GET", "/v1/drafts", &clinician, "");
    assert_eq!(status, 200);
    assert!(
        !body.contains(&draft),
        "the frozen patient's draft is not listed"
    );
    // Freeze, then run, show, approve, import, task and draft read: one entry each, at least.
    assert!(containment_entries(dir, "denied") >= 5);
    assert_eq!(containment_entries(dir, "success"), 1);

    // Unfreezing gives everything back.
    ok(&phigate(
        dir,
        &[
            "patient",
            "unfreeze",
            "--patient",
            &patient,
            "--reason",
            "INC-0043 closed",
        ],
    ));
    let (status, body) = http(&server.addr, "GET", &path, &clinician, "");
    assert_eq!(status, 200, "{body}");
    drop(server);
    let shown = ok(&phigate(dir, &["drafts", "show", &draft]));
    assert!(shown.contains("AI-generated draft"));
    ok(&phigate(dir, &["audit", "verify"]));
}

#[test]
fn revoking_a_client_or_disabling_a_user_cuts_their_unexpired_access_tokens_at_once() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(&phigate(dir, &["init"]));
    let added = ok(&phigate(
        dir,
        &["clients", "add", "bridge", "--method", "client_secret_post"],
    ));
    let field = |name: &str| {
        added
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (id, secret) = (field("client_id"), field("client_secret"));
    ok(&phigate(
        dir,
        &["users", "add", "bob", "--role", "clinician"],
    ));
    let conn = rusqlite::Connection::open(dir.join("phigate.db")).unwrap();
    let bob: String = conn
        .query_row("SELECT id FROM users WHERE username = 'bob'", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    let person = ok(&phigate(
        dir,
        &["token", "--role", "clinician", "--subject", &bob],
    ));
    let server = serve(dir, &[]);

    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let (status, body) = post_form(&server.addr, "/oauth/token", &form);
    assert_eq!(status, 200, "{body}");
    let issued: serde_json::Value = serde_json::from_str(&body).unwrap();
    let service = issued["access_token"].as_str().unwrap().to_owned();

    for token in [&service, person.trim()] {
        let (status, body) = http(&server.addr, "GET", "/v1/models", token, "");
        assert_eq!(status, 200, "{body}");
    }
    ok(&phigate(dir, &["clients", "revoke", &id]));
    ok(&phigate(dir, &["users", "disable", "bob"]));
    let (status, body) = http(&server.addr, "GET", "/v1/models", &service, "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("revoked"), "{body}");
    let (status, body) = http(&server.addr, "GET", "/v1/models", person.trim(), "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("disabled"), "{body}");
}
