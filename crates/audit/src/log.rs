//! The audit log: durable appends through the group committer, checkpoints, listings, searches,
//! proofs and verification.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use phigate_crypto::sha256;
use rusqlite::Connection;
use time::OffsetDateTime;

use crate::checkpoint::{CheckpointSigner, check_origin};
use crate::commit::{CommitOptions, Committer};
use crate::event::{Encoded, decode_entry};
use crate::merkle::{self, Hash};
use crate::store::postgres::{self as postgres_store, PgWriter};
use crate::store::sqlite::{self, SqliteWriter};
use crate::store::{Query, Reader, RowRef, to_hash, to_u64};
use crate::verify::{self, VerifyReport};
use crate::witness_url::WitnessPoster;
use crate::{Action, Actor, AuditError, AuditEvent, AuditObserver, Checkpoint, Outcome, witness};

/// By default a checkpoint is signed once this many entries are not covered by one.
pub const CHECKPOINT_INTERVAL: u64 = 100;

/// By default entry bodies are kept six years (HIPAA's retention period for documentation),
/// counted with leap days.
pub const RETENTION_DAYS: u32 = 2192;

/// By default a checkpoint is also signed once entries have waited this long without one.
pub const CHECKPOINT_AFTER: Duration = Duration::from_secs(10);

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
    /// What happened; `None` once retention has pruned the entry's body.
    pub event: Option<AuditEvent>,
    /// The chain hash of the previous entry (zeros for the first).
    pub prev_hash: Hash,
    /// `SHA-256(0x00 || stored bytes)`.
    pub leaf_hash: Hash,
    /// `SHA-256(prev_hash || leaf_hash)`.
    pub chain_hash: Hash,
}

/// How a log is run.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// A checkpoint is signed as soon as this many entries are not covered by one.
    pub checkpoint_every: u64,
    /// A checkpoint is also signed once entries have waited this long without one.
    pub checkpoint_after: Duration,
    /// A file to which every checkpoint is also appended, and which verification checks.
    pub witness_file: Option<PathBuf>,
    /// A receiver to which every checkpoint is also POSTed, without holding up appends.
    pub witness_url: Option<crate::witness_url::WitnessUrl>,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            checkpoint_every: CHECKPOINT_INTERVAL,
            checkpoint_after: CHECKPOINT_AFTER,
            witness_file: None,
            witness_url: None,
        }
    }
}

/// Where the log is kept, for reads.
enum Store {
    Sqlite(Mutex<Connection>),
    Postgres(Mutex<Option<postgres::Client>>),
}

impl Drop for Store {
    fn drop(&mut self) {
        // The synchronous client owns a runtime, which must not be dropped inside another.
        if let Store::Postgres(client) = self {
            let client = client.get_mut().map(Option::take).unwrap_or(None);
            if let Some(client) = client {
                let _ = std::thread::spawn(move || drop(client)).join();
            }
        }
    }
}

/// Runs `f` on a fresh thread of ours, outside any async runtime (see `store::postgres`).
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T, AuditError> + Send) -> Result<T, AuditError> {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or(Err(AuditError::CommitterStopped))
    })
}

/// The tamper-evident audit log.
pub struct AuditLog {
    // Dropped first: the committer drains its queue, then the poster delivers what it was given.
    committer: Committer,
    _witness: Option<WitnessPoster>,
    store: Store,
    signer: Arc<CheckpointSigner>,
    origin: String,
    options: LogOptions,
    /// The PostgreSQL schema, for the owner's operations.
    pg_schema: Option<String>,
    observers: RwLock<Vec<Arc<dyn AuditObserver>>>,
}

impl AuditLog {
    /// Opens or creates the log in the SQLite file at `path` with default options. A log
    /// remembers the origin and signing key it was created with and refuses others.
    pub fn open(path: &Path, signer: CheckpointSigner, origin: &str) -> Result<Self, AuditError> {
        Self::open_with(path, signer, origin, LogOptions::default())
    }

    /// Opens or creates the log in the SQLite file at `path`.
    pub fn open_with(
        path: &Path,
        signer: CheckpointSigner,
        origin: &str,
        options: LogOptions,
    ) -> Result<Self, AuditError> {
        check_origin(origin)?;
        let conn = sqlite::open(path)?;
        check_identity(
            |key, value| sqlite::meta_or_insert(&conn, key, value),
            origin,
            &signer,
        )?;
        let writer = Box::new(SqliteWriter::open(path)?);
        Self::start(
            writer,
            Store::Sqlite(Mutex::new(conn)),
            signer,
            origin,
            options,
        )
    }

