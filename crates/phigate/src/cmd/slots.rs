//! `phigate slots import FILE`: loads the organisation's appointment slots (FHIR `Slot`
//! resources, as a bundle or a JSON array) for the `admin` task's scheduling tools. Slots name no
//! patient; booked slots are never overwritten.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_fhir::first_string;
use phigate_store::{Slot, SlotStatus};
use serde_json::Value;

use crate::cmd::import::read_bounded;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Runs `phigate slots import`.
pub fn import(config: &Config, file: &Path) -> Result<ExitCode> {
    let bytes = read_bounded(file)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "the slots file is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let slots = parse(&value)?;
    let opened = datadir::open(config)?;
    opened.store.put_slots(&config.tenant, &slots)?;
    let mut out = Out::new();
    out.line(format!("{} slots loaded", slots.len()));
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// The slots of a bundle or array of FHIR `Slot` resources.
pub fn parse(value: &Value) -> Result<Vec<Slot>> {
    let resources: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) if value["resourceType"] == "Bundle" => value["entry"]
            .as_array()
            .map(|e| e.iter().map(|entry| &entry["resource"]).collect())
            .unwrap_or_default(),
        _ => bail!("expected a FHIR bundle or a JSON array of Slot resources"),
    };
    let mut slots = Vec::with_capacity(resources.len());
    for (i, resource) in resources.into_iter().enumerate() {
        if resource["resourceType"] != "Slot" {
            bail!("entry {i} is not a Slot");
        }
        let field = |path: &str| {
            first_string(resource, path).with_context(|| format!("entry {i} has no {path}"))
        };
        let status = match field("status")?.as_str() {
            "free" => SlotStatus::Free,
            _ => SlotStatus::Busy,
        };
        slots.push(Slot {
            id: field("id")?,
            start: field("start")?,
            end: field("end")?,
            service: field("serviceType.text").unwrap_or_else(|_| "general".into()),
            status,
        });
    }
    Ok(slots)
}
