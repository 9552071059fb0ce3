//! `[keys] kms = "aws"` end to end against the `moto` KMS server from PyPI on loopback: `phigate
//! init` makes no local root key, and import, key status and the demo's reads work through KMS.
//!
//! moto gets a virtual environment of its own under the target directory (the crypto crate's KMS
//! test keeps another, so the two never rebuild one in use). Without `python3` the test says so
//! loudly and skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failing step fails the test, and a skip must be visible"
)]

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MOTO_REQUIREMENT: &str = "moto[server]>=5,<6";

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dummy_credentials(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("AWS_")) {
        command.env_remove(name);
    }
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
}

fn start_moto(venv: &Path) -> (Moto, String) {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = dummy_credentials(&mut Command::new(venv.join("bin/moto_server")))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    (moto, format!("http://127.0.0.1:{port}"))
}

#[test]
fn a_data_directory_rooted_in_aws_kms_imports_and_reads_through_it() {
    let Some(venv) = common::python_venv(
        "phigate-moto-cli-venv",
        MOTO_REQUIREMENT,
        "the AWS KMS command test",
    ) else {
        return;
    };
    let (_moto, url) = start_moto(&venv);
    let script = format!(
        "import boto3; print(boto3.client('kms', endpoint_url='{url}', region_name='us-east-1')\
         .create_key()['KeyMetadata']['KeyId'])"
    );
    let created = dummy_credentials(&mut Command::new(venv.join("bin/python")))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(created.status.success(), "creating a key on moto failed");
    let key_id = String::from_utf8(created.stdout).unwrap().trim().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
            command.env_remove(name);
        }
        dummy_credentials(&mut command)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("PHIGATE_KEYS_KMS", "aws")
            .env("PHIGATE_KEYS_AWS_KEY_ID", &key_id)
            .env("PHIGATE_KEYS_AWS_REGION", "us-east-1")
            .env("PHIGATE_KEYS_AWS_ENDPOINT_URL", &url)
            .output()
            .unwrap()
    };
    let init = run(&["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(String::from_utf8_lossy(&init.stdout).contains("AWS KMS key"));
    assert!(!dir.path().join("keys/root.key").exists());

    let bundle = common::synthea_bundles()[0].to_str().unwrap().to_owned();
    assert!(run(&["import", &bundle]).status.success());
    let status = run(&["keys", "status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(&format!("root key: aws:{key_id}")), "{text}");
    assert!(text.contains("1 active"));
    assert!(run(&["demo"]).status.success());
}