    /// Opens the log kept in `schema` of the PostgreSQL database at `url` (connecting as the
    /// application role, which may only select and insert). The schema must have been created
    /// by its owner with [`crate::postgres::create_schema`].
    pub fn open_postgres(
        url: &str,
        schema: &str,
        signer: CheckpointSigner,
        origin: &str,
        options: LogOptions,
    ) -> Result<Self, AuditError> {
        check_origin(origin)?;
        let (reader, writer) = off_runtime(|| {
            let mut reader = postgres_store::connect(url, schema)?;
            check_identity(
                |key, value| postgres_store::meta_or_insert(&mut reader, key, value),
                origin,
                &signer,
            )?;
            let writer = PgWriter {
                client: postgres_store::connect(url, schema)?,
            };
            Ok((reader, writer))
        })?;
        let store = Store::Postgres(Mutex::new(Some(reader)));
        let mut log = Self::start(Box::new(writer), store, signer, origin, options)?;
        log.pg_schema = Some(schema.to_owned());
        Ok(log)
    }

    fn start(
        writer: Box<dyn crate::store::Writer>,
        store: Store,
        signer: CheckpointSigner,
        origin: &str,
        options: LogOptions,
    ) -> Result<Self, AuditError> {
        let signer = Arc::new(signer);
        let witness = options
            .witness_url
            .clone()
            .map(WitnessPoster::start)
            .transpose()?;
        let committer = Committer::start(
            writer,
            Arc::clone(&signer),
            origin.to_owned(),
            CommitOptions {
                checkpoint_every: options.checkpoint_every.max(1),
                checkpoint_after: options.checkpoint_after,
                witness_file: options.witness_file.clone(),
                witness_sink: witness.as_ref().and_then(WitnessPoster::sink),
            },
        )?;
        Ok(Self {
            committer,
            _witness: witness,
            store,
            signer,
            origin: origin.to_owned(),
            options,
            pg_schema: None,
            observers: RwLock::new(Vec::new()),
        })
    }

