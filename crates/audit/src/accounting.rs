//! The accounting of disclosures of 45 CFR 164.528: for one patient, every disclosure with its
//! date, who received the data, a brief description of what was disclosed, and the purpose.
//!
//! Phigate records every disclosure to a model provider, including those for treatment,
//! payment and health care operations that the rule exempts from the accounting; the purpose is
//! given so the privacy office can leave those out of what it hands the patient.

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Action, AuditEntry, Outcome};

/// One disclosure, as the accounting lists it. Holds no PHI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    /// The audit entry recording it.
    pub seq: u64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
    /// Who received the data (the model provider).
    pub recipient: String,
    /// The stated purpose.
    pub purpose: String,
    /// A brief description of what was disclosed.
    pub description: String,
    /// The user on whose behalf it was made, and their role.
    pub disclosed_by: String,
    /// The request it belongs to.
    pub request_id: Option<String>,
}

/// The successful disclosures among `entries`, oldest first.
pub fn disclosures(entries: &[AuditEntry]) -> Vec<Disclosure> {
    entries
        .iter()
        .filter_map(|entry| {
            let event = entry.event.as_ref()?;
            if event.action != Action::Disclosure || event.outcome != Outcome::Success {
                return None;
            }
            let mut description = match &event.task {
                Some(task) => format!("de-identified record extract for task {task}"),
                None => "de-identified request content".to_owned(),
            };
            if let Some(detail) = &event.detail {
                description.push_str(&format!(" ({detail})"));
            }
            Some(Disclosure {
                seq: entry.seq,
                date: event.time,
                recipient: event
                    .provider
                    .clone()
                    .unwrap_or_else(|| "unrecorded".to_owned()),
                purpose: event
                    .purpose
                    .clone()
                    .unwrap_or_else(|| "unstated".to_owned()),
                description,
                disclosed_by: format!("{} ({})", event.actor.user_id, event.actor.role),
                request_id: event.request_id.clone(),
            })
        })
        .collect()
}
