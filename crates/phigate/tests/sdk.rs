//! The official Anthropic Python SDK against `phigate serve`, in front of the mock upstream, all
//! on loopback: a plain message, a stream, a tool-use round trip, token counting, the model
//! list, a five-turn conversation, a bad credential and an upstream 429 that the SDK's own retry
//! honours. The mock's record must hold none of the identifiers the script sent, and the script
//! must see every one of them restored.
//!
//! The SDK is installed from PyPI into a virtual environment under the target directory, once;
//! later runs reuse it. Without `python3` the test says so loudly and skips; a failed install
//! fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failing step fails the test, and a skip must be visible"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::MessagesResponse;
use serde_json::json;

/// What is installed; changing it rebuilds the environment.
const SDK_REQUIREMENT: &str = "anthropic>=0.40,<1";

const NAME: &str = "Rosalind Okonkwo-Vance";
const PHONE: &str = "617-555-0199";
const SSN: &str = "999-12-3456";

/// `phigate serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path, upstream: &str) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PHIGATE_PROVIDER_KIND", "anthropic")
        .env("PHIGATE_PROVIDER_BASE_URL", upstream)
        .env("PHIGATE_PROVIDER_BAA_ON_RECORD", "true")
        // The SDK's own retry must see the 429, so the gateway does not retry it itself.
        .env("PHIGATE_PROVIDER_MAX_RETRIES", "0")
        .env("ANTHROPIC_API_KEY", "sk-ant-mock-upstream-key")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serve prints the address it listens on")
        .to_owned();
    Server { child, url }
}

fn run_phase(venv: &Path, server: &Server, token: &str, phase: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/client.py");
    let phi = json!({"NAME": NAME, "PHONE": PHONE, "SSN": SSN}).to_string();
    let output = Command::new(venv.join("bin/python"))
        .arg(script)
        .arg(phase)
        .env("PHIGATE_URL", &server.url)
        .env("PHIGATE_TOKEN", token)
        .env("PHIGATE_TEST_PHI", phi)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The script prints check names only; its traceback could quote a value, so show the kind
    // of failure rather than the text when it mentions one.
    let leaks = [NAME, PHONE, SSN].iter().any(|v| stderr.contains(v));
    let shown = if leaks {
        "(output withheld: it quotes a test identifier)"
    } else {
        &stderr
    };
    assert!(
        output.status.success(),
        "phase {phase} failed:\n{stdout}\n{shown}"
    );
}

fn tool_call() -> MockResponse {
    let message: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_tool", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "tool_use", "id": "toolu_01", "name": "lookup_chart",
                     "input": {"patient": "[NAME_1]", "phone": "[PHONE_1]"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 12}
    }))
    .unwrap();
    MockResponse::Json(message)
}

#[test]
fn the_official_anthropic_sdk_works_through_phigate_serve_and_no_phi_reaches_the_upstream() {
    let Some(venv) = common::python_venv(
        "phigate-sdk-venv",
        SDK_REQUIREMENT,
        "the Anthropic SDK test",
    ) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockUpstream::start()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(common::phigate(dir.path(), &["init"]).status.success());
    let minted = common::phigate(dir.path(), &["token", "--role", "clinician"]);
    assert!(minted.status.success());
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let server = serve(dir.path(), &mock.base_url());

    run_phase(&venv, &server, &token, "basic");
    let basic = mock.received();
    // plain, stream, count_tokens, models, five turns; the bad credential never got through.
    assert_eq!(basic.len(), 9);
    let first_turns: Vec<_> = basic[4..9]
        .iter()
        .map(|r| r.json()["messages"][0].clone())
        .collect();
    assert!(
        first_turns.iter().all(|m| *m == first_turns[0]),
        "placeholders renumbered"
    );
    assert!(
        first_turns[0]["content"]
            .as_str()
            .unwrap()
            .contains("[NAME_1]")
    );

    mock.push(tool_call());
    run_phase(&venv, &server, &token, "tool");
    let tool_round = mock.received()[10].json();
    assert_eq!(
        tool_round["messages"][1]["content"][0]["input"]["patient"],
        "[NAME_1]"
    );

    mock.push(MockResponse::Error {
        status: 429,
        error_type: "rate_limit_error".into(),
        retry_after: Some(1),
        headers: Vec::new(),
    });
    run_phase(&venv, &server, &token, "ratelimit");
    assert_eq!(mock.received().len(), 13, "the 429 and the SDK's retry");

    for request in mock.received() {
        let body = String::from_utf8_lossy(&request.body);
        for (kind, value) in [("NAME", NAME), ("PHONE", PHONE), ("SSN", SSN)] {
            assert!(
                !body.contains(value),
                "a {kind} reached the upstream at {}",
                request.path
            );
        }
        assert_ne!(request.header("x-api-key"), Some(token.as_str()));
    }
    drop(server);
    let verify = common::phigate(dir.path(), &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "the audit log verifies after serving"
    );
}
