//! `[store]`: where the application store lives. Absent, an SQLite file in the data directory;
//! with `postgres_url`, a schema on a PostgreSQL server that several replicas share.

use serde::Deserialize;

/// The application store's backend.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Keep the store in PostgreSQL instead of `phigate.db`: a connection string
    /// (`host=... user=... dbname=...` or a `postgresql://` URL). Unset: SQLite.
    pub postgres_url: Option<String>,
    /// The schema holding the store's tables; created and migrated at start.
    pub postgres_schema: String,
    /// Most connections each process opens.
    pub pool_size: u64,
}

impl std::fmt::Debug for StoreConfig {
    // The connection string may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("postgres", &self.postgres_url.is_some())
            .field("postgres_schema", &self.postgres_schema)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            postgres_url: None,
            postgres_schema: "phigate_store".into(),
            pool_size: 8,
        }
    }
}

impl StoreConfig {
    /// What is wrong with the section, as (key, reason).
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if !super::is_schema_name(&self.postgres_schema) {
            return Some((
                "store.postgres_schema",
                "use lowercase letters, digits and '_' (not starting with a digit)".into(),
            ));
        }
        if !(1..=256).contains(&self.pool_size) {
            return Some(("store.pool_size", "must be between 1 and 256".into()));
        }
        if self
            .postgres_url
            .as_ref()
            .is_some_and(|u| u.trim().is_empty())
        {
            return Some(("store.postgres_url", "must not be empty".into()));
        }
        None
    }
}
