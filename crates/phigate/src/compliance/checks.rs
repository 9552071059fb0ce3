//! The live checks: each reads one aspect of the deployment and says pass, fail or
//! not-applicable, with evidence that names settings, paths and numbers, never PHI.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_auth::MAX_ACCESS_TOKEN_TTL;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::datadir::Layout;

mod store;
mod witness;

/// The longest entries may wait for a checkpoint before the control counts as failing.
pub const CHECKPOINT_MAX_AGE_SECS: i64 = 3600;

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The deployment meets it.
    Pass,
    /// The deployment does not meet it.
    Fail,
    /// It does not apply to this deployment.
    NotApplicable,
}

/// One check's conclusion and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's name.
    pub check: String,
    /// Its conclusion.
    pub status: Status,
    /// What it saw.
    pub evidence: String,
}

impl Finding {
    pub(crate) fn new(check: &str, status: Status, evidence: impl Into<String>) -> Self {
        Finding {
            check: check.to_owned(),
            status,
            evidence: evidence.into(),
        }
    }
}

/// Runs the check called `name` against `config` and its data directory.
pub fn run(name: &str, config: &Config) -> Finding {
    let layout = Layout::new(&config.data_dir);
    match name {
        "token-lifetime" => token_lifetime(name),
        "root-key-permissions" => owner_only_files(
            name,
            &[
                ("root key", layout.root_key()),
                ("token signing key", layout.token_key()),
                ("audit signing key", layout.audit_key()),
            ],
        ),
        "data-dir-permissions" => data_dir_permissions(name, &layout),
        "audit-verifies" => audit_verifies(name, config, &layout),
        "audit-checkpoint-age" => checkpoint_age(name, config, &layout),
        "audit-witness" => witness::witness_url(name, config, &layout),
        "listen-transport" => listen_transport(name, config),
        "provider-transport" => provider_transport(name, config),
        "provider-deid-mode" => provider_deid_mode(name, config),
        "provider-baa" => provider_baa(name, config),
        "tls-version" => tls_version(name, config),
        "audit-retention" => audit_retention(name, config),
        "session-lifetime" => session_lifetime(name, config),
        "mfa-enforced" => store::mfa_enforced(name, config, &layout),
        "key-rotation-age" => store::key_rotation_age(name, config, &layout),
        "break-glass-use" => store::break_glass_use(name, config, &layout),
        _ => Finding::new(name, Status::Fail, "this build has no such check"),
    }
}

fn tls_version(name: &str, config: &Config) -> Finding {
    let tls = &config.server.tls;
    if !tls.enabled {
        return Finding::new(
            name,
            Status::NotApplicable,
            "TLS is off; plain HTTP is served on loopback only",
        );
    }
    if tls.min_version == "1.3" {
        Finding::new(
            name,
            Status::Pass,
            format!("TLS 1.3 only; client certificates: {}", tls.client_auth),
        )
    } else {
        Finding::new(
            name,
            Status::Fail,
            format!(
                "TLS {} is accepted (server.tls.min_version); set it to \"1.3\"",
                tls.min_version
            ),
        )
    }
}

/// Six years, the documentation retention of 45 CFR 164.316(b)(2), in days.
pub const SIX_YEARS_DAYS: u64 = 6 * 365 + 1;

fn audit_retention(name: &str, config: &Config) -> Finding {
    let days = config.audit.retention_days;
    let evidence = format!("audit entries are kept {days} days (at least {SIX_YEARS_DAYS})");
    if days >= SIX_YEARS_DAYS {
        Finding::new(name, Status::Pass, evidence)
    } else {
        Finding::new(name, Status::Fail, evidence)
    }
}

/// The longest a session may sit unused before its holder must sign in again.
pub const SESSION_IDLE_LIMIT_SECS: u64 = 3600;

fn session_lifetime(name: &str, config: &Config) -> Finding {
    let o = &config.oauth;
    let evidence = format!(
        "access tokens {} s; sessions end after {} s unused and {} s in all (idle limit {SESSION_IDLE_LIMIT_SECS} s)",
        o.access_ttl_secs, o.refresh_idle_secs, o.refresh_absolute_secs
    );
    let status = if o.refresh_idle_secs <= SESSION_IDLE_LIMIT_SECS && o.access_ttl_secs <= 900 {
        Status::Pass
    } else {
        Status::Fail
    };
    Finding::new(name, status, evidence)
}

