//! `append_async`: the same durability and numbering as `append`, answered without a thread.

use std::sync::Arc;

use rusqlite::Connection;

use super::*;
use crate::event::tests::sample;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn open(dir: &tempfile::TempDir) -> Result<AuditLog, AuditError> {
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key"))?;
    AuditLog::open_with(
        &dir.path().join("audit.db"),
        signer,
        "test-log",
        LogOptions::default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_and_blocking_appends_share_one_numbering_and_all_verify() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(open(&dir)?);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for _ in 0..10 {
                    seqs.push(log.append_async(sample()).await?.seq);
                }
                Ok::<_, AuditError>(seqs)
            })
        })
        .collect();
    let blocking = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || -> Result<Vec<u64>, AuditError> {
            (0..80)
                .map(|_| log.append(sample()).map(|r| r.seq))
                .collect()
        })
    };
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.extend(task.await??);
    }
    seqs.extend(
        blocking
            .join()
            .map_err(|_| "the blocking appender panicked")??,
    );
    seqs.sort_unstable();
    assert_eq!(seqs, (0..400).collect::<Vec<_>>());
    let report = log.verify()?;
    assert!(report.ok, "{report}");
    // Every acknowledged entry is in the file, read back by a log opened afresh.
    drop(log);
    assert_eq!(open(&dir)?.len()?, 400);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_batch_cannot_be_committed_every_awaiting_task_gets_the_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(open(&dir)?);
    log.append_async(sample()).await?;
    // Another process holds the write lock for longer than the busy timeout.
    let blocker = Connection::open(dir.path().join("audit.db"))?;
    blocker.execute_batch("BEGIN EXCLUSIVE")?;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let log = Arc::clone(&log);
            tokio::spawn(async move { log.append_async(sample()).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await?, Err(AuditError::BatchFailed(_))));
    }
    blocker.execute_batch("ROLLBACK")?;
    assert_eq!(log.append_async(sample()).await?.seq, 1);
    assert!(log.verify()?.ok);
    Ok(())
}

#[tokio::test]
async fn a_refused_event_is_refused_before_it_is_queued() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = open(&dir)?;
    let mut event = sample();
    event.patient_ref = Some("Jane Doe".into());
    assert!(matches!(
        log.append_async(event).await,
        Err(AuditError::InvalidEvent(_))
    ));
    assert_eq!(log.len()?, 0);
    Ok(())
}
