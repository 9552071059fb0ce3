use phigate_audit::AuditError;
use phigate_auth::AuthError;
use phigate_fhir::FhirError;
use phigate_llm::LlmError;
use phigate_store::StoreError;
use thiserror::Error;

/// Why a task run stopped. Every message is PHI-free: it names the step, never a value.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The caller may not run this task.
    #[error(transparent)]
    Denied(#[from] AuthError),
    /// The patient is not in the store.
    #[error("patient not found")]
    PatientNotFound,
    /// The record or input is not valid FHIR.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// The egress gate found a known identifier in the outbound bytes; nothing was sent.
    #[error("blocked by the egress gate: a known identifier of kind {kind} was in the request")]
    EgressBlocked {
        /// Which kind of identifier (a placeholder tag, never the value).
        kind: &'static str,
    },
    /// Policy forbids sending this kind of data to this provider.
    #[error("disclosure refused: {0}")]
    DisclosureRefused(&'static str),
    /// The audit log could not record the disclosure; nothing was sent.
    #[error("audit log unavailable; nothing was sent")]
    AuditUnavailable(#[source] AuditError),
    /// The provider failed.
    #[error(transparent)]
    Provider(#[from] LlmError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The de-identification engine failed.
    #[error("de-identification failed")]
    Deid,
    /// The caller's role is not one the task (or review step) names.
    #[error("permission denied: role {role} may not {what}")]
    RoleNotAllowed {
        /// The caller's role.
        role: &'static str,
        /// What was refused.
        what: &'static str,
    },
    /// The policy file is malformed or inconsistent.
    #[error("task policy: {0}")]
    Policy(String),
    /// No task of that name is declared.
    #[error("no such task")]
    UnknownTask,
    /// The input is missing, too large or otherwise unusable.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The untrusted input carried a high-risk prompt injection and the run was refused.
    #[error("refused: the input reads as a prompt injection ({0})")]
    InjectionRefused(String),
    /// The agent loop reached one of its bounds before the model finished.
    #[error("agent loop stopped: {0} limit reached")]
    LoopBound(&'static str),
    /// The model's answer did not satisfy the task's output schema.
    #[error("the model's answer is not valid: {0}")]
    InvalidOutput(String),
    /// Something that should not happen did.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// An operator blocked the provider (incident containment); nothing was sent to it.
    #[error(
        "the model provider {0} is blocked by this deployment's operators (incident containment); nothing was sent"
    )]
    ProviderBlocked(String),
    /// An operator froze the patient's data (incident containment): nothing may read or change it.
    #[error("this patient's data is frozen by this deployment's operators (incident containment)")]
    PatientFrozen,
    /// The tenant confines staff to their care relationships, the patient is not one of the
    /// caller's, and the caller holds no live break-glass grant for them.
    #[error(
        "permission denied: this patient is outside your care relationships; a clinician may open them by break-glass with a stated reason"
    )]
    OutsideCareTeam,
}

impl AgentError {
    /// The HTTP status this error deserves.
    pub fn status(&self) -> u16 {
        match self {
            Self::Denied(AuthError::Denied { .. }) => 403,
            Self::Denied(AuthError::BreakGlassRefused(_)) => 400,
            Self::Denied(_) => 401,
            Self::PatientNotFound => 404,
            Self::Fhir(_) => 400,
            Self::EgressBlocked { .. } | Self::DisclosureRefused(_) => 422,
            Self::AuditUnavailable(_) => 503,
            Self::Provider(e) => e.status(),
            Self::RoleNotAllowed { .. } => 403,
            Self::UnknownTask | Self::Store(StoreError::NotFound(_)) => 404,
            Self::Store(StoreError::Conflict(_)) => 409,
            Self::InvalidInput(_) => 400,
            Self::InjectionRefused(_) => 422,
            Self::LoopBound(_) | Self::InvalidOutput(_) => 502,
            Self::Store(_) | Self::Deid | Self::Internal(_) | Self::Policy(_) => 500,
            Self::ProviderBlocked(_) => 503,
            Self::PatientFrozen | Self::OutsideCareTeam => 403,
        }
    }

    /// Whether an operator's containment (a blocked provider, a frozen patient) caused this.
    pub fn is_containment(&self) -> bool {
        matches!(self, Self::ProviderBlocked(_) | Self::PatientFrozen)
    }
}
