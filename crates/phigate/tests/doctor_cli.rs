//! `phigate doctor` passes a freshly initialised deployment and fails a broken one, naming each
//! problem: readable key files, an expired certificate with a readable key, the metrics
//! listener on the gateway's port, the Anthropic provider without its key, and a clock that
//! disagrees with the upstream's `Date`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

fn doctor(dir: &Path, config: &Path) -> (bool, HashMap<String, (String, String)>) {
    let output = common::phigate(
        dir,
        &["--config", config.to_str().unwrap(), "doctor", "--json"],
    );
    let checks: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "doctor printed no JSON: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let by_name = checks
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                (
                    c["verdict"].as_str().unwrap().to_owned(),
                    c["evidence"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    (output.status.success(), by_name)
}

fn verdict<'a>(checks: &'a HashMap<String, (String, String)>, name: &str) -> &'a str {
    &checks
        .get(name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .0
}

#[test]
fn a_fresh_deployment_passes() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(common::phigate(dir, &["init"]).status.success());
    let config = dir.join("phigate.toml");
    std::fs::write(
        &config,
        "[incidents]\nwebhook_url = \"http://127.0.0.1:9/hook\"\n\n[metrics]\nlisten = \"127.0.0.1:9464\"\n\n\
         [telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nsample_ratio = 0.25\n",
    )
    .unwrap();
    let (ok, checks) = doctor(dir, &config);
    for name in [
        "listen-transport",
        "root-key-permissions",
        "data-dir-permissions",
        "audit-verifies",
        "database",
        "audit-store",
        "kms",
        "metrics-listen",
        "incident-webhook",
        "otlp-export",
    ] {
        assert_eq!(verdict(&checks, name), "pass", "{name}: {:?}", checks[name]);
    }
    let (_, otlp) = &checks["otlp-export"];
    assert!(
        otlp.contains("http://127.0.0.1:4318/v1/traces") && otlp.contains("0.25"),
        "doctor names where spans go and how many: {otlp}"
    );
    for name in ["tls-certificate", "provider-api-key", "clock-vs-upstream"] {
        assert_eq!(verdict(&checks, name), "skip", "{name}");
    }
    assert!(ok, "{checks:#?}");

    // The text form says the same, one line per check and a count.
    let output = common::phigate(dir, &["--config", config.to_str().unwrap(), "doctor"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("pass") && l.contains("kms"))
    );
    assert!(text.contains("0 failed"));
}

/// Answers every request with `Date` set to 2015, as a skewed upstream would.
fn skewed_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = stream;
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nDate: Thu, 01 Jan 2015 00:00:00 GMT\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_broken_deployment_fails_and_names_each_problem() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(common::phigate(dir, &["init"]).status.success());
    let root_key = dir.join("keys/root.key");
    std::fs::set_permissions(&root_key, std::fs::Permissions::from_mode(0o644)).unwrap();

    // An expired certificate, its key readable by everyone.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let (cert_file, key_file) = (dir.join("old.pem"), dir.join("old.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let config = dir.join("phigate.toml");
    std::fs::write(
        &config,
        format!(
            "[provider]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"OPS_DOCTOR_UNSET_KEY\"\n\n\
             [server]\nlisten = \"127.0.0.1:8443\"\n\n[server.tls]\nenabled = true\n\
             cert_file = \"{}\"\nkey_file = \"{}\"\n\n[metrics]\nlisten = \"127.0.0.1:8443\"\n",
            skewed_upstream(),
            cert_file.display(),
            key_file.display()
        ),
    )
    .unwrap();
    let (ok, checks) = doctor(dir, &config);
    assert!(!ok, "doctor exits non-zero on a broken deployment");
    for name in [
        "root-key-permissions",
        "tls-certificate",
        "tls-key-permissions",
        "metrics-listen",
        "provider-api-key",
        "clock-vs-upstream",
    ] {
        assert_eq!(
            verdict(&checks, name),
            "fail",
            "{name}: {:?}",
            checks.get(name)
        );
    }
    assert!(checks["tls-certificate"].1.contains("2021-01-01"));
    assert!(
        checks["provider-api-key"]
            .1
            .contains("OPS_DOCTOR_UNSET_KEY")
    );
    // The local KMS refuses a readable root key, so nothing behind it opens.
    assert_eq!(verdict(&checks, "data-directory"), "fail");
    // What still holds is still said to hold.
    assert_eq!(verdict(&checks, "tls-version"), "pass");
}
