//! Configuration: a TOML file, then `PHIGATE_…` environment overrides, validated as a whole
//! before anything starts. Every error names the key at fault and why.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

mod identity;
mod store;

pub use identity::ExternalIssuerSettings;

pub use store::StoreConfig;
mod ops;

pub use ops::{IncidentsConfig, MetricsConfig, TelemetryConfig};

/// Phigate's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where keys, the encrypted store and the audit log live.
    pub data_dir: PathBuf,
    /// The tenant (organisation) this deployment serves.
    pub tenant: String,
    /// The model provider.
    pub provider: ProviderConfig,
    /// De-identification options.
    pub deid: DeidConfig,
    /// Audit log options.
    pub audit: AuditConfig,
    /// Operator logging.
    pub log: LogConfig,
    /// The HTTP gateway (`phigate serve`).
    pub server: ServerConfig,
    /// The OAuth 2.0 authorization server served beside the gateway.
    pub oauth: OAuthSettings,
    /// Token-bucket rate limits on `/v1/*`.
    pub rate_limit: RateLimitSettings,
    /// Where the root key lives.
    pub keys: KeysConfig,
    /// Where the application store lives (`[store]`).
    pub store: StoreConfig,
    /// How long the store keeps each data class (`[retention]`).
    pub retention: RetentionConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// Incident rules and alerts.
    pub incidents: IncidentsConfig,
    /// OpenTelemetry trace export.
    pub telemetry: TelemetryConfig,
}

/// The OAuth 2.0 authorization server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthSettings {
    /// The issuer: the base URL clients reach this server at. Also the `iss` of access tokens.
    pub issuer: String,
    /// Access-token lifetime, seconds (at most 900).
    pub access_ttl_secs: u64,
    /// A session unused this long must sign in again, seconds (automatic logoff).
    pub refresh_idle_secs: u64,
    /// A session ends this long after sign-in however active, seconds.
    pub refresh_absolute_secs: u64,
    /// Requests to `/oauth/token` and sign-in attempts allowed at once, per client and user.
    pub token_burst: u32,
    /// Sustained rate of the same, per second.
    pub token_per_second: f64,
    /// External identity providers whose tokens the gateway accepts beside Phigate's own.
    pub external_issuers: Vec<ExternalIssuerSettings>,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            access_ttl_secs: 900,
            refresh_idle_secs: 30 * 60,
            refresh_absolute_secs: 12 * 3600,
            token_burst: 20,
            token_per_second: 1.0,
            external_issuers: Vec::new(),
        }
    }
}

/// Token buckets on `/v1/*`: `burst` requests at once, then `per_second`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Per user or service principal: burst.
    pub principal_burst: u32,
    /// Per principal: sustained requests per second.
    pub principal_per_second: f64,
    /// Per OAuth client: burst.
    pub client_burst: u32,
    /// Per client: sustained requests per second.
    pub client_per_second: f64,
    /// Per tenant: burst.
    pub tenant_burst: u32,
    /// Per tenant: sustained requests per second.
    pub tenant_per_second: f64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            principal_burst: 60,
            principal_per_second: 5.0,
            client_burst: 300,
            client_per_second: 25.0,
            tenant_burst: 1000,
            tenant_per_second: 100.0,
        }
    }
}

/// The root of the key hierarchy (`[keys]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// `local` (a key file made by `phigate init`, owner-only, or an environment variable) or
    /// `aws` (AWS KMS).
    pub kms: String,
    /// For `local`: the name of an environment variable holding the root key in base64, used
    /// instead of the key file; empty for the file.
    pub root_key_env: String,
    /// For `aws`: the key id, key ARN or alias of a symmetric KMS key.
    pub aws_key_id: String,
    /// For `aws`: the region.
    pub aws_region: String,
    /// For `aws`: another endpoint (https, or http on loopback); empty for the regional one.
    pub aws_endpoint_url: String,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            kms: "local".into(),
            root_key_env: String::new(),
            aws_key_id: String::new(),
            aws_region: String::new(),
            aws_endpoint_url: String::new(),
        }
    }
}

/// The HTTP gateway. Callers authenticate with Phigate access tokens, so no API key is
/// configured here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Plain HTTP, so loopback only unless TLS is on.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// `anthropic-beta` flags callers may send; others are refused with `400`.
    pub allowed_betas: Vec<String>,
    /// Per-tenant `anthropic-beta` allow-lists (`[server.tenant_betas]`, tenant = [flags]): a
    /// tenant listed here gets exactly its own list in place of `allowed_betas`.
    pub tenant_betas: std::collections::BTreeMap<String, Vec<String>>,
    /// Longest a client may take to send a request line and headers (also closes idle
    /// keep-alive connections after this long), seconds.
    pub header_timeout_secs: u64,
    /// Longest a client may take to send a request body, seconds.
    pub body_timeout_secs: u64,
    /// HTTPS.
    pub tls: TlsConfig,
    /// The public OAuth client (`phigate clients add --role patient --method none`) the
    /// patient's chat page at `/patient/` signs in with. Empty: the page says it is not set up.
    pub patient_client_id: String,
    /// On SIGTERM or Ctrl-C, how long open requests (streams included) may take to finish
    /// before they are cut off, seconds.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 32 * 1024 * 1024,
            allowed_betas: Vec::new(),
            tenant_betas: std::collections::BTreeMap::new(),
            header_timeout_secs: 30,
            body_timeout_secs: 30,
            tls: TlsConfig::default(),
            patient_client_id: String::new(),
            shutdown_grace_secs: 30,
        }
    }
}

