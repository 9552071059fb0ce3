//! Incidents: rules over the audit event stream that open incidents with a severity, alerts to a
//! webhook, and the breach-assessment report an incident needs.
//!
//! The monitor ([`Monitor`]) observes every append of the serving process's audit log and feeds
//! it to the rules ([`rules`]) on a thread of its own: one user reading many patients, access
//! outside working hours, bursts of refusals and of failed sign-ins, leak-gate blocks,
//! prompt-injection detections, safety alerts and failures of the audit store itself. What
//! fires is stored (merged into an open incident of the same rule and subject), opening an
//! incident is audited, and the webhook is told. [`IncidentBook`] reads and acknowledges them;
//! [`report`] writes the breach assessment (45 CFR 164.404).
//!
//! It refuses to hold PHI: patients appear as keyed references, summaries are built from fixed
//! phrases, staff ids and numbers, and a request never waits for a rule or an alert.

mod book;
mod model;
pub mod report;
pub mod rules;
mod service;
mod webhook;

use thiserror::Error;

pub use book::{IncidentBook, LIST_LIMIT};
pub use model::{IncidentView, Rule, Severity, Status, rfc3339};
pub use rules::RuleConfig;
pub use service::{MONITOR_ACTOR, Monitor, MonitorConfig};
pub use webhook::WebhookConfig;

/// Why an incident operation failed. Messages carry no PHI.
#[derive(Debug, Error)]
pub enum IncidentError {
    /// No incident has that id (in this tenant).
    #[error("no such incident")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] phigate_store::StoreError),
    /// The audit log refused the entry.
    #[error(transparent)]
    Audit(#[from] phigate_audit::AuditError),
    /// The webhook or the rules thread could not be set up.
    #[error("incident alerts: {0}")]
    Webhook(&'static str),
}

/// A random 128-bit id in hex.
fn random_id() -> Result<String, IncidentError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| IncidentError::Webhook("no randomness"))?;
    Ok(format!("inc_{}", hex::encode(bytes)))
}
