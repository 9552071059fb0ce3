//! `phigate drafts`: review on this machine, as a local person signed in with a role.

use std::process::ExitCode;

use anyhow::Result;
use phigate_agent::{DraftView, ReviewDecision};
use phigate_store::{Draft, DraftStatus};
use serde_json::Value;

use crate::cli::{DraftStatusArg, DraftsArgs, DraftsCommand};
use crate::cmd::import::read_bounded;
use crate::cmd::local;
use crate::config::Config;
use crate::output::Out;

/// Runs `phigate drafts …`.
pub fn run(config: &Config, args: &DraftsArgs) -> Result<ExitCode> {
    let (opened, pipeline) = local::open(config, None)?;
    let session = local::sign_in_local(config, &opened, &args.role)?;
    let who = &session.principal;
    let mut out = Out::new();
    match &args.command {
        DraftsCommand::List { status } => {
            let status = status.map(|s| match s {
                DraftStatusArg::Awaiting => DraftStatus::AwaitingReview,
                DraftStatusArg::Signed => DraftStatus::Signed,
                DraftStatusArg::Rejected => DraftStatus::Rejected,
            });
            for draft in pipeline.list_drafts(who, status)? {
                out.line(summary(&draft));
            }
        }
        DraftsCommand::Show { id } => show(&mut out, &pipeline.read_draft(who, id)?)?,
        DraftsCommand::Edit { id, file } => {
            let bytes = read_bounded(file)?;
            let content = serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            show(&mut out, &pipeline.edit_draft(who, id, content)?)?;
        }
        DraftsCommand::Approve { id } => {
            show(
                &mut out,
                &pipeline.decide_draft(who, id, ReviewDecision::Approve)?,
            )?;
        }
        DraftsCommand::Reject { id } => {
            show(
                &mut out,
                &pipeline.decide_draft(who, id, ReviewDecision::Reject)?,
            )?;
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn summary(draft: &Draft) -> String {
    let reviewed = match (&draft.reviewed_by, draft.reviewed_at) {
        (Some(by), Some(at)) => format!(" by {by} at {at}"),
        _ => String::new(),
    };
    format!(
        "{} {} {}{reviewed} (created at {})",
        draft.id,
        draft.task,
        draft.status.as_str(),
        draft.created_at
    )
}

fn show(out: &mut Out, view: &DraftView) -> Result<()> {
    out.line(summary(&view.draft));
    out.line(serde_json::to_string_pretty(&view.body)?);
    Ok(())
}
