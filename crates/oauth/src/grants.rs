//! `POST /oauth/token`: the three grants Phigate supports. The implicit and password grants
//! are refused with `unsupported_grant_type`, like any other.

use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::{Principal, RefreshToken, Role, hash_refresh_token, random_token, scope};
use phigate_store::{ClientRecord, CodeUse, RefreshFamily, RefreshLimits, RefreshRefusal};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client_auth::Method;
use crate::form::Form;
use crate::{OAuthError, OAuthServer, now};

/// What an authorization code stands for, stored (by the code's hash) until it is exchanged.
#[derive(Serialize, Deserialize)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub user_id: String,
    pub role: String,
    pub scope: String,
}

/// `POST /oauth/token`.
pub async fn token(
    State(server): State<Arc<OAuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match server.token(&headers, &body) {
        Ok(response) => response,
        Err(err) => {
            server.audit_token_refusal(&headers, &body, &err);
            err.into_response()
        }
    }
}

/// The client a token request claims to be, before it is authenticated.
fn claimed_client(headers: &HeaderMap, form: &Form) -> String {
    let basic = crate::client_auth::basic_credentials(headers)
        .ok()
        .flatten();
    match (&basic, form.get("client_id"), form.get("client_assertion")) {
        (Some((id, _)), _, _) => id.clone(),
        (None, Some(id), _) => id.to_owned(),
        (None, None, Some(assertion)) => {
            crate::assertion::claimed_client(assertion).unwrap_or_else(|_| "(malformed)".to_owned())
        }
        (None, None, None) => "(none)".to_owned(),
    }
}

impl OAuthServer {
    /// Records a refused token request: the error code and the client it claimed to be (kept
    /// only when it looks like a client id), never a secret, code or token. Throttled requests
    /// are not recorded, so a flood cannot flood the audit log too.
    fn audit_token_refusal(&self, headers: &HeaderMap, body: &[u8], err: &OAuthError) {
        if err.retry_after.is_some() {
            return;
        }
        let claimed = Form::parse(headers, body)
            .map(|form| claimed_client(headers, &form))
            .unwrap_or_else(|_| "(unparsed)".to_owned());
        let plausible = !claimed.is_empty()
            && claimed.len() <= 64
            && claimed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        let actor = Actor {
            user_id: "unknown".into(),
            role: String::new(),
            client_id: Some(if plausible {
                claimed
            } else {
                "(invalid)".into()
            }),
            address: None,
        };
        let mut event = AuditEvent::new(actor, Action::Denial, Outcome::Denied);
        event.task = Some("oauth_token".into());
        event.detail = Some(format!("token request refused: {}", err.code));
        if self.audit.append(event).is_err() {
            // The refusal discloses nothing, so it still goes out; the operator hears of it.
            tracing::warn!(error.code = err.code, "oauth.audit append failed");
        }
    }

    fn token(&self, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
        let form = Form::parse(headers, body)?;
        // Throttle per claimed client before any work, against secret and code guessing.
        let claimed = claimed_client(headers, &form);
        self.throttle(&format!("token:{claimed}"))?;
        let now = now();
        let grant_type = form.require("grant_type", "grant_type is required.")?;
        if !matches!(
            grant_type,
            "client_credentials" | "authorization_code" | "refresh_token"
        ) {
            return Err(OAuthError::unsupported_grant_type());
        }
        let (client, method) = self.authenticate_client(headers, &form, now)?;
        match grant_type {
            "client_credentials" => self.client_credentials(&client, method, &form, now),
            "authorization_code" => self.authorization_code(&client, &form, now),
            _ => self.refresh(&client, &form, now),
        }
    }

    fn client_credentials(
        &self,
        client: &ClientRecord,
        method: Method,
        form: &Form,
        now: i64,
    ) -> Result<Response, OAuthError> {
        if method == Method::None {
            return Err(OAuthError::unauthorized_client(
                "Public clients may not use client_credentials.",
            ));
        }
        let role = Role::parse(&client.role)
            .map_err(|_| OAuthError::unauthorized_client("The client's role is unknown."))?;
        let ceiling = ceiling(role, &client.scopes);
        let scopes = granted(form.get("scope"), &ceiling)?;
        let principal = Principal {
            user_id: client.id.clone(),
            tenant: client.tenant.clone(),
            role,
            scopes,
        };
        self.respond(&principal, &client.id, None, now)
    }

