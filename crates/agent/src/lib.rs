//! Agent tasks and the request path they run through.
//!
//! This crate composes the trust boundaries into Phigate's one pipeline: authorize the caller,
//! read the record, project the task's minimum necessary fields, de-identify, pass the egress
//! gate, audit the disclosure durably, call the provider, re-identify the answer, audit it, and
//! store clinical output as a draft for a clinician to sign. Each step's logic lives in its own
//! crate; this one only decides their order and refuses to skip any. It has no transport: the
//! command line and the HTTP gateway both call [`Pipeline::run`].

mod audit_trail;
mod break_glass;
mod error;
mod import;
mod pipeline;
mod policy;
mod prompt;
mod session;
mod task;

pub use break_glass::{BreakGlassGrant, BreakGlassRequest, open_break_glass};
pub use error::AgentError;
pub use import::{ImportReport, import_bundle};
pub use pipeline::{Pipeline, TaskInput, TaskRun};
pub use policy::{DisclosureMode, defuse_placeholders, unlink_placeholders};
pub use session::{Session, set_user, sign_in};
pub use task::{TaskSpec, clinical_note};

/// A random 128-bit id in hex, for requests, drafts and conversations.
pub fn random_id() -> Result<String, AgentError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AgentError::Internal("no randomness"))?;
    Ok(hex::encode(bytes))
}