    /// Runs `f` with a reader of the store.
    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Reader) -> Result<T, AuditError> + Send,
    ) -> Result<T, AuditError> {
        match &self.store {
            Store::Sqlite(conn) => f(&mut *lock(conn)),
            Store::Postgres(client) => off_runtime(|| {
                let mut client = client.lock().unwrap_or_else(PoisonError::into_inner);
                match client.as_mut() {
                    Some(client) => f(client),
                    None => Err(AuditError::CommitterStopped),
                }
            }),
        }
    }

    /// The log's origin (its name in checkpoints).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The hex public key that verifies this log's checkpoints.
    pub fn public_key_hex(&self) -> String {
        self.signer.public_key_hex()
    }

    /// The options the log runs with.
    pub fn options(&self) -> &LogOptions {
        &self.options
    }

    /// Appends `event` and returns once the batch it was committed in is durable. Concurrent
    /// appends share batches; checkpoints are signed in the batch where they fall due.
    pub fn append(&self, event: AuditEvent) -> Result<AppendReceipt, AuditError> {
        let observers = self.current_observers();
        if observers.is_empty() {
            return self.committer.append(Encoded::new(event)?);
        }
        let started = Instant::now();
        let encoded = Encoded::new(event.clone())?;
        let outcome = self.committer.append(encoded);
        notify(&observers, &event, &outcome, started);
        outcome
    }

    /// Like [`append`](Self::append), for async callers: resolves once the batch the event
    /// was committed in is durable, and holds no thread while it waits (the committer answers
    /// the task itself), so a request does not pay a hop through a blocking pool on top of the
    /// commit. Dropping the future does not withdraw the event: once queued, it is written.
    pub async fn append_async(&self, event: AuditEvent) -> Result<AppendReceipt, AuditError> {
        let observers = self.current_observers();
        if observers.is_empty() {
            return self.committer.append_async(Encoded::new(event)?).await;
        }
        let started = Instant::now();
        let encoded = Encoded::new(event.clone())?;
        let outcome = self.committer.append_async(encoded).await;
        notify(&observers, &event, &outcome, started);
        outcome
    }

    fn current_observers(&self) -> Vec<Arc<dyn AuditObserver>> {
        self.observers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds `observer`, told of every append from now on (see [`AuditObserver`]).
    pub fn observe(&self, observer: Arc<dyn AuditObserver>) {
        self.observers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(observer);
    }

    /// Whether the log can take appends now: its committer is running and its store answers a
    /// read. (Only an append proves the store writable; this check writes nothing.)
    pub fn is_ready(&self) -> bool {
        self.committer.is_running() && self.len().is_ok()
    }

    /// How many entries are not yet covered by a signed checkpoint.
    pub fn unsigned_entries(&self) -> Result<u64, AuditError> {
        self.read(|r| Ok(r.len()?.saturating_sub(r.last_checkpoint_size()?)))
    }

    /// Signs and stores a checkpoint of the log once everything appended before is written.
    pub fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        self.committer.checkpoint()
    }

    /// Every stored checkpoint, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError> {
        let notes = self.read(|r| r.checkpoints())?;
        notes
            .iter()
            .map(|(_, note)| Checkpoint::from_note(note))
            .collect()
    }

    /// How many entries the log holds.
    pub fn len(&self) -> Result<u64, AuditError> {
        self.read(|r| r.len())
    }

    /// Whether the log holds no entries.
    pub fn is_empty(&self) -> Result<bool, AuditError> {
        Ok(self.len()? == 0)
    }

    /// Up to `limit` entries from sequence number `from`, in order.
    pub fn entries(&self, from: u64, limit: u64) -> Result<Vec<AuditEntry>, AuditError> {
        let mut entries = Vec::new();
        self.read(|r| {
            r.scan(from, limit, &mut |row| {
                entries.push(to_entry(&row)?);
                Ok(())
            })
        })?;
        Ok(entries)
    }

    /// The entries matching `query`, in order (pruned entries never match).
    pub fn search(&self, query: &Query) -> Result<Vec<AuditEntry>, AuditError> {
        let mut entries = Vec::new();
        self.read(|r| {
            r.search(query, &mut |row| {
                let entry = to_entry(&row)?;
                // The columns only narrow the search; what is returned is what the bytes say.
                if entry.event.as_ref().is_some_and(|e| matches(query, e)) {
                    entries.push(entry);
                }
                Ok(())
            })
        })?;
        Ok(entries)
    }

    /// Recomputes every hash from the stored bytes and checks every checkpoint, with the
    /// witness file's when the log has one. Tampering is reported in the result, not as an
    /// error; errors mean the log could not be read at all.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        let witness = match &self.options.witness_file {
            Some(path) => witness::read_notes(path)?,
            None => Vec::new(),
        };
        let public_key = self.signer.public_key_hex();
        self.read(|r| {
            verify::verify_log(
                r,
                &self.origin,
                &public_key,
                self.options.checkpoint_every.max(1),
                &witness,
            )
        })
    }

    /// Retention: clears the bodies and search columns of entries older than `cutoff`, keeping
    /// their hashes (and every checkpoint), so the log still verifies and proofs still work.
    /// Only entries a signed checkpoint already covers are pruned. The prune is itself recorded
    /// as an entry by `actor`. Returns how many entries were cleared.
    pub fn prune(&self, cutoff: OffsetDateTime, actor: Actor) -> Result<u64, AuditError> {
        self.prune_with(cutoff, actor, None)
    }

    /// [`AuditLog::prune`], with the clearing done on PostgreSQL over `owner_url`: a connection
    /// as a role that may update the log (the schema's owner), since the application role this
    /// log runs as may only select and insert. The retention entry is still appended by the
    /// application role. On SQLite `owner_url` is not needed and is ignored.
    pub fn prune_with(
        &self,
        cutoff: OffsetDateTime,
        actor: Actor,
        owner_url: Option<&str>,
    ) -> Result<u64, AuditError> {
        let cutoff = cutoff.unix_timestamp();
        let covered = self.read(|r| r.last_checkpoint_size())?;
        let below = self.read(|r| r.first_at_or_after(cutoff))?.min(covered);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let cleared = match (&self.store, owner_url, &self.pg_schema) {
            (Store::Sqlite(conn), _, _) => sqlite::prune(&mut lock(conn), below, now)?,
            (Store::Postgres(_), Some(url), Some(schema)) => off_runtime(|| {
                let mut owner = postgres_store::connect(url, schema)?;
                postgres_store::prune(&mut owner, schema, below, now)
            })?,
            (Store::Postgres(_), _, _) => return Err(AuditError::NeedsOwner("pruning")),
        };
        let mut event = AuditEvent::new(actor, Action::Retention, Outcome::Success);
        event.detail = Some(format!(
            "pruned the bodies of {cleared} entries below sequence number {below}"
        ));
        self.append(event)?;
        Ok(cleared)
    }

    /// The RFC 6962 audit path of entry `seq` in the tree of the first `tree_size` entries.
    pub fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<Vec<Hash>, AuditError> {
        let len = self.len()?;
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
        let leaves = self.complete_leaves(tree_size)?;
        Ok(merkle::inclusion_path(&leaves, index(seq)))
    }

    /// The RFC 6962 proof that the tree of `old` entries is a prefix of the tree of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, AuditError> {
        let len = self.len()?;
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
        let leaves = self.complete_leaves(new)?;
        Ok(merkle::consistency_path(&leaves, index(old)))
    }

    /// The Merkle root of the first `size` entries, from their stored leaf hashes.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        Ok(merkle::root(&self.complete_leaves(size)?))
    }

    /// The leaf hashes of `0..size`, refusing to build a proof over a log with a gap.
    fn complete_leaves(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        let leaves = self.read(|r| r.leaf_hashes(size))?;
        if leaves.len() as u64 != size {
            let seq = leaves.len() as u64;
            return Err(AuditError::Corrupt {
                seq,
                reason: "entries are missing; run verify",
            });
        }
        Ok(leaves)
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

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic mid-read leaves nothing half-done on a read connection.
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records the origin and signing key on first use, and refuses others afterwards.
fn check_identity(
    mut meta_or_insert: impl FnMut(&str, &str) -> Result<String, AuditError>,
    origin: &str,
    signer: &CheckpointSigner,
) -> Result<(), AuditError> {
    let stored = meta_or_insert("origin", origin)?;
    if stored != origin {
        return Err(AuditError::OriginMismatch {
            stored,
            requested: origin.to_owned(),
        });
    }
    let stored = meta_or_insert("signer_public_key", &signer.public_key_hex())?;
    if stored != signer.public_key_hex() {
        return Err(AuditError::SignerMismatch {
            stored: hex_prefix(&stored),
            given: hex_prefix(&signer.public_key_hex()),
        });
    }
    Ok(())
}

/// A stored row as an entry, decoding its body if it still has one.
fn to_entry(row: &RowRef<'_>) -> Result<AuditEntry, AuditError> {
    let seq = to_u64(row.seq);
    let event = row
        .body
        .map(|body| {
            decode_entry(body)
                .map(|(_, event)| event)
                .map_err(|_| AuditError::Corrupt {
                    seq,
                    reason: "not a valid entry",
                })
        })
        .transpose()?;
    Ok(AuditEntry {
        seq,
        event,
        prev_hash: to_hash(seq, row.prev_hash)?,
        leaf_hash: to_hash(seq, row.leaf_hash)?,
        chain_hash: to_hash(seq, row.chain_hash)?,
    })
}

/// Whether a decoded event matches every field the query gives.
fn matches(query: &Query, event: &AuditEvent) -> bool {
    let time = event.time.unix_timestamp();
    query
        .user_id
        .as_ref()
        .is_none_or(|user| *user == event.actor.user_id)
        && query
            .patient_ref
            .as_ref()
            .is_none_or(|patient| Some(patient) == event.patient_ref.as_ref())
        && query.action.is_none_or(|action| action == event.action)
        && query.since.is_none_or(|since| time >= since)
        && query.until.is_none_or(|until| time < until)
}

/// `SHA-256(prev_chain_hash || leaf_hash)`.
pub(crate) fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    let mut input = [0u8; 64];
    input[..32].copy_from_slice(prev);
    input[32..].copy_from_slice(leaf);
    sha256(&input)
}

/// A sequence number as a slice index; proofs are only built for entries held in memory.
fn index(seq: u64) -> usize {
    usize::try_from(seq).unwrap_or(usize::MAX)
}

fn hex_prefix(key: &str) -> String {
    key.chars().take(16).collect()
}

/// Tells each observer of one append: what was appended, how it ended, and how long it took.
fn notify(
    observers: &[Arc<dyn AuditObserver>],
    event: &AuditEvent,
    outcome: &Result<AppendReceipt, AuditError>,
    started: Instant,
) {
    let took = started.elapsed();
    for observer in observers {
        observer.appended(event, outcome.as_ref().copied(), took);
    }
}

#[cfg(test)]
mod async_tests;
#[cfg(test)]
mod tests;
