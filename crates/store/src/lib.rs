//! Phigate's application store: the encrypted patient record, drafts awaiting review, vault maps,
//! user accounts with their sign-in state, OAuth clients, refresh-token families and the OAuth
//! server's short-lived state, on SQLite (the embedded default) or PostgreSQL (shared by several
//! gateway replicas). Both backends run the same queries through one interface, [`db::Sql`].
//!
//! Every PHI-bearing value is sealed with the keyring before it touches the database, under a
//! context naming tenant, patient, record and field; rows are keyed by keyed hashes
//! ([`PatientRef`]) rather than patient identifiers, so the file alone reveals neither who is in
//! it nor what their record says. The store holds no business rules: who may read or write is
//! decided before a call reaches it. The audit log is not here; it has a store of its own.

mod appointments;
mod backup;
mod break_glass;
mod care_team;
mod clients;
mod console;
mod containment;
pub mod copy;
pub mod db;
mod drafts;
mod erase;
mod error;
mod holds;
mod import;
mod incidents;
mod keys;
mod oauth_state;
mod patient_accounts;
mod patients;
mod rate_limits;
mod refresh;
mod retention;
mod rotation;
mod security;
mod slots;
mod users;
mod vaults;

use std::path::Path;
use std::sync::Arc;

use phigate_crypto::{Keyring, Kms};

pub use break_glass::{BreakGlassRecord, NewBreakGlass};
pub use care_team::PatientAccess;
pub use clients::ClientRecord;
pub use containment::{PatientFreeze, ProviderBlock};
pub use db::{BackendKind, Database, PostgresConfig};
pub use drafts::{Draft, DraftStatus};
pub use erase::{ErasureReport, Tombstone};
pub use error::StoreError;
pub use holds::LegalHold;
pub use import::{ImportCounts, PreparedPatient};
pub use incidents::{IncidentRecord, NewIncident};
pub use keys::DbKeyRepository;
pub use oauth_state::CodeUse;
pub use patients::{ForgetReport, PatientRef, StoredResource};
pub use refresh::{RefreshFamily, RefreshLimits, RefreshRefusal};
pub use retention::{RetentionCounts, RetentionCutoffs};
pub use rotation::{KeyStatus, RewrapReport, RotationReport};
pub use security::UserSecurity;
pub use slots::{Slot, SlotStatus};
pub use users::UserRecord;

/// The application store: one database and the keyring that seals what goes into it.
#[derive(Clone)]
pub struct Store {
    db: Database,
    keyring: Arc<Keyring>,
    index: Arc<phigate_crypto::KeyMaterial>,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, with keys wrapped by `kms`.
    pub fn open(path: &Path, kms: Arc<dyn Kms>) -> Result<Self, StoreError> {
        Self::with_database(Database::open(path)?, kms)
    }

    /// Opens (creating and migrating if needed) the store in a PostgreSQL schema, with keys
    /// wrapped by `kms`. Every replica given the same server, schema and root key shares it.
    pub fn open_postgres(config: PostgresConfig, kms: Arc<dyn Kms>) -> Result<Self, StoreError> {
        Self::with_database(Database::open_postgres(config)?, kms)
    }

    /// The store over an already opened database.
    pub fn with_database(db: Database, kms: Arc<dyn Kms>) -> Result<Self, StoreError> {
        let index = Arc::new(keys::index_key(&db, kms.as_ref())?);
        let repo = Arc::new(DbKeyRepository::new(db.clone()));
        let keyring = Arc::new(Keyring::new(kms, repo));
        Ok(Self { db, keyring, index })
    }

    /// The database under the store, for store code kept outside this crate's files (its
    /// queries go through [`db::Sql`]).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The keyring sealing this store's values (also used for rotation and shredding).
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Reads a patient reference given in its stored hex form (from an audit entry or
    /// `phigate import` output); `None` unless it is 64 lowercase hex characters.
    pub fn parse_patient_ref(value: &str) -> Option<PatientRef> {
        let hex = value.len() == 64
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        hex.then(|| PatientRef::from_stored(value.to_owned()))
    }

    /// The keyed hash naming `patient_id` of `tenant` in rows, key scopes and the audit log.
    pub fn patient_ref(&self, tenant: &str, patient_id: &str) -> PatientRef {
        PatientRef::derive(&self.index, tenant, patient_id)
    }
}
