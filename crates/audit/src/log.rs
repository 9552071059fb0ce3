//! The append-only audit log: durable appends, checkpoints, listings and proofs.
//!
//! One connection behind a mutex serialises appends in this process; `BEGIN IMMEDIATE` does the
//! same across processes sharing the file. An append returns only after its transaction has
//! committed with `synchronous=FULL`, so a caller may rely on it before disclosing anything.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use phigate_crypto::sha256;
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::checkpoint::{CheckpointSigner, check_origin};
use crate::event::{decode_entry, encode_entry};
use crate::merkle::{self, Hash};
use crate::schema::{self, to_hash, to_i64, to_u64};
use crate::verify::{self, VerifyReport};
use crate::{AuditError, AuditEvent, Checkpoint};

/// A checkpoint is signed automatically after every this many appends.
pub const CHECKPOINT_INTERVAL: u64 = 100;

/// What an append returns: where the entry landed and what it hashed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// The entry's sequence number (its leaf index, from 0).
    pub seq: u64,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: Hash,
}

/// One stored entry with its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The sequence number (leaf index, from 0).
    pub seq: u64,
    /// What happened.
    pub event: AuditEvent,
    /// The chain hash of the previous entry (zeros for the first).
    pub prev_hash: Hash,
    /// `SHA-256(0x00 || stored bytes)`.
    pub leaf_hash: Hash,
    /// `SHA-256(prev_hash || leaf_hash)`.
    pub chain_hash: Hash,
}

/// The tamper-evident audit log in its own SQLite file.
pub struct AuditLog {
    conn: Mutex<Connection>,
    signer: CheckpointSigner,
    origin: String,
}