fn token_lifetime(name: &str) -> Finding {
    let secs = MAX_ACCESS_TOKEN_TTL.as_secs();
    let status = if secs <= 900 {
        Status::Pass
    } else {
        Status::Fail
    };
    Finding::new(
        name,
        status,
        format!("access tokens are issued for at most {secs} s"),
    )
}

/// The permission bits of `path`, or why they cannot be read.
fn mode_of(path: &Path) -> Result<u32, String> {
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .map_err(|e| format!("{} cannot be read ({})", path.display(), e.kind()))
}

fn owner_only_files(name: &str, files: &[(&str, std::path::PathBuf)]) -> Finding {
    let mut seen = Vec::new();
    for (what, path) in files {
        match mode_of(path) {
            Err(problem) => return Finding::new(name, Status::Fail, problem),
            Ok(mode) if mode & 0o077 != 0 => {
                return Finding::new(
                    name,
                    Status::Fail,
                    format!(
                        "the {what} {} has mode {mode:o}; it must be 600",
                        path.display()
                    ),
                );
            }
            Ok(mode) => seen.push(format!("{what} {mode:o}")),
        }
    }
    Finding::new(name, Status::Pass, seen.join(", "))
}

fn data_dir_permissions(name: &str, layout: &Layout) -> Finding {
    for dir in [layout.root.clone(), layout.root.join("keys")] {
        match mode_of(&dir) {
            Err(problem) => return Finding::new(name, Status::Fail, problem),
            Ok(mode) if mode & 0o077 != 0 => {
                return Finding::new(
                    name,
                    Status::Fail,
                    format!("{} has mode {mode:o}; it must be 700", dir.display()),
                );
            }
            Ok(_) => {}
        }
    }
    owner_only_files(
        name,
        &[("store", layout.store()), ("audit log", layout.audit())],
    )
}

/// Opens the audit log read for checking, without creating anything.
pub(crate) fn open_audit(config: &Config, layout: &Layout) -> Result<AuditLog, String> {
    for path in [layout.audit(), layout.audit_key()] {
        if !path.is_file() {
            return Err(format!("{} does not exist", path.display()));
        }
    }
    let signer = CheckpointSigner::load_or_create(&layout.audit_key())
        .map_err(|e| format!("the audit signing key cannot be loaded: {e}"))?;
    AuditLog::open(&layout.audit(), signer, &config.audit.origin)
        .map_err(|e| format!("the audit log cannot be opened: {e}"))
}

fn audit_verifies(name: &str, config: &Config, layout: &Layout) -> Finding {
    let log = match open_audit(config, layout) {
        Ok(log) => log,
        Err(problem) => return Finding::new(name, Status::Fail, problem),
    };
    match log.verify() {
        Ok(report) if report.ok => Finding::new(name, Status::Pass, report.to_string()),
        Ok(report) => Finding::new(name, Status::Fail, report.to_string()),
        Err(e) => Finding::new(name, Status::Fail, format!("verification failed: {e}")),
    }
}

fn checkpoint_age(name: &str, config: &Config, layout: &Layout) -> Finding {
    let log = match open_audit(config, layout) {
        Ok(log) => log,
        Err(problem) => return Finding::new(name, Status::Fail, problem),
    };
    let (len, checkpoints) = match (log.len(), log.checkpoints()) {
        (Ok(len), Ok(checkpoints)) => (len, checkpoints),
        (Err(e), _) | (_, Err(e)) => {
            return Finding::new(name, Status::Fail, format!("cannot read the log: {e}"));
        }
    };
    let covered = checkpoints.iter().map(|c| c.size).max().unwrap_or(0);
    if covered >= len {
        return Finding::new(
            name,
            Status::Pass,
            format!("all {len} entries are covered by a signed checkpoint"),
        );
    }
    let oldest_uncovered = match log.entries(covered, 1) {
        Ok(entries) => entries
            .first()
            .and_then(|e| e.event.as_ref().map(|event| event.time)),
        Err(e) => return Finding::new(name, Status::Fail, format!("cannot read the log: {e}")),
    };
    let age = oldest_uncovered
        .map(|t| (OffsetDateTime::now_utc() - t).whole_seconds())
        .unwrap_or(0);
    let evidence = format!(
        "{} of {len} entries await a checkpoint; the oldest is {age} s old (limit {CHECKPOINT_MAX_AGE_SECS} s)",
        len - covered
    );
    let status = if age <= CHECKPOINT_MAX_AGE_SECS {
        Status::Pass
    } else {
        Status::Fail
    };
    Finding::new(name, status, evidence)
}

