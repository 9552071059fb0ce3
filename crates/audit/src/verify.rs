//! Full verification of the log from its stored bytes.
//!
//! Each entry is checked in order: its position, its leaf hash recomputed from the stored bytes,
//! the sequence number inside those bytes, and its link to the previous entry's chain hash. Then
//! every checkpoint's signature is checked, and its root recomputed at its size. Editing,
//! deleting or reordering entries breaks the first group of checks at the entry concerned;
//! rewriting entries together with every later hash, or cutting entries off the end, is caught
//! by the checkpoints. Cutting off entries appended after the last checkpoint cannot be caught
//! from the log alone: publishing checkpoints to a witness closes that gap.

use std::fmt;

use rusqlite::Connection;

use crate::event::decode_entry;
use crate::log::{CHECKPOINT_INTERVAL, chain_hash};
use crate::merkle::{self, Hash};
use crate::schema::{to_hash, to_u64};
use crate::{AuditError, Checkpoint};

/// The result of [`crate::AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many entries the log holds.
    pub entries: u64,
    /// Whether every check passed.
    pub ok: bool,
    /// The first entry found to be wrong, if the problem can be pinned to one.
    pub first_bad: Option<u64>,
    /// What was wrong (sequence numbers and sizes only, never event contents).
    pub problem: Option<String>,
    /// The Merkle root recomputed from the stored bytes of the entries that checked out, in hex.
    pub root_hex: String,
    /// How many checkpoints were checked and found good.
    pub checkpoints_checked: u64,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let summary = format!(
            "{} entries, root {}, {} checkpoints verified",
            self.entries, self.root_hex, self.checkpoints_checked
        );
        match (self.ok, self.first_bad, &self.problem) {
            (true, _, _) => write!(f, "audit log OK: {summary}"),
            (false, Some(seq), problem) => write!(
                f,
                "audit log FAILED at entry {seq}: {}; {summary}",
                problem.as_deref().unwrap_or("unknown problem")
            ),
            (false, None, problem) => write!(
                f,
                "audit log FAILED: {}; {summary}",
                problem.as_deref().unwrap_or("unknown problem")
            ),
        }
    }
}

/// One thing found wrong.
struct Problem {
    seq: Option<u64>,
    text: String,
}

impl Problem {
    fn at(seq: u64, text: impl Into<String>) -> Self {
        Self {
            seq: Some(seq),
            text: text.into(),
        }
    }
}

pub(crate) fn verify_log(
    conn: &Connection,
    origin: &str,
    public_key_hex: &str,
) -> Result<VerifyReport, AuditError> {
    let (leaves, mut problems) = check_entries(conn)?;
    let (checkpoints_checked, checkpoint_problems) =
        check_checkpoints(conn, origin, public_key_hex, &leaves)?;
    problems.extend(checkpoint_problems);

    // Report the earliest entry found wrong; problems not tied to an entry come last.
    let first = problems
        .into_iter()
        .min_by_key(|problem| problem.seq.unwrap_or(u64::MAX));
    let entries: i64 =
        conn.query_row("SELECT COUNT(*) FROM audit_entries", [], |row| row.get(0))?;
    Ok(VerifyReport {
        entries: to_u64(entries),
        ok: first.is_none(),
        first_bad: first.as_ref().and_then(|problem| problem.seq),
        problem: first.map(|problem| problem.text),
        root_hex: hex::encode(merkle::root(&leaves)),
        checkpoints_checked,
    })
}

