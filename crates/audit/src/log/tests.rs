use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use rusqlite::params;

use super::*;
use crate::event::encode_entry;
use crate::event::tests::sample;
use crate::store::to_i64;
use crate::{Action, Failure, VerifyReport, verify_consistency, verify_inclusion};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    dir: tempfile::TempDir,
    log: AuditLog,
}

impl Fixture {
    fn db(&self) -> PathBuf {
        self.dir.path().join("audit.db")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("audit.key")
    }

    fn witness(&self) -> PathBuf {
        self.dir.path().join("witness.txt")
    }

    /// A second connection, as an attacker with the file would have, with the guard
    /// triggers dropped.
    fn tamper(&self, sql: &str) -> TestResult {
        let conn = Connection::open(self.db())?;
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_log_no_update;
             DROP TRIGGER IF EXISTS audit_log_no_delete;
             DROP TRIGGER IF EXISTS audit_checkpoints_no_update;
             DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;",
        )?;
        conn.execute_batch(sql)?;
        Ok(())
    }

    fn reopen(&self) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(
            &self.db(),
            CheckpointSigner::load_or_create(&self.key())?,
            "test-log",
            self.log.options().clone(),
        )
    }
}

fn fixture_with(entries: u64) -> Result<Fixture, Box<dyn std::error::Error>> {
    fixture_with_options(entries, |_| {})
}

fn fixture_with_options(
    entries: u64,
    configure: impl FnOnce(&mut LogOptions),
) -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key"))?;
    let mut options = LogOptions::default();
    configure(&mut options);
    if let Some(name) = options.witness_file.take() {
        options.witness_file = Some(dir.path().join(name));
    }
    let log = AuditLog::open_with(&dir.path().join("audit.db"), signer, "test-log", options)?;
    for n in 0..entries {
        let mut event = sample();
        event.request_id = Some(format!("req-{n}"));
        log.append(event)?;
    }
    Ok(Fixture { dir, log })
}

fn assert_fails_at(report: &VerifyReport, seq: u64, failure: Failure) {
    assert!(!report.ok, "verification passed: {report}");
    assert_eq!(report.first_bad, Some(seq), "{report}");
    assert_eq!(report.failure, Some(failure), "{report}");
    assert!(
        report
            .to_string()
            .contains(&format!("FAILED at entry {seq}: {failure}")),
        "{report}"
    );
}

fn event_of(entry: &AuditEntry) -> Result<&AuditEvent, &'static str> {
    entry.event.as_ref().ok_or("the entry was pruned")
}

#[test]
fn appended_entries_verify_with_automatic_checkpoints() -> TestResult {
    let f = fixture_with(250)?;
    let report = f.log.verify()?;
    assert!(report.ok, "{report}");
    assert_eq!(report.entries, 250);
    assert_eq!(report.checkpoints_checked, 2);
    assert!(report.to_string().starts_with("audit log OK: 250 entries"));
    Ok(())
}

#[test]
fn appends_are_numbered_from_zero_and_read_back_in_order() -> TestResult {
    let f = fixture_with(5)?;
    let receipt = f.log.append(sample())?;
    assert_eq!(receipt.seq, 5);
    let entries = f.log.entries(2, 10)?;
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [2, 3, 4, 5]
    );
    assert_eq!(event_of(&entries[0])?.request_id.as_deref(), Some("req-2"));
    assert_eq!(entries[3].leaf_hash, receipt.leaf_hash);
    assert_eq!(entries[1].prev_hash, entries[0].chain_hash);
    Ok(())
}

#[test]
fn appended_entries_survive_reopening() -> TestResult {
    let f = fixture_with(3)?;
    f.log.append(sample())?;
    let reopened = f.reopen()?;
    assert_eq!(reopened.len()?, 4);
    assert_eq!(reopened.append(sample())?.seq, 4);
    assert!(reopened.verify()?.ok);
    Ok(())
}

#[test]
fn two_logs_on_one_file_interleave_without_forking_the_chain() -> TestResult {
    // Two processes (here two handles with their own committers) share the file.
    let f = fixture_with(3)?;
    let other = f.reopen()?;
    for n in 0..20 {
        let log = if n % 2 == 0 { &f.log } else { &other };
        assert_eq!(log.append(sample())?.seq, 3 + n);
    }
    let report = f.log.verify()?;
    assert!(report.ok, "{report}");
    Ok(())
}

