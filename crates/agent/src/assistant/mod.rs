//! The patient-facing assistant: a signed-in patient's conversation about their own
//! appointments, bills, coverage and medications.
//!
//! [`Pipeline::assist`] runs one turn. The patient is the one the caller's account is bound to,
//! passed in by the transport from the access token, never from the request. Before anything
//! is read or sent, the staff triage red-flag rules read the patient's latest message: when one
//! fires, the reply is the emergency instruction, a `safety_alert` audit entry is written for
//! staff, and the model is not called (see [`Pipeline::assist`] for why). Otherwise the turn
//! goes through the same request path as every task (authorize, screen, minimize, de-identify,
//! gate, audit, call, tools inside the gateway, restore), and the answer is checked by rules
//! ([`safety`]) before the patient reads it.

mod conversation;
mod own;
pub mod safety;

use phigate_audit::{Action, Outcome};
use phigate_auth::Principal;
use phigate_deid::{KnownPhi, Vault};
use phigate_fhir::known_phi;
use phigate_llm::Outbound;
use phigate_store::PatientRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::audit_trail::Trail;
use crate::run::{Ctx, RunReport};
use crate::screen::{Risk, screen};
use crate::triage::{self, RuleHit};
use crate::{AgentError, DisclosureMode, MAX_INPUT_BYTES, Pipeline, TaskSpec, random_id, window};

/// The task the assistant runs under, as the policy file names it.
pub const ASSISTANT_TASK: &str = "assistant";

/// The most turns one request may carry.
pub const MAX_TURNS: usize = 40;

/// Who said a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The patient.
    User,
    /// The assistant, in an earlier reply.
    Assistant,
}

/// One turn of the conversation so far. Holds what a patient wrote, so it has no `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Who said it.
    pub role: Speaker,
    /// What was said, as plain text.
    pub content: String,
}

/// What the safety rules found and did. Holds rule ids and counts, never text.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SafetyReport {
    /// Whether the reply leads with the emergency instruction.
    pub emergency: bool,
    /// The red-flag rules behind it, from any of the patient's messages.
    pub rules: Vec<&'static str>,
    /// Whether this turn raised a staff alert (a `safety_alert` audit entry).
    pub alert_raised: bool,
    /// Whether the model was called.
    pub model_called: bool,
    /// Sentences of the model's answer removed as diagnosis or reassurance.
    pub removed_sentences: usize,
}

/// One reply of the assistant. Holds the restored answer (PHI), so it has no `Debug`.
pub struct AssistantReply {
    /// Request id, also in every audit entry of the turn.
    pub request_id: String,
    /// What the patient reads.
    pub text: String,
    /// What the safety rules did.
    pub safety: SafetyReport,
    /// Tool calls and the other checks of the run (empty when the model was not called).
    pub report: RunReport,
    /// The exact bytes of every request that went to the provider, in order.
    pub outbounds: Vec<Outbound>,
}

impl Pipeline {
    /// Answers the patient's latest message in `turns` (the conversation so far, oldest first,
    /// ending with the patient's message) for `principal`, a patient whose account is bound to
    /// `patient`.
    ///
    /// When a red flag fires on the latest message the model is not called: what to do is
    /// fixed and urgent, the model's words could only delay or dilute it, a tool run (booking
    /// next week's visit) could do harm, and a crisis message need not leave the building.
    pub async fn assist(
        &self,
        principal: &Principal,
        patient: &PatientRef,
        turns: &[Turn],
    ) -> Result<AssistantReply, AgentError> {
        let request_id = random_id()?;
        let task = self.catalog.task(ASSISTANT_TASK)?;
        let mut trail = Trail {
            log: &self.audit,
            principal,
            request_id: &request_id,
            task: &task.name,
            patient_ref: Some(patient.as_str().to_owned()),
            seqs: Vec::new(),
        };
        let latest = match admit_turns(task, principal, turns) {
            Ok(latest) => latest,
            Err(refused) => {
                let mut event = trail.event(Action::Denial, Outcome::Denied);
                event.detail = Some(refused.to_string());
                trail.record(event)?;
                return Err(refused);
            }
        };

        let hits = triage::rules(latest);
        if !hits.is_empty() {
            return emergency(trail, &request_id, &hits);
        }
        let (text, report, outbounds) = self.model_turn(trail, task, patient, turns).await?;

        // After the model: a red flag anywhere in the conversation still leads the reply, and
        // nothing that reads as a diagnosis or as reassurance reaches the patient.
        let earlier = flags_in(turns);
        let (body, removed) = safety::without_diagnosis(&text);
        if removed > 0 {
            let mut trail = Trail {
                log: &self.audit,
                principal,
                request_id: &request_id,
                task: &task.name,
                patient_ref: Some(patient.as_str().to_owned()),
                seqs: Vec::new(),
            };
            let mut event = trail.event(Action::Response, Outcome::Denied);
            event.detail = Some(format!("patient-safety removed {removed} sentences"));
            trail.record(event)?;
        }
        let instruction = safety::emergency_instruction(&earlier);
        Ok(AssistantReply {
            text: safety::compose(instruction.as_deref(), &body),
            safety: SafetyReport {
                emergency: instruction.is_some(),
                rules: earlier.iter().map(|h| h.rule).collect(),
                alert_raised: false,
                model_called: true,
                removed_sentences: removed,
            },
            request_id,
            report,
            outbounds,
        })
    }

