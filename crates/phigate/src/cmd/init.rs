//! `phigate init`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_agent::{random_id, set_user};
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::Role;

use zeroize::Zeroizing;

use crate::cli::InitArgs;
use crate::cmd::users::enrol;
use crate::config::Config;
use crate::datadir::{self, Layout};
use crate::output::Out;

/// Runs `phigate init`.
pub fn run(config: &Config, args: &InitArgs) -> Result<ExitCode> {
    let layout = Layout::new(&config.data_dir);
    if layout.is_initialised() {
        bail!(
            "{} is already initialised; refusing to touch its keys",
            layout.root.display()
        );
    }
    let was_empty = is_absent_or_empty(&layout.root);
    let admin = match initialise(config, &args.admin) {
        Ok(admin) => admin,
        Err(err) => {
            // A half-made directory (keys written, then the key service or the database
            // unreachable) would count as initialised and refuse every later `init`. What this
            // run created is removed, so the operator can simply run it again.
            if was_empty {
                remove_contents(&layout.root);
            }
            return Err(err);
        }
    };
    let mut out = Out::new();
    out.line(format!("Initialised {}", layout.root.display()));
    let root = match config.keys.kms.as_str() {
        "aws" => format!("AWS KMS key {}", config.keys.aws_key_id),
        _ if !config.keys.root_key_env.is_empty() => {
            format!("from ${}", config.keys.root_key_env)
        }
        _ => format!("{} (0600)", layout.root_key().display()),
    };
    out.line(format!("  root key        {root}"));
    let store = match &config.store.postgres_url {
        Some(_) => format!("PostgreSQL schema {}", config.store.postgres_schema),
        None => layout.store().display().to_string(),
    };
    out.line(format!(
        "  store           {store} (encrypted with AES-256-GCM)"
    ));
    let audit = match &config.audit.postgres_url {
        Some(_) => format!("PostgreSQL schema {}", config.audit.postgres_schema),
        None => layout.audit().display().to_string(),
    };
    out.line(format!("  audit log       {audit}"));
    out.line(format!(
        "  TLS             {} (development CA {}; keys 0600)",
        layout.tls_cert().display(),
        layout.tls_ca().display()
    ));
    out.line(format!("  administrator   {}", args.admin));
    out.line(format!(
        "  one-time password (shown once, change it at first sign-in): {}",
        admin.password.as_str()
    ));
    out.line(format!(
        "  TOTP enrolment URI (shown once; administrators must use a second factor): {}",
        admin.totp_uri.as_str()
    ));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn is_absent_or_empty(dir: &std::path::Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(err) => err.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Removes everything inside `dir`, best effort: the error that led here is the one to report.
fn remove_contents(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
    }
}

/// The first administrator's credentials, shown once.
pub struct FirstAdmin {
    /// The one-time password.
    pub password: Zeroizing<String>,
    /// The `otpauth://` URI of their TOTP second factor, which administrators must use.
    pub totp_uri: Zeroizing<String>,
}

/// Creates a data directory and its first administrator, enrolled in TOTP as every
/// administrator must be.
pub fn initialise(config: &Config, admin: &str) -> Result<FirstAdmin> {
    check_username(admin)?;
    let layout = Layout::new(&config.data_dir);
    layout.create_dirs()?;
    datadir::create_keys(config, &layout)?;
    let opened = datadir::open_new(config)?;
    let password = random_id()?;
    set_user(&opened.store, &config.tenant, admin, Role::Admin, &password)?;
    let record = opened
        .store
        .user_by_name(&config.tenant, admin)?
        .context("the administrator just created is missing")?;
    let totp_uri = enrol(&opened.store, &record)?;
    phigate_gateway::ensure_console_client(&opened.store, &config.tenant, &config.oauth.issuer)?;
    record_operator_change(
        &opened.audit,
        "data directory initialised; first administrator and web console client created",
    )?;
    opened.audit.checkpoint()?;
    Ok(FirstAdmin {
        password: Zeroizing::new(password),
        totp_uri,
    })
}

/// Records a configuration change made by the local operator.
pub fn record_operator_change(audit: &phigate_audit::AuditLog, detail: &str) -> Result<()> {
    let actor = Actor {
        user_id: "local-operator".into(),
        role: Role::Admin.as_str().into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::ConfigChange, Outcome::Success);
    event.detail = Some(detail.to_owned());
    audit.append(event)?;
    Ok(())
}

/// Usernames appear in audit entries and on screens: 1 to 64 letters, digits, `.`, `_` or `-`.
pub fn check_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("a username must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    Ok(())
}
