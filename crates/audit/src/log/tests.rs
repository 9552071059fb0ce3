use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use rusqlite::params;

use super::*;
use crate::event::tests::sample;
use crate::{VerifyReport, verify_consistency, verify_inclusion};

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

    /// A second connection, as an attacker with the file would have, with the guard
    /// triggers dropped.
    fn tamper(&self, sql: &str) -> TestResult {
        let conn = Connection::open(self.db())?;
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_entries_no_update;
             DROP TRIGGER IF EXISTS audit_entries_no_delete;",
        )?;
        conn.execute_batch(sql)?;
        Ok(())
    }

    fn reopen(&self) -> Result<AuditLog, AuditError> {
        AuditLog::open(
            &self.db(),
            CheckpointSigner::load_or_create(&self.key())?,
            "test-log",
        )
    }
}

fn fixture_with(entries: u64) -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key"))?;
    let log = AuditLog::open(&dir.path().join("audit.db"), signer, "test-log")?;
    for n in 0..entries {
        let mut event = sample();
        event.request_id = Some(format!("req-{n}"));
        log.append(event)?;
    }
    Ok(Fixture { dir, log })
}

fn assert_fails_at(report: &VerifyReport, seq: u64) {
    assert!(!report.ok, "verification passed: {report}");
    assert_eq!(report.first_bad, Some(seq), "{report}");
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
    assert_eq!(entries[0].event.request_id.as_deref(), Some("req-2"));
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
fn editing_a_stored_entry_is_caught_at_that_entry() -> TestResult {
    let f = fixture_with(20)?;
    // One word of one entry changes; its hashes are left as they were.
    f.tamper(
        "UPDATE audit_entries
         SET body = CAST(REPLACE(CAST(body AS TEXT), 'clinician', 'physician') AS BLOB)
         WHERE seq = 7",
    )?;
    assert_fails_at(&f.log.verify()?, 7);
    Ok(())
}

#[test]
fn deleting_an_entry_is_caught_at_that_entry() -> TestResult {
    let f = fixture_with(20)?;
    f.tamper("DELETE FROM audit_entries WHERE seq = 11")?;
    let report = f.log.verify()?;
    assert_fails_at(&report, 11);
    assert!(report.to_string().contains("FAILED at entry 11"));
    Ok(())
}

#[test]
fn swapping_two_entries_is_caught_at_the_first_of_them() -> TestResult {
    let f = fixture_with(20)?;
    f.tamper(
        "UPDATE audit_entries SET seq = -1 WHERE seq = 4;
         UPDATE audit_entries SET seq = 4 WHERE seq = 9;
         UPDATE audit_entries SET seq = 9 WHERE seq = -1;",
    )?;
    assert_fails_at(&f.log.verify()?, 4);
    Ok(())
}

#[test]
fn truncating_below_the_last_checkpoint_is_caught_where_the_cut_was() -> TestResult {
    let f = fixture_with(150)?;
    f.log.checkpoint()?;
    f.tamper("DELETE FROM audit_entries WHERE seq >= 140")?;
    assert_fails_at(&f.log.verify()?, 140);
    Ok(())
}

#[test]
fn removing_the_signed_checkpoints_is_caught() -> TestResult {
    // Without its checkpoints, a rewritten history would check out entry by entry; the log
    // writes one every CHECKPOINT_INTERVAL entries, so their absence is itself evidence.
    let f = fixture_with(250)?;
    let conn = Connection::open(f.db())?;
    conn.execute_batch("DELETE FROM audit_checkpoints")?;
    let report = f.log.verify()?;
    assert_fails_at(&report, 0);
    assert!(
        report.to_string().contains("checkpoints removed"),
        "{report}"
    );

    // Keeping only the first leaves entries 100..200 unvouched.
    let g = fixture_with(250)?;
    let conn = Connection::open(g.db())?;
    conn.execute_batch("DELETE FROM audit_checkpoints WHERE size > 100")?;
    assert_fails_at(&g.log.verify()?, 100);
    Ok(())
}

#[test]
fn rewriting_an_entry_and_every_later_hash_is_caught_by_the_checkpoint() -> TestResult {
    let f = fixture_with(120)?;
    // The attacker rewrites entry 105 and recomputes its leaf hash and every chain hash after
    // it, so the entry checks pass; only the checkpoint at 100 and the new one at 120 remain.
    f.log.checkpoint()?;
    let conn = Connection::open(f.db())?;
    conn.execute_batch("DROP TRIGGER audit_entries_no_update;")?;
    let entries = f.log.entries(105, 100)?;
    let mut prev = entries[0].prev_hash;
    for (offset, entry) in entries.iter().enumerate() {
        let mut event = entry.event.clone();
        if offset == 0 {
            event.detail = Some("rewritten".into());
        }
        let body = encode_entry(entry.seq, event)?;
        let leaf = merkle::leaf_hash(&body);
        let chain = chain_hash(&prev, &leaf);
        conn.execute(
            "UPDATE audit_entries SET body = ?1, prev_hash = ?2, leaf_hash = ?3, chain_hash = ?4
             WHERE seq = ?5",
            params![body, prev, leaf, chain, to_i64(entry.seq)],
        )?;
        prev = chain;
    }
    let report = f.log.verify()?;
    assert!(!report.ok, "{report}");
    assert_eq!(
        report.first_bad,
        Some(100),
        "the last good checkpoint vouches for 0..100"
    );
    Ok(())
}

#[test]
fn the_database_itself_refuses_updates_and_deletes() -> TestResult {
    let f = fixture_with(2)?;
    let conn = Connection::open(f.db())?;
    assert!(
        conn.execute("UPDATE audit_entries SET body = x'00' WHERE seq = 0", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit_entries", []).is_err());
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
    assert!(f.log.append(event).is_err());
    assert_eq!(f.log.len()?, 1);
    Ok(())
}

#[test]
fn concurrent_appends_get_distinct_consecutive_numbers() -> TestResult {
    let f = fixture_with(0)?;
    let log = Arc::new(f.log);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let log = Arc::clone(&log);
            thread::spawn(move || -> Result<Vec<u64>, AuditError> {
                (0..10)
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
    assert_eq!(seqs, (0..40).collect::<Vec<_>>());
    assert!(log.verify()?.ok);
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
