//! Full verification of the log from its stored bytes, in one pass.
//!
//! Entries are read in order, in batches. Each is checked: its position, the sequence number its
//! bytes record, its leaf hash recomputed from those bytes, its search columns against them, and
//! its link to the previous entry's chain hash. The Merkle tree is rebuilt along the way, and
//! every signed checkpoint — in the log and in the witness file — is compared with the root at
//! its size when the pass reaches it. Editing, deleting or reordering entries fails at the entry
//! concerned; rewriting entries together with every later hash, or cutting entries off the end,
//! is caught by the checkpoints. Cutting off entries after the last checkpoint together with
//! their checkpoints is caught only by a witness that kept a copy.
//!
//! Entries whose bodies retention pruned are checked by their stored leaf hash alone, which the
//! signed checkpoints still vouch for.

use std::fmt;

use crate::AuditError;
use crate::checkpoint::Checkpoint;
use crate::event::decode_indexed;
use crate::log::chain_hash;
use crate::merkle::{self, Frontier, Hash};
use crate::store::{Reader, RowRef, to_hash, to_u64};

/// Entries read per query.
const BATCH: u64 = 20_000;

/// What kind of tampering (or damage) verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// An entry's bytes or hashes were changed.
    Modified,
    /// An entry is missing.
    Missing,
    /// An entry is not where its bytes say it belongs.
    Reordered,
    /// A signed checkpoint covers more entries than the log holds.
    Truncated,
    /// A checkpoint's signature does not verify (or it names another log).
    BadSignature,
    /// Entries that a checkpoint should cover are not covered by any valid one.
    Unvouched,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Modified => "modified",
            Self::Missing => "missing",
            Self::Reordered => "reordered",
            Self::Truncated => "truncated behind a checkpoint",
            Self::BadSignature => "bad signature",
            Self::Unvouched => "not covered by a checkpoint",
        })
    }
}

/// The result of [`crate::AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many entries the log holds.
    pub entries: u64,
    /// Whether every check passed.
    pub ok: bool,
    /// The first entry found to be wrong.
    pub first_bad: Option<u64>,
    /// What kind of problem that is.
    pub failure: Option<Failure>,
    /// What was wrong (sequence numbers and sizes only, never event contents).
    pub problem: Option<String>,
    /// The Merkle root recomputed from the stored bytes of the entries that checked out, in hex.
    pub root_hex: String,
    /// How many checkpoints (log and witness) were checked and found good.
    pub checkpoints_checked: u64,
    /// How many of those came from the witness file.
    pub witness_checked: u64,
    /// How many entries have had their bodies pruned by retention.
    pub pruned: u64,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut summary = format!(
            "{} entries, root {}, {} checkpoints verified",
            self.entries, self.root_hex, self.checkpoints_checked
        );
        if self.witness_checked > 0 {
            summary.push_str(&format!(" ({} from the witness)", self.witness_checked));
        }
        if self.pruned > 0 {
            summary.push_str(&format!(", {} pruned by retention", self.pruned));
        }
        let problem = self.problem.as_deref().unwrap_or("unknown problem");
        let failure = self.failure.map(|f| format!("{f}: ")).unwrap_or_default();
        match (self.ok, self.first_bad) {
            (true, _) => write!(f, "audit log OK: {summary}"),
            (false, Some(seq)) => {
                write!(
                    f,
                    "audit log FAILED at entry {seq}: {failure}{problem}; {summary}"
                )
            }
            (false, None) => write!(f, "audit log FAILED: {failure}{problem}; {summary}"),
        }
    }
}

/// One thing found wrong.
struct Problem {
    seq: u64,
    failure: Failure,
    text: String,
}

impl Problem {
    fn new(seq: u64, failure: Failure, text: impl Into<String>) -> Self {
        Self {
            seq,
            failure,
            text: text.into(),
        }
    }
}

/// A checkpoint whose signature checked out, waiting for the pass to reach its size.
struct Expected {
    size: u64,
    root: Hash,
    label: String,
    witness: bool,
}

