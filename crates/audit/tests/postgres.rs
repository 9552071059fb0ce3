//! The log on PostgreSQL (`127.0.0.1:5432`, trust authentication, database `test`): each test
//! creates its own schema and application role, and drops both afterwards.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests"
)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use phigate_audit::postgres::create_schema;
use phigate_audit::{
    Action, Actor, AuditEvent, AuditLog, CheckpointSigner, Failure, LogOptions, Outcome, Query,
    verify_inclusion,
};
use postgres::{Client, NoTls};

const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A schema and a role of this test's own, dropped when it ends.
struct Scratch {
    schema: String,
    role: String,
    _dir: tempfile::TempDir,
    signer_path: std::path::PathBuf,
}

impl Scratch {
    /// `None` when no PostgreSQL server answers: the test then says so loudly and passes, unless
    /// `POSTGRES_TESTS_REQUIRED` is set (as `.ci/run` does), when it fails.
    fn new(tag: &str) -> Option<Self> {
        let mut admin = match Client::connect(ADMIN, NoTls) {
            Ok(client) => client,
            Err(_) => {
                assert!(
                    std::env::var_os("POSTGRES_TESTS_REQUIRED").is_none(),
                    "POSTGRES_TESTS_REQUIRED is set but no PostgreSQL answers at 127.0.0.1:5432"
                );
                eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
                return None;
            }
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let unique = format!("{tag}_{}_{nanos}", std::process::id());
        let schema = format!("audit_test_{unique}");
        let role = format!("audit_app_{unique}");
        admin
            .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
            .unwrap();
        create_schema(&mut admin, &schema, &role).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let signer_path = dir.path().join("audit.key");
        Some(Self {
            schema,
            role,
            _dir: dir,
            signer_path,
        })
    }

    fn app_url(&self) -> String {
        format!("host=127.0.0.1 port=5432 user={} dbname=test", self.role)
    }

    fn open(&self) -> AuditLog {
        let signer = CheckpointSigner::load_or_create(&self.signer_path).unwrap();
        AuditLog::open_postgres(
            &self.app_url(),
            &self.schema,
            signer,
            "pg/audit",
            LogOptions::default(),
        )
        .unwrap()
    }

    fn admin(&self) -> Client {
        let mut admin = Client::connect(ADMIN, NoTls).unwrap();
        admin
            .batch_execute(&format!("SET search_path TO {}", self.schema))
            .unwrap();
        admin
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(ADMIN, NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE; DROP OWNED BY {role}; DROP ROLE IF EXISTS {role};",
                self.schema,
                role = self.role
            ));
        }
    }
}

fn event(n: u64) -> AuditEvent {
    let actor = Actor {
        user_id: format!("user-{}", n % 3),
        role: "clinician".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::Disclosure, Outcome::Success);
    event.request_id = Some(format!("req-{n}"));
    event.patient_ref = Some(format!("{:064x}", n % 2));
    event
}

