//! `phigate backup`: a consistent copy of the encrypted store and the audit log, taken while
//! `phigate serve` may be writing, with a manifest of digests.
//!
//! The store is copied first, then the audit log: every change in the copied store was audited
//! before it was made, so the copied log covers it. Each copy is one read snapshot, so writers
//! carry on: `VACUUM INTO` for SQLite, and for PostgreSQL one `REPEATABLE READ READ ONLY`
//! transaction per schema whose rows are written into SQLite files of the same layout, so a
//! backup looks the same whichever backend it came from and restores into either. No key is copied: the root key (or the KMS
//! configuration) and the signing keys in `keys/` are backed up separately, so a stolen backup
//! opens nothing.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_audit::{Action, AuditEvent, Outcome};
use phigate_store::copy::export_to_sqlite;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::cli::BackupArgs;
use crate::cmd::patient::operator;
use crate::config::Config;
use crate::datadir::{self, Layout};
use crate::output::Out;

/// The manifest's file name inside a backup directory.
pub const MANIFEST: &str = "manifest.json";

/// The manifest format this build writes and reads.
pub const FORMAT: &str = "phigate-backup/1";

/// What a backup holds. Names, sizes and digests only: no keys, no PHI.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// When the backup was taken (RFC 3339).
    pub created_at: String,
    /// The tenant of the deployment.
    pub tenant: String,
    /// The root key's KMS (its non-secret id); the key itself is not in the backup.
    pub kms: String,
    /// The audit log's checkpoint public key (hex), which the restored log must verify under.
    pub audit_public_key: String,
    /// Audit entries in the copied log (absent in backups from builds that did not copy a log
    /// kept in PostgreSQL).
    pub audit_entries: Option<u64>,
    /// The copied files.
    pub files: Vec<ManifestFile>,
    /// Always false: keys are backed up separately.
    pub keys_included: bool,
}

/// One copied file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Its name in both the backup and the data directory.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its schema version (`PRAGMA user_version`).
    pub schema_version: i64,
}

/// Runs `phigate backup`.
pub fn run(config: &Config, args: &BackupArgs) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let layout = Layout::new(&config.data_dir);
    create_empty_dir(&args.out)?;

    let store_copy = args.out.join(file_name(&layout.store())?);
    let copied = match config.store.postgres_url {
        None => opened.store.snapshot_into(&store_copy),
        Some(_) => export_to_sqlite(opened.store.database(), &store_copy).map(|_| ()),
    };
    copied.context("cannot copy the store")?;
    let mut files = vec![describe(&store_copy)?];

    // Recorded before the log is copied, so the backup holds its own record.
    let mut event = AuditEvent::new(operator(), Action::Backup, Outcome::Success);
    event.detail = Some(format!(
        "backup: store snapshot sha256 {}",
        &files[0].sha256[..16]
    ));
    opened.audit.append(event)?;
    opened.audit.checkpoint()?;

    let audit_copy = args.out.join(file_name(&layout.audit())?);
    match &config.audit.postgres_url {
        None => snapshot_sqlite(&layout.audit(), &audit_copy),
        Some(url) => {
            let schema = &config.audit.postgres_schema;
            phigate_audit::postgres::export_to_sqlite(url, schema, &audit_copy)
                .map(|_| ())
                .map_err(Into::into)
        }
    }
    .context("cannot copy the audit log")?;
    files.push(describe(&audit_copy)?);
    let audit_entries = Some(count_entries(&audit_copy)?);

    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: now_rfc3339(),
        tenant: config.tenant.clone(),
        kms: opened.store.keyring().kms_id().to_owned(),
        audit_public_key: opened.audit.public_key_hex(),
        audit_entries,
        files,
        keys_included: false,
    };
    let path = args.out.join(MANIFEST);
    fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;

    let mut out = Out::new();
    for file in &manifest.files {
        out.line(format!(
            "{}  {} bytes  sha256 {}",
            file.name, file.bytes, file.sha256
        ));
    }
    if let Some(n) = audit_entries {
        out.line(format!("audit log: {n} entries copied"));
    }
    out.line(format!(
        "backup written to {}; keys are not in it: back up {} (or your KMS key) separately",
        args.out.display(),
        layout.root.join("keys").display()
    ));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Creates `dir` owner-only, or accepts it if it exists and is empty.
fn create_empty_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries =
            fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} is not empty; give a new directory", dir.display());
        }
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// A consistent copy of a SQLite database that another process may be writing.
fn snapshot_sqlite(source: &Path, dest: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let dest_text = dest
        .to_str()
        .context("the backup path is not valid UTF-8")?;
    conn.execute("VACUUM INTO ?1", [dest_text])?;
    Ok(())
}

/// Size, digest and schema version of a copied file, made owner-only.
pub(crate) fn describe(path: &Path) -> Result<ManifestFile> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = file.metadata()?.len();
    let sha256 = phigate_crypto::sha256_hex_reader(file)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let schema_version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(ManifestFile {
        name: file_name(path)?,
        bytes,
        sha256,
        schema_version,
    })
}

fn count_entries(audit_copy: &Path) -> Result<u64> {
    let conn = Connection::open_with_flags(audit_copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?)
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no file name", path.display()))
}

fn now_rfc3339() -> String {
    crate::cmd::hold::rfc3339(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// The manifest of a backup directory, read with a size bound.
pub(crate) fn read_manifest(dir: &Path) -> Result<(Manifest, PathBuf)> {
    let path = dir.join(MANIFEST);
    let meta = fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() || meta.len() > 1024 * 1024 {
        bail!("{} is not a backup manifest", path.display());
    }
    let manifest: Manifest = serde_json::from_slice(&fs::read(&path)?)
        .with_context(|| format!("{} is not a backup manifest", path.display()))?;
    if manifest.format != FORMAT {
        bail!(
            "{} has format {:?}; this build reads {FORMAT:?}",
            path.display(),
            manifest.format
        );
    }
    Ok((manifest, path))
}
