//! `provider.deid_mode` decides what a provider off the premises receives, and the unsafe
//! setting (linkable placeholders without a BAA) takes effect but is warned about at start.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing step fails the test"
)]

mod common;
mod serve_support;

use common::phigate;
use phigate_llm::mock::MockUpstream;
use serve_support::{http, serve};

const NAME: &str = "Rosalind Okonkwo-Vance";

/// What the upstream received for one message naming [`NAME`], with `deid_mode`, no BAA.
fn sent_without_baa(deid_mode: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockUpstream::start()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(phigate(dir, &["init"]).status.success());
    let base_url = mock.base_url();
    let server = serve(
        dir,
        &[
            ("PHIGATE_PROVIDER_KIND", "anthropic"),
            ("PHIGATE_PROVIDER_BASE_URL", &base_url),
            ("PHIGATE_PROVIDER_DEID_MODE", deid_mode),
            ("ANTHROPIC_API_KEY", "sk-ant-mock-upstream-key"),
        ],
    );
    let minted = phigate(dir, &["token", "--role", "clinician"]);
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let message = format!(
        r#"{{"model": "claude-sonnet-4-5", "max_tokens": 64,
            "messages": [{{"role": "user", "content": "Patient {NAME} reports a cough."}}]}}"#
    );
    let (status, _) = http(&server.addr, "POST", "/v1/messages", &token, &message);
    assert_eq!(status, 200);
    let received = mock.received();
    assert_eq!(received.len(), 1);
    let body = String::from_utf8_lossy(&received[0].body).into_owned();
    assert!(
        !body.contains("Okonkwo"),
        "no identifier leaves in any mode"
    );
    body
}

#[test]
fn without_a_baa_the_default_sends_safe_harbor_data_and_placeholder_mode_sends_linkable_data() {
    let auto = sent_without_baa("auto");
    assert!(auto.contains("[NAME]") && !auto.contains("[NAME_1]"));
    let placeholder = sent_without_baa("placeholder");
    assert!(placeholder.contains("[NAME_1]"));
}

#[test]
fn running_with_linkable_placeholders_and_no_baa_warns_loudly() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(phigate(dir, &["init"]).status.success());
    let config = dir.join("unsafe.toml");
    std::fs::write(
        &config,
        "[provider]\nkind = \"anthropic\"\ndeid_mode = \"placeholder\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    // The run stops later for want of an API key; the warning comes first.
    let run = phigate(
        dir,
        &["--config", config, "run", "triage", "--patient", "p1"],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("WARNING") && stderr.contains("no BAA"),
        "{stderr}"
    );
    let safe = dir.join("safe.toml");
    std::fs::write(&safe, "[provider]\nkind = \"anthropic\"\n").unwrap();
    let run = phigate(
        dir,
        &[
            "--config",
            safe.to_str().unwrap(),
            "run",
            "triage",
            "--patient",
            "p1",
        ],
    );
    assert!(!String::from_utf8_lossy(&run.stderr).contains("WARNING"));
    let bad = phigate(dir, &["--config", config, "compliance", "controls"]);
    assert!(bad.status.success());
    std::fs::write(
        dir.join("unsafe.toml"),
        "[provider]\ndeid_mode = \"none\"\n",
    )
    .unwrap();
    let refused = phigate(dir, &["--config", config, "compliance", "controls"]);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("provider.deid_mode"),
        "an unknown mode is refused by name"
    );
}