#[test]
fn editing_a_stored_entry_is_caught_at_that_entry_as_modified() -> TestResult {
    let f = fixture_with(20)?;
    // One word of one entry changes; its hashes are left as they were.
    f.tamper(
        "UPDATE audit_log
         SET body = CAST(REPLACE(CAST(body AS TEXT), 'clinician', 'physician') AS BLOB)
         WHERE seq = 7",
    )?;
    assert_fails_at(&f.log.verify()?, 7, Failure::Modified);
    Ok(())
}

#[test]
fn editing_a_search_column_is_caught_as_modified() -> TestResult {
    // Hiding an entry from searches by its user would otherwise pass the hash checks.
    let f = fixture_with(20)?;
    f.tamper("UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 12")?;
    assert_fails_at(&f.log.verify()?, 12, Failure::Modified);
    Ok(())
}

#[test]
fn deleting_an_entry_is_caught_at_that_entry_as_missing() -> TestResult {
    let f = fixture_with(20)?;
    f.tamper("DELETE FROM audit_log WHERE seq = 11")?;
    assert_fails_at(&f.log.verify()?, 11, Failure::Missing);
    Ok(())
}

#[test]
fn swapping_two_entries_is_caught_at_the_first_of_them_as_reordered() -> TestResult {
    let f = fixture_with(20)?;
    f.tamper(
        "UPDATE audit_log SET seq = -1 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = 9;
         UPDATE audit_log SET seq = 9 WHERE seq = -1;",
    )?;
    assert_fails_at(&f.log.verify()?, 4, Failure::Reordered);
    Ok(())
}

#[test]
fn truncating_below_a_checkpoint_is_caught_where_the_cut_was() -> TestResult {
    let f = fixture_with(150)?;
    f.log.checkpoint()?;
    f.tamper("DELETE FROM audit_log WHERE seq >= 140")?;
    assert_fails_at(&f.log.verify()?, 140, Failure::Truncated);
    Ok(())
}

#[test]
fn truncating_with_the_checkpoints_is_caught_by_the_witness_file() -> TestResult {
    let f = fixture_with_options(250, |o| o.witness_file = Some("witness.txt".into()))?;
    assert!(f.log.verify()?.ok);
    // The attacker cuts the log back to 150 and removes every checkpoint past that: the log
    // alone looks whole, but the witness kept the checkpoint of 200 entries.
    f.tamper(
        "DELETE FROM audit_log WHERE seq >= 150;
         DELETE FROM audit_checkpoints WHERE size > 150;",
    )?;
    let report = f.log.verify()?;
    assert_fails_at(&report, 150, Failure::Truncated);
    assert!(
        report.problem.as_deref().unwrap_or("").contains("witness"),
        "{report}"
    );

    let without_witness = fixture_with(0)?;
    drop(without_witness);
    Ok(())
}

#[test]
fn the_witness_file_holds_every_checkpoint_as_a_verifiable_note() -> TestResult {
    let f = fixture_with_options(250, |o| o.witness_file = Some("witness.txt".into()))?;
    f.log.checkpoint()?;
    let notes = witness::read_notes(&f.witness())?;
    let sizes: Vec<u64> = notes
        .iter()
        .map(|note| Checkpoint::from_note(note).map(|c| c.size))
        .collect::<Result<_, _>>()?;
    assert_eq!(sizes, [100, 200, 250]);
    for note in &notes {
        Checkpoint::from_note(note)?.verify(&f.log.public_key_hex())?;
    }
    let report = f.log.verify()?;
    assert!(report.ok, "{report}");
    assert_eq!(report.witness_checked, 3);
    Ok(())
}

#[test]
fn a_forged_checkpoint_is_caught_as_a_bad_signature() -> TestResult {
    let f = fixture_with(250)?;
    // The attacker rewrites the checkpoint of 200 entries to a root of their choosing, keeping
    // its old signature.
    let checkpoints = f.log.checkpoints()?;
    let mut forged = checkpoints[1].clone();
    forged.root = [9u8; 32];
    f.tamper(&format!(
        "DELETE FROM audit_checkpoints WHERE size = 200;
         INSERT INTO audit_checkpoints (size, note) VALUES (200, '{}');",
        forged.to_note()
    ))?;
    let report = f.log.verify()?;
    assert_fails_at(&report, 100, Failure::BadSignature);
    Ok(())
}