    fn authorization_code(
        &self,
        client: &ClientRecord,
        form: &Form,
        now: i64,
    ) -> Result<Response, OAuthError> {
        let code = form.require("code", "code is required.")?;
        let redirect_uri = form.require("redirect_uri", "redirect_uri is required.")?;
        let verifier = form.require("code_verifier", "code_verifier is required (PKCE).")?;
        let code_hash = hash_refresh_token(code);
        let grant = match self.store.consume_auth_code(&code_hash, now)? {
            CodeUse::Fresh(body) => {
                serde_json::from_str::<CodeGrant>(&body).map_err(|_| OAuthError::server_error())?
            }
            CodeUse::Replayed(family) => {
                // RFC 9700 section 4.5: a code used twice was intercepted; revoke what it gave.
                if let Some(family) = family {
                    self.store.revoke_refresh_family(
                        &family,
                        now,
                        "authorization code replayed",
                    )?;
                }
                return Err(OAuthError::invalid_grant("The code was already used."));
            }
            CodeUse::Unknown => {
                return Err(OAuthError::invalid_grant("The code is invalid or expired."));
            }
        };
        if grant.client_id != client.id || grant.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                "The code was issued to another client or redirect_uri.",
            ));
        }
        if !pkce_matches(verifier, &grant.challenge) {
            return Err(OAuthError::invalid_grant(
                "The code_verifier does not match.",
            ));
        }
        let user = self
            .store
            .user_by_id(&grant.user_id)?
            .filter(|u| !u.disabled)
            .ok_or(OAuthError::invalid_grant("The account is disabled."))?;
        let role = Role::parse(&user.role).map_err(|_| OAuthError::server_error())?;
        let principal = Principal {
            user_id: user.id.clone(),
            tenant: user.tenant.clone(),
            role,
            scopes: grant.scope.split_whitespace().map(str::to_owned).collect(),
        };
        let refresh = RefreshToken::generate().map_err(|_| OAuthError::server_error())?;
        let family = RefreshFamily {
            id: random_token("fam_")
                .map_err(|_| OAuthError::server_error())?
                .to_string(),
            tenant: principal.tenant.clone(),
            subject: principal.user_id.clone(),
            client_id: client.id.clone(),
            role: role.as_str().to_owned(),
            scope: grant.scope.clone(),
        };
        let absolute = self.config.refresh.absolute.as_secs() as i64;
        self.store
            .create_refresh_family(&family, &refresh.hash(), now, now + absolute)?;
        self.store.set_auth_code_family(&code_hash, &family.id)?;
        self.respond(&principal, &client.id, Some(&refresh), now)
    }

    fn refresh(
        &self,
        client: &ClientRecord,
        form: &Form,
        now: i64,
    ) -> Result<Response, OAuthError> {
        let presented = form.require("refresh_token", "refresh_token is required.")?;
        let next = RefreshToken::generate().map_err(|_| OAuthError::server_error())?;
        let limits = RefreshLimits {
            idle_secs: self.config.refresh.idle.as_secs() as i64,
            grace_secs: self.config.refresh.grace.as_secs() as i64,
        };
        let family = match self.store.rotate_refresh_token(
            &hash_refresh_token(presented),
            &next.hash(),
            now,
            limits,
        )? {
            Ok(family) => family,
            Err(refusal) => {
                self.audit_refusal(client, refusal)?;
                return Err(OAuthError::invalid_grant(match refusal {
                    RefreshRefusal::Idle => "The session was idle too long; sign in again.",
                    RefreshRefusal::Expired => "The session has ended; sign in again.",
                    RefreshRefusal::RetryWithinGrace => {
                        "This refresh token was just used; use the token issued then."
                    }
                    _ => "The refresh token is invalid or revoked.",
                }));
            }
        };
        if family.client_id != client.id {
            self.store
                .revoke_refresh_family(&family.id, now, "presented by another client")?;
            return Err(OAuthError::invalid_grant(
                "The refresh token is invalid or revoked.",
            ));
        }
        let user = self
            .store
            .user_by_id(&family.subject)?
            .filter(|u| !u.disabled);
        let (Some(user), Ok(role)) = (user, Role::parse(&family.role)) else {
            self.store
                .revoke_refresh_family(&family.id, now, "account disabled")?;
            return Err(OAuthError::invalid_grant("The account is disabled."));
        };
        let held: Vec<String> = family.scope.split_whitespace().map(str::to_owned).collect();
        let scopes = granted(form.get("scope"), &held)?;
        let principal = Principal {
            user_id: user.id,
            tenant: family.tenant,
            role,
            scopes,
        };
        self.respond(&principal, &client.id, Some(&next), now)
    }

    fn audit_refusal(
        &self,
        client: &ClientRecord,
        refusal: RefreshRefusal,
    ) -> Result<(), OAuthError> {
        let actor = Actor {
            user_id: "unknown".into(),
            role: String::new(),
            client_id: Some(client.id.clone()),
            address: None,
        };
        let mut event = AuditEvent::new(actor, Action::Denial, Outcome::Denied);
        event.detail = Some(format!("refresh refused: {refusal:?}"));
        self.audit.append(event)?;
        Ok(())
    }

    /// Issues the access token, audits it, and writes the token response.
    fn respond(
        &self,
        principal: &Principal,
        client_id: &str,
        refresh: Option<&RefreshToken>,
        now: i64,
    ) -> Result<Response, OAuthError> {
        // A patient's token names the one record their account is bound to, read from the
        // store at every issue (refreshes included), never from the request. A patient account
        // without a binding gets no token at all.
        let patient = if principal.role == Role::Patient {
            let bound = self
                .store
                .patient_account(&principal.tenant, &principal.user_id)?
                .ok_or(OAuthError::invalid_grant(
                    "The account is not bound to a patient record.",
                ))?;
            Some(bound.as_str().to_owned())
        } else {
            None
        };
        let keys = self.keys.read().map_err(|_| OAuthError::server_error())?;
        let access = keys
            .signer()
            .issue_bound(
                principal,
                Some(client_id),
                patient.as_deref(),
                &self.config.audience,
                self.config.access_ttl,
                now,
            )
            .map_err(|_| OAuthError::server_error())?;
        drop(keys);
        let expires_in = self
            .config
            .access_ttl
            .min(phigate_auth::MAX_ACCESS_TOKEN_TTL)
            .as_secs();
        let actor = Actor {
            user_id: principal.user_id.clone(),
            role: principal.role.as_str().to_owned(),
            client_id: Some(client_id.to_owned()),
            address: None,
        };
        let mut event = AuditEvent::new(actor, Action::TokenIssued, Outcome::Success);
        event.detail = Some(format!(
            "access token {expires_in} s{}",
            if refresh.is_some() {
                ", refresh token rotated in"
            } else {
                ""
            }
        ));
        self.audit.append(event)?;

        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": principal.scopes.join(" "),
        });
        if let Some(refresh) = refresh {
            body["refresh_token"] = refresh.as_str().into();
        }
        let mut response = Json(body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        Ok(response)
    }
}

