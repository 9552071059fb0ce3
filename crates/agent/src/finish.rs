//! After the model's last word: output checks, restoring identifiers, validating the answer
//! against the task's schema, the task's post-checks, and the draft awaiting review.

use std::collections::BTreeMap;

use phigate_audit::{Action, Outcome};
use phigate_deid::{EntityKind, reidentify};
use phigate_llm::types::{ContentBlock, MessagesResponse};
use phigate_store::{Draft, DraftStatus};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::run::Ctx;
use crate::schema::{first_object, validate};
use crate::{
    AgentError, DisclosureMode, OutputKind, Pipeline, PostCheck, TaskRun, coding, output_check,
    random_id, triage,
};

/// The label every stored draft carries. Editing a draft changes its content, never this.
pub const AI_LABEL: &str = "AI-generated draft: written by a language model through Phigate; \
                            a qualified person must review it before it is used.";

impl Pipeline {
    pub(crate) async fn finish(
        &self,
        mut ctx: Ctx<'_>,
        request_id: String,
        answer: MessagesResponse,
        entities: BTreeMap<EntityKind, usize>,
        input: &str,
    ) -> Result<TaskRun, AgentError> {
        let (response, unknown_placeholders) = self.restore(&mut ctx, answer)?;
        let output = match ctx.task.output {
            OutputKind::Text => None,
            OutputKind::Json => Some(self.checked_output(&mut ctx, &response, input)?),
        };
        let draft_id = if ctx.task.needs_signature {
            let content = match &output {
                Some(value) => value.clone(),
                None => Value::String(response.text()),
            };
            Some(self.store_draft(&mut ctx, &request_id, content, input)?)
        } else {
            None
        };
        let audit_seqs = std::mem::take(&mut ctx.trail.seqs);
        let outbounds = std::mem::take(&mut ctx.outbounds);
        let outbound = outbounds
            .first()
            .cloned()
            .ok_or(AgentError::Internal("no request was sent"))?;
        Ok(TaskRun {
            request_id,
            outbound,
            outbounds,
            mode: ctx.mode,
            response,
            output,
            report: ctx.report,
            unknown_placeholders,
            entities,
            draft_id,
            audit_seqs,
        })
    }

    /// Applies the output checks to every text block, audits what they removed, then restores
    /// the placeholders (not with Safe Harbor data, which has nothing to restore).
    fn restore(
        &self,
        ctx: &mut Ctx<'_>,
        mut answer: MessagesResponse,
    ) -> Result<(MessagesResponse, Vec<String>), AgentError> {
        let mut unknown = Vec::new();
        let mut removed = output_check::Removed::default();
        let screen_output = ctx.task.checks(PostCheck::OutputScreen);
        // Tool calls the loop did not run are not part of the answer.
        answer
            .content
            .retain(|block| !matches!(block, ContentBlock::ToolUse(_)));
        for block in &mut answer.content {
            let ContentBlock::Text(text) = block else {
                continue;
            };
            if screen_output {
                let (checked, found) = output_check::check(&text.text, &ctx.vault);
                text.text = checked;
                removed.images += found.images;
                removed.links += found.links;
                removed.identifier_requests += found.identifier_requests;
                removed.invented_placeholders += found.invented_placeholders;
            }
            if ctx.mode == DisclosureMode::Pseudonymized {
                let restored = reidentify(&text.text, &ctx.vault);
                text.text = restored.text;
                unknown.extend(restored.unknown_placeholders);
            }
        }
        if removed.any() {
            let mut event = ctx.trail.event(Action::Response, Outcome::Denied);
            event.detail = Some(format!("output checks removed {}", removed.summary()));
            ctx.trail.record(event)?;
            ctx.report.output_removed = Some(removed.summary());
        }
        Ok((answer, unknown))
    }

    /// Finds the JSON answer, validates it, and runs the task's post-checks on it.
    fn checked_output(
        &self,
        ctx: &mut Ctx<'_>,
        response: &MessagesResponse,
        input: &str,
    ) -> Result<Value, AgentError> {
        let task = ctx.task;
        let verdict = first_object(&response.text())
            .ok_or_else(|| "$: no JSON object in the answer".to_owned())
            .and_then(|value| match &task.output_schema {
                Some(schema) => validate(schema, &value).map(|()| value),
                None => Ok(value),
            });
        let mut output = match verdict {
            Ok(value) => value,
            Err(why) => {
                let mut event = ctx.trail.event(Action::Response, Outcome::Failed);
                event.detail = Some(format!("output schema: {why}"));
                ctx.trail.record(event)?;
                return Err(AgentError::InvalidOutput(why));
            }
        };
        let (codes, quotes) = (
            task.checks(PostCheck::Icd10cm),
            task.checks(PostCheck::QuotesInInput),
        );
        if codes || quotes {
            ctx.report.dropped_codes = coding::check_codes(&mut output, input, codes, quotes);
            if let Some(obj) = output.as_object_mut() {
                obj.insert("dropped".into(), json!(ctx.report.dropped_codes));
            }
        }
        if task.checks(PostCheck::TriageSafetyRules) {
            ctx.report.safety_rules = triage::apply(&mut output, input);
        }
        let mut checked = ctx.trail.event(Action::Response, Outcome::Success);
        checked.detail = Some(format!(
            "post-checks passed; dropped={} rules={}",
            ctx.report.dropped_codes.len(),
            ctx.report.safety_rules.len()
        ));
        ctx.trail.record(checked)?;
        Ok(output)
    }

    fn store_draft(
        &self,
        ctx: &mut Ctx<'_>,
        request_id: &str,
        content: Value,
        input: &str,
    ) -> Result<String, AgentError> {
        let draft = Draft {
            id: random_id()?,
            tenant: self.tenant.clone(),
            patient: ctx.patient.clone(),
            task: ctx.task.name.clone(),
            status: DraftStatus::AwaitingReview,
            created_by: ctx.principal.user_id.clone(),
            created_at: OffsetDateTime::now_utc().unix_timestamp(),
            reviewed_by: None,
            reviewed_at: None,
        };
        let body = json!({
            "label": AI_LABEL,
            "task": ctx.task.name,
            "provider": self.provider.name(),
            "model": self.model,
            "content": content,
            "checks": ctx.report,
            "edits": [],
            // What the reviewer reads beside the draft: the input as the task received it.
            "sources": {"input": input},
        });
        let bytes = serde_json::to_vec(&body).map_err(|_| AgentError::Internal("encode"))?;
        self.store.create_draft(&draft, &bytes)?;
        self.store.save_vault(
            &self.tenant,
            &ctx.patient,
            request_id,
            &ctx.vault.to_bytes(),
        )?;
        let mut stored = ctx.trail.event(Action::DraftStored, Outcome::Success);
        stored.detail = Some(format!("draft {} awaiting review", draft.id));
        ctx.trail.record(stored)?;
        Ok(draft.id)
    }
}