#[test]
fn a_forged_witness_note_is_caught_as_a_bad_signature() -> TestResult {
    let f = fixture_with_options(120, |o| o.witness_file = Some("witness.txt".into()))?;
    let text = std::fs::read_to_string(f.witness())?;
    std::fs::write(f.witness(), text.replacen("\n100\n", "\n90\n", 1))?;
    assert_fails_at(&f.log.verify()?, 0, Failure::BadSignature);
    Ok(())
}

#[test]
fn removing_the_signed_checkpoints_is_caught() -> TestResult {
    // Without its checkpoints, a rewritten history would check out entry by entry; the log
    // signs one whenever CHECKPOINT_INTERVAL entries are uncovered, so their absence is
    // itself evidence.
    let f = fixture_with(250)?;
    f.tamper("DELETE FROM audit_checkpoints")?;
    let report = f.log.verify()?;
    assert_fails_at(&report, 0, Failure::Unvouched);
    assert!(
        report.to_string().contains("checkpoints removed"),
        "{report}"
    );

    // Keeping only the first leaves entries 100..200 unvouched.
    let g = fixture_with(250)?;
    g.tamper("DELETE FROM audit_checkpoints WHERE size > 100")?;
    assert_fails_at(&g.log.verify()?, 100, Failure::Unvouched);
    Ok(())
}

#[test]
fn rewriting_an_entry_and_every_later_hash_is_caught_by_the_checkpoint() -> TestResult {
    let f = fixture_with(120)?;
    // The attacker rewrites entry 105 and recomputes its leaf hash and every chain hash after
    // it, so the entry checks pass; only the checkpoint at 100 and the new one at 120 remain.
    f.log.checkpoint()?;
    f.tamper("")?;
    let conn = Connection::open(f.db())?;
    let entries = f.log.entries(105, 100)?;
    let mut prev = entries[0].prev_hash;
    for (offset, entry) in entries.iter().enumerate() {
        let mut event = event_of(entry)?.clone();
        if offset == 0 {
            event.detail = Some("rewritten".into());
        }
        let body = encode_entry(entry.seq, event)?;
        let leaf = merkle::leaf_hash(&body);
        let chain = chain_hash(&prev, &leaf);
        conn.execute(
            "UPDATE audit_log SET body = ?1, prev_hash = ?2, leaf_hash = ?3, chain_hash = ?4
             WHERE seq = ?5",
            params![body, prev, leaf, chain, to_i64(entry.seq)],
        )?;
        prev = chain;
    }
    let report = f.log.verify()?;
    assert_fails_at(&report, 100, Failure::Modified);
    Ok(())
}

#[test]
fn the_database_itself_refuses_updates_and_deletes() -> TestResult {
    let f = fixture_with(2)?;
    f.log.checkpoint()?;
    let conn = Connection::open(f.db())?;
    assert!(
        conn.execute("UPDATE audit_log SET body = x'00' WHERE seq = 0", [])
            .is_err()
    );
    assert!(
        conn.execute("UPDATE audit_log SET body = NULL WHERE seq = 0", [])
            .is_err(),
        "clearing a body is only for entries below a recorded prune point"
    );
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    assert!(conn.execute("DELETE FROM audit_checkpoints", []).is_err());
    Ok(())
}

#[test]
fn proofs_from_the_log_verify_against_its_checkpoints_for_sizes_1_to_33() -> TestResult {
    let f = fixture_with(0)?;
    let mut checkpoints = Vec::new();
    for _ in 0..33 {
        f.log.append(sample())?;
        checkpoints.push(f.log.checkpoint()?);
    }
    let leaves: Vec<Hash> = f.log.entries(0, 33)?.iter().map(|e| e.leaf_hash).collect();

    for new in &checkpoints {
        new.verify(&f.log.public_key_hex())?;
        assert_eq!(f.log.root_at(new.size)?, new.root);
        for seq in 0..new.size {
            let proof = f.log.inclusion_proof(seq, new.size)?;
            let leaf = &leaves[index(seq)];
            assert!(verify_inclusion(leaf, seq, new.size, &proof, &new.root));
            assert!(!verify_inclusion(
                &leaf_of(b"forged"),
                seq,
                new.size,
                &proof,
                &new.root
            ));
        }
        for old in checkpoints.iter().take_while(|old| old.size <= new.size) {
            let proof = f.log.consistency_proof(old.size, new.size)?;
            assert!(verify_consistency(
                old.size, new.size, &old.root, &new.root, &proof
            ));
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                bad[0] = leaf_of(first);
                assert!(!verify_consistency(
                    old.size, new.size, &old.root, &new.root, &bad
                ));
            }
        }
    }
    Ok(())
}

