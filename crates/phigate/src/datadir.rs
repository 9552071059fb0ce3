//! The data directory's layout, and opening the components that live in it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use phigate_audit::witness_url::WitnessUrl;
use phigate_audit::{AuditLog, CheckpointSigner, LogOptions};
use phigate_auth::TokenSigner;
use phigate_crypto::devcert::DevCa;
use phigate_crypto::secret_file::{create_secret_file, read_secret_file};
use phigate_crypto::{AwsKms, AwsKmsConfig, Kms, LocalKms};
use phigate_store::{PostgresConfig, Store};

use crate::config::Config;

/// Audience of access tokens minted by this deployment.
pub const TOKEN_AUDIENCE: &str = "phigate";

/// Where each file of a data directory lives.
pub struct Layout {
    /// The directory itself.
    pub root: PathBuf,
}

impl Layout {
    /// The layout of `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// The local root key (KMS) file.
    pub fn root_key(&self) -> PathBuf {
        self.root.join("keys").join("root.key")
    }

    /// The access-token signing key.
    pub fn token_key(&self) -> PathBuf {
        self.root.join("keys").join("token-signing.pk8")
    }

    /// The audit checkpoint signing key.
    pub fn audit_key(&self) -> PathBuf {
        self.root.join("keys").join("audit-signing.pk8")
    }

    /// The development CA certificate `phigate init` makes (what test clients trust).
    pub fn tls_ca(&self) -> PathBuf {
        self.root.join("keys").join("tls-ca.pem")
    }

    /// The development CA's private key.
    pub fn tls_ca_key(&self) -> PathBuf {
        self.root.join("keys").join("tls-ca.key")
    }

    /// The server certificate chain used when `server.tls.cert_file` is not set.
    pub fn tls_cert(&self) -> PathBuf {
        self.root.join("keys").join("tls-server.pem")
    }

    /// The server private key used when `server.tls.key_file` is not set.
    pub fn tls_key(&self) -> PathBuf {
        self.root.join("keys").join("tls-server.key")
    }

    /// The application database.
    pub fn store(&self) -> PathBuf {
        self.root.join("phigate.db")
    }

    /// The audit database.
    pub fn audit(&self) -> PathBuf {
        self.root.join("audit.db")
    }

    /// Where delivery to `audit.witness_url` is recorded.
    pub fn witness_status(&self) -> PathBuf {
        self.root.join("audit-witness.json")
    }

    /// Whether `phigate init` has run here (it writes the token key whatever the KMS).
    pub fn is_initialised(&self) -> bool {
        self.root_key().exists() || self.token_key().exists()
    }

    /// Refuses a data directory or key folder that others may read or enter.
    pub fn check_permissions(&self) -> Result<()> {
        for dir in [self.root.clone(), self.root.join("keys")] {
            let mode = fs::metadata(&dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} has permissions {:o}; it must be accessible by its owner only (chmod 700)",
                    dir.display(),
                    mode & 0o777
                );
            }
        }
        Ok(())
    }

    /// Creates the directory tree with owner-only permissions.
    pub fn create_dirs(&self) -> Result<()> {
        for dir in [self.root.clone(), self.root.join("keys")] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", dir.display()))?;
        }
        Ok(())
    }
}

/// Everything a command needs from an initialised data directory.
pub struct Opened {
    /// The encrypted application store.
    pub store: Store,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// The access-token signer.
    pub tokens: TokenSigner,
}

/// Opens the components of an initialised data directory.
pub fn open(config: &Config) -> Result<Opened> {
    let layout = Layout::new(&config.data_dir);
    if !layout.is_initialised() {
        bail!(
            "{} is not an initialised data directory; run `phigate init` first",
            layout.root.display()
        );
    }
    // A missing database or key is a damaged data directory, not a fresh one: recreating it
    // silently would lose records or fork the audit log.
    let audit_file = config
        .audit
        .postgres_url
        .is_none()
        .then(|| (layout.audit(), "the audit log"));
    let store_file = config
        .store
        .postgres_url
        .is_none()
        .then(|| (layout.store(), "the store"));
    for (path, what) in [
        (layout.audit_key(), "the audit signing key"),
        (layout.token_key(), "the token signing key"),
    ]
    .into_iter()
    .chain(store_file)
    .chain(audit_file)
    {
        if !path.is_file() {
            bail!(
                "{what} ({}) is missing; restore the data directory from backup",
                path.display()
            );
        }
    }
    open_components(config, &layout)
}

/// Opens the components of a data directory that `phigate init` is creating.
pub fn open_new(config: &Config) -> Result<Opened> {
    open_components(config, &Layout::new(&config.data_dir))
}

