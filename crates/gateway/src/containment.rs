//! Incident containment on the gateway's own routes: when an operator has blocked the provider
//! (`phigate providers block`), every request that would reach it is refused with `503` before
//! a byte is shaped or sent, and the refusal is audited as `containment`.
//!
//! The block is read from the store on every such request, with no cache, so it takes effect
//! on the next request of every running replica. A store that cannot answer refuses too.

use phigate_agent::AgentError;
use phigate_audit::{Action, Outcome};
use phigate_store::Store;

use crate::audit::Trail;
use crate::{Gateway, GatewayError};

impl Gateway {
    /// Checks operators' provider blocks in `store` before every provider call.
    pub fn with_containment(mut self, store: Store) -> Self {
        self.containment = Some(store);
        self
    }

    /// Why a verified token may no longer be used: its OAuth client was revoked (`phigate
    /// clients revoke`) or its user disabled (`phigate users disable`) after it was issued.
    /// Read from the store on every request, so containment does not wait for the token to
    /// expire. A store that cannot answer refuses too.
    pub(crate) fn withdrawn(&self, client_id: Option<&str>, user_id: &str) -> Option<&'static str> {
        let store = self.containment.as_ref()?;
        if let Some(client) = client_id {
            match store.client(client) {
                Ok(Some(record)) if record.revoked => {
                    return Some("The client this access token was issued to has been revoked.");
                }
                Ok(_) => {}
                Err(_) => return Some("The credential could not be checked; retry later."),
            }
        }
        match store.user_by_id(user_id) {
            Ok(Some(user)) if user.disabled => Some("This account has been disabled."),
            Ok(_) => None,
            Err(_) => Some("The credential could not be checked; retry later."),
        }
    }

    /// Refuses, and audits the refusal, when the provider is blocked.
    pub(crate) async fn check_provider(&self, trail: &Trail) -> Result<(), GatewayError> {
        let Some(store) = self.containment.clone() else {
            return Ok(());
        };
        let tenant = self.config.tenant.clone();
        let provider = self.provider.name().to_owned();
        let checked = tokio::task::spawn_blocking(move || {
            phigate_agent::provider_open(&store, &tenant, &provider)
        })
        .await
        .map_err(|_| GatewayError::Internal("containment check failed"))?;
        let err = match checked {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        let action = if err.is_containment() {
            Action::Containment
        } else {
            Action::Denial
        };
        let mut event = trail.event(action, Outcome::Denied);
        event.provider = Some(self.provider.name().to_owned());
        event.detail = Some(match &err {
            AgentError::ProviderBlocked(_) => "provider blocked: nothing sent".to_owned(),
            _ => "containment state unreadable: nothing sent".to_owned(),
        });
        trail.record(event).await?;
        tracing::info!(
            request.id = trail.request_id(),
            provider = self.provider.name(),
            "gateway.provider blocked"
        );
        Err(GatewayError::Agent(err))
    }
}
