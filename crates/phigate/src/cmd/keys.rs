//! `phigate keys status|rotate|rewrap`: the key versions of the tenant, rotation, and the rewrap
//! job that moves sealed values to the active versions and retires the emptied ones.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_crypto::KeyState;
use phigate_store::KeyStatus;

use crate::cli::KeysCommand;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Runs `phigate keys …`.
pub fn run(config: &Config, command: &KeysCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let store = &opened.store;
    let tenant = &config.tenant;
    let mut out = Out::new();
    match command {
        KeysCommand::Status => {
            let status = store.key_status(tenant)?;
            describe_status(&mut out, store.keyring().kms_id(), &status);
        }
        KeysCommand::RotateSigning => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let layout = datadir::Layout::new(&config.data_dir);
            let rotation = crate::signing_keys::rotate(&layout, &config.oauth.issuer, now)?;
            let detail = format!(
                "token signing key rotated: kid {} signs, kid {} published until {}",
                rotation.new_kid, rotation.old_kid, rotation.old_until
            );
            audit(&opened.audit, &detail)?;
            out.line(format!(
                "token signing key: kid {} signs new tokens",
                rotation.new_kid
            ));
            out.line(format!(
                "kid {} stays in the JWKS until its tokens have expired; running servers pick \
                 the new key up within seconds",
                rotation.old_kid
            ));
        }
        KeysCommand::Rotate { tenant_only } => {
            let report = store.rotate_tenant(tenant, *tenant_only)?;
            let detail = format!(
                "rotated: tenant key v{}, {} patient keys",
                report.tenant_version, report.patient_keys_rotated
            );
            audit(&opened.audit, &detail)?;
            out.line(format!(
                "tenant key: new version {} seals new values",
                report.tenant_version
            ));
            out.line(format!(
                "patient keys: {} rotated",
                report.patient_keys_rotated
            ));
            out.line(
                "older versions are decrypt-only until `phigate keys rewrap` moves their data",
            );
        }
        KeysCommand::Rewrap { grace_secs } => {
            let report = store.rewrap(tenant, Duration::from_secs(*grace_secs))?;
            let retired: Vec<String> = report
                .retired
                .iter()
                .map(|(kind, version, count)| format!("{kind} v{version} x{count}"))
                .collect();
            let detail = format!(
                "rewrap: {} values, {} patient keys moved; retired {}",
                report.values_rewrapped,
                report.patient_keys_rewrapped,
                if retired.is_empty() {
                    "none".to_owned()
                } else {
                    retired.join(", ")
                }
            );
            audit(&opened.audit, &detail)?;
            out.line(format!(
                "patient keys rewrapped  {}",
                report.patient_keys_rewrapped
            ));
            out.line(format!(
                "values rewrapped        {}",
                report.values_rewrapped
            ));
            out.line(format!("values already current  {}", report.values_current));
            out.line(format!(
                "values shredded         {} (forgotten patients, left as they are)",
                report.values_shredded
            ));
            out.line(format!("values failed to open   {}", report.values_failed));
            out.line(format!(
                "retired                 {}",
                if retired.is_empty() {
                    "none".to_owned()
                } else {
                    retired.join(", ")
                }
            ));
            if report.values_failed > 0 {
                out.flush();
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn describe_status(out: &mut Out, kms: &str, status: &KeyStatus) {
    out.line(format!("root key: {kms}"));
    out.line("tenant key versions:");
    for (version, state, wraps) in &status.tenant {
        out.line(format!(
            "  v{version:<4} {:<13} wraps {wraps} patient keys, seals {} values",
            state.as_str(),
            status.ciphertexts.get(&("tenant", *version)).unwrap_or(&0)
        ));
    }
    out.line("patient key versions (over all patients):");
    let versions: std::collections::BTreeSet<u32> =
        status.patient.keys().map(|(version, _)| *version).collect();
    for version in versions {
        let states: Vec<String> = [
            KeyState::Active,
            KeyState::DecryptOnly,
            KeyState::Retired,
            KeyState::Destroyed,
        ]
        .iter()
        .filter_map(|state| {
            let n = status.patient.get(&(version, *state))?;
            Some(format!("{n} {}", state.as_str()))
        })
        .collect();
        out.line(format!(
            "  v{version:<4} patients: {:<40} seals {} values",
            states.join(", "),
            status.ciphertexts.get(&("patient", version)).unwrap_or(&0)
        ));
    }
    let formats: Vec<String> = status
        .formats
        .iter()
        .map(|(format, n)| format!("format {format}: {n}"))
        .collect();
    out.line(format!(
        "sealed values: {} ({}), {} with an unreadable header",
        status.ciphertexts.values().sum::<u64>(),
        formats.join(", "),
        status.unreadable
    ));
}

fn audit(log: &AuditLog, detail: &str) -> Result<()> {
    let actor = Actor {
        user_id: "local-operator".into(),
        role: "admin".into(),
        client_id: None,
        address: None,
    };
    let mut event = AuditEvent::new(actor, Action::KeyRotation, Outcome::Success);
    event.detail = Some(detail.to_owned());
    log.append(event)?;
    log.checkpoint()?;
    Ok(())
}
