//! What a reviewer sees beside a draft, and the reason a rejection gives.
//!
//! The sources of a draft are the input the task received (kept in the draft's sealed body
//! since drafts carry it) and the minimum-necessary projection of the patient's record that the
//! task declares, read again from the store with its identifiers in place. They are shown only
//! to someone who may read the draft, and reading the record is audited like any other read.

use phigate_audit::{Action, Outcome};
use phigate_auth::Principal;
use phigate_store::DraftStatus;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::review::{DraftView, ReviewDecision};
use crate::{AgentError, Pipeline, random_id, window};

/// The longest rejection reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

impl Pipeline {
    /// One draft with its body, and its sources (`{"input": ..., "record": ...}`).
    pub fn read_draft_with_sources(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(DraftView, Value), AgentError> {
        let view = self.read_draft(principal, id)?;
        let input = view
            .body
            .pointer("/sources/input")
            .cloned()
            .unwrap_or(Value::Null);
        let task = self.catalog.task(&view.draft.task)?;
        let record = match self.load_record(&view.draft.patient) {
            Ok(record) => {
                let today = OffsetDateTime::now_utc().date();
                task.projection
                    .apply(&window::within(&record, task, today), today)
            }
            // A forgotten patient's record is gone or unreadable (its keys destroyed); the
            // draft is still shown.
            Err(AgentError::PatientNotFound | AgentError::Store(_)) => Value::Null,
            Err(err) => return Err(err),
        };
        if !record.is_null() {
            let request_id = random_id()?;
            let mut trail =
                self.review_trail(principal, &request_id, &view.draft.task, Some(&view.draft));
            let mut event = trail.event(Action::Read, Outcome::Success);
            event.purpose = Some(task.purpose.clone());
            event.detail = Some(format!("draft {} sources read", view.draft.id));
            trail.record(event)?;
        }
        Ok((view, json!({"input": input, "record": record})))
    }

    /// Rejects a draft awaiting review, keeping `reason` in its sealed body. The reason may
    /// name the patient, so it stays out of the audit log, which records only the decision.
    pub fn reject_draft(
        &self,
        principal: &Principal,
        id: &str,
        reason: &str,
    ) -> Result<DraftView, AgentError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(AgentError::InvalidInput(
                "a rejection reason is 1 to 2000 characters",
            ));
        }
        // A reviewed draft is never rewritten, so the reason goes in first. Only a signer may
        // write it: anyone else is refused (and audited) by the decision below, untouched.
        let before = self.load_draft(id)?;
        if self.may_sign(principal, &before.draft).is_err()
            || before.draft.status != DraftStatus::AwaitingReview
        {
            return self.decide_draft(principal, id, ReviewDecision::Reject);
        }
        let mut body = before.body.clone();
        let at = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(fields) = body.as_object_mut() {
            fields.insert(
                "rejection".into(),
                json!({"reason": reason, "by": principal.user_id, "at": at}),
            );
        }
        let encode = |v: &Value| serde_json::to_vec(v).map_err(|_| AgentError::Internal("encode"));
        self.store
            .update_draft_body(&before.draft, &encode(&body)?)?;
        match self.decide_draft(principal, id, ReviewDecision::Reject) {
            Ok(view) => Ok(view),
            Err(err) => {
                // Someone decided first: take the reason back. Should that fail too (the draft
                // is already signed), the stored status stays the truth and readers show a
                // rejection's reason only on a rejected draft.
                let _ = self
                    .store
                    .update_draft_body(&before.draft, &encode(&before.body)?);
                Err(err)
            }
        }
    }
}