    /// The turn through the request path: the model's restored, output-screened answer.
    async fn model_turn(
        &self,
        trail: Trail<'_>,
        task: &TaskSpec,
        patient: &PatientRef,
        turns: &[Turn],
    ) -> Result<(String, RunReport, Vec<Outbound>), AgentError> {
        let request_id = trail.request_id.to_owned();
        let principal = trail.principal;
        let mut ctx = Ctx {
            trail,
            principal,
            task,
            patient_id: "",
            patient: patient.clone(),
            vault: Vault::new(),
            record_known: KnownPhi::new(),
            mode: DisclosureMode::for_provider(self.provider.leaves_premises(), self.provider_baa),
            report: RunReport {
                policy_version: self.catalog.version(),
                ..RunReport::default()
            },
            started: std::time::Instant::now(),
            tokens: 0,
            outbounds: Vec::new(),
        };

        // The input checks and the disclosure policy, on every turn; each refusal is audited.
        let texts = match self.screen_turns(&mut ctx, turns) {
            Ok(texts) => texts,
            Err(refused) => {
                let mut event = ctx.trail.event(Action::Denial, Outcome::Denied);
                event.detail = Some(refused.to_string());
                ctx.trail.record(event)?;
                return Err(refused);
            }
        };

        // The record, projected to the task's minimum (nothing of it by default: the tools
        // read what a question needs).
        let record = self.load_record(patient)?;
        let patient_id = record
            .patient
            .get("id")
            .and_then(Value::as_str)
            .ok_or(AgentError::PatientNotFound)?
            .to_owned();
        ctx.patient_id = &patient_id;
        let mut read = ctx.trail.event(Action::Read, Outcome::Success);
        read.purpose = Some(task.purpose.clone());
        read.detail = Some(format!(
            "projected {} (policy v{})",
            task.projection.resource_types().join(","),
            self.catalog.version()
        ));
        ctx.trail.record(read)?;
        let today = OffsetDateTime::now_utc().date();
        let context = task
            .projection
            .apply(&window::within(&record, task, today), today);
        ctx.record_known = known_phi(&record);

        let (request, entities) = self.conversation_request(&mut ctx, context, turns, &texts);
        let answer = self.converse(&mut ctx, request).await?;
        let latest = texts.last().map_or("", String::as_str);
        let run = self
            .finish(ctx, request_id, answer, entities, latest)
            .await?;
        Ok((run.response.text(), run.report, run.outbounds))
    }

    /// Screens every turn: the latest through the task's own admission (role, scopes, size,
    /// injection, provider and BAA policy), the earlier ones for injection. Returns the texts
    /// with invisible characters removed.
    fn screen_turns(&self, ctx: &mut Ctx<'_>, turns: &[Turn]) -> Result<Vec<String>, AgentError> {
        let (latest, earlier) = turns
            .split_last()
            .ok_or(AgentError::InvalidInput("the conversation has no message"))?;
        let mut texts = Vec::with_capacity(turns.len());
        for turn in earlier {
            let screened = screen(&turn.content);
            if screened.risk == Risk::High {
                return Err(AgentError::InjectionRefused(screened.summary()));
            }
            texts.push(screened.text);
        }
        texts.push(self.admit(ctx, &latest.content)?);
        Ok(texts)
    }
}

/// Checks the caller and the shape of the conversation; returns the patient's latest message.
fn admit_turns<'t>(
    task: &TaskSpec,
    principal: &Principal,
    turns: &'t [Turn],
) -> Result<&'t str, AgentError> {
    task.authorize(principal)?;
    if turns.is_empty() || turns.len() > MAX_TURNS {
        return Err(AgentError::InvalidInput(
            "the conversation must have between 1 and 40 messages",
        ));
    }
    let alternates = turns.iter().enumerate().all(|(i, turn)| {
        turn.role
            == if i % 2 == 0 {
                Speaker::User
            } else {
                Speaker::Assistant
            }
    });
    if !alternates || turns.len().is_multiple_of(2) {
        return Err(AgentError::InvalidInput(
            "messages must alternate, starting and ending with the patient's",
        ));
    }
    if turns.iter().map(|t| t.content.len()).sum::<usize>() > MAX_INPUT_BYTES {
        return Err(AgentError::InvalidInput("the conversation is too large"));
    }
    let latest = turns.last().map_or("", |t| t.content.as_str());
    if latest.trim().is_empty() {
        return Err(AgentError::InvalidInput("the message is empty"));
    }
    Ok(latest)
}

/// Every red-flag rule that fires on any of the patient's messages, each once.
fn flags_in(turns: &[Turn]) -> Vec<RuleHit> {
    let mut hits: Vec<RuleHit> = Vec::new();
    for turn in turns.iter().filter(|t| t.role == Speaker::User) {
        for hit in triage::rules(&turn.content) {
            if !hits.iter().any(|h| h.rule == hit.rule) {
                hits.push(hit);
            }
        }
    }
    hits
}

/// The reply to a message that fired a red flag: the emergency instruction, and the staff
/// alert, written to the audit log as a `safety_alert` entry naming only the rules.
fn emergency(
    mut trail: Trail<'_>,
    request_id: &str,
    hits: &[RuleHit],
) -> Result<AssistantReply, AgentError> {
    let rules: Vec<&'static str> = hits.iter().map(|h| h.rule).collect();
    let mut alert = trail.event(Action::SafetyAlert, Outcome::Success);
    alert.detail = Some(rules.join(","));
    trail.record(alert)?;
    tracing::warn!(
        request.id = request_id,
        rules = %rules.join(","),
        "assistant.red_flag staff alerted"
    );
    let instruction = safety::emergency_instruction(hits);
    Ok(AssistantReply {
        request_id: request_id.to_owned(),
        text: safety::compose(instruction.as_deref(), safety::STAFF_ALERTED),
        safety: SafetyReport {
            emergency: true,
            rules,
            alert_raised: true,
            model_called: false,
            removed_sentences: 0,
        },
        report: RunReport::default(),
        outbounds: Vec::new(),
    })
}