/// HTTPS for `phigate serve` (`[server.tls]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Serve HTTPS. Without it the gateway serves plain HTTP, on loopback only.
    pub enabled: bool,
    /// PEM certificate chain; empty means `tls/server.pem` in the data directory.
    pub cert_file: PathBuf,
    /// PEM private key, owner-only; empty means `tls/server.key` in the data directory.
    pub key_file: PathBuf,
    /// PEM file of the CA that signs service clients' certificates (mutual TLS).
    pub client_ca_file: PathBuf,
    /// `none`, `optional` (verified when presented) or `required`.
    pub client_auth: String,
    /// `1.3`, or `1.2` to accept TLS 1.2 as well.
    pub min_version: String,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            cert_file: PathBuf::new(),
            key_file: PathBuf::new(),
            client_ca_file: PathBuf::new(),
            client_auth: "none".into(),
            min_version: "1.3".into(),
        }
    }
}

/// Which provider answers, and how it is reached.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// `echo` (offline, nothing leaves) or `anthropic`.
    pub kind: String,
    /// Model name sent upstream.
    pub model: String,
    /// Base URL of the Anthropic API.
    pub base_url: String,
    /// Name of the environment variable holding the Anthropic API key.
    pub api_key_env: String,
    /// Whether a business associate agreement with the provider is on record.
    pub baa_on_record: bool,
    /// Whole-request timeout, seconds.
    pub timeout_secs: u64,
    /// Longest wait for the provider's status and headers on one attempt, seconds.
    pub first_byte_timeout_secs: u64,
    /// Retries after a retryable failure.
    pub max_retries: u32,
    /// What a provider off the premises receives: `auto` (linkable placeholders with a BAA on
    /// record, Safe Harbor data without), `placeholder` (linkable placeholders whatever the
    /// BAA: unsafe without one, warned at start and failed by `phigate compliance report`) or
    /// `safe-harbor` (Safe Harbor data even with a BAA).
    pub deid_mode: String,
}

/// De-identification options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeidConfig {
    /// Treat clinicians' names as identifiers (not required by Safe Harbor; on by default).
    pub clinician_names: bool,
}

/// Audit log options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The origin line of signed checkpoints.
    pub origin: String,
    /// A file every signed checkpoint is also appended to, checked by `audit verify`.
    pub witness_file: Option<PathBuf>,
    /// A receiver every signed checkpoint is also POSTed to (https, or http on loopback),
    /// without holding up appends; `phigate compliance report` checks that it keeps up.
    pub witness_url: Option<String>,
    /// How long entry bodies are kept, in days (hashes and checkpoints are kept for ever).
    pub retention_days: u64,
    /// A checkpoint is signed once this many entries are not covered by one.
    pub checkpoint_every: u64,
    /// A checkpoint is also signed once entries have waited this many seconds without one.
    pub checkpoint_secs: u64,
    /// Keep the log in PostgreSQL instead of `audit.db`: a connection string for the
    /// application role (which may only select and insert). Unset: SQLite.
    pub postgres_url: Option<String>,
    /// The PostgreSQL schema holding the log.
    pub postgres_schema: String,
}

/// Operator logging.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./phigate-data"),
            tenant: "default".into(),
            provider: ProviderConfig::default(),
            deid: DeidConfig {
                clinician_names: true,
            },
            audit: AuditConfig {
                origin: "phigate/audit".into(),
                witness_file: None,
                witness_url: None,
                retention_days: u64::from(phigate_audit::RETENTION_DAYS),
                checkpoint_every: phigate_audit::CHECKPOINT_INTERVAL,
                checkpoint_secs: phigate_audit::CHECKPOINT_AFTER.as_secs(),
                postgres_url: None,
                postgres_schema: "phigate_audit".into(),
            },
            log: LogConfig {
                level: "warn".into(),
                format: "text".into(),
            },
            server: ServerConfig::default(),
            oauth: OAuthSettings::default(),
            rate_limit: RateLimitSettings::default(),
            keys: KeysConfig::default(),
            store: StoreConfig::default(),
            retention: RetentionConfig::default(),
            metrics: MetricsConfig::default(),
            incidents: IncidentsConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: "echo".into(),
            model: "claude-sonnet-4-5".into(),
            base_url: "https://api.anthropic.com".into(),
            api_key_env: "ANTHROPIC_API_KEY".into(),
            baa_on_record: false,
            timeout_secs: 120,
            first_byte_timeout_secs: 120,
            max_retries: 2,
            deid_mode: "auto".into(),
        }
    }
}

