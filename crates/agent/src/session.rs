//! Signing a person in locally with a password (the demo and local tools; people signing in over
//! HTTP use the OAuth server's page): look the account up, apply backoff and lockout, verify the
//! Argon2id hash, mint a short-lived access token, then verify that token and run as the
//! principal it speaks for, so the local path exercises exactly the checks a remote caller's
//! token goes through.

use std::time::Duration;

use phigate_audit::{Action, Actor, AuditEvent, AuditLog, Outcome};
use phigate_auth::{
    AuthError, FailureState, LockoutPolicy, MAX_ACCESS_TOKEN_TTL, PasswordHash, Principal, Role,
    TokenSigner, hash_password, scopes, verify_password,
};
use phigate_store::{Store, UserRecord};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{AgentError, random_id};

/// A signed-in person.
pub struct Session {
    /// Who they are and what they may do, as read back from the verified token.
    pub principal: Principal,
    /// The access token (a bearer credential: never log it).
    pub access_token: Zeroizing<String>,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Creates the account, or resets its password and role if it exists.
pub fn set_user(
    store: &Store,
    tenant: &str,
    username: &str,
    role: Role,
    password: &str,
) -> Result<(), AgentError> {
    let id = match store.user_by_name(tenant, username)? {
        Some(existing) => existing.id,
        None => random_id()?,
    };
    let hash = hash_password(password)?;
    store.upsert_user(&UserRecord {
        id,
        tenant: tenant.to_owned(),
        username: username.to_owned(),
        role: role.as_str().to_owned(),
        password_hash: hash.as_str().to_owned(),
        disabled: false,
    })?;
    Ok(())
}

/// The local password check, with the same backoff and lockout as the sign-in page. Roles that
/// require a second factor cannot sign in here at all: they use the OAuth sign-in page.
fn check_password(
    store: &Store,
    user: &UserRecord,
    password: &str,
) -> Result<Result<(), AuthError>, AgentError> {
    let policy = LockoutPolicy::default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let security = store.user_security(&user.id)?;
    let state = FailureState {
        failures: security.failures,
        last_failure_at: security.last_failure_at,
        locked: security.locked,
    };
    if let Err(throttled) = policy.check(&state, now) {
        return Ok(Err(throttled));
    }
    let verdict = verify_password(
        &PasswordHash::from_stored(user.password_hash.clone()),
        password,
    );
    if verdict.is_err() {
        store.add_sign_in_failure(&user.id, now, policy.lock_after)?;
        return Ok(verdict);
    }
    store.clear_sign_in_failures(&user.id)?;
    if Role::parse(&user.role).is_ok_and(Role::requires_mfa) {
        return Ok(Err(AuthError::MfaRequired));
    }
    Ok(Ok(()))
}

/// Signs `username` in; both success and failure are audited.
pub fn sign_in(
    store: &Store,
    audit: &AuditLog,
    tokens: &TokenSigner,
    audience: &str,
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<Session, AgentError> {
    let user = store.user_by_name(tenant, username)?;
    let verdict = match &user {
        Some(user) if !user.disabled => check_password(store, user, password)?,
        _ => Err(AuthError::InvalidCredentials),
    };
    let actor_id = user
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |u| u.id.clone());
    let role_name = user.as_ref().map_or_else(String::new, |u| u.role.clone());
    let actor = Actor {
        user_id: actor_id,
        role: role_name,
        client_id: None,
        address: None,
    };
    if let Err(err) = verdict {
        let event = AuditEvent::new(actor, Action::SignIn, Outcome::Denied);
        audit.append(event).map_err(AgentError::AuditUnavailable)?;
        return Err(err.into());
    }
    let Some(user) = user else {
        return Err(AuthError::InvalidCredentials.into());
    };

    let role = Role::parse(&user.role)?;
    let principal = Principal {
        user_id: user.id.clone(),
        tenant: tenant.to_owned(),
        role,
        scopes: scopes(role).iter().map(|s| (*s).to_owned()).collect(),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let token = tokens.issue(&principal, audience, MAX_ACCESS_TOKEN_TTL, now)?;
    let claims = tokens.verifier(audience).verify(&token, now)?;

    audit
        .append(AuditEvent::new(
            actor.clone(),
            Action::SignIn,
            Outcome::Success,
        ))
        .map_err(AgentError::AuditUnavailable)?;
    let mut issued = AuditEvent::new(actor, Action::TokenIssued, Outcome::Success);
    issued.detail = Some(format!("access token, {} s", claims.exp - claims.iat));
    audit.append(issued).map_err(AgentError::AuditUnavailable)?;

    Ok(Session {
        principal: Principal::from_claims(&claims)?,
        access_token: Zeroizing::new(token),
        expires_in: Duration::from_secs((claims.exp - claims.iat).max(0) as u64).as_secs(),
    })
}
