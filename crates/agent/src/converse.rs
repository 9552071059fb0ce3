//! The bounded agent loop: send, and while the model asks for tools, run them inside the
//! gateway and send their de-identified results back. Every request passes the egress gate and
//! is audited before it leaves; the loop stops at the task's step, token and time limits.

use std::time::Duration;

use phigate_audit::{Action, Outcome};
use phigate_deid::EntityKind;
use phigate_deid::gate::EgressGate;
use phigate_llm::types::{
    ContentBlock, Message, MessageContent, MessagesRequest, MessagesResponse, Role, StopReason,
    ToolUseBlock,
};
use phigate_llm::{DEFAULT_ANTHROPIC_VERSION, Outbound};

use crate::pipeline::sha256_hex;
use crate::policy::unlink_placeholders;
use crate::run::Ctx;
use crate::{AgentError, DisclosureMode, Pipeline};

impl Pipeline {
    /// Runs the loop to the model's final answer (placeholder side, not yet restored).
    pub(crate) async fn converse(
        &self,
        ctx: &mut Ctx<'_>,
        mut request: MessagesRequest,
    ) -> Result<MessagesResponse, AgentError> {
        let limits = ctx.task.limits;
        for step in 1..=limits.max_steps {
            let answer = self.exchange(ctx, &request).await?;
            ctx.tokens += answer.usage.input_tokens + answer.usage.output_tokens;
            if ctx.tokens > limits.max_total_tokens {
                return Err(self.stopped(ctx, "token").await);
            }
            let calls: Vec<ToolUseBlock> = answer
                .content
                .iter()
                .filter_map(|block| match block {
                    ContentBlock::ToolUse(call) => Some(call.clone()),
                    _ => None,
                })
                .collect();
            if calls.is_empty() || answer.stop_reason != Some(StopReason::ToolUse) {
                return Ok(answer);
            }
            if step == limits.max_steps {
                // The model still wants tools: none runs, and the run stops here.
                for call in &calls {
                    self.refuse_tool(ctx, call, "the task's step limit is reached")?;
                }
                break;
            }
            let mut results = Vec::with_capacity(calls.len());
            for call in &calls {
                results.push(ContentBlock::ToolResult(self.call_tool(ctx, call)?));
            }
            request.messages.push(Message {
                role: Role::Assistant,
                content: MessageContent::Blocks(answer.content),
            });
            request.messages.push(Message {
                role: Role::User,
                content: MessageContent::Blocks(results),
            });
        }
        Err(self.stopped(ctx, "step").await)
    }

    /// Records that the loop hit a bound and returns the error to give the caller.
    async fn stopped(&self, ctx: &mut Ctx<'_>, bound: &'static str) -> AgentError {
        let mut event = ctx.trail.event(Action::Response, Outcome::Failed);
        event.provider = Some(self.provider.name().to_owned());
        event.detail = Some(format!("agent loop stopped at its {bound} limit"));
        match ctx.trail.record(event) {
            Ok(()) => AgentError::LoopBound(bound),
            Err(audit) => audit,
        }
    }

    /// One request to the provider: shape, gate, audit, send within the time left, audit.
    async fn exchange(
        &self,
        ctx: &mut Ctx<'_>,
        request: &MessagesRequest,
    ) -> Result<MessagesResponse, AgentError> {
        // An operator may block the provider or freeze the patient while the loop runs.
        let contained = self
            .check_provider_open()
            .and_then(|()| self.check_not_frozen(&ctx.patient));
        if let Err(err) = contained {
            let mut event = ctx
                .trail
                .event(crate::containment::refusal_action(&err), Outcome::Denied);
            event.provider = Some(self.provider.name().to_owned());
            event.detail = Some(err.to_string());
            ctx.trail.record(event)?;
            return Err(err);
        }
        let outbound = self.outbound(request, ctx.mode)?;
        self.gate(ctx, &outbound)?;

        // Audit before disclosure: if this cannot be written, nothing is sent.
        let mut disclosure = ctx.trail.event(Action::Disclosure, Outcome::Success);
        disclosure.provider = Some(self.provider.name().to_owned());
        disclosure.purpose = Some(ctx.task.purpose.clone());
        disclosure.sent_sha256 = Some(sha256_hex(&outbound.body));
        let signals = ctx.report.input_signals.join(",");
        disclosure.detail = Some(if signals.is_empty() {
            format!("mode={}", ctx.mode.as_str())
        } else {
            format!("mode={} input-flagged={signals}", ctx.mode.as_str())
        });
        ctx.trail.record(disclosure)?;

        let limit = Duration::from_secs(ctx.task.limits.max_seconds);
        let left = limit.saturating_sub(ctx.started.elapsed());
        let sent = tokio::time::timeout(left, self.provider.send_received(&outbound)).await;
        ctx.outbounds.push(outbound);
        let answer = match sent {
            Err(_elapsed) => return Err(self.stopped(ctx, "time").await),
            Ok(Err(err)) => {
                let mut failed = ctx.trail.event(Action::Response, Outcome::Failed);
                failed.provider = Some(self.provider.name().to_owned());
                failed.detail = Some(format!("upstream status {}", err.status()));
                ctx.trail.record(failed)?;
                return Err(err.into());
            }
            Ok(Ok(answer)) => answer,
        };
        let mut received = ctx.trail.event(Action::Response, Outcome::Success);
        received.provider = Some(self.provider.name().to_owned());
        // The digest of the bytes as they came back, as the gateway records it.
        received.received_sha256 = Some(sha256_hex(&answer.bytes));
        ctx.trail.record(received)?;
        Ok(answer.message)
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

    /// The egress gate, independent of detection: no value known so far may be in the bytes.
    fn gate(&self, ctx: &mut Ctx<'_>, outbound: &Outbound) -> Result<(), AgentError> {
        let known = ctx.known();
        let values: Vec<(EntityKind, &str)> = known.values().collect();
        let gate = EgressGate::new(values.iter().map(|(_, value)| *value));
        let Err(leak) = gate.check(&outbound.body) else {
            return Ok(());
        };
        let kind = values
            .get(leak.value_index)
            .map_or("UNKNOWN", |(kind, _)| kind.tag());
        phigate_telemetry::metrics().leak_gate_block(kind);
        let mut blocked = ctx.trail.event(Action::Denial, Outcome::Denied);
        blocked.provider = Some(self.provider.name().to_owned());
        blocked.detail = Some(format!("egress gate blocked: {kind}"));
        ctx.trail.record(blocked)?;
        Err(AgentError::EgressBlocked { kind })
    }
}