#[test]
fn the_log_on_postgres_appends_concurrently_verifies_searches_and_proves() {
    let Some(scratch) = Scratch::new("main") else {
        return;
    };
    let log = Arc::new(scratch.open());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for n in 0..30 {
                    log.append(event(t * 100 + n)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = log.verify().unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(report.entries, 240);
    assert_eq!(report.checkpoints_checked, 2);

    let found = log
        .search(&Query {
            user_id: Some("user-1".into()),
            patient_ref: Some(format!("{:064x}", 1)),
            limit: 1000,
            ..Query::default()
        })
        .unwrap();
    assert!(!found.is_empty());
    assert!(found.iter().all(|e| {
        let event = e.event.as_ref().unwrap();
        event.actor.user_id == "user-1" && event.patient_ref == Some(format!("{:064x}", 1))
    }));

    let checkpoint = log.checkpoints().unwrap().pop().unwrap();
    let proof = log.inclusion_proof(17, checkpoint.size).unwrap();
    let leaf = log.entries(17, 1).unwrap()[0].leaf_hash;
    assert!(verify_inclusion(
        &leaf,
        17,
        checkpoint.size,
        &proof,
        &checkpoint.root
    ));

    // A second handle (another replica) continues the same chain.
    let other = scratch.open();
    assert_eq!(other.append(event(999)).unwrap().seq, 240);
    assert!(log.verify().unwrap().ok);
}

#[test]
fn the_application_role_may_not_update_delete_or_truncate() {
    let Some(scratch) = Scratch::new("perm") else {
        return;
    };
    let log = scratch.open();
    for n in 0..3 {
        log.append(event(n)).unwrap();
    }
    log.checkpoint().unwrap();
    let mut app = Client::connect(&scratch.app_url(), NoTls).unwrap();
    let schema = &scratch.schema;
    for statement in [
        format!("UPDATE {schema}.audit_log SET user_id = 'x' WHERE seq = 0"),
        format!("DELETE FROM {schema}.audit_log WHERE seq = 0"),
        format!("TRUNCATE {schema}.audit_log"),
        format!("UPDATE {schema}.audit_checkpoints SET note = ''"),
        format!("DELETE FROM {schema}.audit_checkpoints"),
        format!("TRUNCATE {schema}.audit_checkpoints"),
        format!("DROP TABLE {schema}.audit_log"),
    ] {
        let err = app.batch_execute(&statement).unwrap_err();
        let code = err.code().map(|c| c.code().to_owned());
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{statement}: expected insufficient_privilege, got {err}"
        );
    }
    assert_eq!(log.len().unwrap(), 3);
    assert!(log.verify().unwrap().ok);
}

#[test]
fn tampering_by_the_schema_owner_is_caught_and_named() {
    let Some(scratch) = Scratch::new("tamper") else {
        return;
    };
    let log = scratch.open();
    for n in 0..20 {
        log.append(event(n)).unwrap();
    }
    let mut admin = scratch.admin();
    admin
        .batch_execute(
            "UPDATE audit_log SET body = convert_to(replace(convert_from(body, 'UTF8'),
             'clinician', 'physician'), 'UTF8') WHERE seq = 7",
        )
        .unwrap();
    let report = log.verify().unwrap();
    assert_eq!(report.first_bad, Some(7), "{report}");
    assert_eq!(report.failure, Some(Failure::Modified), "{report}");
    admin
        .batch_execute("DELETE FROM audit_log WHERE seq = 3")
        .unwrap();
    let report = log.verify().unwrap();
    assert_eq!(report.first_bad, Some(3), "{report}");
    assert_eq!(report.failure, Some(Failure::Missing), "{report}");
}

#[test]
fn the_postgres_log_works_inside_an_async_runtime() {
    // The synchronous client panics when used, created or dropped on a runtime thread; the
    // log keeps every call on threads of its own.
    let Some(scratch) = Scratch::new("rt") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let log = scratch.open();
        log.append(event(1)).unwrap();
        assert_eq!(log.len().unwrap(), 1);
        assert!(log.verify().unwrap().ok);
        drop(log);
    });
}

#[test]
fn pruning_on_postgres_needs_the_owner_and_keeps_the_log_verifiable() {
    let Some(scratch) = Scratch::new("prune") else {
        return;
    };
    let log = scratch.open();
    let now = time::OffsetDateTime::now_utc();
    for n in 0..15 {
        let mut old = event(n);
        if n < 10 {
            old.time = now - time::Duration::days(3000);
        }
        log.append(old).unwrap();
    }
    log.checkpoint().unwrap();
    let cutoff = now - time::Duration::days(2192);
    let actor = event(0).actor;

    // The application role can neither prune nor record a prune point of its own.
    assert!(matches!(
        log.prune(cutoff, actor.clone()),
        Err(phigate_audit::AuditError::NeedsOwner(_))
    ));
    assert!(
        log.prune_with(cutoff, actor.clone(), Some(&scratch.app_url()))
            .is_err()
    );
    let mut app = Client::connect(&scratch.app_url(), NoTls).unwrap();
    let forged = app.execute(
        &format!(
            "INSERT INTO {}.audit_prunes (below_seq, pruned_at) VALUES (1000, 0)",
            scratch.schema
        ),
        &[],
    );
    assert!(
        forged.is_err(),
        "the application role may not move the prune point"
    );
    assert_eq!(
        log.entries(0, 100).unwrap()[0]
            .event
            .as_ref()
            .unwrap()
            .request_id
            .as_deref(),
        Some("req-0")
    );

    // The owner's connection prunes; the log still verifies and the prune is recorded.
    let cleared = log.prune_with(cutoff, actor, Some(ADMIN)).unwrap();
    assert_eq!(cleared, 10);
    let entries = log.entries(0, 100).unwrap();
    assert!(entries[..10].iter().all(|e| e.event.is_none()));
    assert!(entries[10..15].iter().all(|e| e.event.is_some()));
    assert_eq!(
        entries.last().unwrap().event.as_ref().unwrap().action,
        Action::Retention
    );
    let report = log.verify().unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(report.pruned, 10);
    let found = log
        .search(&Query {
            limit: 100,
            ..Query::default()
        })
        .unwrap();
    assert!(found.iter().all(|e| e.seq >= 10));
}
