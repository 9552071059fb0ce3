//! The request path of one task run, step by step.

use std::collections::BTreeMap;
use std::sync::Arc;

use phigate_audit::{Action, AuditLog, Outcome};
use phigate_auth::Principal;
use phigate_deid::gate::EgressGate;
use phigate_deid::{Deidentifier, Detector, EntityKind, KnownPhi, Vault, reidentify};
use phigate_fhir::{PatientRecord, known_phi};
use phigate_llm::types::{ContentBlock, MessagesRequest, MessagesResponse, System};
use phigate_llm::{DEFAULT_ANTHROPIC_VERSION, Outbound, Provider};
use phigate_store::{Draft, DraftStatus, PatientRef, Store, StoreError};
use serde_json::Value;
use time::OffsetDateTime;

use crate::audit_trail::Trail;
use crate::policy::{defuse_json, defuse_placeholders, unlink_placeholders};
use crate::{AgentError, DisclosureMode, TaskSpec, prompt, random_id};

/// The parts a task run goes through. Built once, shared by every run.
pub struct Pipeline {
    /// Tenant the pipeline serves.
    pub tenant: String,
    /// The encrypted application store.
    pub store: Store,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// The PHI detector.
    pub detector: Arc<Detector>,
    /// The model provider.
    pub provider: Arc<dyn Provider>,
    /// Whether a business associate agreement with the provider is on record.
    pub provider_baa: bool,
    /// The model asked for.
    pub model: String,
}

/// What the caller asks for.
pub struct TaskInput<'a> {
    /// The task.
    pub task: &'a TaskSpec,
    /// The patient's logical id.
    pub patient_id: &'a str,
    /// Free text for the task (a visit transcript, a complaint...).
    pub text: &'a str,
}

/// What a run produced. Holds PHI (the restored answer), so it has no `Debug`.
pub struct TaskRun {
    /// Request id, also in every audit entry of the run.
    pub request_id: String,
    /// The exact bytes that went to the provider.
    pub outbound: Outbound,
    /// How the data was shaped for the provider.
    pub mode: DisclosureMode,
    /// The answer with identifiers restored.
    pub response: MessagesResponse,
    /// Well-formed placeholders in the answer that the vault does not know.
    pub unknown_placeholders: Vec<String>,
    /// Entities replaced, by type.
    pub entities: BTreeMap<EntityKind, usize>,
    /// The stored draft, for tasks whose output needs a signature.
    pub draft_id: Option<String>,
    /// Sequence numbers of the audit entries written.
    pub audit_seqs: Vec<u64>,
}

impl Pipeline {
    /// Runs one task for `principal` through every step of the request path.
    pub async fn run(
        &self,
        principal: &Principal,
        input: TaskInput<'_>,
    ) -> Result<TaskRun, AgentError> {
        let request_id = random_id()?;
        let task = input.task;
        let patient = self.store.patient_ref(&self.tenant, input.patient_id);
        let mut trail = Trail {
            log: &self.audit,
            principal,
            request_id: &request_id,
            task: task.name,
            patient_ref: Some(patient.as_str().to_owned()),
            seqs: Vec::new(),
        };

        // Authorize: a denial is itself an audited event.
        if let Err(denied) = principal.require(task.scopes) {
            let mut event = trail.event(Action::Denial, Outcome::Denied);
            event.detail = Some(denied.to_string());
            trail.record(event)?;
            return Err(denied.into());
        }

        // Read the record and project the minimum necessary.
        let record = self.load_record(&patient)?;
        let mut read = trail.event(Action::Read, Outcome::Success);
        read.purpose = Some(task.purpose.to_owned());
        read.detail = Some(format!(
            "projected {}",
            task.projection.resource_types().join(",")
        ));
        trail.record(read)?;
        let context = task
            .projection
            .apply(&record, OffsetDateTime::now_utc().date());

        // De-identify and build the request.
        let mut vault = Vault::new();
        let (request, known, entities) =
            self.build_request(task, context, input.text, &known_phi(&record), &mut vault);
        let mode = DisclosureMode::for_provider(self.provider.leaves_premises(), self.provider_baa);
        let outbound = self.outbound(&request, mode)?;

        // The egress gate, independent of detection: no known value may be in the bytes.
        self.gate(&known, &outbound, &mut trail)?;

        // Audit before disclosure: if this cannot be written, nothing is sent.
        let mut disclosure = trail.event(Action::Disclosure, Outcome::Success);
        disclosure.provider = Some(self.provider.name().to_owned());
        disclosure.purpose = Some(task.purpose.to_owned());
        disclosure.sent_sha256 = Some(sha256_hex(&outbound.body));
        disclosure.detail = Some(format!("mode={}", mode.as_str()));
        trail.record(disclosure)?;

        let answer = match self.provider.send(&outbound).await {
            Ok(answer) => answer,
            Err(err) => {
                let mut failed = trail.event(Action::Response, Outcome::Failed);
                failed.provider = Some(self.provider.name().to_owned());
                failed.detail = Some(format!("upstream status {}", err.status()));
                trail.record(failed)?;
                return Err(err.into());
            }
        };

        // Audit what came back, then re-identify it.
        let mut received = trail.event(Action::Response, Outcome::Success);
        received.provider = Some(self.provider.name().to_owned());
        received.received_sha256 = Some(sha256_hex(
            &serde_json::to_vec(&answer).map_err(|_| AgentError::Internal("encode"))?,
        ));
        trail.record(received)?;
        let (response, unknown_placeholders) = restore(answer, &vault, mode);

        let draft_id = if task.needs_signature {
            Some(self.store_draft(
                principal,
                task,
                &patient,
                &request_id,
                &response,
                &vault,
                &mut trail,
            )?)
        } else {
            None
        };

        let audit_seqs = std::mem::take(&mut trail.seqs);
        drop(trail);
        Ok(TaskRun {
            request_id,
            outbound,
            mode,
            response,
            unknown_placeholders,
            entities,
            draft_id,
            audit_seqs,
        })
    }

