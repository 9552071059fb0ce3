//! The web console in Debian's Chromium, driven by Playwright (`browser/console-*.mjs`) against
//! `phigate serve` on loopback: a clinician signs in with a password and approves a draft that a
//! task run made; an auditor signs in with password and TOTP and finds the approval in the log;
//! an administrator creates a user; and a keyboard-only pass signs in and approves a draft with
//! Tab and Enter. Every URL the browser requests is checked for the patient's identifiers.
//! Screenshots go under the target directory (`browser-screenshots/console`).
//!
//! Without node, npm or `/usr/bin/chromium` the test says so loudly and passes, unless
//! `BROWSER_TESTS_REQUIRED` is set (as `.ci/run` sets it), when it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests fail on error, and a skip must be visible"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether node, npm and Chromium are here; otherwise skips loudly, or fails when required.
fn browser_available() -> bool {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&str> = [
        ("node", runs("node")),
        ("npm", runs("npm")),
        ("/usr/bin/chromium", Path::new("/usr/bin/chromium").exists()),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("BROWSER_TESTS_REQUIRED").is_none(),
        "BROWSER_TESTS_REQUIRED is set but {} is missing",
        missing.join(", ")
    );
    eprintln!(
        "\n*** SKIPPED the console browser tests: {} missing. Install Debian's chromium and \
         nodejs/npm to run them. ***\n",
        missing.join(", ")
    );
    false
}

