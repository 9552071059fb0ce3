//! The state of one task run as it moves through the request path, and what it produced.

use std::collections::BTreeMap;
use std::time::Instant;

use phigate_auth::Principal;
use phigate_deid::{EntityKind, KnownPhi, Vault};
use phigate_llm::Outbound;
use phigate_llm::types::MessagesResponse;
use phigate_store::PatientRef;
use serde::Serialize;
use serde_json::Value;

use crate::audit_trail::Trail;
use crate::coding::Dropped;
use crate::triage::RuleHit;
use crate::{DisclosureMode, TaskSpec};

/// What the caller asks for.
pub struct TaskInput<'a> {
    /// The task.
    pub task: &'a TaskSpec,
    /// The patient's logical id.
    pub patient_id: &'a str,
    /// Free text for the task (a visit transcript, a complaint, a note, a question).
    pub text: &'a str,
}

/// One tool call the model asked for, and what became of it. Holds no values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ToolCallReport {
    /// The tool's name (`unknown` for a name Phigate does not implement).
    pub tool: String,
    /// `ok`, `denied`, `failed` or `withheld`.
    pub outcome: &'static str,
    /// Why, for anything but `ok`.
    pub reason: Option<String>,
}

/// What the checks around the model found. Holds no PHI: kinds, counts, codes and rule ids.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    /// The policy version the run followed.
    pub policy_version: u32,
    /// Injection signals found in the caller's input, if any.
    pub input_signals: Vec<&'static str>,
    /// What the output checks removed (`kind=count` pairs), if anything.
    pub output_removed: Option<String>,
    /// Code suggestions dropped by the coding checks.
    pub dropped_codes: Vec<Dropped>,
    /// Triage safety rules that fired.
    pub safety_rules: Vec<RuleHit>,
    /// Every tool call, in order.
    pub tool_calls: Vec<ToolCallReport>,
}

/// What a run produced. Holds PHI (the restored answer), so it has no `Debug`.
pub struct TaskRun {
    /// Request id, also in every audit entry of the run.
    pub request_id: String,
    /// The exact bytes of the first request that went to the provider.
    pub outbound: Outbound,
    /// The exact bytes of every request that went to the provider, in order (tool rounds
    /// included); the first is `outbound`.
    pub outbounds: Vec<Outbound>,
    /// How the data was shaped for the provider.
    pub mode: DisclosureMode,
    /// The final answer with identifiers restored and output checks applied.
    pub response: MessagesResponse,
    /// For JSON tasks: the answer, validated and post-checked.
    pub output: Option<Value>,
    /// What the checks found.
    pub report: RunReport,
    /// Well-formed placeholders in the answer that the vault does not know (removed).
    pub unknown_placeholders: Vec<String>,
    /// Entities replaced in the first request, by type.
    pub entities: BTreeMap<EntityKind, usize>,
    /// The stored draft, for tasks whose output needs a signature.
    pub draft_id: Option<String>,
    /// Sequence numbers of the audit entries written.
    pub audit_seqs: Vec<u64>,
}

/// The mutable state of a run in progress.
pub(crate) struct Ctx<'a> {
    pub trail: Trail<'a>,
    pub principal: &'a Principal,
    pub task: &'a TaskSpec,
    pub patient_id: &'a str,
    pub patient: PatientRef,
    pub vault: Vault,
    pub record_known: KnownPhi,
    pub mode: DisclosureMode,
    pub report: RunReport,
    pub started: Instant,
    pub tokens: u64,
    pub outbounds: Vec<Outbound>,
}

impl Ctx<'_> {
    /// Every value known to be PHI so far: the record's, and every original the vault holds
    /// (found in the input and in tool results).
    pub fn known(&self) -> KnownPhi {
        let mut known = KnownPhi::new();
        for (kind, value) in self.record_known.values().chain(self.vault.originals()) {
            known.add(kind, value);
        }
        known
    }
}
