//! `phigate run TASK`: one agent task through the whole request path, on this machine.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_agent::{TaskInput, import_bundle};
use serde_json::Value;

use crate::cli::RunArgs;
use crate::cmd::import::read_bounded;
use crate::cmd::{local, local_operator};
use crate::config::Config;
use crate::output::Out;

/// Runs `phigate run`.
pub fn run(config: &Config, args: &RunArgs) -> Result<ExitCode> {
    let (opened, pipeline) = local::open(config, args.provider)?;
    let task = pipeline.catalog.task(&args.task)?.clone();
    let patient_id = match (&args.patient, &args.bundle) {
        (Some(id), None) => id.clone(),
        (None, Some(path)) => {
            let bytes = read_bounded(path)?;
            let operator = local_operator(&config.tenant);
            import_bundle(
                &opened.store,
                &opened.audit,
                &operator,
                &config.tenant,
                &bytes,
            )
            .context("cannot import the bundle")?
            .patient_id
        }
        _ => bail!("give exactly one of --patient ID and --bundle FILE"),
    };
    let text = match &args.input {
        Some(path) => read_input(path, &task.input_label)?,
        None => String::new(),
    };
    let session = local::sign_in_local(config, &opened, &args.role)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let run = runtime.block_on(pipeline.run(
        &session.principal,
        TaskInput {
            task: &task,
            patient_id: &patient_id,
            text: &text,
        },
    ))?;

    let mut out = Out::new();
    out.line(format!(
        "task {} (policy v{}), request {}, {} model call(s), mode {}",
        task.name,
        pipeline.catalog.version(),
        run.request_id,
        run.outbounds.len(),
        run.mode.as_str()
    ));
    out.heading("answer, identifiers restored");
    match &run.output {
        Some(value) => out.line(serde_json::to_string_pretty(value)?),
        None => out.line(run.response.text()),
    }
    out.heading("checks");
    out.line(serde_json::to_string_pretty(&run.report)?);
    match &run.draft_id {
        Some(id) => out.line(format!(
            "draft {id} awaiting review (phigate drafts show {id})"
        )),
        None => out.line("no review needed for this task"),
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// The task's input: a JSON file's field named like the task's input (or `dialogue`, `note`,
/// `text`), or the whole file as text.
fn read_input(path: &Path, label: &str) -> Result<String> {
    let bytes = read_bounded(path)?;
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return String::from_utf8(bytes).context("the input is not UTF-8 text");
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "the input is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    [label, "dialogue", "note", "text"]
        .iter()
        .find_map(|field| value.get(*field).and_then(Value::as_str))
        .map(str::to_owned)
        .with_context(|| {
            format!("the input file has no \"{label}\", \"dialogue\", \"note\" or \"text\" field")
        })
}