impl Default for DeidConfig {
    fn default() -> Self {
        Self {
            clinician_names: true,
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Config::default().audit
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Config::default().log
    }
}

/// Whether `schema` is a plain PostgreSQL identifier: lowercase letters, digits and `_`, not
/// starting with a digit, at most 63 bytes.
fn is_schema_name(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A configuration problem, naming the key (or file) and the reason.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// A key has a value that parses but is not acceptable.
    #[error("configuration key `{key}`{origin}: {reason}")]
    Invalid {
        /// Dotted key name.
        key: &'static str,
        /// Where the value came from, such as ` (from PHIGATE_TENANT)`.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable starting with `PHIGATE_` that names no key.
    #[error("environment variable {0} is not a Phigate configuration key")]
    UnknownEnv(String),
}

/// The keys that can be overridden from the environment, and their types.
const ENV_KEYS: &[(&str, &str, Kind)] = &[
    ("PHIGATE_DATA_DIR", "data_dir", Kind::Str),
    ("PHIGATE_TENANT", "tenant", Kind::Str),
    ("PHIGATE_PROVIDER_KIND", "provider.kind", Kind::Str),
    ("PHIGATE_PROVIDER_MODEL", "provider.model", Kind::Str),
    ("PHIGATE_PROVIDER_BASE_URL", "provider.base_url", Kind::Str),
    (
        "PHIGATE_PROVIDER_API_KEY_ENV",
        "provider.api_key_env",
        Kind::Str,
    ),
    (
        "PHIGATE_PROVIDER_BAA_ON_RECORD",
        "provider.baa_on_record",
        Kind::Bool,
    ),
    (
        "PHIGATE_PROVIDER_TIMEOUT_SECS",
        "provider.timeout_secs",
        Kind::Int,
    ),
    (
        "PHIGATE_PROVIDER_FIRST_BYTE_TIMEOUT_SECS",
        "provider.first_byte_timeout_secs",
        Kind::Int,
    ),
    (
        "PHIGATE_SERVER_HEADER_TIMEOUT_SECS",
        "server.header_timeout_secs",
        Kind::Int,
    ),
    (
        "PHIGATE_SERVER_BODY_TIMEOUT_SECS",
        "server.body_timeout_secs",
        Kind::Int,
    ),
    (
        "PHIGATE_PROVIDER_MAX_RETRIES",
        "provider.max_retries",
        Kind::Int,
    ),
    (
        "PHIGATE_PROVIDER_DEID_MODE",
        "provider.deid_mode",
        Kind::Str,
    ),
    (
        "PHIGATE_DEID_CLINICIAN_NAMES",
        "deid.clinician_names",
        Kind::Bool,
    ),
    ("PHIGATE_AUDIT_ORIGIN", "audit.origin", Kind::Str),
    (
        "PHIGATE_AUDIT_WITNESS_FILE",
        "audit.witness_file",
        Kind::Str,
    ),
    ("PHIGATE_AUDIT_WITNESS_URL", "audit.witness_url", Kind::Str),
    (
        "PHIGATE_AUDIT_POSTGRES_URL",
        "audit.postgres_url",
        Kind::Str,
    ),
    (
        "PHIGATE_AUDIT_POSTGRES_SCHEMA",
        "audit.postgres_schema",
        Kind::Str,
    ),
    (
        "PHIGATE_AUDIT_RETENTION_DAYS",
        "audit.retention_days",
        Kind::Int,
    ),
    (
        "PHIGATE_AUDIT_CHECKPOINT_EVERY",
        "audit.checkpoint_every",
        Kind::Int,
    ),
    (
        "PHIGATE_AUDIT_CHECKPOINT_SECS",
        "audit.checkpoint_secs",
        Kind::Int,
    ),
    (
        "PHIGATE_STORE_POSTGRES_URL",
        "store.postgres_url",
        Kind::Str,
    ),
    (
        "PHIGATE_STORE_POSTGRES_SCHEMA",
        "store.postgres_schema",
        Kind::Str,
    ),
    ("PHIGATE_STORE_POOL_SIZE", "store.pool_size", Kind::Int),
    ("PHIGATE_LOG_LEVEL", "log.level", Kind::Str),
    ("PHIGATE_LOG_FORMAT", "log.format", Kind::Str),
    ("PHIGATE_SERVER_LISTEN", "server.listen", Kind::Str),
    (
        "PHIGATE_SERVER_PATIENT_CLIENT_ID",
        "server.patient_client_id",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_MAX_BODY_BYTES",
        "server.max_body_bytes",
        Kind::Int,
    ),
    (
        "PHIGATE_RETENTION_DRAFTS_DECIDED_DAYS",
        "retention.drafts_decided_days",
        Kind::Int,
    ),
    (
        "PHIGATE_RETENTION_DRAFTS_AWAITING_DAYS",
        "retention.drafts_awaiting_days",
        Kind::Int,
    ),
    (
        "PHIGATE_RETENTION_VAULT_DAYS",
        "retention.vault_days",
        Kind::Int,
    ),
    (
        "PHIGATE_RETENTION_PURGE_INTERVAL_SECS",
        "retention.purge_interval_secs",
        Kind::Int,
    ),
    ("PHIGATE_KEYS_KMS", "keys.kms", Kind::Str),
    ("PHIGATE_KEYS_ROOT_KEY_ENV", "keys.root_key_env", Kind::Str),
    ("PHIGATE_KEYS_AWS_KEY_ID", "keys.aws_key_id", Kind::Str),
    ("PHIGATE_KEYS_AWS_REGION", "keys.aws_region", Kind::Str),
    (
        "PHIGATE_KEYS_AWS_ENDPOINT_URL",
        "keys.aws_endpoint_url",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_TLS_ENABLED",
        "server.tls.enabled",
        Kind::Bool,
    ),
    (
        "PHIGATE_SERVER_TLS_CERT_FILE",
        "server.tls.cert_file",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_TLS_KEY_FILE",
        "server.tls.key_file",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_TLS_CLIENT_CA_FILE",
        "server.tls.client_ca_file",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_TLS_CLIENT_AUTH",
        "server.tls.client_auth",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_TLS_MIN_VERSION",
        "server.tls.min_version",
        Kind::Str,
    ),
    (
        "PHIGATE_SERVER_SHUTDOWN_GRACE_SECS",
        "server.shutdown_grace_secs",
        Kind::Int,
    ),
    ("PHIGATE_METRICS_LISTEN", "metrics.listen", Kind::Str),
    (
        "PHIGATE_TELEMETRY_OTLP_ENDPOINT",
        "telemetry.otlp_endpoint",
        Kind::Str,
    ),
    (
        "PHIGATE_INCIDENTS_WEBHOOK_URL",
        "incidents.webhook_url",
        Kind::Str,
    ),
];

/// Environment variables that configure how configuration is found, not configuration keys.
const ENV_META: &[&str] = &["PHIGATE_CONFIG"];

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Int,
}

impl Config {
    /// Loads `path` (or the defaults when `None`), applies `env` overrides and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            None => toml::Table::new(),
            Some(path) => {
                let text = read_config_file(path)?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?
            }
        };
        let mut origins = Vec::new();
        for (name, value) in env.filter(|(name, _)| name.starts_with("PHIGATE_")) {
            if ENV_META.contains(&name.as_str()) {
                continue;
            }
            let Some((_, key, kind)) = ENV_KEYS.iter().find(|(n, _, _)| *n == name) else {
                return Err(ConfigError::UnknownEnv(name));
            };
            set(&mut table, key, typed(key, &name, &value, *kind)?);
            origins.push((*key, name));
        }
        let source = path.map_or("(defaults and environment)".to_owned(), |p| {
            p.display().to_string()
        });
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: source,
                message: e.to_string(),
            })?;
        config.validate(&origins)?;
        Ok(config)
    }

    fn validate(&self, origins: &[(&str, String)]) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, reason: String| {
            let origin = origins
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(String::new(), |(_, env)| format!(" (from {env})"));
            ConfigError::Invalid {
                key,
                origin,
                reason,
            }
        };
        let audit_numbers = [
            ("audit.retention_days", self.audit.retention_days, 36_500),
            (
                "audit.checkpoint_every",
                self.audit.checkpoint_every,
                1_000_000,
            ),
            ("audit.checkpoint_secs", self.audit.checkpoint_secs, 86_400),
        ];
        for (key, value, max) in audit_numbers {
            if !(1..=max).contains(&value) {
                return Err(invalid(key, format!("must be between 1 and {max}")));
            }
        }
        if self
            .audit
            .witness_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Err(invalid("audit.witness_file", "must not be empty".into()));
        }
        if let Some((key, reason)) = self.store.problem() {
            return Err(invalid(key, reason));
        }
        if let Some(url) = &self.audit.witness_url {
            check_base_url(url).map_err(|r| invalid("audit.witness_url", r.into()))?;
        }
        if !is_schema_name(&self.audit.postgres_schema) {
            return Err(invalid(
                "audit.postgres_schema",
                "use lowercase letters, digits and '_' (not starting with a digit)".into(),
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty".into()));
        }
        if !is_tenant_name(&self.tenant) {
            return Err(invalid(
                "tenant",
                "use 1 to 64 letters, digits, '-' or '_'".into(),
            ));
        }
        if !matches!(self.provider.kind.as_str(), "echo" | "anthropic") {
            return Err(invalid(
                "provider.kind",
                format!(
                    "expected \"echo\" or \"anthropic\", got {:?}",
                    self.provider.kind
                ),
            ));
        }
        if self.provider.model.trim().is_empty() {
            return Err(invalid("provider.model", "must not be empty".into()));
        }
        check_base_url(&self.provider.base_url)
            .map_err(|r| invalid("provider.base_url", r.into()))?;
        if !(1..=3600).contains(&self.provider.timeout_secs) {
            return Err(invalid(
                "provider.timeout_secs",
                "must be between 1 and 3600".into(),
            ));
        }
        let seconds = [
            (
                "provider.first_byte_timeout_secs",
                self.provider.first_byte_timeout_secs,
            ),
            (
                "server.header_timeout_secs",
                self.server.header_timeout_secs,
            ),
            ("server.body_timeout_secs", self.server.body_timeout_secs),
            (
                "server.shutdown_grace_secs",
                self.server.shutdown_grace_secs,
            ),
        ];
        for (key, value) in seconds {
            if !(1..=3600).contains(&value) {
                return Err(invalid(key, "must be between 1 and 3600".into()));
            }
        }
        if !matches!(
            self.provider.deid_mode.as_str(),
            "auto" | "placeholder" | "safe-harbor"
        ) {
            return Err(invalid(
                "provider.deid_mode",
                "expected \"auto\", \"placeholder\" or \"safe-harbor\"".into(),
            ));
        }
        if self.provider.max_retries > 10 {
            return Err(invalid("provider.max_retries", "must be at most 10".into()));
        }
        if self.audit.origin.trim().is_empty() || self.audit.origin.contains('\n') {
            return Err(invalid("audit.origin", "must be one non-empty line".into()));
        }
        if !matches!(
            self.log.level.as_str(),
            "error" | "warn" | "info" | "debug" | "trace"
        ) {
            return Err(invalid(
                "log.level",
                "expected error, warn, info, debug or trace".into(),
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid(
                "log.format",
                "expected \"text\" or \"json\"".into(),
            ));
        }
        self.keys.validate(&invalid)?;
        check_listen(&self.server.listen, self.server.tls.enabled)
            .map_err(|r| invalid("server.listen", r.into()))?;
        let tls = &self.server.tls;
        if !matches!(tls.client_auth.as_str(), "none" | "optional" | "required") {
            return Err(invalid(
                "server.tls.client_auth",
                "expected \"none\", \"optional\" or \"required\"".into(),
            ));
        }
        if tls.client_auth != "none" && tls.client_ca_file.as_os_str().is_empty() {
            return Err(invalid(
                "server.tls.client_ca_file",
                "client certificates are asked for, so the client CA file must be set".into(),
            ));
        }
        if !matches!(tls.min_version.as_str(), "1.3" | "1.2") {
            return Err(invalid(
                "server.tls.min_version",
                "expected \"1.3\" or \"1.2\"".into(),
            ));
        }
        if !(1024..=1 << 30).contains(&self.server.max_body_bytes) {
            return Err(invalid(
                "server.max_body_bytes",
                "must be between 1024 and 1073741824".into(),
            ));
        }
        self.validate_identity(&invalid)?;
        self.retention.validate(&invalid)?;
        self.metrics.validate(&invalid)?;
        self.incidents.validate(&invalid)?;
        self.telemetry.validate(&invalid)?;
        let bad_beta =
            |b: &String| b.is_empty() || !b.bytes().all(|c| c.is_ascii_graphic() && c != b',');
        if self.server.allowed_betas.iter().any(bad_beta) {
            return Err(invalid(
                "server.allowed_betas",
                "each flag must be a non-empty header token without commas".into(),
            ));
        }
        for (tenant, flags) in &self.server.tenant_betas {
            if !is_tenant_name(tenant) || flags.iter().any(bad_beta) {
                return Err(invalid(
                    "server.tenant_betas",
                    "each key must be a tenant name and each flag a non-empty header token \
                     without commas"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    fn validate_identity(
        &self,
        invalid: &dyn Fn(&'static str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        check_base_url(&self.oauth.issuer).map_err(|r| invalid("oauth.issuer", r.into()))?;
        if self.oauth.issuer.ends_with('/') {
            return Err(invalid("oauth.issuer", "must not end with '/'".into()));
        }
        for external in &self.oauth.external_issuers {
            external
                .check(&self.oauth.issuer, &self.tenant)
                .map_err(|r| invalid("oauth.external_issuers", r))?;
        }
        if !(60..=900).contains(&self.oauth.access_ttl_secs) {
            return Err(invalid(
                "oauth.access_ttl_secs",
                "must be between 60 and 900".into(),
            ));
        }
        if !(60..=self.oauth.refresh_absolute_secs).contains(&self.oauth.refresh_idle_secs) {
            return Err(invalid(
                "oauth.refresh_idle_secs",
                "must be at least 60 and at most oauth.refresh_absolute_secs".into(),
            ));
        }
        if self.oauth.refresh_absolute_secs > 30 * 24 * 3600 {
            return Err(invalid(
                "oauth.refresh_absolute_secs",
                "must be at most 30 days".into(),
            ));
        }
        let r = &self.rate_limit;
        let limits = [
            (
                "oauth.token_burst",
                self.oauth.token_burst,
                self.oauth.token_per_second,
            ),
            (
                "rate_limit.principal_burst",
                r.principal_burst,
                r.principal_per_second,
            ),
            (
                "rate_limit.client_burst",
                r.client_burst,
                r.client_per_second,
            ),
            (
                "rate_limit.tenant_burst",
                r.tenant_burst,
                r.tenant_per_second,
            ),
        ];
        for (key, burst, rate) in limits {
            if burst == 0 || !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(
                    key,
                    "bursts must be at least 1 and rates positive".into(),
                ));
            }
        }
        Ok(())
    }
}

impl KeysConfig {
    fn validate(
        &self,
        invalid: &impl Fn(&'static str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        match self.kms.as_str() {
            "local" => {}
            "aws" => {
                if self.aws_key_id.trim().is_empty() {
                    return Err(invalid(
                        "keys.aws_key_id",
                        "required with kms = \"aws\"".into(),
                    ));
                }
                if self.aws_region.trim().is_empty() {
                    return Err(invalid(
                        "keys.aws_region",
                        "required with kms = \"aws\"".into(),
                    ));
                }
                if !self.aws_endpoint_url.is_empty() {
                    check_base_url(&self.aws_endpoint_url)
                        .map_err(|r| invalid("keys.aws_endpoint_url", r.into()))?;
                }
            }
            other => {
                return Err(invalid(
                    "keys.kms",
                    format!("expected \"local\" or \"aws\", got {other:?}"),
                ));
            }
        }
        let name_ok = self
            .root_key_env
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(invalid(
                "keys.root_key_env",
                "an environment variable name: capital letters, digits and '_'".into(),
            ));
        }
        Ok(())
    }
}

/// Retention of the application store's data classes. The audit log keeps its own,
/// `audit.retention_days`, which pruning never lets fall under six years.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a signed or rejected draft is kept after its review.
    pub drafts_decided_days: u64,
    /// Days a draft nobody reviewed is kept after it was written.
    pub drafts_awaiting_days: u64,
    /// Days a conversation's vault map is kept after it was last written.
    pub vault_days: u64,
    /// How often `phigate serve` purges, seconds; 0 turns the periodic purge off.
    pub purge_interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            drafts_decided_days: 365,
            drafts_awaiting_days: 90,
            vault_days: 30,
            purge_interval_secs: 3600,
        }
    }
}

impl RetentionConfig {
    fn validate(
        &self,
        invalid: &dyn Fn(&'static str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let days = [
            ("retention.drafts_decided_days", self.drafts_decided_days),
            ("retention.drafts_awaiting_days", self.drafts_awaiting_days),
            ("retention.vault_days", self.vault_days),
        ];
        for (key, value) in days {
            if !(1..=36_500).contains(&value) {
                return Err(invalid(key, "must be between 1 and 36500 days".into()));
            }
        }
        let interval = self.purge_interval_secs;
        if interval != 0 && !(10..=7 * 86_400).contains(&interval) {
            return Err(invalid(
                "retention.purge_interval_secs",
                "must be 0 (off) or between 10 and 604800".into(),
            ));
        }
        Ok(())
    }
}

/// HTTPS anywhere; plain HTTP only to loopback (a local mock or proxy).
/// 1 to 64 letters, digits, '-' or '_'.
fn is_tenant_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_base_url(url: &str) -> Result<(), &'static str> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("must start with https:// (or http:// for a loopback address)");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // `http://127.0.0.1@elsewhere` names the host `elsewhere`; no credentials in the URL at all.
    if authority.contains('@') {
        return Err("must not contain credentials (an '@' before the host)");
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let loopback = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err("plain http:// is allowed only for loopback addresses; use https://")
    }
}

