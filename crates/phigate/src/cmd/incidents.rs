//! `phigate incidents list|show|ack|report`: the incidents `phigate serve` opened.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_audit::Actor;
use phigate_incidents::report::BreachReport;
use phigate_incidents::{IncidentBook, IncidentError, IncidentView, Status, rfc3339};
use phigate_store::IncidentRecord;
use serde_json::json;

use crate::cli::IncidentsCommand;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Runs `phigate incidents …`.
pub fn run(config: &Config, command: &IncidentsCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let book = IncidentBook::new(opened.store.clone(), config.tenant.clone());
    let mut out = Out::new();
    match command {
        IncidentsCommand::List { status, json } => {
            let status = match status.as_deref() {
                None => None,
                Some(name) => Some(
                    Status::parse(name).context("--status must be open, acknowledged or closed")?,
                ),
            };
            let incidents = book.list(status)?;
            if *json {
                out.line(serde_json::to_string_pretty(
                    &json!({ "incidents": incidents }),
                )?);
            } else {
                list(&mut out, &incidents);
            }
        }
        IncidentsCommand::Show { id, json } => {
            let record = found(book.get(id))?;
            let patients = book.patients(id)?;
            if *json {
                let mut view = serde_json::to_value(IncidentView::from(&record))?;
                view["patient_refs"] = json!(patients);
                view["acknowledged_by"] = json!(record.acknowledged_by);
                view["acknowledged_at"] = json!(record.acknowledged_at.map(rfc3339));
                out.line(serde_json::to_string_pretty(&view)?);
            } else {
                show(&mut out, &record, &patients);
            }
        }
        IncidentsCommand::Ack { id } => {
            let actor = Actor {
                user_id: "local-operator".into(),
                role: "admin".into(),
                client_id: None,
                address: None,
            };
            let record = found(book.acknowledge(id, actor, &opened.audit))?;
            out.line(format!("incident {} is {}", record.id, record.status));
        }
        IncidentsCommand::Report { id, json } => {
            let record = found(book.get(id))?;
            let patients = book.patients(id)?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let report = BreachReport::new(&record, patients, now);
            out.line(if *json {
                serde_json::to_string_pretty(&report)?
            } else {
                report.to_markdown()
            });
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn found<T>(result: Result<T, IncidentError>) -> Result<T> {
    match result {
        Err(IncidentError::NotFound) => bail!("no such incident"),
        other => Ok(other?),
    }
}

fn list(out: &mut Out, incidents: &[IncidentView]) {
    if incidents.is_empty() {
        out.line("no incidents");
        return;
    }
    out.line(format!(
        "{:<36}  {:<24}  {:<8}  {:<12}  {:<20}  {:>5}  {:>8}",
        "id", "rule", "severity", "status", "opened", "count", "patients"
    ));
    for i in incidents {
        out.line(format!(
            "{:<36}  {:<24}  {:<8}  {:<12}  {:<20}  {:>5}  {:>8}",
            i.id, i.rule, i.severity, i.status, i.opened_at, i.count, i.patients
        ));
    }
}

fn show(out: &mut Out, record: &IncidentRecord, patients: &[String]) {
    out.line(format!("id:           {}", record.id));
    out.line(format!("rule:         {}", record.rule));
    out.line(format!("severity:     {}", record.severity));
    out.line(format!("status:       {}", record.status));
    out.line(format!("subject:      {}", record.subject));
    out.line(format!("summary:      {}", record.summary));
    out.line(format!("opened:       {}", rfc3339(record.opened_at)));
    out.line(format!("last seen:    {}", rfc3339(record.last_seen_at)));
    out.line(format!("count:        {}", record.count));
    if let (Some(by), Some(at)) = (&record.acknowledged_by, record.acknowledged_at) {
        out.line(format!("acknowledged: by {by} at {}", rfc3339(at)));
    }
    out.line(format!("patients:     {}", patients.len()));
    for patient in patients {
        out.line(format!("  {patient}"));
    }
}