fn leaf_of(bytes: &[u8]) -> Hash {
    merkle::leaf_hash(bytes)
}

#[test]
fn proofs_outside_the_log_are_refused() -> TestResult {
    let f = fixture_with(4)?;
    assert!(matches!(
        f.log.inclusion_proof(4, 4),
        Err(AuditError::OutOfRange { .. })
    ));
    assert!(matches!(
        f.log.inclusion_proof(0, 5),
        Err(AuditError::OutOfRange { .. })
    ));
    assert!(matches!(
        f.log.consistency_proof(0, 4),
        Err(AuditError::OutOfRange { .. })
    ));
    assert!(matches!(
        f.log.consistency_proof(3, 5),
        Err(AuditError::OutOfRange { .. })
    ));
    Ok(())
}

#[test]
fn a_log_refuses_another_origin_or_signing_key() -> TestResult {
    let f = fixture_with(1)?;
    let signer = CheckpointSigner::load_or_create(&f.key())?;
    let err = AuditLog::open(&f.db(), signer, "other-log").err();
    assert!(matches!(err, Some(AuditError::OriginMismatch { .. })));

    let other = CheckpointSigner::load_or_create(&f.dir.path().join("other.key"))?;
    let err = AuditLog::open(&f.db(), other, "test-log").err();
    assert!(matches!(err, Some(AuditError::SignerMismatch { .. })));
    Ok(())
}

#[test]
fn a_refused_event_writes_nothing() -> TestResult {
    let f = fixture_with(1)?;
    let mut event = sample();
    event.patient_ref = Some("Jane Doe".into());
    assert!(matches!(
        f.log.append(event),
        Err(AuditError::InvalidEvent(_))
    ));
    assert_eq!(f.log.len()?, 1);
    Ok(())
}

#[test]
fn concurrent_appends_get_distinct_consecutive_numbers_in_shared_batches() -> TestResult {
    let f = fixture_with(0)?;
    let log = Arc::new(f.log);
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let log = Arc::clone(&log);
            thread::spawn(move || -> Result<Vec<u64>, AuditError> {
                (0..50)
                    .map(|_| log.append(sample()).map(|r| r.seq))
                    .collect()
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for handle in handles {
        seqs.extend(
            handle
                .join()
                .map_err(|_| "an appending thread panicked")??,
        );
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..800).collect::<Vec<_>>());
    let report = log.verify()?;
    assert!(report.ok, "{report}");
    // A checkpoint for every 100 entries, wherever the batches fell.
    assert_eq!(report.checkpoints_checked, 8);
    Ok(())
}

#[test]
fn when_a_batch_cannot_be_committed_every_waiter_gets_the_error() -> TestResult {
    let f = fixture_with(1)?;
    // Another process holds the write lock for longer than the busy timeout.
    let blocker = Connection::open(f.db())?;
    blocker.execute_batch("BEGIN EXCLUSIVE")?;
    let log = Arc::new(f.log);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let log = Arc::clone(&log);
            thread::spawn(move || log.append(sample()))
        })
        .collect();
    for handle in handles {
        let result = handle.join().map_err(|_| "an appending thread panicked")?;
        assert!(matches!(result, Err(AuditError::BatchFailed(_))));
    }
    blocker.execute_batch("ROLLBACK")?;
    // Nothing was half-written, and the log goes on where it was.
    assert_eq!(log.append(sample())?.seq, 1);
    assert!(log.verify()?.ok);
    Ok(())
}

#[test]
fn a_checkpoint_is_signed_after_the_time_limit_without_one() -> TestResult {
    let f = fixture_with_options(3, |o| o.checkpoint_after = Duration::from_millis(100))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while f.log.checkpoints()?.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no timed checkpoint");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(f.log.checkpoints()?[0].size, 3);
    // Nothing new, nothing more to sign.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(f.log.checkpoints()?.len(), 1);
    Ok(())
}