/// Walks the entries in order, returning the recomputed leaf hashes and the first problem.
fn check_entries(conn: &Connection) -> Result<(Vec<Hash>, Vec<Problem>), AuditError> {
    let mut statement = conn.prepare(
        "SELECT seq, body, prev_hash, leaf_hash, chain_hash FROM audit_entries ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    let mut leaves = Vec::new();
    let mut chain = [0u8; 32];

    while let Some(row) = rows.next()? {
        let expected = leaves.len() as u64;
        let seq = to_u64(row.get(0)?);
        if seq != expected {
            return Ok((
                leaves,
                vec![Problem::at(expected, "entry is missing or out of place")],
            ));
        }
        let body: Vec<u8> = row.get(1)?;
        let leaf = merkle::leaf_hash(&body);
        if let Some(text) = check_entry(seq, &body, &leaf, &chain, row)? {
            return Ok((leaves, vec![Problem::at(seq, text)]));
        }
        chain = chain_hash(&chain, &leaf);
        leaves.push(leaf);
    }
    Ok((leaves, Vec::new()))
}

/// The first thing wrong with one entry, given the chain hash of the entry before it.
fn check_entry(
    seq: u64,
    body: &[u8],
    leaf: &Hash,
    prev_chain: &Hash,
    row: &rusqlite::Row<'_>,
) -> Result<Option<&'static str>, AuditError> {
    let stored_prev = to_hash(seq, row.get(2)?)?;
    let stored_leaf = to_hash(seq, row.get(3)?)?;
    let stored_chain = to_hash(seq, row.get(4)?)?;

    let problem = if stored_leaf != *leaf {
        Some("stored bytes do not match the entry's leaf hash")
    } else if !decode_entry(body).is_ok_and(|(recorded, _)| recorded == seq) {
        Some("entry does not record its own sequence number")
    } else if stored_prev != *prev_chain {
        Some("entry does not link to the chain hash of the entry before it")
    } else if stored_chain != chain_hash(prev_chain, leaf) {
        Some("entry's chain hash is wrong")
    } else {
        None
    };
    Ok(problem)
}

/// Checks every stored checkpoint against the recomputed leaves.
fn check_checkpoints(
    conn: &Connection,
    origin: &str,
    public_key_hex: &str,
    leaves: &[Hash],
) -> Result<(u64, Vec<Problem>), AuditError> {
    let mut statement = conn.prepare("SELECT id, note FROM audit_checkpoints ORDER BY size, id")?;
    let notes = statement.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get(1)?)))?;
    let mut checked = 0;
    let mut problems = Vec::new();
    // The end of the longest prefix that a good checkpoint vouches for.
    let mut vouched = 0;

    for note in notes {
        let (id, note): (i64, String) = note?;
        let checkpoint = match Checkpoint::from_note(&note) {
            Ok(checkpoint) if checkpoint.origin == origin => checkpoint,
            _ => {
                let text = format!("checkpoint #{id} is malformed or names another log");
                problems.push(Problem { seq: None, text });
                continue;
            }
        };
        if checkpoint.verify(public_key_hex).is_err() {
            let text = format!("checkpoint #{id} has an invalid signature");
            problems.push(Problem { seq: None, text });
            continue;
        }

        let size = checkpoint.size;
        let held = leaves.len() as u64;
        if size > held {
            let text =
                format!("a signed checkpoint covers {size} entries but only {held} check out");
            problems.push(Problem::at(held, text));
        } else if merkle::root(&leaves[..index(size)]) != checkpoint.root {
            let text = format!(
                "entries {vouched}..{size} do not match the root signed in checkpoint #{id}"
            );
            problems.push(Problem::at(vouched, text));
        } else {
            vouched = vouched.max(size);
            checked += 1;
        }
    }
    // The log signs a checkpoint in the same transaction as every CHECKPOINT_INTERVAL-th entry,
    // so a log of that length without one has lost its checkpoints: history past the last
    // surviving checkpoint could have been rewritten without a key.
    let held = leaves.len() as u64;
    let expected = held - held % CHECKPOINT_INTERVAL;
    if vouched < expected {
        let text = format!(
            "no valid signed checkpoint covers entries {vouched}..{expected}, though one is \
             written every {CHECKPOINT_INTERVAL} entries (checkpoints removed?)"
        );
        problems.push(Problem::at(vouched, text));
    }
    Ok((checked, problems))
}

fn index(size: u64) -> usize {
    usize::try_from(size).unwrap_or(usize::MAX)
}
