//! Agent tasks and the request path they run through.
//!
//! This crate composes the trust boundaries into Phigate's one pipeline: authorize the caller,
//! screen the input for prompt injection, read the record, project the task's minimum necessary
//! fields, de-identify, pass the egress gate, audit the disclosure durably, call the provider,
//! run the tools the model asks for inside the gateway (restoring, checking, de-identifying and
//! auditing each call) within the task's bounds, check and re-identify the answer, validate it
//! against the task's schema and post-checks, and store clinical output as a draft for a
//! clinician to sign. Tasks are declared in a versioned policy file ([`Catalog`]). Each step's
//! logic lives in its own crate or module; this crate decides their order and refuses to skip
//! any. It has no transport: the command line and the HTTP gateway both call [`Pipeline::run`]
//! and the review functions.

pub mod assistant;
mod audit_trail;
mod break_glass;
mod catalog;
pub mod coding;
mod containment;
mod converse;
mod error;
mod finish;
mod import;
mod import_file;
pub mod output_check;
mod pattern;
mod pipeline;
mod policy;
mod prompt;
mod review;
mod review_detail;
mod run;
pub mod schema;
pub mod screen;
mod session;
mod task;
mod tool_call;
mod tools;
pub mod triage;
mod window;

pub use assistant::{AssistantReply, SafetyReport, Speaker, Turn};
pub use break_glass::{BreakGlassGrant, BreakGlassRequest, open_break_glass};
pub use catalog::{BUILTIN_POLICY, Catalog, DATA_CLASSES, ProviderPolicy, ToolPolicy};
pub use containment::{not_frozen, provider_open};
pub use error::AgentError;
pub use finish::AI_LABEL;
pub use import::{ImportReport, import_bundle};
pub use import_file::{FileReport, ImportError, ImportOptions, import_file};
pub use pipeline::{MAX_INPUT_BYTES, Pipeline};
pub use policy::{DisclosureMode, defuse_placeholders, unlink_placeholders};
pub use review::{DraftView, ReviewDecision};
pub use review_detail::MAX_REASON_CHARS;
pub use run::{RunReport, TaskInput, TaskRun, ToolCallReport};
pub use session::{Session, set_user, sign_in};
pub use task::{Limits, OutputKind, PostCheck, TaskSpec, WithoutBaa, clinical_note};
pub use tools::{ToolError, ToolName};

/// A random 128-bit id in hex, for requests, drafts and conversations.
pub fn random_id() -> Result<String, AgentError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AgentError::Internal("no randomness"))?;
    Ok(hex::encode(bytes))
}
