//! `phigate audit verify|tail|search|export|disclosures|prove|prune`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_audit::accounting::disclosures;
use phigate_audit::{Action, Actor, AuditEntry, Query};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::{AuditCommand, AuditFilter, ExportFormat, ProveCommand};
use crate::config::Config;
use crate::datadir::{self, Opened};
use crate::output::Out;

/// Runs `phigate audit …`.
pub fn run(config: &Config, command: &AuditCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let mut out = Out::new();
    let code = match command {
        AuditCommand::Verify => {
            let report = opened.audit.verify()?;
            out.line(report.to_string());
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        AuditCommand::Tail { count } => {
            let len = opened.audit.len()?;
            for entry in opened.audit.entries(len.saturating_sub(*count), *count)? {
                out.line(describe(&entry));
            }
            ExitCode::SUCCESS
        }
        AuditCommand::Search(filter) => {
            for entry in opened.audit.search(&query(config, &opened, filter)?)? {
                out.line(describe(&entry));
            }
            ExitCode::SUCCESS
        }
        AuditCommand::Export { format, filter } => {
            let ExportFormat::Fhir = format;
            let query = query(config, &opened, filter)?;
            for entry in opened.audit.search(&query)? {
                if let Some(resource) =
                    phigate_audit::fhir::audit_event(&entry, opened.audit.origin())
                {
                    out.line(resource.to_string());
                }
            }
            record_access(&opened, "export fhir")?;
            ExitCode::SUCCESS
        }
        AuditCommand::Disclosures {
            patient,
            since,
            json,
        } => {
            let query = Query {
                patient_ref: Some(patient_ref(config, &opened, patient)),
                action: Some(Action::Disclosure),
                since: since.as_deref().map(parse_time).transpose()?,
                limit: u64::MAX >> 1,
                ..Query::default()
            };
            let listed = disclosures(&opened.audit.search(&query)?);
            if *json {
                out.line(serde_json::to_string_pretty(&listed)?);
            } else {
                out.line(format!("{} disclosures", listed.len()));
                for d in &listed {
                    out.line(format!(
                        "#{} {} to {} for {}: {}; by {}",
                        d.seq,
                        rfc3339(d.date),
                        d.recipient,
                        d.purpose,
                        d.description,
                        d.disclosed_by
                    ));
                }
            }
            record_access(&opened, "accounting of disclosures")?;
            ExitCode::SUCCESS
        }
        AuditCommand::Prove(prove) => {
            out.line(serde_json::to_string_pretty(&proof(&opened, prove)?)?);
            ExitCode::SUCCESS
        }
        AuditCommand::InitPostgres {
            owner_url,
            app_role,
        } => return init_postgres(config, owner_url, app_role),
        AuditCommand::Prune { owner_url } => {
            crate::cmd::retention::check_audit_days(config)?;
            if owner_url.is_some() && config.audit.postgres_url.is_none() {
                bail!("--owner-url is for a log in PostgreSQL; this log is in SQLite");
            }
            if owner_url.is_none() && config.audit.postgres_url.is_some() {
                bail!(
                    "the log is in PostgreSQL, where the application role may not prune; give \
                     --owner-url, a connection as the schema's owner"
                );
            }
            let cutoff = OffsetDateTime::now_utc()
                - time::Duration::days(i64::try_from(config.audit.retention_days)?);
            let cleared = opened
                .audit
                .prune_with(cutoff, operator(), owner_url.as_deref())?;
            out.line(format!(
                "pruned the bodies of {cleared} entries older than {} days; hashes and \
                 checkpoints are kept",
                config.audit.retention_days
            ));
            ExitCode::SUCCESS
        }
    };
    out.flush();
    Ok(code)
}

/// `phigate audit init-postgres`: needs no data directory, since the log's schema must exist
/// before `phigate init` writes its first entry there.
pub fn init_postgres(config: &Config, owner_url: &str, app_role: &str) -> Result<ExitCode> {
    let schema = &config.audit.postgres_schema;
    phigate_audit::postgres::create_schema_at(owner_url, schema, app_role)
        .context("cannot create the audit schema")?;
    let mut out = Out::new();
    out.line(format!(
        "audit schema {schema} ready; role {app_role} may select and insert only"
    ));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn operator() -> Actor {
    Actor {
        user_id: "local-operator".into(),
        role: "admin".into(),
        client_id: Some("phigate-cli".into()),
        address: None,
    }
}

/// Reading patients' disclosures or exporting the log is itself recorded.
fn record_access(opened: &Opened, what: &str) -> Result<()> {
    let mut event = phigate_audit::AuditEvent::new(
        operator(),
        Action::AuditAccess,
        phigate_audit::Outcome::Success,
    );
    event.detail = Some(what.to_owned());
    opened
        .audit
        .append(event)
        .context("cannot record the audit access")?;
    Ok(())
}

/// The keyed HMAC reference of a patient identifier, as the rest of Phigate computes it.
fn patient_ref(config: &Config, opened: &Opened, patient: &str) -> String {
    opened
        .store
        .patient_ref(&config.tenant, patient)
        .as_str()
        .to_owned()
}

fn parse_time(text: &str) -> Result<i64> {
    Query::parse_time(text).with_context(|| {
        format!("{text:?} is not a time: use RFC 3339 (2025-03-01T10:00:00Z) or YYYY-MM-DD")
    })
}

fn query(config: &Config, opened: &Opened, filter: &AuditFilter) -> Result<Query> {
    let action = match &filter.action {
        Some(name) => Some(Action::parse(name).with_context(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown action {name:?}; one of {}", names.join(", "))
        })?),
        None => None,
    };
    Ok(Query {
        user_id: filter.user.clone(),
        patient_ref: filter
            .patient
            .as_deref()
            .map(|p| patient_ref(config, opened, p)),
        action,
        since: filter.since.as_deref().map(parse_time).transpose()?,
        until: filter.until.as_deref().map(parse_time).transpose()?,
        from_seq: filter.from_seq,
        limit: filter.limit,
    })
}

/// A proof as JSON, against the latest checkpoint unless a size is given.
fn proof(opened: &Opened, prove: &ProveCommand) -> Result<serde_json::Value> {
    let latest = opened.audit.checkpoints()?.into_iter().last();
    let size_or_latest = |size: Option<u64>| -> Result<u64> {
        match (size, &latest) {
            (Some(size), _) => Ok(size),
            (None, Some(checkpoint)) => Ok(checkpoint.size),
            (None, None) => bail!("the log has no checkpoint yet; give the tree size"),
        }
    };
    let hexes = |hashes: Vec<phigate_audit::Hash>| -> Vec<String> {
        hashes.iter().map(hex::encode).collect()
    };
    Ok(match prove {
        ProveCommand::Inclusion { seq, size } => {
            let size = size_or_latest(*size)?;
            let path = opened.audit.inclusion_proof(*seq, size)?;
            let leaf = opened.audit.entries(*seq, 1)?;
            json!({
                "seq": seq,
                "tree_size": size,
                "leaf_hash": leaf.first().map(|e| hex::encode(e.leaf_hash)),
                "root": hex::encode(opened.audit.root_at(size)?),
                "path": hexes(path),
            })
        }
        ProveCommand::Consistency { old, new } => {
            let new = size_or_latest(*new)?;
            let path = opened.audit.consistency_proof(*old, new)?;
            json!({
                "old_size": old,
                "new_size": new,
                "old_root": hex::encode(opened.audit.root_at(*old)?),
                "new_root": hex::encode(opened.audit.root_at(new)?),
                "path": hexes(path),
            })
        }
    })
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One line per entry: sequence, time, action, outcome, actor, and the PHI-free references.
pub fn describe(entry: &AuditEntry) -> String {
    let Some(e) = &entry.event else {
        return format!("#{:<4} (body pruned by retention)", entry.seq);
    };
    let mut line = format!(
        "#{:<4} {} {:<14} {:<8} {}({})",
        entry.seq,
        rfc3339(e.time),
        e.action.as_str(),
        wire_name(&e.outcome),
        e.actor.user_id.get(..12).unwrap_or(&e.actor.user_id),
        e.actor.role,
    );
    let short = |h: &str| h.get(..12).unwrap_or(h).to_owned();
    let fields = [
        ("task", e.task.clone()),
        ("provider", e.provider.clone()),
        ("patient", e.patient_ref.as_deref().map(short)),
        ("sent", e.sent_sha256.as_deref().map(short)),
        ("received", e.received_sha256.as_deref().map(short)),
        ("detail", e.detail.clone()),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            line.push_str(&format!(" {key}={value}"));
        }
    }
    line
}

/// A serde enum's wire name (`success`).
fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}
