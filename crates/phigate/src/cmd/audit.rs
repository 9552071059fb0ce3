//! `phigate audit verify|tail`.

use std::process::ExitCode;

use anyhow::Result;
use phigate_audit::AuditEntry;

use crate::cli::AuditCommand;
use crate::config::Config;
use crate::datadir;
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
    };
    out.flush();
    Ok(code)
}

/// One line per entry: sequence, time, action, outcome, actor, and the PHI-free references.
pub fn describe(entry: &AuditEntry) -> String {
    let e = &entry.event;
    let mut line = format!(
        "#{:<4} {} {:<14} {:<8} {}({})",
        entry.seq,
        e.time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        wire_name(&e.action),
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

/// A serde enum's wire name (`disclosure`, `success`).
fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}
