//! Helpers shared by the command-line tests: running the binary and reading its sections.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test helpers fail the test on error, and a skip must be visible"
)]
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `phigate` with a data directory and no configuration from the environment.
pub fn phigate(data_dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    command.arg("--data-dir").arg(data_dir).args(args);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    command.output().expect("the phigate binary runs")
}

/// The text between the heading that starts with `number.` and the next heading.
pub fn section(stdout: &str, number: u32) -> String {
    let start = format!("=== {number}. ");
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with(&start));
    lines.next();
    lines
        .take_while(|l| !l.starts_with("=== "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every shipped Synthea bundle, in a stable order.
pub fn synthea_bundles() -> Vec<PathBuf> {
    let root = repo().join("testdata/synthea");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("testdata/synthea exists") {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for file in std::fs::read_dir(&dir).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "json") {
                    files.push(file);
                }
            }
        }
    }
    files.sort();
    files
}

/// The `Patient` resource of a bundle file.
pub fn patient_of(path: &Path) -> serde_json::Value {
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .find(|r| r["resourceType"] == "Patient")
        .expect("a Patient")
}

/// Deletes audit entry `seq` straight from the data directory's audit database, dropping the
/// triggers that refuse it, as someone with write access to the file could.
pub fn delete_audit_entry(data_dir: &Path, seq: u64) {
    let conn = rusqlite::Connection::open(data_dir.join("audit.db")).unwrap();
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
    let deleted = conn
        .execute("DELETE FROM audit_log WHERE seq = ?1", [seq as i64])
        .unwrap();
    assert_eq!(deleted, 1, "the log keeps its entries in audit_log");
}

/// A Python virtual environment under the target directory with `requirement` installed from
/// PyPI, created on first use and reused while the requirement is unchanged. `None`, after
/// saying so loudly, when `python3` is not on PATH; `what` names the test that then skips.
pub fn python_venv(name: &str, requirement: &str, what: &str) -> Option<PathBuf> {
    let found = Command::new("python3").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "\n*** SKIPPED {what}: python3 is not on PATH. Install Python 3 to run it. ***\n"
        );
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let stamp = dir.join("phigate-venv-ready");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirement) {
        return Some(dir);
    }
    eprintln!(
        "creating {} and installing {requirement} from PyPI",
        dir.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(dir.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "-q", requirement])
        .status()
        .unwrap();
    assert!(status.success(), "pip install {requirement} failed");
    std::fs::write(&stamp, requirement).unwrap();
    Some(dir)
}