/// Verifies everything the reader holds, and the witness notes given.
pub(crate) fn verify_log(
    reader: &mut dyn Reader,
    origin: &str,
    public_key_hex: &str,
    checkpoint_every: u64,
    witness_notes: &[String],
) -> Result<VerifyReport, AuditError> {
    let mut problems = Vec::new();
    let mut bad_signatures = Vec::new();
    let mut expected = Vec::new();
    let stored = reader.checkpoints()?;
    let labelled = stored
        .into_iter()
        .map(|(id, note)| (format!("checkpoint #{id}"), note, false))
        .chain(
            witness_notes
                .iter()
                .enumerate()
                .map(|(n, note)| (format!("witness checkpoint {}", n + 1), note.clone(), true)),
        );
    for (label, note, witness) in labelled {
        match Checkpoint::from_note(&note) {
            Ok(checkpoint) if checkpoint.origin == origin => {
                if checkpoint.verify(public_key_hex).is_ok() {
                    expected.push(Expected {
                        size: checkpoint.size,
                        root: checkpoint.root,
                        label,
                        witness,
                    });
                } else {
                    bad_signatures.push((label, Some(checkpoint.size)));
                }
            }
            _ => bad_signatures.push((label, None)),
        }
    }
    expected.sort_by_key(|e| e.size);

    let pruned_below = reader.pruned_below()?;
    let mut pass = Pass {
        frontier: Frontier::default(),
        chain: [0u8; 32],
        pruned_below,
        pruned: 0,
        stopped: None,
        expected: &expected,
        next_expected: 0,
        vouched: Vec::new(),
        checked: 0,
        witness_checked: 0,
        root_problems: Vec::new(),
    };
    pass.check_size_zero();
    let mut from = 0;
    while pass.stopped.is_none() {
        let read = reader.scan(from, BATCH, &mut |row| {
            pass.row(row);
            Ok(())
        })?;
        if read < BATCH {
            break;
        }
        from = pass.frontier.size().max(from + read);
    }

    let held = pass.frontier.size();
    let vouched = pass.vouched.last().copied().unwrap_or(0);
    if let Some(problem) = pass.stopped.take() {
        problems.push(problem);
    } else {
        for cut in expected.iter().filter(|e| e.size > held) {
            let text = format!(
                "{} covers {} entries but the log holds only {held}",
                cut.label, cut.size
            );
            problems.push(Problem::new(held, Failure::Truncated, text));
        }
        if held - vouched >= checkpoint_every.max(1) && expected.iter().all(|e| e.size <= held) {
            let text = format!(
                "no valid signed checkpoint covers entries {vouched}..{held}, though one is \
                 written every {checkpoint_every} entries (checkpoints removed?)"
            );
            problems.push(Problem::new(vouched, Failure::Unvouched, text));
        }
    }
    problems.append(&mut pass.root_problems);
    for (label, size) in bad_signatures {
        // What a forged checkpoint claims cannot be trusted past the last good one below it.
        let claimed = size.unwrap_or(u64::MAX);
        let from = pass
            .vouched
            .iter()
            .copied()
            .filter(|s| *s < claimed)
            .max()
            .unwrap_or(0);
        let text = format!("{label} is malformed, names another log or has an invalid signature");
        problems.push(Problem::new(from, Failure::BadSignature, text));
    }

    // At the same entry, a specific finding explains more than a missing checkpoint.
    let first = problems
        .into_iter()
        .min_by_key(|problem| (problem.seq, problem.failure == Failure::Unvouched));
    Ok(VerifyReport {
        entries: reader.count()?,
        ok: first.is_none(),
        first_bad: first.as_ref().map(|problem| problem.seq),
        failure: first.as_ref().map(|problem| problem.failure),
        problem: first.map(|problem| problem.text),
        root_hex: hex::encode(pass.frontier.root()),
        checkpoints_checked: pass.checked,
        witness_checked: pass.witness_checked,
        pruned: pass.pruned,
    })
}

