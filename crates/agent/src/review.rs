//! Review of stored drafts: list, read, edit, approve (sign) or reject. Reading needs
//! `draft/read`; changing a draft needs `draft/sign` and a role the task names as a signer.
//! Signer and time are recorded by the store; the AI-generated label stays whatever the edit;
//! every step, refusals included, is audited.

use phigate_audit::{Action, Outcome};
use phigate_auth::Principal;
use phigate_store::{Draft, DraftStatus, PatientAccess};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::audit_trail::Trail;
use crate::{AI_LABEL, AgentError, Pipeline, random_id};

/// Scope needed to list and read drafts.
pub const READ_SCOPE: &str = "draft/read";
/// Scope needed to edit, sign or reject drafts.
pub const SIGN_SCOPE: &str = "draft/sign";

/// A reviewer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Approve and sign.
    Approve,
    /// Reject.
    Reject,
}

/// A draft and its decrypted body. The body holds PHI, so there is no `Debug`.
pub struct DraftView {
    /// Metadata: status, signer and times (no PHI).
    pub draft: Draft,
    /// `label`, `task`, `content`, `checks`, `edits`.
    pub body: Value,
}

impl Pipeline {
    pub(crate) fn review_trail<'a>(
        &'a self,
        principal: &'a Principal,
        request_id: &'a str,
        task: &'a str,
        draft: Option<&Draft>,
    ) -> Trail<'a> {
        Trail {
            log: &self.audit,
            principal,
            request_id,
            task,
            patient_ref: draft.map(|d| d.patient.as_str().to_owned()),
            seqs: Vec::new(),
        }
    }

    pub(crate) fn refuse(&self, trail: &mut Trail<'_>, err: AgentError) -> AgentError {
        let action = crate::containment::refusal_action(&err);
        let mut event = trail.event(action, Outcome::Denied);
        event.detail = Some(format!("draft review: {err}"));
        match trail.record(event) {
            Ok(()) => err,
            Err(audit) => audit,
        }
    }

    /// Drafts of the tenant, optionally in one status, oldest first (metadata only).
    pub fn list_drafts(
        &self,
        principal: &Principal,
        status: Option<DraftStatus>,
    ) -> Result<Vec<Draft>, AgentError> {
        let request_id = random_id()?;
        let mut trail = self.review_trail(principal, &request_id, "review", None);
        if let Err(err) = principal.require(&[READ_SCOPE]) {
            return Err(self.refuse(&mut trail, err.into()));
        }
        let drafts: Vec<Draft> = match status {
            Some(status) => self.store.drafts_by_status(&self.tenant, status)?,
            None => self.store.drafts(&self.tenant)?,
        }
        .into_iter()
        .filter(|d| self.may_read(principal, d).is_ok())
        .collect();
        let mut event = trail.event(Action::Read, Outcome::Success);
        event.detail = Some(format!("listed {} drafts", drafts.len()));
        trail.record(event)?;
        Ok(drafts)
    }

    /// One draft with its body.
    pub fn read_draft(&self, principal: &Principal, id: &str) -> Result<DraftView, AgentError> {
        let request_id = random_id()?;
        let mut trail = self.review_trail(principal, &request_id, "review", None);
        if let Err(err) = principal.require(&[READ_SCOPE]) {
            return Err(self.refuse(&mut trail, err.into()));
        }
        let view = self.load_or_refuse(principal, &request_id, id)?;
        let mut trail =
            self.review_trail(principal, &request_id, &view.draft.task, Some(&view.draft));
        let access = match self.may_read(principal, &view.draft) {
            Ok(access) => access,
            Err(err) => return Err(self.refuse(&mut trail, err)),
        };
        self.flag_break_glass(&mut trail, access, "draft read")?;
        let mut event = trail.event(Action::Read, Outcome::Success);
        event.detail = Some(format!("draft {} read", view.draft.id));
        trail.record(event)?;
        Ok(view)
    }

    /// Replaces a draft's content. The label, task and checks stay; the edit is listed.
    pub fn edit_draft(
        &self,
        principal: &Principal,
        id: &str,
        content: Value,
    ) -> Result<DraftView, AgentError> {
        let request_id = random_id()?;
        let mut view = self.load_or_refuse(principal, &request_id, id)?;
        let mut trail =
            self.review_trail(principal, &request_id, &view.draft.task, Some(&view.draft));
        let access = match self.may_sign(principal, &view.draft) {
            Ok(access) => access,
            Err(err) => return Err(self.refuse(&mut trail, err)),
        };
        if view.draft.status != DraftStatus::AwaitingReview {
            return Err(self.refuse(
                &mut trail,
                AgentError::InvalidInput("draft already reviewed"),
            ));
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(body) = view.body.as_object_mut() {
            body.insert("content".into(), content);
            body.insert("label".into(), Value::String(AI_LABEL.to_owned()));
            let edit = json!({"by": principal.user_id, "at": now});
            match body.get_mut("edits").and_then(Value::as_array_mut) {
                Some(edits) => edits.push(edit),
                None => {
                    body.insert("edits".into(), json!([edit]));
                }
            }
        }
        let bytes = serde_json::to_vec(&view.body).map_err(|_| AgentError::Internal("encode"))?;
        self.flag_break_glass(&mut trail, access, "draft edit")?;
        self.store.update_draft_body(&view.draft, &bytes)?;
        let mut event = trail.event(Action::DraftReviewed, Outcome::Success);
        event.detail = Some(format!("draft {} edited", view.draft.id));
        trail.record(event)?;
        Ok(view)
    }

    /// Approves (signs) or rejects a draft awaiting review.
    pub fn decide_draft(
        &self,
        principal: &Principal,
        id: &str,
        decision: ReviewDecision,
    ) -> Result<DraftView, AgentError> {
        let request_id = random_id()?;
        let view = self.load_or_refuse(principal, &request_id, id)?;
        let mut trail =
            self.review_trail(principal, &request_id, &view.draft.task, Some(&view.draft));
        let access = match self.may_sign(principal, &view.draft) {
            Ok(access) => access,
            Err(err) => return Err(self.refuse(&mut trail, err)),
        };
        self.flag_break_glass(&mut trail, access, "draft review")?;
        let (status, action, word) = match decision {
            ReviewDecision::Approve => (DraftStatus::Signed, Action::DraftSigned, "signed"),
            ReviewDecision::Reject => (DraftStatus::Rejected, Action::DraftReviewed, "rejected"),
        };
        if let Err(err) = self
            .store
            .review_draft(&self.tenant, id, status, &principal.user_id)
        {
            return Err(self.refuse(&mut trail, err.into()));
        }
        let mut event = trail.event(action, Outcome::Success);
        event.detail = Some(format!("draft {} {word}", view.draft.id));
        trail.record(event)?;
        self.load_draft(id)
    }

    /// The reader rule (minimum necessary): `draft/read`, a role the draft's task names as a
    /// runner or a signer, and every scope the task reads with. A nurse reads triage drafts but
    /// not the clinical notes built from medications her role may not see. The patient must be
    /// within the caller's reach (care team or break-glass, where the tenant confines staff).
    fn may_read(&self, principal: &Principal, draft: &Draft) -> Result<PatientAccess, AgentError> {
        principal.require(&[READ_SCOPE])?;
        self.check_not_frozen(&draft.patient)?;
        let task = self.catalog.task(&draft.task)?;
        let role = principal.role.as_str();
        if !task
            .roles
            .iter()
            .chain(&task.signer_roles)
            .any(|r| r == role)
        {
            return Err(AgentError::RoleNotAllowed {
                role,
                what: "read drafts of this task",
            });
        }
        principal.require(&task.scope_refs())?;
        self.check_in_scope(principal, &draft.patient)
    }

    /// The signer rule: `draft/sign`, a role the draft's task names as a signer, and the
    /// patient within the caller's reach.
    pub(crate) fn may_sign(
        &self,
        principal: &Principal,
        draft: &Draft,
    ) -> Result<PatientAccess, AgentError> {
        principal.require(&[SIGN_SCOPE])?;
        self.check_not_frozen(&draft.patient)?;
        let task = self.catalog.task(&draft.task)?;
        if !task
            .signer_roles
            .iter()
            .any(|r| r == principal.role.as_str())
        {
            return Err(AgentError::RoleNotAllowed {
                role: principal.role.as_str(),
                what: "sign drafts of this task",
            });
        }
        self.check_in_scope(principal, &draft.patient)
    }

    /// [`Self::load_draft`], auditing a refusal (an unknown or malformed id) as a denial.
    fn load_or_refuse(
        &self,
        principal: &Principal,
        request_id: &str,
        id: &str,
    ) -> Result<DraftView, AgentError> {
        self.load_draft(id).map_err(|err| {
            let mut trail = self.review_trail(principal, request_id, "review", None);
            self.refuse(&mut trail, err)
        })
    }

    pub(crate) fn load_draft(&self, id: &str) -> Result<DraftView, AgentError> {
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AgentError::InvalidInput("a draft id is 32 hex digits"));
        }
        let (draft, body) = self.store.draft(&self.tenant, id)?;
        let body: Value = serde_json::from_slice(&body).unwrap_or_else(
            |_| json!({"label": AI_LABEL, "content": String::from_utf8_lossy(&body)}),
        );
        Ok(DraftView { draft, body })
    }
}
