//! The audit log in PostgreSQL from the command line: `phigate audit init-postgres` creates the
//! schema as its owner for an application role that may only select and insert; the gateway's
//! commands run as that role; `phigate audit prune` needs the owner's connection.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (trust authentication, database `test`); without one the
//! test says so and passes, unless `POSTGRES_TESTS_REQUIRED` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failing step fails the test, and a skip must be visible"
)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use common::phigate;
use postgres::{Client, NoTls};

const OWNER: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A role and schema of this test's own, dropped at the end.
struct Scratch {
    role: String,
    schema: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut owner) = Client::connect(OWNER, NoTls) {
            let _ = owner.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE; DROP OWNED BY {role}; DROP ROLE IF EXISTS {role};",
                self.schema,
                role = self.role
            ));
        }
    }
}

fn scratch() -> Option<Scratch> {
    let Ok(mut owner) = Client::connect(OWNER, NoTls) else {
        assert!(
            std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
            "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
        );
        eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
        return None;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let unique = format!("{}_{nanos}", std::process::id());
    let scratch = Scratch {
        role: format!("cli_app_{unique}"),
        schema: format!("cli_audit_{unique}"),
    };
    owner
        .batch_execute(&format!("CREATE ROLE {} LOGIN", scratch.role))
        .unwrap();
    Some(scratch)
}

fn run(data: &Path, config: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    phigate(data, &all)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn init_postgres_creates_the_schema_and_only_the_owner_may_prune() {
    let Some(scratch) = scratch() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("pd");
    let config = data.path().join("pg.toml");
    let app_url = format!("host=127.0.0.1 port=5432 user={} dbname=test", scratch.role);
    std::fs::write(
        &config,
        format!(
            "[audit]\npostgres_url = \"{app_url}\"\npostgres_schema = \"{}\"\n",
            scratch.schema
        ),
    )
    .unwrap();

    let init = ["audit", "init-postgres", "--owner-url", OWNER, "--app-role"];
    let mut args = init.to_vec();
    args.push(&scratch.role);
    let created = run(&dir, &config, &args);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(String::from_utf8_lossy(&created.stdout).contains("select and insert only"));
    // Running it again changes nothing and succeeds.
    assert!(run(&dir, &config, &args).status.success());

    let initialised = run(&dir, &config, &["init"]);
    assert!(initialised.status.success(), "{}", stderr(&initialised));
    assert!(!dir.join("audit.db").exists(), "the log is in PostgreSQL");
    assert!(run(&dir, &config, &["token"]).status.success());

    // The application role cannot prune; the command says who can.
    let refused = run(&dir, &config, &["audit", "prune"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--owner-url"),
        "{}",
        stderr(&refused)
    );
    let as_app = run(&dir, &config, &["audit", "prune", "--owner-url", &app_url]);
    assert!(
        !as_app.status.success(),
        "the application role has no UPDATE"
    );

    let pruned = run(&dir, &config, &["audit", "prune", "--owner-url", OWNER]);
    assert!(pruned.status.success(), "{}", stderr(&pruned));
    assert!(String::from_utf8_lossy(&pruned.stdout).contains("pruned the bodies of 0 entries"));
    let tail = run(&dir, &config, &["audit", "tail", "-n", "1"]);
    assert!(String::from_utf8_lossy(&tail.stdout).contains("retention"));
    let verified = run(&dir, &config, &["audit", "verify"]);
    assert!(verified.status.success(), "{}", stderr(&verified));

    // An unknown application role is refused by the server, by name of the step.
    let mut args = init.to_vec();
    args.push("no_such_role_here");
    let bad = run(&dir, &config, &args);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("cannot create the audit schema"));
}