/// The state of the one pass over the entries.
struct Pass<'a> {
    frontier: Frontier,
    chain: Hash,
    pruned_below: u64,
    pruned: u64,
    stopped: Option<Problem>,
    expected: &'a [Expected],
    next_expected: usize,
    /// Sizes of the checkpoints found good, ascending.
    vouched: Vec<u64>,
    checked: u64,
    witness_checked: u64,
    root_problems: Vec<Problem>,
}

impl Pass<'_> {
    fn row(&mut self, row: RowRef<'_>) {
        if self.stopped.is_some() {
            return;
        }
        let seq = self.frontier.size();
        match self.check(seq, &row) {
            Ok(leaf) => {
                self.chain = chain_hash(&self.chain, &leaf);
                self.frontier.push(leaf);
                self.check_roots();
            }
            Err(problem) => self.stopped = Some(problem),
        }
    }

    /// The leaf hash of the entry at `seq`, or what is wrong with it.
    fn check(&mut self, seq: u64, row: &RowRef<'_>) -> Result<Hash, Problem> {
        let modified = |text: &str| Problem::new(seq, Failure::Modified, text);
        if to_u64(row.seq) != seq {
            return Err(Problem::new(seq, Failure::Missing, "entry is missing"));
        }
        let hash =
            |bytes: &[u8]| to_hash(seq, bytes).map_err(|_| modified("a hash is not 32 bytes"));
        let (prev, stored_leaf, stored_chain) = (
            hash(row.prev_hash)?,
            hash(row.leaf_hash)?,
            hash(row.chain_hash)?,
        );

        let leaf = match row.body {
            None if seq < self.pruned_below => {
                self.pruned += 1;
                stored_leaf
            }
            None => {
                return Err(modified(
                    "the entry's stored bytes are gone, but it was never pruned",
                ));
            }
            Some(body) => {
                let indexed = decode_indexed(body).map_err(|_| modified("not a valid entry"))?;
                if indexed.seq != seq {
                    let text = format!("the entry here records sequence number {}", indexed.seq);
                    return Err(Problem::new(seq, Failure::Reordered, text));
                }
                let leaf = merkle::leaf_hash(body);
                if leaf != stored_leaf {
                    return Err(modified("stored bytes do not match the entry's leaf hash"));
                }
                let event = &indexed.event;
                let columns_match = row.user_id == Some(event.actor.user_id.as_ref())
                    && row.action == Some(event.action.as_str())
                    && row.patient_ref == event.patient_ref.as_deref()
                    && row.time == event.time.unix_timestamp();
                if !columns_match {
                    return Err(modified(
                        "the entry's search columns do not match its bytes",
                    ));
                }
                leaf
            }
        };
        if prev != self.chain {
            return Err(modified(
                "entry does not link to the chain hash of the entry before it",
            ));
        }
        if stored_chain != chain_hash(&prev, &leaf) {
            return Err(modified("entry's chain hash is wrong"));
        }
        Ok(leaf)
    }

    fn check_size_zero(&mut self) {
        self.check_roots();
    }

    /// Compares every checkpoint at the current size with the rebuilt root.
    fn check_roots(&mut self) {
        let size = self.frontier.size();
        let mut root = None;
        while let Some(expected) = self.expected.get(self.next_expected) {
            if expected.size != size {
                break;
            }
            self.next_expected += 1;
            let root = *root.get_or_insert_with(|| self.frontier.root());
            if root == expected.root {
                if self.vouched.last() != Some(&size) {
                    self.vouched.push(size);
                }
                self.checked += 1;
                self.witness_checked += u64::from(expected.witness);
            } else {
                let from = self.vouched.last().copied().unwrap_or(0);
                let text = format!(
                    "entries {from}..{size} do not match the root signed in {}",
                    expected.label
                );
                self.root_problems
                    .push(Problem::new(from, Failure::Modified, text));
            }
        }
    }
}
