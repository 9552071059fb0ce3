//! What an incident is: its rule, severity and status, and the PHI-free view the API returns.

use phigate_store::IncidentRecord;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How bad an incident is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Needs a look today.
    Medium,
    /// Needs a look now.
    High,
    /// Phigate cannot keep its own guarantees (the audit store is failing).
    Critical,
}

impl Severity {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Where an incident is in its handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Nobody has looked at it yet; further firings merge into it.
    Open,
    /// Someone took it on.
    Acknowledged,
    /// Handled.
    Closed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Open, Self::Acknowledged, Self::Closed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The rules that open incidents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// One user read many distinct patients within the window.
    BulkPatientRead,
    /// A person read or disclosed PHI outside working hours.
    UnusualHours,
    /// Many requests by one caller were refused within the window.
    DenialBurst,
    /// Many failed sign-ins to one account within the window.
    FailedSignIns,
    /// Many failed sign-ins across the tenant within the window.
    FailedSignInsOverall,
    /// The egress leak gate blocked a request.
    LeakGateBlock,
    /// Untrusted text read as a prompt injection.
    InjectionDetected,
    /// The audit store failed to record an event.
    AuditStoreFailure,
    /// A safety rule fired on a patient's or clinician's input.
    SafetyAlert,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 9] = [
        Self::BulkPatientRead,
        Self::UnusualHours,
        Self::DenialBurst,
        Self::FailedSignIns,
        Self::FailedSignInsOverall,
        Self::LeakGateBlock,
        Self::InjectionDetected,
        Self::AuditStoreFailure,
        Self::SafetyAlert,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BulkPatientRead => "bulk_patient_read",
            Self::UnusualHours => "unusual_hours",
            Self::DenialBurst => "denial_burst",
            Self::FailedSignIns => "failed_sign_ins",
            Self::FailedSignInsOverall => "failed_sign_ins_overall",
            Self::LeakGateBlock => "leak_gate_block",
            Self::InjectionDetected => "injection_detected",
            Self::AuditStoreFailure => "audit_store_failure",
            Self::SafetyAlert => "safety_alert",
        }
    }

    /// The severity an incident of this rule opens with.
    pub fn severity(self) -> Severity {
        match self {
            Self::UnusualHours => Severity::Low,
            Self::DenialBurst | Self::FailedSignIns | Self::InjectionDetected => Severity::Medium,
            Self::BulkPatientRead
            | Self::FailedSignInsOverall
            | Self::LeakGateBlock
            | Self::SafetyAlert => Severity::High,
            Self::AuditStoreFailure => Severity::Critical,
        }
    }
}

/// An incident as the HTTP API and the webhook show it. Holds no PHI: ids, the rule, counts and
/// a summary written from fixed phrases, staff ids and numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentView {
    /// Random id.
    pub id: String,
    /// The rule's name.
    pub rule: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    /// When it was opened, RFC 3339.
    pub opened_at: String,
    /// When the rule last fired into it, RFC 3339.
    pub last_seen_at: String,
    /// How many times the rule fired into it.
    pub count: u64,
    /// How many distinct patients it touched.
    pub patients: u64,
    /// What happened, without PHI.
    pub summary: String,
}

impl From<&IncidentRecord> for IncidentView {
    fn from(record: &IncidentRecord) -> Self {
        IncidentView {
            id: record.id.clone(),
            rule: record.rule.clone(),
            severity: record.severity.clone(),
            status: record.status.clone(),
            opened_at: rfc3339(record.opened_at),
            last_seen_at: rfc3339(record.last_seen_at),
            count: record.count,
            patients: record.patients,
            summary: record.summary.clone(),
        }
    }
}

/// Unix seconds as RFC 3339 in UTC (the epoch for a value out of range).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}
