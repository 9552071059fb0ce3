//! Clinical drafts awaiting a clinician's review. The body is sealed; status and timestamps are
//! not PHI and stay queryable.

use phigate_crypto::AadContext;
use zeroize::Zeroizing;

use crate::db::{Row, Sql, now};
use crate::params;
use crate::{PatientRef, Store, StoreError};

/// Where a draft is in its review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftStatus {
    /// Written by a task, not yet looked at.
    AwaitingReview,
    /// Approved and signed by a clinician.
    Signed,
    /// Rejected by a clinician.
    Rejected,
}

impl DraftStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingReview => "awaiting_review",
            Self::Signed => "signed",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "awaiting_review" => Some(Self::AwaitingReview),
            "signed" => Some(Self::Signed),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A draft's metadata (no PHI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Random id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// The patient the draft is about.
    pub patient: PatientRef,
    /// The task that wrote it.
    pub task: String,
    /// Review status.
    pub status: DraftStatus,
    /// Who asked for it.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Who reviewed it, once reviewed.
    pub reviewed_by: Option<String>,
    /// When it was reviewed (Unix seconds), once reviewed.
    pub reviewed_at: Option<i64>,
}

fn context(draft: &Draft) -> AadContext {
    AadContext::patient(
        &draft.tenant,
        draft.patient.as_str(),
        &format!("draft/{}", draft.id),
        "body",
    )
}

impl Store {
    /// Stores a new draft with its sealed body.
    pub fn create_draft(&self, draft: &Draft, body: &[u8]) -> Result<(), StoreError> {
        let sealed = self.keyring.seal(&context(draft), body)?;
        self.db.execute(
            "INSERT INTO drafts (id, tenant, patient_ref, task, status, body, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                draft.id,
                draft.tenant,
                draft.patient.as_str(),
                draft.task,
                draft.status.as_str(),
                sealed,
                draft.created_by,
                draft.created_at
            ],
        )?;
        Ok(())
    }

    /// A draft and its decrypted body.
    pub fn draft(&self, tenant: &str, id: &str) -> Result<(Draft, Zeroizing<Vec<u8>>), StoreError> {
        let mut row = self
            .db
            .query_opt(
                "SELECT id, tenant, patient_ref, task, status, created_by, created_at, reviewed_by,
                        reviewed_at, body
                 FROM drafts WHERE tenant = $1 AND id = $2",
                params![tenant, id],
            )?
            .ok_or(StoreError::NotFound("draft"))?;
        let draft = draft_from_row(&row)?;
        let sealed: Vec<u8> = row.take(9)?;
        let body = self.keyring.open(&context(&draft), &sealed)?;
        Ok((draft, body))
    }

    /// Drafts of a tenant in one status, oldest first.
    pub fn drafts_by_status(
        &self,
        tenant: &str,
        status: DraftStatus,
    ) -> Result<Vec<Draft>, StoreError> {
        self.db
            .query_all(
                "SELECT id, tenant, patient_ref, task, status, created_by, created_at,
                        reviewed_by, reviewed_at
                 FROM drafts WHERE tenant = $1 AND status = $2 ORDER BY created_at, id",
                params![tenant, status.as_str()],
            )?
            .iter()
            .map(draft_from_row)
            .collect()
    }

    /// Records a review decision; only drafts awaiting review can be decided.
    pub fn review_draft(
        &self,
        tenant: &str,
        id: &str,
        status: DraftStatus,
        reviewer: &str,
    ) -> Result<(), StoreError> {
        let changed = self.db.execute(
            "UPDATE drafts SET status = $3, reviewed_by = $4, reviewed_at = $5
             WHERE tenant = $1 AND id = $2 AND status = 'awaiting_review'",
            params![tenant, id, status.as_str(), reviewer, now()],
        )?;
        if changed == 0 {
            return Err(StoreError::Conflict("draft is not awaiting review"));
        }
        Ok(())
    }
}

impl Store {
    /// Every draft of a tenant, oldest first.
    pub fn drafts(&self, tenant: &str) -> Result<Vec<Draft>, StoreError> {
        self.db
            .query_all(
                "SELECT id, tenant, patient_ref, task, status, created_by, created_at,
                        reviewed_by, reviewed_at
                 FROM drafts WHERE tenant = $1 ORDER BY created_at, id",
                params![tenant],
            )?
            .iter()
            .map(draft_from_row)
            .collect()
    }

    /// Replaces the sealed body of a draft that is still awaiting review; a reviewed draft is
    /// never rewritten.
    pub fn update_draft_body(&self, draft: &Draft, body: &[u8]) -> Result<(), StoreError> {
        let sealed = self.keyring.seal(&context(draft), body)?;
        let changed = self.db.execute(
            "UPDATE drafts SET body = $3
             WHERE tenant = $1 AND id = $2 AND status = 'awaiting_review'",
            params![draft.tenant, draft.id, sealed],
        )?;
        if changed == 0 {
            return Err(StoreError::Conflict("draft is not awaiting review"));
        }
        Ok(())
    }
}

fn draft_from_row(row: &Row) -> Result<Draft, StoreError> {
    let status: String = row.get(4)?;
    let status = DraftStatus::parse(&status).ok_or(StoreError::Corrupt("draft status"))?;
    Ok(Draft {
        id: row.get(0)?,
        tenant: row.get(1)?,
        patient: PatientRef::from_stored(row.get(2)?),
        task: row.get(3)?,
        status,
        created_by: row.get(5)?,
        created_at: row.get(6)?,
        reviewed_by: row.get(7)?,
        reviewed_at: row.get(8)?,
    })
}
