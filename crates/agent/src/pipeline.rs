//! The request path of one task run, step by step.

use std::sync::Arc;
use std::time::Instant;

use phigate_audit::{Action, AuditLog, Outcome};
use phigate_auth::{Principal, Role};
use phigate_deid::{Deidentifier, Detector, KnownPhi, Vault};
use phigate_fhir::{PatientRecord, known_phi};
use phigate_llm::Provider;
use phigate_llm::types::{MessagesRequest, System};
use phigate_store::{PatientRef, Store, StoreError};
use serde_json::Value;
use time::OffsetDateTime;

use crate::audit_trail::Trail;
use crate::policy::{defuse_json, defuse_placeholders};
use crate::run::{Ctx, RunReport};
use crate::screen::{Risk, screen};
use crate::{AgentError, Catalog, DisclosureMode, TaskInput, TaskRun, WithoutBaa};
use crate::{prompt, random_id, tools, window};

/// The longest task input accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 512 * 1024;

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
    /// Whether a provider off the premises may receive linkable placeholders: normally whether
    /// a business associate agreement with it is on record (the deployment decides; see
    /// `provider.deid_mode`). Without it such a provider gets Safe Harbor data.
    pub provider_baa: bool,
    /// The model asked for.
    pub model: String,
    /// The task and tool policies.
    pub catalog: Arc<Catalog>,
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
        let trail = Trail {
            log: &self.audit,
            principal,
            request_id: &request_id,
            task: &task.name,
            patient_ref: Some(patient.as_str().to_owned()),
            seqs: Vec::new(),
        };
        let mut ctx = Ctx {
            trail,
            principal,
            task,
            patient_id: input.patient_id,
            patient,
            vault: Vault::new(),
            record_known: KnownPhi::new(),
            mode: DisclosureMode::for_provider(self.provider.leaves_premises(), self.provider_baa),
            report: RunReport {
                policy_version: self.catalog.version(),
                ..RunReport::default()
            },
            started: Instant::now(),
            tokens: 0,
            outbounds: Vec::new(),
        };

        // Authorize, check the input and the disclosure policy: each refusal is audited. A
        // patient never names the patient of a run: their tasks run through
        // [`Pipeline::assist`], on the record their account is bound to.
        let admitted = if principal.role == Role::Patient {
            Err(AgentError::RoleNotAllowed {
                role: principal.role.as_str(),
                what: "run a task for a patient named in the request",
            })
        } else {
            self.admit(&mut ctx, input.text)
        };
        let text = match admitted {
            Ok(text) => text,
            Err(refused) => {
                let action = crate::containment::refusal_action(&refused);
                let mut event = ctx.trail.event(action, Outcome::Denied);
                event.detail = Some(refused.to_string());
                ctx.trail.record(event)?;
                return Err(refused);
            }
        };

        // Read the record and project the minimum necessary; an unknown patient is a refusal.
        let record = match self.load_record(&ctx.patient) {
            Ok(record) => record,
            Err(err) => {
                let action = crate::containment::refusal_action(&err);
                let mut event = ctx.trail.event(action, Outcome::Denied);
                event.detail = Some(err.to_string());
                ctx.trail.record(event)?;
                return Err(err);
            }
        };
        let mut read = ctx.trail.event(Action::Read, Outcome::Success);
        read.purpose = Some(task.purpose.clone());
        read.detail = Some(format!(
            "projected {} (policy v{})",
            task.projection.resource_types().join(","),
            self.catalog.version()
        ));
        ctx.trail.record(read)?;
        let today = OffsetDateTime::now_utc().date();
        let mut context = task
            .projection
            .apply(&window::within(&record, task, today), today);
        if !task.tools.is_empty() {
            // The model needs a handle to pass to tools: the patient's id, which goes out only
            // as its placeholder and comes back to be checked against this run's patient.
            if let Some(patient) = context.get_mut("patient").and_then(Value::as_object_mut) {
                patient.insert("id".into(), Value::String(input.patient_id.to_owned()));
            }
        }

        ctx.record_known = known_phi(&record);
        let (request, entities) = self.build_request(&mut ctx, context, &text);
        let answer = self.converse(&mut ctx, request).await?;
        self.finish(ctx, request_id.clone(), answer, entities, &text)
            .await
    }

    /// The checks before anything is read: role and scopes, input, injection, BAA policy.
    pub(crate) fn admit(&self, ctx: &mut Ctx<'_>, text: &str) -> Result<String, AgentError> {
        let task = ctx.task;
        task.authorize(ctx.principal)?;
        self.check_not_frozen(&ctx.patient)?;
        if ctx.principal.role != Role::Patient {
            // A patient's own record is bound to their account; staff are held to their scope.
            let access = self.check_in_scope(ctx.principal, &ctx.patient)?;
            self.flag_break_glass(&mut ctx.trail, access, "task run")?;
        }
        self.check_provider_open()?;
        if text.len() > MAX_INPUT_BYTES {
            return Err(AgentError::InvalidInput("the input is too large"));
        }
        if task.input_required && text.trim().is_empty() {
            return Err(AgentError::InvalidInput("this task needs input text"));
        }
        let screened = screen(text);
        ctx.report.input_signals = screened.signals.iter().map(|s| s.as_str()).collect();
        if let Some(risk) = risk_label(screened.risk) {
            phigate_telemetry::metrics().injection_detected("task_input", risk);
        }
        if screened.risk == Risk::High {
            return Err(AgentError::InjectionRefused(screened.summary()));
        }
        self.catalog.may_receive(self.provider.name(), task)?;
        if ctx.mode == DisclosureMode::SafeHarbor && task.without_baa == WithoutBaa::Refuse {
            return Err(AgentError::DisclosureRefused(
                "no BAA on record with the provider, and this task needs re-identification",
            ));
        }
        Ok(screened.text)
    }

    pub(crate) fn load_record(&self, patient: &PatientRef) -> Result<PatientRecord, AgentError> {
        self.check_not_frozen(patient)?;
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
        ctx: &mut Ctx<'_>,
        context: Value,
        text: &str,
    ) -> (
        MessagesRequest,
        std::collections::BTreeMap<phigate_deid::EntityKind, usize>,
    ) {
        let mut context = context;
        defuse_json(&mut context);
        let text = &defuse_placeholders(text);
        let mut first = Deidentifier::new(&self.detector, &ctx.record_known, &mut ctx.vault);
        first.json(&mut context.clone());
        first.text(text);

        let known = ctx.known();
        let mut second = Deidentifier::new(&self.detector, &known, &mut ctx.vault);
        second.json(&mut context);
        let text = second.text(text);
        let entities = second.entities_seen().clone();
        for (kind, count) in &entities {
            phigate_telemetry::metrics().deid_entities(kind.tag(), *count as u64);
        }

        let user = prompt::user_message(ctx.task, &context, &text);
        let mut request = MessagesRequest::new(&self.model, ctx.task.max_tokens, user);
        request.system = Some(System::Text(ctx.task.system.clone()));
        let tools: Vec<_> = ctx
            .task
            .tools
            .iter()
            .filter_map(|name| self.catalog.tool(name))
            .filter_map(tools::definition)
            .collect();
        if !tools.is_empty() {
            request.tools = Some(tools);
        }
        (request, entities)
    }
}

/// SHA-256 of `bytes` in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// A screening risk worth counting, as a metric label.
pub(crate) fn risk_label(risk: Risk) -> Option<&'static str> {
    match risk {
        Risk::High => Some("high"),
        Risk::Medium => Some("medium"),
        _ => None,
    }
}