/// The most a client in `role` may get: its registered scopes within the role's.
pub(crate) fn ceiling(role: Role, registered: &[String]) -> Vec<String> {
    let role_scopes: Vec<String> = phigate_auth::scopes(role)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    registered
        .iter()
        .filter(|s| scope::is_granted(&role_scopes, s))
        .cloned()
        .collect()
}

/// The scopes granted for a request: all of `ceiling` when none are asked for, otherwise the
/// asked-for ones it covers; asking only for scopes it does not cover is `invalid_scope`.
pub(crate) fn granted(
    requested: Option<&str>,
    ceiling: &[String],
) -> Result<Vec<String>, OAuthError> {
    let scopes = match requested {
        None => ceiling.to_vec(),
        Some(requested) => scope::narrow(requested, ceiling),
    };
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope(
            "None of the requested scopes may be granted to this client.",
        ));
    }
    Ok(scopes)
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`, verifier 43 to 128 unreserved
/// characters.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = B64.encode(digest.as_ref());
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_appendix_b_verifier_matches_its_challenge() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(challenge, challenge));
        assert!(!pkce_matches("short", challenge));
        assert!(!pkce_matches(&format!("{verifier}!"), challenge));
    }

    #[test]
    fn scopes_are_narrowed_to_the_role_and_the_registration() {
        let registered = vec!["messages/create".to_owned(), "admin/users".to_owned()];
        assert_eq!(ceiling(Role::Service, &registered), ["messages/create"]);
        let ceiling = ceiling(Role::Service, &registered);
        assert!(granted(Some("admin/users"), &ceiling).is_err());
        assert_eq!(granted(None, &ceiling).unwrap(), ["messages/create"]);
    }
}
