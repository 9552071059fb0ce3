use std::sync::{Arc, Mutex};

use super::*;
use crate::event::tests::sample;
use crate::{AuditLog, CheckpointSigner, LogOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Remembers what it was told: the action, and the sequence number or the failure.
#[derive(Default)]
struct Recorder(Mutex<Vec<(crate::Action, Result<u64, String>)>>);

impl AuditObserver for Recorder {
    fn appended(
        &self,
        event: &AuditEvent,
        outcome: Result<AppendReceipt, &AuditError>,
        _took: Duration,
    ) {
        let outcome = outcome.map(|r| r.seq).map_err(|e| e.to_string());
        if let Ok(mut seen) = self.0.lock() {
            seen.push((event.action, outcome));
        }
    }
}

fn open(dir: &std::path::Path) -> Result<AuditLog, AuditError> {
    let signer = CheckpointSigner::load_or_create(&dir.join("audit.key"))?;
    AuditLog::open_with(
        &dir.join("audit.db"),
        signer,
        "test-log",
        LogOptions::default(),
    )
}

#[test]
fn an_observer_hears_every_durable_append_with_its_sequence_number() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = open(dir.path())?;
    log.append(sample())?;
    let recorder = Arc::new(Recorder::default());
    log.observe(recorder.clone());
    log.append(sample())?;
    log.append(sample())?;
    let seen = recorder.0.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(
        seen,
        vec![
            (crate::Action::Disclosure, Ok(1)),
            (crate::Action::Disclosure, Ok(2))
        ]
    );
    assert_eq!(log.unsigned_entries()?, 3);
    log.checkpoint()?;
    assert_eq!(log.unsigned_entries()?, 0);
    Ok(())
}

#[test]
fn an_observer_hears_a_failed_store_but_not_an_invalid_event() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = open(dir.path())?;
    let recorder = Arc::new(Recorder::default());
    log.observe(recorder.clone());

    let mut invalid = sample();
    invalid.patient_ref = Some("MRN-1".into());
    assert!(log.append(invalid).is_err());

    // Someone removes the table under the running log: the store fails.
    rusqlite::Connection::open(dir.path().join("audit.db"))?
        .execute_batch("DROP TABLE audit_log;")?;
    assert!(log.append(sample()).is_err());
    let seen = recorder.0.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].1.is_err());
    Ok(())
}
