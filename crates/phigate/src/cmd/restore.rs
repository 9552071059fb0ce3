//! `phigate restore`: a backup into a new data directory, and into new PostgreSQL schemas where
//! the configuration puts the store or the audit log there (they must be empty; a restore into
//! PostgreSQL that fails part way leaves what it loaded, and the schemas are dropped and made
//! again before the next try). The manifest's digests are checked
//! before anything is copied, the keys come from elsewhere (`--keys`, or already in place), the
//! restored store must open under the root key, and the restored audit log must verify under
//! the backup's checkpoint key before the restore is declared done and audited.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_audit::{Action, AuditEvent, Outcome};
use phigate_store::Database;
use phigate_store::copy::import_from_sqlite;

use crate::cli::RestoreArgs;
use crate::cmd::backup::{Manifest, read_manifest};
use crate::cmd::patient::operator;
use crate::config::Config;
use crate::datadir::{self, Layout};
use crate::output::Out;

/// Runs `phigate restore`.
pub fn run(config: &Config, args: &RestoreArgs) -> Result<ExitCode> {
    let (manifest, manifest_path) = read_manifest(&args.from)?;
    let layout = Layout::new(&config.data_dir);
    let names = expected_files(config, &layout, &manifest)?;
    for file in &manifest.files {
        check_file(&args.from.join(&file.name), file.bytes, &file.sha256)?;
    }
    check_target(&layout.root, args.keys.is_some())?;

    layout.create_dirs()?;
    if let Some(keys) = &args.keys {
        copy_keys(keys, &layout.root.join("keys"))?;
    }
    let copied: Vec<_> = names.iter().map(|n| layout.root.join(n)).collect();
    let result = restore_into(config, args, &manifest, &manifest_path);
    if result.is_err() {
        // Leave the directory as it was given, so the restore can be tried again. With
        // `--keys` it was empty, so its `keys/` is ours to remove.
        if args.keys.is_some() {
            let _ = fs::remove_dir_all(layout.root.join("keys"));
        }
        for path in &copied {
            for suffix in ["", "-wal", "-shm"] {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                let _ = fs::remove_file(name);
            }
        }
    }
    result
}

fn restore_into(
    config: &Config,
    args: &RestoreArgs,
    manifest: &Manifest,
    manifest_path: &Path,
) -> Result<ExitCode> {
    let layout = Layout::new(&config.data_dir);
    for file in &manifest.files {
        let source = args.from.join(&file.name);
        let postgres = if file.name == name_of(&layout.store())? {
            config.store.postgres_url.as_deref()
        } else {
            config.audit.postgres_url.as_deref()
        };
        match postgres {
            None => {
                let dest = layout.root.join(&file.name);
                fs::copy(&source, &dest).with_context(|| format!("cannot copy {}", file.name))?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(0o600))?;
                check_file(&dest, file.bytes, &file.sha256)?;
            }
            Some(url) => load_into_postgres(config, &layout, url, &source)?,
        }
    }

    let opened = datadir::open(config)
        .context("the restored data directory does not open with these keys")?;
    if opened.audit.public_key_hex() != manifest.audit_public_key {
        bail!("the audit signing key given is not the one the backup's log was signed with");
    }
    let verified = opened.audit.verify()?;
    if !verified.ok {
        bail!(
            "the restored audit log does not verify: {}",
            verified.problem.as_deref().unwrap_or("unknown problem")
        );
    }
    let patients = opened.store.patient_count(&config.tenant)?;
    let manifest_digest = phigate_crypto::sha256_hex_reader(fs::File::open(manifest_path)?)?;
    let mut event = AuditEvent::new(operator(), Action::Restore, Outcome::Success);
    event.detail = Some(format!(
        "restored the backup taken {} (manifest sha256 {}); {} entries verified",
        manifest.created_at,
        &manifest_digest[..16],
        verified.entries
    ));
    opened.audit.append(event)?;
    opened.audit.checkpoint()?;

    let mut out = Out::new();
    out.line(format!(
        "restored the backup taken {} into {}: {patients} patients",
        manifest.created_at,
        layout.root.display()
    ));
    out.line(verified.to_string());
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Loads a copied store or audit log file into the PostgreSQL schema the configuration names
/// for it, which must be empty (the store's is created and migrated if absent; the audit
/// schema is made by its owner beforehand, as for `serve`).
fn load_into_postgres(config: &Config, layout: &Layout, url: &str, source: &Path) -> Result<()> {
    if source.file_name() == layout.store().file_name() {
        let settings = datadir::postgres_settings(config, url);
        let db = Database::open_postgres(settings).context("cannot open the target store")?;
        import_from_sqlite(source, &db).context("cannot load the store into PostgreSQL")?;
    } else {
        let schema = &config.audit.postgres_schema;
        phigate_audit::postgres::import_from_sqlite(url, schema, source)
            .context("cannot load the audit log into PostgreSQL")?;
    }
    Ok(())
}

fn name_of(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no file name", path.display()))
}

/// The manifest must list the store and the audit log, and nothing else (a name is never a
/// path). Where the configuration puts one in PostgreSQL, its file is loaded there instead of
/// being copied.
fn expected_files(config: &Config, layout: &Layout, manifest: &Manifest) -> Result<Vec<String>> {
    let store = name_of(&layout.store())?;
    let audit = name_of(&layout.audit())?;
    let mut expected = Vec::new();
    if config.store.postgres_url.is_none() {
        expected.push(store.clone());
    }
    if config.audit.postgres_url.is_none() {
        expected.push(audit.clone());
    }
    let mut listed: Vec<String> = manifest.files.iter().map(|f| f.name.clone()).collect();
    listed.sort();
    let mut wanted = vec![store, audit];
    wanted.sort();
    if listed != wanted {
        bail!(
            "the backup lists {listed:?}; a restore with this configuration needs exactly \
             {wanted:?}"
        );
    }
    Ok(expected)
}

fn check_file(path: &Path, bytes: u64, sha256: &str) -> Result<()> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() != bytes {
        bail!(
            "{} is not the {bytes}-byte file the manifest lists; the backup is damaged",
            path.display()
        );
    }
    if phigate_crypto::sha256_hex_reader(file)? != sha256 {
        bail!(
            "{} does not match its SHA-256 in the manifest; the backup is damaged or altered",
            path.display()
        );
    }
    Ok(())
}

/// The data directory must be absent or empty; without `--keys` it may hold `keys/` alone.
fn check_target(root: &Path, keys_given: bool) -> Result<()> {
    if !root.exists() {
        return Ok(());
    }
    for entry in fs::read_dir(root).with_context(|| format!("cannot read {}", root.display()))? {
        let entry = entry?;
        let is_keys = entry.file_name() == "keys" && entry.file_type()?.is_dir();
        if !is_keys || keys_given {
            bail!(
                "{} is not empty; restore into a new data directory (it may hold only `keys/` \
                 when --keys is not given)",
                root.display()
            );
        }
    }
    Ok(())
}

/// Copies the regular files of a key folder, owner-only.
fn copy_keys(from: &Path, to: &Path) -> Result<()> {
    let mut copied = 0;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let dest = to.join(entry.file_name());
        fs::copy(entry.path(), &dest)
            .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o600))?;
        copied += 1;
    }
    if copied == 0 {
        bail!("{} holds no key files", from.display());
    }
    Ok(())
}