    fn load_record(&self, patient: &PatientRef) -> Result<PatientRecord, AgentError> {
        let stored = match self.store.load_patient(&self.tenant, patient) {
            Err(StoreError::NotFound(_)) => return Err(AgentError::PatientNotFound),
            other => other?,
        };
        let mut resources = Vec::with_capacity(stored.len());
        for resource in stored {
            let value: Value = serde_json::from_slice(&resource.json)
                .map_err(|_| StoreError::Corrupt("resource"))?;
            resources.push(value);
        }
        Ok(PatientRecord::from_resources(resources)?)
    }

    /// De-identifies in two passes: the first finds what the detector finds; the second treats
    /// every value found as known, so a name detected once (say after "Mr.") is also replaced
    /// where it stands alone. The egress gate then checks for all of them.
    fn build_request(
        &self,
        task: &TaskSpec,
        context: Value,
        text: &str,
        record_known: &KnownPhi,
        vault: &mut Vault,
    ) -> (MessagesRequest, KnownPhi, BTreeMap<EntityKind, usize>) {
        let mut context = context;
        defuse_json(&mut context);
        let text = &defuse_placeholders(text);
        let mut first = Deidentifier::new(&self.detector, record_known, vault);
        first.json(&mut context.clone());
        first.text(text);

        let mut known = KnownPhi::new();
        for (kind, value) in record_known.values().chain(vault.originals()) {
            known.add(kind, value);
        }
        let mut second = Deidentifier::new(&self.detector, &known, vault);
        second.json(&mut context);
        let text = second.text(text);
        let entities = second.entities_seen().clone();

        let user = prompt::user_message(task, &context, &text);
        let mut request = MessagesRequest::new(&self.model, task.max_tokens, user);
        request.system = Some(System::Text(task.system.to_owned()));
        (request, known, entities)
    }

    fn outbound(
        &self,
        request: &MessagesRequest,
        mode: DisclosureMode,
    ) -> Result<Outbound, AgentError> {
        let outbound = Outbound::from_request(request, DEFAULT_ANTHROPIC_VERSION, Vec::new())?;
        if mode == DisclosureMode::Pseudonymized {
            return Ok(outbound);
        }
        // Placeholders are ASCII and JSON-escape-free, so unlinking the serialized body is
        // the same as unlinking every string in it.
        let body =
            std::str::from_utf8(&outbound.body).map_err(|_| AgentError::Internal("utf-8"))?;
        Ok(Outbound {
            body: unlink_placeholders(body).into_bytes().into(),
            ..outbound
        })
    }

    fn gate(
        &self,
        known: &KnownPhi,
        outbound: &Outbound,
        trail: &mut Trail<'_>,
    ) -> Result<(), AgentError> {
        let values: Vec<(EntityKind, &str)> = known.values().collect();
        let gate = EgressGate::new(values.iter().map(|(_, value)| *value));
        let Err(leak) = gate.check(&outbound.body) else {
            return Ok(());
        };
        let kind = values
            .get(leak.value_index)
            .map_or("UNKNOWN", |(kind, _)| kind.tag());
        let mut blocked = trail.event(Action::Denial, Outcome::Denied);
        blocked.provider = Some(self.provider.name().to_owned());
        blocked.detail = Some(format!("egress gate blocked: {kind}"));
        trail.record(blocked)?;
        Err(AgentError::EgressBlocked { kind })
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; every argument is distinct state of the run"
    )]
    fn store_draft(
        &self,
        principal: &Principal,
        task: &TaskSpec,
        patient: &PatientRef,
        request_id: &str,
        response: &MessagesResponse,
        vault: &Vault,
        trail: &mut Trail<'_>,
    ) -> Result<String, AgentError> {
        let draft = Draft {
            id: random_id()?,
            tenant: self.tenant.clone(),
            patient: patient.clone(),
            task: task.name.to_owned(),
            status: DraftStatus::AwaitingReview,
            created_by: principal.user_id.clone(),
            created_at: OffsetDateTime::now_utc().unix_timestamp(),
            reviewed_by: None,
        };
        self.store
            .create_draft(&draft, response.text().as_bytes())?;
        self.store
            .save_vault(&self.tenant, patient, request_id, &vault.to_bytes())?;
        let mut stored = trail.event(Action::DraftStored, Outcome::Success);
        stored.detail = Some(format!("draft {} awaiting review", draft.id));
        trail.record(stored)?;
        Ok(draft.id)
    }
}

/// Restores placeholders in every text block; with Safe Harbor data there is nothing to restore.
fn restore(
    mut answer: MessagesResponse,
    vault: &Vault,
    mode: DisclosureMode,
) -> (MessagesResponse, Vec<String>) {
    let mut unknown = Vec::new();
    if mode == DisclosureMode::SafeHarbor {
        return (answer, unknown);
    }
    for block in &mut answer.content {
        if let ContentBlock::Text(text) = block {
            let restored = reidentify(&text.text, vault);
            text.text = restored.text;
            unknown.extend(restored.unknown_placeholders);
        }
    }
    (answer, unknown)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}
