//! Task declarations: who may run a task, what of the record it may see, what it asks the
//! model, which tools it may call, what its output must look like and who signs it.
//!
//! Declarations live in the versioned policy file `policies/tasks.toml`, shipped inside the
//! binary and read by [`crate::Catalog`]; nothing here is hard-wired per task.

use phigate_auth::Principal;
use phigate_fhir::Projection;
use serde::Deserialize;
use serde_json::Value;

use crate::AgentError;

/// What happens to a task aimed at a provider off the premises without a BAA on record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WithoutBaa {
    /// Run with Safe Harbor data: unnumbered placeholders, nothing re-identified.
    SafeHarbor,
    /// Refuse the run.
    Refuse,
}

/// The form of a task's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// Free text (a SOAP note, an answer to a front-desk question).
    Text,
    /// One JSON object, validated against the task's `output_schema`.
    Json,
}

/// A check run on the model's answer after it comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PostCheck {
    /// Remove links, images, requests for identifiers and invented placeholders.
    OutputScreen,
    /// Every suggested code must be a billable ICD-10-CM code of the shipped set.
    Icd10cm,
    /// Every quote must appear in the task's input.
    QuotesInInput,
    /// Deterministic triage safety rules that can only raise urgency.
    TriageSafetyRules,
    /// For patients: no diagnosis, the emergency instruction first when the conversation
    /// carries a red flag, and the not-a-clinician disclaimer.
    PatientSafety,
}

impl PostCheck {
    /// The name used in the policy file and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutputScreen => "output-screen",
            Self::Icd10cm => "icd10cm",
            Self::QuotesInInput => "quotes-in-input",
            Self::TriageSafetyRules => "triage-safety-rules",
            Self::PatientSafety => "patient-safety",
        }
    }
}

/// Bounds on one run's agent loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Model calls, tool rounds included.
    pub max_steps: u32,
    /// Input plus output tokens over every call, as the provider reports them.
    pub max_total_tokens: u64,
    /// Wall-clock time for the whole run.
    pub max_seconds: u64,
}

/// Everything a task declares about itself.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Stable name, such as `clinical-note`.
    pub name: String,
    /// One line for `phigate tasks list`.
    pub description: String,
    /// Names of the roles that may run the task. A name this build does not define matches
    /// nobody, so a policy shared by builds with different role sets fails closed.
    pub roles: Vec<String>,
    /// Scopes the caller must hold, all of them.
    pub scopes: Vec<String>,
    /// Names of the roles that may sign the task's drafts (unknown names match nobody).
    pub signer_roles: Vec<String>,
    /// Purpose of use recorded in the audit log.
    pub purpose: String,
    /// Classes of data the task sends (`demographic`, `clinical`, `scheduling`, `financial`);
    /// the provider must be declared for every one.
    pub data_classes: Vec<String>,
    /// Heading (and fence tag) of the free-text input in the prompt.
    pub input_label: String,
    /// Whether the run is refused without input text.
    pub input_required: bool,
    /// Output budget per model call.
    pub max_tokens: u32,
    /// Whether the output is clinical and must wait for a clinician's signature.
    pub needs_signature: bool,
    /// What happens when the provider has no BAA on record.
    pub without_baa: WithoutBaa,
    /// The form of the answer.
    pub output: OutputKind,
    /// JSON Schema (the subset [`crate::schema`] checks) the answer must satisfy.
    #[serde(default, deserialize_with = "schema_text")]
    pub output_schema: Option<Value>,
    /// Checks run on the answer.
    pub post_checks: Vec<PostCheck>,
    /// Tools the model may call.
    pub tools: Vec<String>,
    /// Resources dated more than this many days before the run are not projected.
    #[serde(default)]
    pub window_days: Option<u32>,
    /// The system prompt.
    pub system: String,
    /// Bounds on the agent loop.
    pub limits: Limits,
    /// The minimum necessary fields of the record.
    pub projection: Projection,
}

fn schema_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| serde_json::from_str(&t).map_err(serde::de::Error::custom))
        .transpose()
}

impl TaskSpec {
    /// The scopes as the auth crate takes them.
    pub fn scope_refs(&self) -> Vec<&str> {
        self.scopes.iter().map(String::as_str).collect()
    }

    /// Whether `principal` may run this task: its role is one the task names and it holds every
    /// scope. The error names the missing scope or the role, never anything else.
    pub fn authorize(&self, principal: &Principal) -> Result<(), AgentError> {
        if !self.roles.iter().any(|r| r == principal.role.as_str()) {
            return Err(AgentError::RoleNotAllowed {
                role: principal.role.as_str(),
                what: "run this task",
            });
        }
        principal.require(&self.scope_refs())?;
        Ok(())
    }

    /// Whether the task declares `check`.
    pub fn checks(&self, check: PostCheck) -> bool {
        self.post_checks.contains(&check)
    }
}

/// The `clinical-note` task as the shipped policy declares it.
pub fn clinical_note() -> Result<TaskSpec, AgentError> {
    crate::Catalog::builtin()?.task("clinical-note").cloned()
}