fn listen_transport(name: &str, config: &Config) -> Finding {
    let listen = &config.server.listen;
    if config.server.tls.enabled {
        return Finding::new(name, Status::Pass, format!("HTTPS on {listen}"));
    }
    let loopback = listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if loopback {
        Finding::new(
            name,
            Status::Pass,
            format!("plain HTTP on loopback only ({listen}); callers reach it on this host"),
        )
    } else {
        Finding::new(
            name,
            Status::Fail,
            format!("plain HTTP on {listen}, off loopback"),
        )
    }
}

fn provider_transport(name: &str, config: &Config) -> Finding {
    if config.provider.kind == "echo" {
        return Finding::new(
            name,
            Status::NotApplicable,
            "the offline echo provider sends nothing over a network",
        );
    }
    let url = &config.provider.base_url;
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if url.starts_with("https://") || loopback {
        Finding::new(
            name,
            Status::Pass,
            format!("the provider is reached at {url}"),
        )
    } else {
        Finding::new(
            name,
            Status::Fail,
            format!("the provider is reached over plain HTTP at {url}"),
        )
    }
}

fn provider_deid_mode(name: &str, config: &Config) -> Finding {
    let linkable = crate::disclosure::linkable(config);
    let (kind, mode) = match (config.provider.kind.as_str(), linkable) {
        ("echo", _) => ("echo", "placeholders; nothing leaves the host"),
        (kind, true) => (kind, "linkable typed placeholders, restored in the answer"),
        (kind, false) => (
            kind,
            "Safe Harbor: unnumbered placeholders, nothing restored",
        ),
    };
    Finding::new(
        name,
        Status::Pass,
        format!(
            "provider {kind}: {mode}; clinician names as identifiers: {}",
            config.deid.clinician_names
        ),
    )
}

fn provider_baa(name: &str, config: &Config) -> Finding {
    match (config.provider.kind.as_str(), config.provider.baa_on_record) {
        ("echo", _) => Finding::new(
            name,
            Status::NotApplicable,
            "the echo provider is on the premises and receives nothing off it",
        ),
        (kind, true) if crate::disclosure::linkable(config) => Finding::new(
            name,
            Status::Pass,
            format!(
                "provider {kind} has a BAA on record and receives de-identified data with linkable placeholders"
            ),
        ),
        (kind, true) => Finding::new(
            name,
            Status::Pass,
            format!(
                "provider {kind} has a BAA on record and receives Safe Harbor data only (provider.deid_mode = \"safe-harbor\")"
            ),
        ),
        (kind, false) if crate::disclosure::linkable(config) => Finding::new(
            name,
            Status::Fail,
            format!(
                "provider {kind} has no BAA on record, yet provider.deid_mode = \"placeholder\" sends it linkable, re-identifiable placeholders; set deid_mode = \"auto\" or record a BAA"
            ),
        ),
        (kind, false) => Finding::new(
            name,
            Status::Pass,
            format!("provider {kind} has no BAA on record, so it receives Safe Harbor data only"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use phigate_compliance::Catalogue;

    use super::*;

    #[test]
    fn every_check_the_catalogue_names_exists_in_this_build() {
        let config = Config::default();
        let catalogue = Catalogue::shipped().unwrap();
        for control in &catalogue.controls {
            for check in &control.checks {
                let finding = run(check, &config);
                assert_ne!(
                    finding.evidence, "this build has no such check",
                    "{} names an unknown check {check}",
                    control.id
                );
            }
        }
        assert_eq!(run("no-such-check", &config).status, Status::Fail);
    }
}