impl AuditLog {
    /// Opens or creates the log at `path`. A log remembers the origin and signing key it was
    /// created with and refuses to be opened with others.
    pub fn open(path: &Path, signer: CheckpointSigner, origin: &str) -> Result<Self, AuditError> {
        check_origin(origin)?;
        let conn = schema::open(path)?;

        let stored = schema::meta_or_insert(&conn, "origin", origin)?;
        if stored != origin {
            return Err(AuditError::OriginMismatch {
                stored,
                requested: origin.to_owned(),
            });
        }
        let stored = schema::meta_or_insert(&conn, "signer_public_key", &signer.public_key_hex())?;
        if stored != signer.public_key_hex() {
            return Err(AuditError::SignerMismatch {
                stored: hex_prefix(&stored),
                given: hex_prefix(&signer.public_key_hex()),
            });
        }

        Ok(Self {
            conn: Mutex::new(conn),
            signer,
            origin: origin.to_owned(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-transaction rolls the transaction back when it drops, so the connection
        // is still sound.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The log's origin (its name in checkpoints).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The hex public key that verifies this log's checkpoints.
    pub fn public_key_hex(&self) -> String {
        self.signer.public_key_hex()
    }

    /// Appends `event` durably and returns its position. Every `CHECKPOINT_INTERVAL` entries a
    /// checkpoint is signed in the same transaction.
    pub fn append(&self, event: AuditEvent) -> Result<AppendReceipt, AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;

        let (seq, prev_hash) = match schema::last_chain(&tx)? {
            Some((last, chain)) => (last.saturating_add(1), chain),
            None => (0, [0u8; 32]),
        };
        let body = encode_entry(seq, event)?;
        let leaf_hash = merkle::leaf_hash(&body);
        let chain_hash = chain_hash(&prev_hash, &leaf_hash);
        tx.execute(
            "INSERT INTO audit_entries (seq, body, prev_hash, leaf_hash, chain_hash)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![to_i64(seq), body, prev_hash, leaf_hash, chain_hash],
        )?;

        let size = seq + 1;
        if size % CHECKPOINT_INTERVAL == 0 {
            self.store_checkpoint(&tx, size)?;
        }
        tx.commit()?;
        Ok(AppendReceipt { seq, leaf_hash })
    }

    /// Signs and stores a checkpoint of the log as it is now.
    pub fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let size = schema::len(&tx)?;
        let checkpoint = self.store_checkpoint(&tx, size)?;
        tx.commit()?;
        Ok(checkpoint)
    }

    /// Signs the head at `size` and stores it. This reads every leaf hash, which is fine once
    /// per hundred appends at hospital volumes; past tens of millions of entries a stored
    /// compact range (the right-edge subtree roots) would make it logarithmic.
    fn store_checkpoint(&self, conn: &Connection, size: u64) -> Result<Checkpoint, AuditError> {
        let root = merkle::root(&schema::leaf_hashes(conn, size)?);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let checkpoint = self.signer.sign(&self.origin, size, root, now);
        conn.execute(
            "INSERT INTO audit_checkpoints (size, note) VALUES (?1, ?2)",
            params![to_i64(size), checkpoint.to_note()],
        )?;
        Ok(checkpoint)
    }

    /// Every stored checkpoint, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT note FROM audit_checkpoints ORDER BY id")?;
        let notes = statement.query_map([], |row| row.get::<_, String>(0))?;
        notes.map(|note| Checkpoint::from_note(&note?)).collect()
    }

    /// How many entries the log holds.
    pub fn len(&self) -> Result<u64, AuditError> {
        schema::len(&self.conn())
    }

    /// Whether the log holds no entries.
    pub fn is_empty(&self) -> Result<bool, AuditError> {
        Ok(self.len()? == 0)
    }

    /// Up to `limit` entries from sequence number `from`, in order.
    pub fn entries(&self, from: u64, limit: u64) -> Result<Vec<AuditEntry>, AuditError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT seq, body, prev_hash, leaf_hash, chain_hash FROM audit_entries
             WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = statement.query_map([to_i64(from), to_i64(limit)], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, body, prev, leaf, chain): (i64, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) = row?;
            let seq = to_u64(seq);
            let (_, event) = decode_entry(&body).map_err(|_| AuditError::Corrupt {
                seq,
                reason: "not a valid entry",
            })?;
            Ok(AuditEntry {
                seq,
                event,
                prev_hash: to_hash(seq, prev)?,
                leaf_hash: to_hash(seq, leaf)?,
                chain_hash: to_hash(seq, chain)?,
            })
        })
        .collect()
    }

    /// Recomputes every hash from the stored bytes and checks every checkpoint. Tampering is
    /// reported in the result, not as an error; errors mean the log could not be read at all.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        verify::verify_log(&self.conn(), &self.origin, &self.signer.public_key_hex())
    }

    /// The RFC 6962 audit path of entry `seq` in the tree of the first `tree_size` entries.
    pub fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<Vec<Hash>, AuditError> {
        let conn = self.conn();
        let len = schema::len(&conn)?;
        if tree_size > len {
            return Err(AuditError::OutOfRange {
                what: "tree size",
                len,
            });
        }
        if seq >= tree_size {
            return Err(AuditError::OutOfRange {
                what: "sequence number",
                len,
            });
        }
        let leaves = complete_leaves(&conn, tree_size)?;
        Ok(merkle::inclusion_path(&leaves, index(seq)))
    }

    /// The RFC 6962 proof that the tree of `old` entries is a prefix of the tree of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, AuditError> {
        let conn = self.conn();
        let len = schema::len(&conn)?;
        if new > len {
            return Err(AuditError::OutOfRange {
                what: "new tree size",
                len,
            });
        }
        if old == 0 || old > new {
            return Err(AuditError::OutOfRange {
                what: "old tree size",
                len,
            });
        }
        let leaves = complete_leaves(&conn, new)?;
        Ok(merkle::consistency_path(&leaves, index(old)))
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.origin)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// `SHA-256(prev_chain_hash || leaf_hash)`.
pub(crate) fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    let mut input = [0u8; 64];
    input[..32].copy_from_slice(prev);
    input[32..].copy_from_slice(leaf);
    sha256(&input)
}

/// The leaf hashes of `0..size`, refusing to build a proof over a log with a gap.
fn complete_leaves(conn: &Connection, size: u64) -> Result<Vec<Hash>, AuditError> {
    let leaves = schema::leaf_hashes(conn, size)?;
    if leaves.len() as u64 != size {
        let seq = leaves.len() as u64;
        return Err(AuditError::Corrupt {
            seq,
            reason: "entries are missing; run verify",
        });
    }
    Ok(leaves)
}

/// A sequence number as a slice index; proofs are only built for entries held in memory.
fn index(seq: u64) -> usize {
    usize::try_from(seq).unwrap_or(usize::MAX)
}

fn hex_prefix(key: &str) -> String {
    key.chars().take(16).collect()
}

#[cfg(test)]
mod tests;
