//! Who is calling: the caller's Phigate access token, read from `x-api-key` or
//! `Authorization: Bearer`, verified, and turned into a principal.
//!
//! The token is Phigate's own credential. It stops here: the provider is called with the
//! gateway's key, never with the caller's.

use axum::http::HeaderMap;
use phigate_audit::{Action, Outcome};
use phigate_auth::{AuthError, Principal};
use phigate_oauth::IdpError;
use time::OffsetDateTime;

use crate::audit::Trail;
use crate::{Gateway, GatewayError};

/// The scope every `/v1/messages` route needs.
pub const MESSAGES_SCOPE: &str = "messages/create";
/// The scope the audit review routes need (granted to the auditor role only).
pub const AUDIT_READ_SCOPE: &str = "audit/read";
/// The scope the audit export route needs (granted to the auditor role only).
pub const AUDIT_EXPORT_SCOPE: &str = "audit/export";

/// The credential in a request's headers, if there is one.
fn credential(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get("x-api-key") {
        return key.to_str().ok().map(str::trim).filter(|k| !k.is_empty());
    }
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl Gateway {
    /// Verifies the caller and checks `scope`; a refusal is audited, then returned.
    #[tracing::instrument(name = "gateway.authenticate", level = "debug", skip_all, fields(scope = %scope))]
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
        request_id: &str,
        scope: &str,
    ) -> Result<Principal, GatewayError> {
        Ok(self.authenticate_bound(headers, request_id, scope).await?.0)
    }

    /// Like [`authenticate`](Self::authenticate), also returning the patient record the token
    /// is bound to (its `patient` claim), if any.
    pub(crate) async fn authenticate_bound(
        &self,
        headers: &HeaderMap,
        request_id: &str,
        scope: &str,
    ) -> Result<(Principal, Option<String>), GatewayError> {
        // A token from a configured external issuer is verified by that issuer's keys (which
        // may need fetching, hence here, outside the synchronous checks).
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let token = credential(headers);
        let external = match token.and_then(|t| Some((t, self.external.for_token(t)?))) {
            Some((token, idp)) => Some(crate::external::verify(&idp, token, now).await),
            None => None,
        };
        let verdict = self.verify(headers, scope, external);
        if let Err(Refusal::RateLimited(principal, wait)) = &verdict {
            // Not audited: a flood must not be able to flood the audit log too.
            tracing::info!(
                request.id = request_id,
                principal.id = principal.user_id.as_str(),
                "gateway.rate_limited"
            );
            return Err(GatewayError::RateLimited { retry_after: *wait });
        }
        if let Err(refusal) = &verdict {
            let principal = match refusal {
                Refusal::Unauthenticated(_) => None,
                Refusal::Forbidden(principal, _) | Refusal::RateLimited(principal, _) => {
                    Some(principal.clone())
                }
            };
            let endpoint = RouteFamily::of(scope).endpoint();
            let trail = Trail::new(self, principal.as_ref(), request_id, endpoint);
            let mut event = trail.event(Action::Denial, Outcome::Denied);
            event.detail = Some(refusal.reason().to_owned());
            trail.record(event).await?;
            tracing::info!(
                request.id = request_id,
                reason = refusal.reason(),
                "gateway.auth denied"
            );
        }
        verdict.map_err(Refusal::into_error)
    }

    /// The caller behind the credential: an external issuer's verdict when the token named
    /// one, Phigate's own verifier otherwise. Returns the principal, its client and its patient.
    fn identify(
        &self,
        headers: &HeaderMap,
        external: Option<Result<Principal, IdpError>>,
    ) -> Result<(Principal, Option<String>, Option<String>), Refusal> {
        if let Some(verdict) = external {
            let principal = verdict.map_err(|err| {
                tracing::info!(reason = %err, "gateway.external_token refused");
                Refusal::Unauthenticated(match err {
                    IdpError::NoRole => "The identity provider's token maps to no Phigate role.",
                    _ => "The access token is not valid for this gateway.",
                })
            })?;
            return Ok((principal, None, None));
        }
        let Some(token) = credential(headers) else {
            return Err(Refusal::Unauthenticated(
                "Missing credential: send a Phigate access token as x-api-key or \
                 Authorization: Bearer.",
            ));
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let fresh;
        let tokens = match &self.token_source {
            Some(source) => {
                fresh = source(now);
                &fresh
            }
            None => &self.tokens,
        };
        let claims = tokens
            .verify_remembered(token, now, &self.verified)
            .map_err(|err| {
                Refusal::Unauthenticated(match err {
                    AuthError::Expired => "The access token has expired.",
                    _ => "The access token is not valid for this gateway.",
                })
            })?;
        let principal = Principal::from_claims(&claims).map_err(|_| {
            Refusal::Unauthenticated("The access token is not valid for this gateway.")
        })?;
        Ok((principal, claims.client_id, claims.patient))
    }

    fn verify(
        &self,
        headers: &HeaderMap,
        scope: &str,
        external: Option<Result<Principal, IdpError>>,
    ) -> Result<(Principal, Option<String>), Refusal> {
        let (principal, client_id, patient) = self.identify(headers, external)?;
        if let Some(reason) = self.withdrawn(client_id.as_deref(), &principal.user_id) {
            return Err(Refusal::Unauthenticated(reason));
        }
        if principal.tenant != self.config.tenant {
            return Err(Refusal::Forbidden(
                principal,
                "This credential belongs to another tenant.",
            ));
        }
        if principal.require(&[scope]).is_err() {
            let reason = RouteFamily::of(scope).denial();
            return Err(Refusal::Forbidden(principal, reason));
        }
        let client = client_id.as_deref().unwrap_or("(none)");
        let keys = [
            format!("p:{}", principal.user_id),
            format!("c:{client}"),
            format!("t:{}", principal.tenant),
        ];
        let now = std::time::Instant::now();
        for (limiter, key) in self.limiters.iter().zip(&keys) {
            if let Err(wait) = limiter.check(key, now) {
                return Err(Refusal::RateLimited(principal, wait));
            }
        }
        Ok((principal, patient))
    }
}

/// Which family of routes a scope guards: one place decides both how a refusal is audited and
/// what it says.
#[derive(Clone, Copy)]
enum RouteFamily {
    Messages,
    Audit,
    Drafts,
    Tasks,
    Admin,
    Patient,
    Incidents,
}

impl RouteFamily {
    fn of(scope: &str) -> Self {
        if scope == MESSAGES_SCOPE {
            Self::Messages
        } else if scope.starts_with("audit/") {
            Self::Audit
        } else if scope.starts_with("draft/") {
            Self::Drafts
        } else if scope.starts_with("admin/") {
            Self::Admin
        } else if scope == "task/assistant" || scope.starts_with("patient/") {
            Self::Patient
        } else if scope.starts_with("incident/") {
            Self::Incidents
        } else {
            Self::Tasks
        }
    }

    /// The endpoint name written into the denial's audit entry.
    fn endpoint(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Audit => "audit",
            Self::Drafts => "drafts",
            Self::Tasks => "tasks",
            Self::Admin => "admin",
            Self::Patient => "patient",
            Self::Incidents => "incidents",
        }
    }

    /// What the caller is told when its token lacks the scope.
    fn denial(self) -> &'static str {
        match self {
            Self::Messages => {
                "This credential may not call the Messages API (scope messages/create)."
            }
            Self::Audit => {
                "This credential may not read the audit log: it is for the auditor role only."
            }
            Self::Drafts | Self::Tasks => {
                "This credential lacks the scope this task or review route needs."
            }
            Self::Admin => {
                "This credential may not administer Phigate: it is for the admin role only."
            }
            Self::Patient => "These routes are for patients signed in to their own record.",
            Self::Incidents => {
                "This credential may not see incidents: they are for auditors and administrators."
            }
        }
    }
}

/// Why a caller was turned away.
enum Refusal {
    Unauthenticated(&'static str),
    Forbidden(Principal, &'static str),
    RateLimited(Principal, std::time::Duration),
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::Unauthenticated(reason) | Refusal::Forbidden(_, reason) => reason,
            Refusal::RateLimited(..) => "rate limited",
        }
    }

    fn into_error(self) -> GatewayError {
        match self {
            Refusal::Unauthenticated(reason) => GatewayError::Unauthenticated(reason),
            Refusal::Forbidden(_, reason) => GatewayError::Forbidden(reason),
            Refusal::RateLimited(_, retry_after) => GatewayError::RateLimited { retry_after },
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_credential_comes_from_x_api_key_or_a_bearer_authorization() {
        assert_eq!(credential(&headers(&[("x-api-key", "t1")])), Some("t1"));
        assert_eq!(
            credential(&headers(&[("authorization", "Bearer t2")])),
            Some("t2")
        );
        assert_eq!(
            credential(&headers(&[("authorization", "bearer  t3 ")])),
            Some("t3")
        );
        assert_eq!(
            credential(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(credential(&headers(&[("x-api-key", "")])), None);
        assert_eq!(credential(&headers(&[])), None);
    }
}
