//! The tamper-evident audit log.
//!
//! This crate owns the record of who did what to which patient's data: an append-only store,
//! separate from the application's, where every entry is stored as the exact bytes that are
//! hashed, linked to the one before it by a hash chain, and a leaf of an RFC 6962 Merkle tree
//! whose head is signed with Ed25519 at regular checkpoints (also copied to a witness file when
//! one is configured). Appends are group-committed: one transaction and one sync per batch,
//! each append acknowledged only once its batch is durable. It verifies all of that from the
//! stored bytes, and produces and checks inclusion and consistency proofs.
//!
//! It refuses to decide policy (callers say what happened), to hold PHI (patients appear only as
//! keyed HMAC references, and an event whose patient reference is not one is refused), and to
//! report an append before it is durably committed.

pub mod accounting;
mod checkpoint;
mod commit;
mod error;
mod event;
pub mod fhir;
mod log;
mod merkle;
mod observe;
mod store;
mod verify;
pub mod witness;
pub mod witness_url;

pub use checkpoint::{Checkpoint, CheckpointSigner};
pub use error::AuditError;
pub use event::{
    Action, Actor, AuditEvent, IndexedFields, MAX_DETAIL_LEN, Outcome, decode_stored_entry,
    encode_stored_entry, indexed_fields,
};
pub use log::{
    AppendReceipt, AuditEntry, AuditLog, CHECKPOINT_AFTER, CHECKPOINT_INTERVAL, LogOptions,
    RETENTION_DAYS,
};
pub use merkle::{
    Frontier, Hash, consistency_path, inclusion_path, leaf_hash, node_hash, root as merkle_root,
    verify_consistency, verify_inclusion,
};
pub use observe::AuditObserver;
pub use store::Query;
pub use store::postgres;
pub use verify::{Failure, VerifyReport};
