//! The last steps before bytes leave: shape them for the provider's disclosure policy, check
//! them with the egress gate, and audit the disclosure durably. Only then may the provider be
//! called; every failure here means nothing was sent.

use phigate_agent::{DisclosureMode, unlink_placeholders};
use phigate_audit::{Action, Outcome};
use phigate_deid::EntityKind;
use phigate_deid::gate::EgressGate;
use phigate_llm::Outbound;

use crate::audit::Trail;
use crate::scrub::Scrubbed;
use crate::{Gateway, GatewayError, sha256_hex};

impl Gateway {
    /// How data may be shaped for the configured provider.
    pub(crate) fn mode(&self) -> DisclosureMode {
        DisclosureMode::for_provider(self.provider.leaves_premises(), self.config.provider_baa)
    }

    /// Shapes, gates and audits `outbound`; returns the exact bytes that may now be sent.
    #[tracing::instrument(name = "gateway.egress", level = "debug", skip_all)]
    pub(crate) async fn disclose(
        &self,
        trail: &Trail,
        outbound: Outbound,
        scrubbed: &Scrubbed,
        mode: DisclosureMode,
    ) -> Result<Outbound, GatewayError> {
        let outbound = shape(outbound, mode)?;

        // The egress gate, independent of detection: no value in the vault may be in the bytes.
        let values: Vec<(EntityKind, &str)> = scrubbed.gate_values.values().collect();
        let gate = EgressGate::new(values.iter().map(|(_, value)| *value));
        if let Err(leak) = gate.check(&outbound.body) {
            let kind = values
                .get(leak.value_index)
                .map_or("UNKNOWN", |(kind, _)| kind.tag());
            phigate_telemetry::metrics().leak_gate_block(kind);
            let mut blocked = trail.event(Action::Denial, Outcome::Denied);
            blocked.detail = Some(format!("egress gate blocked: {kind}"));
            trail.record(blocked).await?;
            tracing::info!(
                request.id = trail.request_id(),
                kind,
                "gateway.egress blocked"
            );
            return Err(GatewayError::EgressBlocked { kind });
        }

        // Audit before disclosure: if this cannot be written, nothing is sent.
        let mut disclosure = trail.event(Action::Disclosure, Outcome::Success);
        disclosure.sent_sha256 = Some(sha256_hex(&outbound.body));
        disclosure.detail = Some(format!(
            "mode={} entities={} thinking_recalled={}",
            mode.as_str(),
            scrubbed.entities,
            scrubbed.thinking_recalled
        ));
        trail.record(disclosure).await?;
        Ok(outbound)
    }
}

/// Without a BAA, placeholders lose their numbers so nothing links back to the vault.
fn shape(outbound: Outbound, mode: DisclosureMode) -> Result<Outbound, GatewayError> {
    if mode == DisclosureMode::Pseudonymized {
        return Ok(outbound);
    }
    // Placeholders are ASCII and free of JSON escapes, so unlinking the serialized body is the
    // same as unlinking every string in it.
    let body = std::str::from_utf8(&outbound.body).map_err(|_| GatewayError::Internal("utf-8"))?;
    Ok(Outbound {
        body: unlink_placeholders(body).into_bytes().into(),
        ..outbound
    })
}