fn open_components(config: &Config, layout: &Layout) -> Result<Opened> {
    layout.check_permissions()?;
    let store = open_store(config, layout)?;
    let signer = CheckpointSigner::load_or_create(&layout.audit_key())
        .context("cannot load the audit key")?;
    let options = log_options(config);
    let origin = &config.audit.origin;
    let audit = match &config.audit.postgres_url {
        Some(url) => {
            let schema = &config.audit.postgres_schema;
            AuditLog::open_postgres(url, schema, signer, origin, options)
                .context("cannot open the audit log in PostgreSQL")?
        }
        None => AuditLog::open_with(&layout.audit(), signer, origin, options)
            .context("cannot open the audit log")?,
    };
    let audit_file = config.audit.postgres_url.is_none().then(|| layout.audit());
    let store_file = config.store.postgres_url.is_none().then(|| layout.store());
    for db in store_file.into_iter().chain(audit_file) {
        fs::set_permissions(&db, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", db.display()))?;
    }
    let pkcs8 = read_secret_file(&layout.token_key()).context("cannot read the token key")?;
    let tokens = TokenSigner::from_pkcs8(&pkcs8, &config.oauth.issuer).context("bad token key")?;
    Ok(Opened {
        store,
        audit: Arc::new(audit),
        tokens,
    })
}

/// The application store `[store]` names: a schema on PostgreSQL, or `phigate.db` here.
fn open_store(config: &Config, layout: &Layout) -> Result<Store> {
    let kms = root_kms(config, layout)?;
    match &config.store.postgres_url {
        Some(url) => Store::open_postgres(postgres_settings(config, url), kms)
            .context("cannot open the store in PostgreSQL"),
        None => Store::open(&layout.store(), kms).context("cannot open the store"),
    }
}

/// The connection settings of a store `[store]` puts on PostgreSQL at `url`.
pub fn postgres_settings(config: &Config, url: &str) -> PostgresConfig {
    let mut settings = PostgresConfig::new(url, &config.store.postgres_schema);
    settings.pool_size = usize::try_from(config.store.pool_size).unwrap_or(usize::MAX);
    settings
}

/// How the audit log runs, from the configuration.
pub fn log_options(config: &Config) -> LogOptions {
    LogOptions {
        checkpoint_every: config.audit.checkpoint_every,
        checkpoint_after: std::time::Duration::from_secs(config.audit.checkpoint_secs),
        witness_file: config.audit.witness_file.clone(),
        witness_url: config
            .audit
            .witness_url
            .as_ref()
            .map(|url| WitnessUrl::new(url, &Layout::new(&config.data_dir).witness_status())),
    }
}

/// The KMS holding the root key, as `[keys]` says: AWS KMS, the key file, or an environment
/// variable.
fn root_kms(config: &Config, layout: &Layout) -> Result<Arc<dyn Kms>> {
    let keys = &config.keys;
    if keys.kms == "aws" {
        let endpoint = (!keys.aws_endpoint_url.is_empty()).then_some(&*keys.aws_endpoint_url);
        let aws = AwsKmsConfig::with_env_credentials(&keys.aws_key_id, &keys.aws_region, endpoint)
            .context("AWS KMS credentials")?;
        return Ok(Arc::new(
            AwsKms::new(&aws).context("cannot set up AWS KMS")?,
        ));
    }
    let var = &keys.root_key_env;
    Ok(if var.is_empty() {
        Arc::new(LocalKms::open(&layout.root_key()).context("cannot open the root key")?)
    } else {
        Arc::new(LocalKms::from_env(var).context("cannot read the root key")?)
    })
}

/// Creates the key files of a new data directory: the root key file unless the root key is
/// held elsewhere (AWS KMS, or an environment variable).
pub fn create_keys(config: &Config, layout: &Layout) -> Result<()> {
    if config.keys.kms == "local" && config.keys.root_key_env.is_empty() {
        LocalKms::create(&layout.root_key()).context("cannot create the root key")?;
    }
    let pkcs8 = TokenSigner::generate_pkcs8().context("cannot create the token key")?;
    create_secret_file(&layout.token_key(), &pkcs8).context("cannot write the token key")?;
    CheckpointSigner::load_or_create(&layout.audit_key()).context("cannot create the audit key")?;
    create_dev_tls(layout)
}

/// Makes a development CA and a server certificate for this machine's loopback names, keys
/// owner-only. A deployment points `server.tls.cert_file` and `key_file` at its own instead.
fn create_dev_tls(layout: &Layout) -> Result<()> {
    let ca = DevCa::generate("Phigate development CA").context("cannot make the TLS CA")?;
    let server = ca
        .issue_server(&["localhost", "127.0.0.1", "::1"])
        .context("cannot make the TLS certificate")?;
    create_secret_file(&layout.tls_ca_key(), ca.key_pem().as_bytes())
        .context("cannot write the TLS CA key")?;
    create_secret_file(&layout.tls_key(), server.key_pem.as_bytes())
        .context("cannot write the TLS key")?;
    let chain = format!("{}{}", server.cert_pem, ca.cert_pem());
    for (path, pem) in [(layout.tls_cert(), chain), (layout.tls_ca(), ca.cert_pem())] {
        fs::write(&path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