#[test]
fn stored_checkpoints_are_listed_and_verify() -> TestResult {
    let f = fixture_with(100)?;
    let manual = f.log.checkpoint()?;
    let listed = f.log.checkpoints()?;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], manual);
    for checkpoint in listed {
        assert_eq!(checkpoint.size, 100);
        checkpoint.verify(&f.log.public_key_hex())?;
    }
    Ok(())
}

#[test]
fn searches_match_user_patient_action_and_time() -> TestResult {
    let f = fixture_with(0)?;
    let patient = "ab".repeat(32);
    for n in 0..6u8 {
        let mut event = sample();
        event.actor.user_id = format!("u-{}", n % 2);
        event.action = if n % 3 == 0 {
            Action::Disclosure
        } else {
            Action::Read
        };
        event.patient_ref = (n < 4).then(|| patient.clone());
        event.time += time::Duration::hours(i64::from(n));
        f.log.append(event)?;
    }
    let seqs = |query: Query| -> Result<Vec<u64>, AuditError> {
        Ok(f.log.search(&query)?.iter().map(|e| e.seq).collect())
    };
    let all = Query {
        limit: 100,
        ..Query::default()
    };
    assert_eq!(seqs(all.clone())?, [0, 1, 2, 3, 4, 5]);
    let by_user = Query {
        user_id: Some("u-1".into()),
        ..all.clone()
    };
    assert_eq!(seqs(by_user)?, [1, 3, 5]);
    let by_patient_and_action = Query {
        patient_ref: Some(patient.clone()),
        action: Some(Action::Disclosure),
        ..all.clone()
    };
    assert_eq!(seqs(by_patient_and_action)?, [0, 3]);
    let start = sample().time.unix_timestamp();
    let by_time = Query {
        since: Some(start + 3600),
        until: Some(start + 3 * 3600),
        ..all.clone()
    };
    assert_eq!(seqs(by_time)?, [1, 2]);
    let paged = Query {
        from_seq: 4,
        limit: 1,
        ..all
    };
    assert_eq!(seqs(paged)?, [4]);
    Ok(())
}

#[test]
fn pruning_clears_old_bodies_keeps_the_log_verifiable_and_is_itself_recorded() -> TestResult {
    let f = fixture_with(0)?;
    let old = sample().time - time::Duration::days(3000);
    for n in 0..250 {
        let mut event = sample();
        event.time = if n < 230 { old } else { sample().time };
        event.request_id = Some(format!("req-{n}"));
        f.log.append(event)?;
    }
    let root_before = f.log.root_at(200)?;
    let cutoff = sample().time - time::Duration::days(10);
    let cleared = f.log.prune(cutoff, sample().actor)?;
    // Entries 0..230 are old, but only 0..200 are covered by a checkpoint yet.
    assert_eq!(cleared, 200);

    let entries = f.log.entries(198, 4)?;
    assert!(entries[0].event.is_none() && entries[1].event.is_none());
    assert!(entries[2].event.is_some());
    let last = f.log.entries(250, 1)?;
    assert_eq!(event_of(&last[0])?.action, Action::Retention);

    let report = f.log.verify()?;
    assert!(report.ok, "{report}");
    assert_eq!(report.pruned, 200);
    assert_eq!(f.log.root_at(200)?, root_before);
    let proof = f.log.inclusion_proof(5, 200)?;
    assert!(verify_inclusion(
        &entries_leaf(&f, 5)?,
        5,
        200,
        &proof,
        &root_before
    ));
    assert!(
        f.log
            .search(&Query {
                limit: 1000,
                ..Query::default()
            })?
            .iter()
            .all(|e| e.seq >= 200)
    );

    // A pruned entry's leaf hash is still vouched for by the checkpoints.
    f.tamper("UPDATE audit_log SET leaf_hash = zeroblob(32) WHERE seq = 17")?;
    let report = f.log.verify()?;
    assert!(!report.ok, "{report}");
    // Clearing a body that was never pruned is caught.
    let g = fixture_with(20)?;
    g.tamper("UPDATE audit_log SET body = NULL, user_id = NULL, action = NULL WHERE seq = 3")?;
    assert_fails_at(&g.log.verify()?, 3, Failure::Modified);
    Ok(())
}

fn entries_leaf(f: &Fixture, seq: u64) -> Result<Hash, AuditError> {
    Ok(f.log.entries(seq, 1)?[0].leaf_hash)
}