/// Largest configuration file accepted.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads a configuration file, refusing anything but a regular file of reasonable size (a
/// device or a pipe given by mistake would otherwise hang or exhaust memory).
fn read_config_file(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;

    let read_err = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Parse {
            path: path.display().to_string(),
            message: format!("not a regular file of at most {MAX_CONFIG_BYTES} bytes"),
        });
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    Ok(text)
}

/// A socket address; off loopback only with TLS on.
fn check_listen(listen: &str, tls: bool) -> Result<(), &'static str> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .map_err(|_| "expected an address and port such as 127.0.0.1:8080")?;
    if tls || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err("plain HTTP is served on loopback addresses only; set server.tls.enabled for others")
    }
}

fn typed(
    key: &'static str,
    env: &str,
    value: &str,
    kind: Kind,
) -> Result<toml::Value, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        key,
        origin: format!(" (from {env})"),
        reason: reason.into(),
    };
    Ok(match kind {
        Kind::Str => toml::Value::String(value.to_owned()),
        Kind::Bool => match value {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            _ => return Err(invalid("expected true or false")),
        },
        Kind::Int => toml::Value::Integer(
            value
                .parse::<u32>()
                .map(i64::from)
                .map_err(|_| invalid("expected a whole number from 0 to 4294967295"))?,
        ),
    })
}

