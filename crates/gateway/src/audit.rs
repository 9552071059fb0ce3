//! Audit entries of one gateway request. Appends are durable (synced commits); the request's
//! task awaits the committer's answer without holding a thread (`AuditLog::append_async`).

use std::sync::Arc;

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_auth::Principal;

use crate::{Gateway, GatewayError};

/// The audit context shared by every entry of one request.
#[derive(Clone)]
pub(crate) struct Trail {
    log: Arc<AuditLog>,
    actor: Actor,
    request_id: String,
    endpoint: &'static str,
    provider: String,
}

impl Trail {
    /// A trail for `principal` (or an unknown caller) on `endpoint`.
    pub fn new(
        gateway: &Gateway,
        principal: Option<&Principal>,
        request_id: &str,
        endpoint: &'static str,
    ) -> Self {
        let actor = match principal {
            Some(p) => Actor {
                user_id: p.user_id.clone(),
                role: p.role.as_str().to_owned(),
                client_id: None,
                address: None,
            },
            None => Actor {
                user_id: "unknown".to_owned(),
                role: String::new(),
                client_id: None,
                address: None,
            },
        };
        Trail {
            log: gateway.audit.clone(),
            actor,
            request_id: request_id.to_owned(),
            endpoint,
            provider: gateway.provider.name().to_owned(),
        }
    }

    /// An event of this request, with the endpoint as its task.
    pub fn event(&self, action: Action, outcome: Outcome) -> AuditEvent {
        let mut event = AuditEvent::new(self.actor.clone(), action, outcome);
        event.task = Some(self.endpoint.to_owned());
        event.request_id = Some(self.request_id.clone());
        if matches!(action, Action::Disclosure | Action::Response) {
            event.provider = Some(self.provider.clone());
        }
        event
    }

    /// Appends durably. A failure means nothing more may happen for this request.
    #[tracing::instrument(name = "gateway.audit", level = "debug", skip_all, fields(action = event.action.as_str()))]
    pub async fn record(&self, event: AuditEvent) -> Result<(), GatewayError> {
        match self.log.append_async(event).await {
            Ok(_) => Ok(()),
            Err(err) => {
                tracing::warn!(request.id = %self.request_id, error = %err, "gateway.audit append failed");
                Err(GatewayError::AuditUnavailable)
            }
        }
    }

    /// Records a response (or its failure) with the digest of what came back.
    pub async fn response(
        &self,
        received_sha256: Option<String>,
        detail: String,
        ok: bool,
    ) -> Result<(), GatewayError> {
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failed
        };
        let mut event = self.event(Action::Response, outcome);
        event.received_sha256 = received_sha256;
        event.detail = Some(detail);
        self.record(event).await
    }

    /// The request id, for log lines.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}
