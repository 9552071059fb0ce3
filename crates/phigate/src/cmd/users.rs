//! `phigate users add|list|disable|enable|reset-mfa`: staff accounts, run by the local operator.
//!
//! New accounts get a random one-time password, printed once. Roles that require a second
//! factor (admin, auditor) are always enrolled in TOTP at creation, and the enrolment URI is
//! printed once for the person to scan; other roles may opt in with `--totp`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_agent::{random_id, set_user};
use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_auth::{Role, Totp};
use phigate_store::{PatientRef, Store, UserRecord};

use crate::cli::UsersCommand;
use crate::cmd::init::check_username;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Runs `phigate users …`.
pub fn run(config: &Config, command: &UsersCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let (store, audit, tenant) = (&opened.store, &opened.audit, config.tenant.as_str());
    let mut out = Out::new();
    match command {
        UsersCommand::Add {
            username,
            role,
            totp,
            patient,
        } => {
            check_username(username)?;
            let role = Role::parse(role).context("unknown role")?;
            if !role.is_person() {
                bail!(
                    "`service` is for machines: register an OAuth client with `phigate clients add`"
                );
            }
            let bound = patient_binding(store, tenant, role, patient.as_deref())?;
            if store.user_by_name(tenant, username)?.is_some() {
                bail!("a user named {username} already exists");
            }
            let password = random_id()?;
            set_user(store, tenant, username, role, &password)?;
            if let Some(bound) = &bound {
                let account = user(store, tenant, username)?;
                store.bind_patient_account(&account.id, tenant, bound)?;
                record_binding(audit, bound)?;
            }
            out.line(format!("Added {username} ({})", role.as_str()));
            out.line(format!(
                "  one-time password (shown once, change it at first sign-in): {password}"
            ));
            if role.requires_mfa() || *totp {
                let uri = enrol(store, &user(store, tenant, username)?)?;
                out.line(format!(
                    "  TOTP enrolment URI (shown once): {}",
                    uri.as_str()
                ));
            }
            record(audit, &format!("user added with role {}", role.as_str()))?;
        }
        UsersCommand::List => {
            out.line(format!(
                "{:<32} {:<10} {:<9} {:<4} {}",
                "USERNAME", "ROLE", "STATE", "MFA", "FAILURES"
            ));
            for user in store.list_users(tenant)? {
                let security = store.user_security(&user.id)?;
                let state = match (user.disabled, security.locked) {
                    (true, _) => "disabled",
                    (false, true) => "locked",
                    _ => "active",
                };
                out.line(format!(
                    "{:<32} {:<10} {:<9} {:<4} {}",
                    user.username,
                    user.role,
                    state,
                    if security.totp_enrolled { "yes" } else { "no" },
                    security.failures
                ));
            }
        }
        UsersCommand::Disable { username } | UsersCommand::Enable { username } => {
            let disable = matches!(command, UsersCommand::Disable { .. });
            store
                .set_user_disabled(tenant, username, disable)
                .with_context(|| format!("cannot change {username}"))?;
            let verb = if disable { "disabled" } else { "enabled" };
            record(audit, &format!("user {verb}"))?;
            out.line(format!("{username} {verb}"));
        }
        UsersCommand::BreakGlassReport { since_hours } => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let since = now - i64::from(*since_hours) * 3600;
            let report = store.break_glass_report(tenant, since)?;
            out.line(format!(
                "{} break-glass accesses in the last {since_hours} h",
                report.len()
            ));
            for grant in report {
                let at = |t: i64| {
                    time::OffsetDateTime::from_unix_timestamp(t)
                        .ok()
                        .and_then(|d| {
                            d.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_else(|| t.to_string())
                };
                out.line(format!(
                    "{}  user {} ({})  patient {}  until {}",
                    at(grant.created_at),
                    grant.user_id,
                    grant.role,
                    grant.patient_ref,
                    at(grant.expires_at)
                ));
                out.line(format!("    reason: {}", grant.reason.replace('\n', " ")));
            }
            record(audit, "break-glass report viewed")?;
        }
        UsersCommand::ResetMfa { username } => {
            let user = user(store, tenant, username)?;
            let uri = enrol(store, &user)?;
            record(audit, "user second factor reset")?;
            out.line(format!(
                "New TOTP secret for {username}; the old one no longer works."
            ));
            out.line(format!(
                "  TOTP enrolment URI (shown once): {}",
                uri.as_str()
            ));
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn user(store: &Store, tenant: &str, username: &str) -> Result<UserRecord> {
    store
        .user_by_name(tenant, username)?
        .with_context(|| format!("no user named {username}"))
}

/// Enrols a fresh TOTP secret and returns its `otpauth://` URI.
pub(crate) fn enrol(store: &Store, user: &UserRecord) -> Result<zeroize::Zeroizing<String>> {
    let totp = Totp::generate()?;
    store.set_totp_secret(user, Some(totp.secret()))?;
    Ok(totp.provisioning_uri("Phigate", &format!("{}@{}", user.username, user.tenant)))
}

/// The patient record a new account of `role` is bound to: required for the patient role, which
/// must name a patient the store holds, and refused for every other role.
fn patient_binding(
    store: &Store,
    tenant: &str,
    role: Role,
    patient: Option<&str>,
) -> Result<Option<PatientRef>> {
    match (role, patient) {
        (Role::Patient, None) => bail!("a patient account needs --patient ID: its one record"),
        (Role::Patient, Some(id)) => {
            let bound = store.patient_ref(tenant, id.trim());
            if !store.has_patient(tenant, &bound)? {
                bail!("no patient with that id is in the store: import their bundle first");
            }
            Ok(Some(bound))
        }
        (_, Some(_)) => bail!("--patient is only for the patient role"),
        (_, None) => Ok(None),
    }
}

/// Records that a new patient account was bound to a record (by its keyed reference).
fn record_binding(audit: &AuditLog, bound: &PatientRef) -> Result<()> {
    let actor = Actor {
        user_id: "local-operator".into(),
        role: Role::Admin.as_str().into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::ConfigChange, Outcome::Success);
    event.patient_ref = Some(bound.as_str().to_owned());
    event.detail = Some("patient account bound to its record".into());
    audit.append(event)?;
    Ok(())
}

/// Records an account change by the local operator. The username stays out of the entry; the
/// detail names what changed.
fn record(audit: &AuditLog, detail: &str) -> Result<()> {
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