fn set(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn defaults_are_offline_and_valid() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.provider.kind, "echo");
        assert_eq!(config.data_dir, PathBuf::from("./phigate-data"));
        assert!(!config.provider.baa_on_record);
    }

    #[test]
    fn the_shipped_example_file_is_valid() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../phigate.toml");
        Config::load(Some(Path::new(example)), env(&[])).unwrap();
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = write("tenant = \"north\"\n[provider]\nkind = \"echo\"\n");
        let config = Config::load(
            Some(file.path()),
            env(&[
                ("PHIGATE_TENANT", "south"),
                ("PHIGATE_PROVIDER_BAA_ON_RECORD", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(config.tenant, "south");
        assert!(config.provider.baa_on_record);
    }

    #[test]
    fn a_bad_value_names_its_key_and_where_it_came_from() {
        let err = Config::load(None, env(&[("PHIGATE_PROVIDER_KIND", "openai")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration key `provider.kind` (from PHIGATE_PROVIDER_KIND): expected \"echo\" or \"anthropic\", got \"openai\""
        );
        let err =
            Config::load(None, env(&[("PHIGATE_PROVIDER_TIMEOUT_SECS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("provider.timeout_secs"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_and_the_environment_are_refused() {
        let file = write("[provider]\nmodle = \"x\"\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(err.to_string().contains("modle"), "{err}");
        let err = Config::load(None, env(&[("PHIGATE_PROVIDR_KIND", "echo")])).unwrap_err();
        assert!(matches!(err, ConfigError::UnknownEnv(_)));
    }

    #[test]
    fn audit_retention_defaults_to_six_years_and_bad_audit_numbers_are_refused() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.audit.retention_days, 2192);
        assert_eq!(config.audit.witness_file, None);
        let err = Config::load(None, env(&[("PHIGATE_AUDIT_CHECKPOINT_EVERY", "0")])).unwrap_err();
        assert!(err.to_string().contains("audit.checkpoint_every"), "{err}");
        let file = write("[audit]\nwitness_file = \"/var/lib/witness.txt\"\nretention_days = 30\n");
        let config = Config::load(Some(file.path()), env(&[])).unwrap();
        assert_eq!(config.audit.retention_days, 30);
        assert!(config.audit.witness_file.is_some());
    }

    #[test]
    fn retention_settings_are_checked_by_name() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.retention.vault_days, 30);
        let file = write("[retention]\nvault_days = 7\npurge_interval_secs = 0\n");
        let config = Config::load(Some(file.path()), env(&[])).unwrap();
        assert_eq!(config.retention.vault_days, 7);
        assert_eq!(config.retention.purge_interval_secs, 0);
        let err = Config::load(None, env(&[("PHIGATE_RETENTION_VAULT_DAYS", "0")])).unwrap_err();
        assert!(err.to_string().contains("retention.vault_days"), "{err}");
        let file = write("[retention]\npurge_interval_secs = 5\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("retention.purge_interval_secs"),
            "{err}"
        );
    }

    #[test]
    fn the_gateway_listens_on_loopback_only() {
        assert!(check_listen("127.0.0.1:8080", false).is_ok());
        assert!(check_listen("[::1]:0", false).is_ok());
        let err =
            Config::load(None, env(&[("PHIGATE_SERVER_LISTEN", "0.0.0.0:8080")])).unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
    }

    #[test]
    fn tls_settings_are_checked_and_tls_allows_other_addresses() {
        let config = Config::load(
            None,
            env(&[
                ("PHIGATE_SERVER_TLS_ENABLED", "true"),
                ("PHIGATE_SERVER_LISTEN", "0.0.0.0:8443"),
            ]),
        )
        .unwrap();
        assert!(config.server.tls.enabled);
        assert_eq!(config.server.tls.min_version, "1.3");
        let err =
            Config::load(None, env(&[("PHIGATE_SERVER_TLS_MIN_VERSION", "1.1")])).unwrap_err();
        assert!(err.to_string().contains("server.tls.min_version"), "{err}");
        let file = write("[server.tls]\nenabled = true\nclient_auth = \"required\"\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("server.tls.client_ca_file"),
            "{err}"
        );
    }

    #[test]
    fn the_root_key_settings_are_checked() {
        let err = Config::load(None, env(&[("PHIGATE_KEYS_KMS", "aws")])).unwrap_err();
        assert!(err.to_string().contains("keys.aws_key_id"), "{err}");
        let err = Config::load(None, env(&[("PHIGATE_KEYS_KMS", "vault")])).unwrap_err();
        assert!(err.to_string().contains("keys.kms"), "{err}");
        let config = Config::load(
            None,
            env(&[
                ("PHIGATE_KEYS_KMS", "aws"),
                ("PHIGATE_KEYS_AWS_KEY_ID", "alias/phigate"),
                ("PHIGATE_KEYS_AWS_REGION", "eu-west-1"),
                ("PHIGATE_KEYS_AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ]),
        )
        .unwrap();
        assert_eq!(config.keys.aws_region, "eu-west-1");
        let err = Config::load(
            None,
            env(&[
                ("PHIGATE_KEYS_KMS", "aws"),
                ("PHIGATE_KEYS_AWS_KEY_ID", "k"),
                ("PHIGATE_KEYS_AWS_REGION", "r"),
                ("PHIGATE_KEYS_AWS_ENDPOINT_URL", "http://169.254.169.254"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("keys.aws_endpoint_url"), "{err}");
        let err = Config::load(None, env(&[("PHIGATE_KEYS_ROOT_KEY_ENV", "a b")])).unwrap_err();
        assert!(err.to_string().contains("keys.root_key_env"), "{err}");
        let config =
            Config::load(None, env(&[("PHIGATE_KEYS_ROOT_KEY_ENV", "ROOT_KEY_B64")])).unwrap();
        assert_eq!(config.keys.root_key_env, "ROOT_KEY_B64");
    }

    #[test]
    fn a_device_or_a_directory_is_not_a_configuration_file() {
        let err = Config::load(Some(Path::new("/dev/zero")), env(&[])).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        assert!(Config::load(Some(dir.path()), env(&[])).is_err());
    }

    #[test]
    fn timeouts_of_zero_are_refused_by_name() {
        let err =
            Config::load(None, env(&[("PHIGATE_SERVER_HEADER_TIMEOUT_SECS", "0")])).unwrap_err();
        assert!(
            err.to_string().contains("server.header_timeout_secs"),
            "{err}"
        );
        let file = write("[provider]\nfirst_byte_timeout_secs = 0\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("provider.first_byte_timeout_secs"),
            "{err}"
        );
    }

    #[test]
    fn a_negative_number_from_the_environment_names_its_variable() {
        let err = Config::load(None, env(&[("PHIGATE_PROVIDER_MAX_RETRIES", "-3")])).unwrap_err();
        assert!(
            err.to_string().contains("PHIGATE_PROVIDER_MAX_RETRIES"),
            "{err}"
        );
    }

    #[test]
    fn identity_settings_are_checked_by_name() {
        let file = write("[oauth]\naccess_ttl_secs = 3600\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(err.to_string().contains("oauth.access_ttl_secs"), "{err}");
        let file = write("[oauth]\nissuer = \"http://phigate.example\"\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(err.to_string().contains("oauth.issuer"), "{err}");
        let file = write("[rate_limit]\nprincipal_burst = 0\n");
        let err = Config::load(Some(file.path()), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("rate_limit.principal_burst"),
            "{err}"
        );
        let file = write(
            "[rate_limit]\nclient_per_second = 2.5\n[oauth]\nissuer = \"https://phigate.example\"\n",
        );
        let config = Config::load(Some(file.path()), env(&[])).unwrap();
        assert_eq!(config.rate_limit.client_per_second, 2.5);
    }

    #[test]
    fn external_issuers_are_read_from_the_file_and_checked() {
        let entry = "[[oauth.external_issuers]]\nissuer = \"https://login.example\"\n\
                     jwks_url = \"https://login.example/jwks\"\naudience = \"phigate\"\n";
        let good = format!("{entry}roles = {{ \"ehr-physicians\" = \"clinician\" }}\n");
        let config = Config::load(Some(write(&good).path()), env(&[])).unwrap();
        let external = &config.oauth.external_issuers[0];
        assert_eq!(external.role_claim, "groups");
        assert_eq!(external.roles["ehr-physicians"], "clinician");
        assert!(external.provider(&config.tenant).is_ok());
        for bad in [
            format!("{entry}roles = {{ \"x\" = \"wizard\" }}\n"),
            format!("{entry}roles = {{}}\n"),
            good.replace("https://login.example/jwks", "http://login.example/jwks"),
            good.replace("\"https://login.example\"", "\"http://127.0.0.1:8080\""),
        ] {
            let err = Config::load(Some(write(&bad).path()), env(&[])).unwrap_err();
            assert!(err.to_string().contains("oauth.external_issuers"), "{err}");
        }
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        assert!(check_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("http://localhost:9/v1").is_ok());
        assert!(check_base_url("http://api.example.com").is_err());
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("http://127.0.0.1@evil.invalid").is_err());
        assert!(check_base_url("http://127.0.0.1.nip.io").is_err());
        assert!(check_base_url("http://127.0.0.1:8080/v1").is_ok());
        let err = Config::load(
            None,
            env(&[("PHIGATE_PROVIDER_BASE_URL", "http://10.0.0.1")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("provider.base_url"));
    }
}