/// Runs `npm ci --prefix browser` once, serialised between test processes by a lock file.
fn install_playwright(repo: &Path) {
    let ready = repo.join("browser/node_modules/playwright-core/package.json");
    let lock = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-npm.lock");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !ready.exists() {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                    .arg(repo.join("browser"))
                    .status();
                let _ = std::fs::remove_file(&lock);
                assert!(status.unwrap().success(), "npm ci --prefix browser failed");
            }
            Err(_) => {
                assert!(
                    Instant::now() < deadline,
                    "gave up waiting for {}",
                    lock.display()
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `phigate --config CONFIG ARGS…` on the data directory; fails the test on a non-zero exit.
fn phigate(dir: &Path, config: &Path, args: &[&str]) -> String {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = common::phigate(dir, &all);
    assert!(
        output.status.success(),
        "phigate {} failed: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The last word of the first line of `text` containing `label`.
fn value_after(text: &str, label: &str) -> String {
    text.lines()
        .find(|l| l.contains(label))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no {label} in the output"))
        .to_owned()
}

fn serve(dir: &Path, config: &Path, port: u16) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "serve did not start");
    Server(child)
}

/// Runs one scenario; its output must end well and hold none of `secret_values`.
fn scenario(
    repo: &Path,
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    secret_values: &[&str],
) -> String {
    let mut command = Command::new("node");
    command.arg(repo.join("browser").join(script)).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    for (index, value) in secret_values.iter().enumerate() {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "{script} printed protected value #{index}"
        );
    }
    assert!(status.success(), "{script} failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("none carrying a forbidden value"),
        "{script} did not check its URLs"
    );
    stdout
}

#[test]
fn the_console_signs_in_reviews_audits_and_administers_in_chromium() {
    if !browser_available() {
        return;
    }
    let repo = common::repo();
    install_playwright(&repo);
    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots/console");
    let _ = std::fs::remove_dir_all(&shots);

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = data.path().join("phigate.toml");
    // Short access tokens, so the clinician's session refreshes while the test watches.
    std::fs::write(
        &config,
        format!("[oauth]\nissuer = \"{base}\"\naccess_ttl_secs = 75\n"),
    )
    .unwrap();

    let init = phigate(&dir, &config, &["init"]);
    let admin_password = value_after(&init, "one-time password");
    let admin_totp = value_after(&init, "TOTP enrolment URI");
    let clinician = phigate(
        &dir,
        &config,
        &["users", "add", "dr.lee", "--role", "clinician"],
    );
    let clinician_password = value_after(&clinician, "one-time password");
    let auditor = phigate(
        &dir,
        &config,
        &["users", "add", "pat.audit", "--role", "auditor"],
    );
    let auditor_password = value_after(&auditor, "one-time password");
    let auditor_totp = value_after(&auditor, "TOTP enrolment URI");

    // Two drafts awaiting review, made by the task run beforehand.
    let bundle =
        repo.join("examples/synthea/Marcos_Delagarza_4acb6705-25a7-430a-b799-a4ad8d7fbb38.json");
    let dialogue = repo.join("examples/aci-bench/D2N028.json");
    let patient = common::patient_of(&bundle);
    let patient_id = patient["id"].as_str().unwrap().to_owned();
    let given = patient["name"][0]["given"][0].as_str().unwrap().to_owned();
    let family = patient["name"][0]["family"].as_str().unwrap().to_owned();
    let (bundle, dialogue) = (bundle.to_str().unwrap(), dialogue.to_str().unwrap());
    let draft_of = |out: String| {
        let line = out
            .lines()
            .find(|l| l.starts_with("draft "))
            .unwrap()
            .to_owned();
        value_after(&line, "draft").trim_end_matches(')').to_owned()
    };
    let drafts = [
        draft_of(phigate(
            &dir,
            &config,
            &[
                "run",
                "clinical-note",
                "--bundle",
                bundle,
                "--input",
                dialogue,
            ],
        )),
        draft_of(phigate(
            &dir,
            &config,
            &[
                "run",
                "clinical-note",
                "--patient",
                &patient_id,
                "--input",
                dialogue,
            ],
        )),
    ];

    let server = serve(&dir, &config, port);
    let forbidden = json!([given, family]).to_string();
    let protected = [given.as_str(), family.as_str(), patient_id.as_str()];
    let shots_arg = shots.to_str().unwrap();

    let out = scenario(
        &repo,
        "console-clinician.mjs",
        &[&base, shots_arg],
        &[
            ("CONSOLE_USER", "dr.lee"),
            ("CONSOLE_PASSWORD", &clinician_password),
            ("CONSOLE_FORBIDDEN", &forbidden),
        ],
        &protected,
    );
    let approved = value_after(&out, "APPROVED");
    assert!(out.contains("REFRESHED"), "{out}");
    assert!(
        out.contains("REVOKED refresh and access tokens refused"),
        "{out}"
    );
    assert!(
        drafts.contains(&approved),
        "the approved draft is one the task runs made"
    );

    let out = scenario(
        &repo,
        "console-auditor.mjs",
        &[&base, shots_arg, &approved],
        &[
            ("CONSOLE_USER", "pat.audit"),
            ("CONSOLE_PASSWORD", &auditor_password),
            ("CONSOLE_TOTP_URI", &auditor_totp),
            ("CONSOLE_PATIENT", &patient_id),
            ("CONSOLE_FORBIDDEN", &forbidden),
        ],
        &protected,
    );
    assert!(
        out.contains(&format!("FOUND approval of {approved}")),
        "{out}"
    );
    assert!(
        !out.contains("DISCLOSURES 0"),
        "the task run's disclosure is reported"
    );

    let out = scenario(
        &repo,
        "console-admin.mjs",
        &[&base, shots_arg, "console.nurse"],
        &[
            ("CONSOLE_USER", "admin"),
            ("CONSOLE_PASSWORD", &admin_password),
            ("CONSOLE_TOTP_URI", &admin_totp),
        ],
        &protected,
    );
    assert!(out.contains("CREATED console.nurse"), "{out}");

    let out = scenario(
        &repo,
        "console-keyboard.mjs",
        &[&base, shots_arg],
        &[
            ("CONSOLE_USER", "dr.lee"),
            ("CONSOLE_PASSWORD", &clinician_password),
        ],
        &protected,
    );
    assert!(out.contains("KEYBOARD approved"), "{out}");

    // What the browser did is what the data directory says.
    let users = phigate(&dir, &config, &["users", "list"]);
    assert!(
        users
            .lines()
            .any(|l| l.starts_with("console.nurse ") && l.contains("nurse")),
        "the user the administrator created exists"
    );
    let awaiting = phigate(&dir, &config, &["drafts", "list", "--status", "awaiting"]);
    assert!(
        awaiting.trim().is_empty(),
        "both drafts were approved, one by keyboard alone: {awaiting}"
    );
    let verified = phigate(&dir, &config, &["audit", "verify"]);
    assert!(verified.contains("audit log OK"), "{verified}");
    drop(server);
    for name in [
        "clinician-3-draft",
        "auditor-2-approval-found",
        "admin-2-user-created",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}
