//! The patient's chat page in Chromium, end to end: `phigate serve` on loopback in front of the
//! scripted mock upstream, a patient account bound to an imported record, a public OAuth client
//! for the page; the browser script signs in with the keyboard on a phone-sized screen, asks for
//! an appointment, the scripted model finds free slots and books one, and the slot is then
//! booked in the store with the appointment in the patient's record.
//!
//! Needs `/usr/bin/chromium` and `node`; without them it skips loudly, unless
//! `BROWSER_TESTS_REQUIRED` is set, when it fails. `npm ci --prefix browser` runs once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failing step fails the test, and a skip must be visible"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phigate_crypto::LocalKms;
use phigate_llm::mock::{MockResponse, MockUpstream};
use phigate_llm::types::MessagesResponse;
use phigate_store::Store;
use serde_json::{Value, json};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether Chromium and node are here; says so loudly when they are not.
fn browser_ready() -> bool {
    let chromium = Path::new("/usr/bin/chromium").exists();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if chromium && node {
        return true;
    }
    let missing = if chromium {
        "node"
    } else {
        "/usr/bin/chromium"
    };
    assert!(
        std::env::var_os("BROWSER_TESTS_REQUIRED").is_none(),
        "BROWSER_TESTS_REQUIRED is set but {missing} is missing"
    );
    eprintln!("\n*** SKIPPED the patient chat page browser test: {missing} is missing. ***\n");
    false
}

/// Installs `browser/node_modules` from the lock file once, one test process at a time.
fn npm_ci(repo: &Path) {
    let modules = repo.join("browser/node_modules/playwright-core");
    if modules.exists() {
        return;
    }
    let lock = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-npm.lock");
    let started = Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if started.elapsed() > Duration::from_secs(300) => {
                let _ = std::fs::remove_file(&lock);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    if !modules.exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(repo.join("browser"))
            .status()
            .unwrap();
        let _ = std::fs::remove_file(&lock);
        assert!(status.success(), "npm ci --prefix browser failed");
    } else {
        let _ = std::fs::remove_file(&lock);
    }
}

fn stdout_of(dir: &Path, args: &[&str]) -> String {
    let output = common::phigate(dir, args);
    assert!(output.status.success(), "phigate {} failed", args[0]);
    String::from_utf8(output.stdout).unwrap()
}

fn day(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn message(value: Value) -> MockResponse {
    MockResponse::Json(serde_json::from_value::<MessagesResponse>(value).unwrap())
}

fn tool_call(name: &str, input: Value) -> MockResponse {
    message(json!({
        "id": "msg_tool", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "tool_use", "id": format!("toolu_{name}"), "name": name, "input": input}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 12}
    }))
}

#[test]
fn a_patient_books_an_appointment_through_the_chat_page_in_a_browser() {
    if !browser_ready() {
        return;
    }
    let repo = common::repo();
    npm_ci(&repo);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    stdout_of(&dir, &["init"]);
    let bundle = common::synthea_bundles()[14].clone();
    let patient = common::patient_of(&bundle);
    let patient_id = patient["id"].as_str().unwrap().to_owned();
    stdout_of(&dir, &["import", bundle.to_str().unwrap()]);
    let slots: Vec<Value> = (1..=3)
        .map(|i| {
            json!({"resourceType": "Slot", "id": format!("slot-{i}"), "status": "free",
                   "start": format!("{}T09:00:00Z", day(i)), "end": format!("{}T09:30:00Z", day(i)),
                   "serviceType": [{"text": "primary-care"}]})
        })
        .collect();
    let slots_file = tmp.path().join("slots.json");
    std::fs::write(&slots_file, Value::Array(slots).to_string()).unwrap();
    stdout_of(&dir, &["slots", "import", slots_file.to_str().unwrap()]);

    let added = stdout_of(
        &dir,
        &[
            "users",
            "add",
            "pat.a",
            "--role",
            "patient",
            "--patient",
            &patient_id,
        ],
    );
    let password = added
        .lines()
        .find_map(|l| l.split("first sign-in): ").nth(1))
        .expect("a one-time password")
        .trim()
        .to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = stdout_of(
        &dir,
        &[
            "clients",
            "add",
            "Patient assistant",
            "--role",
            "patient",
            "--method",
            "none",
            "--redirect-uri",
            &format!("{base}/patient/"),
        ],
    );
    let client_id = client
        .lines()
        .find_map(|l| l.strip_prefix("client_id"))
        .expect("a client id")
        .trim()
        .to_owned();
    let config = tmp.path().join("phigate.toml");
    std::fs::write(
        &config,
        format!("[oauth]\nissuer = \"{base}\"\n[server]\npatient_client_id = \"{client_id}\"\n"),
    )
    .unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockUpstream::start()).unwrap();
    mock.push(tool_call("find_free_slots", json!({"within_days": 7})));
    mock.push(tool_call("book_appointment", json!({"slot_id": "slot-1"})));
    mock.push(message(json!({
        "id": "msg_done", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "You are booked for [DATE_1] in primary care."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 12}
    })));

    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("PHIGATE_PROVIDER_KIND", "anthropic")
        .env("PHIGATE_PROVIDER_BASE_URL", mock.base_url())
        .env("PHIGATE_PROVIDER_BAA_ON_RECORD", "true")
        .env("PHIGATE_PROVIDER_MAX_RETRIES", "0")
        .env("ANTHROPIC_API_KEY", "sk-ant-mock-upstream-key")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child);
    assert!(
        line.contains(&base),
        "serve listens where the client was registered"
    );

    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let output = Command::new("node")
        .arg(repo.join("browser/patient-booking.mjs"))
        .arg(&base)
        .arg("pat.a")
        .arg(&password)
        .arg(&shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser script failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("ok: booked through the chat page"),
        "{stdout}"
    );
    drop(server);

    // The slot is booked in the store and the appointment is in the patient's sealed record.
    let kms = LocalKms::open(&dir.join("keys/root.key")).unwrap();
    let store = Store::open(&dir.join("phigate.db"), Arc::new(kms)).unwrap();
    let free: Vec<String> = store
        .free_slots("default", None, "2000", "2100", 10)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(free, ["slot-2", "slot-3"]);
    let appointments: Vec<Value> = store
        .load_patient("default", &store.patient_ref("default", &patient_id))
        .unwrap()
        .into_iter()
        .filter(|r| r.resource_type == "Appointment")
        .map(|r| serde_json::from_slice(&r.json).unwrap())
        .collect();
    assert_eq!(appointments.len(), 1);
    assert_eq!(appointments[0]["status"], "booked");
    assert_eq!(appointments[0]["slot"][0]["reference"], "Slot/slot-1");

    // What reached the model: two tool rounds and the answer, without the patient's name.
    let received = mock.received();
    assert_eq!(received.len(), 3);
    let family = patient["name"][0]["family"].as_str().unwrap();
    for request in &received {
        assert!(
            !String::from_utf8_lossy(&request.body).contains(family),
            "the patient's name reached the upstream"
        );
    }
}
