//! Tokens from external identity providers, beside Phigate's own. A bearer token whose `iss`
//! names a configured external issuer is checked against that issuer's JWKS (cached, refetched
//! on an unknown `kid`) and its role claim mapped to a Phigate role; every other token goes to
//! Phigate's own verifier. Whichever issued it, the caller then passes the same checks: tenant,
//! scope, disabled account and the rate limits, and every refusal is audited.
//!
//! The subject is kept, prefixed with its issuer (`issuer#subject`), so that audit entries name
//! the person and a subject at one issuer can never pass for a Phigate account or for the same
//! subject at another issuer. Revoking such a token, or disabling the person, is the issuer's
//! business: Phigate honours the `exp` it sets. A local account list has no entry for an
//! external subject, so `phigate users disable` cannot reach one (a known gap: the containment
//! answer today is to remove the issuer from the configuration, or its role mapping).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phigate_auth::Principal;
use phigate_oauth::{ExternalIdp, IdpError};
use serde_json::Value;

/// The issuers Phigate trusts besides itself.
#[derive(Clone, Default)]
pub(crate) struct ExternalIssuers(Vec<Arc<ExternalIdp>>);

impl ExternalIssuers {
    pub(crate) fn new(issuers: Vec<ExternalIdp>) -> Self {
        Self(issuers.into_iter().map(Arc::new).collect())
    }

    /// The configured issuer `token` claims to come from, if any. Only routing: nothing in the
    /// token is trusted until the issuer's key has verified it.
    pub(crate) fn for_token(&self, token: &str) -> Option<Arc<ExternalIdp>> {
        if self.0.is_empty() {
            return None;
        }
        let claimed = claimed_issuer(token)?;
        self.0.iter().find(|idp| idp.issuer() == claimed).cloned()
    }
}

/// The `iss` of a compact JWS, unverified.
fn claimed_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = B64.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["iss"].as_str().map(str::to_owned)
}

/// Verifies `token` at `idp` and names the principal by issuer and subject.
pub(crate) async fn verify(
    idp: &ExternalIdp,
    token: &str,
    now: i64,
) -> Result<Principal, IdpError> {
    let mut principal = idp.verify(token, now).await?;
    principal.user_id = format!("{}#{}", idp.issuer(), principal.user_id);
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_issuer_is_read_from_the_payload_and_garbage_claims_none() {
        let payload = B64.encode(br#"{"iss":"https://idp.example","sub":"x"}"#);
        let token = format!("e30.{payload}.sig");
        assert_eq!(
            claimed_issuer(&token).as_deref(),
            Some("https://idp.example")
        );
        assert_eq!(claimed_issuer("not-a-jwt"), None);
        assert_eq!(claimed_issuer("a.%%%.c"), None);
    }
}
