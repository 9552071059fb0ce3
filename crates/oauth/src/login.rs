//! Signing a person in: backoff and lockout first, then the Argon2id password, then the TOTP
//! code (mandatory for roles that require it, and for anyone who enrolled). Each outcome is
//! audited; the caller only ever learns "failed", never which part.

use std::sync::OnceLock;

use phigate_audit::{Action, Actor, AuditEvent, Outcome};
use phigate_auth::{
    AuthError, FailureState, PasswordHash, Role, Totp, hash_password, verify_password,
};
use phigate_store::UserRecord;

use crate::{OAuthError, OAuthServer};

/// Why a sign-in failed, for the audit trail and the page (which shows the same text for all).
#[derive(Debug)]
pub enum LoginFailure {
    /// Wrong user, password or code; or account disabled.
    Credentials,
    /// Locked or cooling down.
    Throttled,
    /// The role needs a second factor and none is enrolled.
    MfaNotEnrolled,
    /// Storage or audit failed.
    Server(OAuthError),
}

impl From<OAuthError> for LoginFailure {
    fn from(err: OAuthError) -> Self {
        Self::Server(err)
    }
}

impl From<phigate_store::StoreError> for LoginFailure {
    fn from(err: phigate_store::StoreError) -> Self {
        Self::Server(err.into())
    }
}

/// A hash to verify against when the account does not exist, so that unknown usernames take as
/// long as wrong passwords.
fn decoy_hash() -> Option<&'static PasswordHash> {
    static DECOY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_password("phigate-decoy-password").ok())
        .as_ref()
}

impl OAuthServer {
    /// Signs `username` in with `password` and `totp`, at `now`, for `client_id`.
    pub(crate) fn sign_in_person(
        &self,
        username: &str,
        password: &str,
        totp: Option<&str>,
        client_id: &str,
        now: i64,
    ) -> Result<(UserRecord, Role), LoginFailure> {
        let user = self
            .store
            .user_by_name(&self.config.tenant, username)?
            .filter(|u| !u.disabled);
        let role = user.as_ref().and_then(|u| Role::parse(&u.role).ok());
        let (Some(user), Some(role)) = (user, role) else {
            if let Some(decoy) = decoy_hash() {
                let _ = verify_password(decoy, password);
            }
            self.audit_sign_in(
                None,
                client_id,
                Outcome::Denied,
                "unknown or disabled account",
            )?;
            return Err(LoginFailure::Credentials);
        };

        let security = self.store.user_security(&user.id)?;
        let state = FailureState {
            failures: security.failures,
            last_failure_at: security.last_failure_at,
            locked: security.locked,
        };
        if let Err(err) = self.config.lockout.check(&state, now) {
            // The same Argon2 work as every other refusal, so the answer's timing does not tell
            // an account in backoff (which exists) from an unknown one.
            if let Some(decoy) = decoy_hash() {
                let _ = verify_password(decoy, password);
            }
            let reason = match err {
                AuthError::Locked => "account locked",
                _ => "backoff after failed attempts",
            };
            self.audit_sign_in(Some(&user), client_id, Outcome::Denied, reason)?;
            return Err(LoginFailure::Throttled);
        }

        let verdict = self.check_factors(&user, role, password, totp, security.totp_enrolled, now);
        match verdict {
            Ok(()) => {
                self.store.clear_sign_in_failures(&user.id)?;
                self.audit_sign_in(
                    Some(&user),
                    client_id,
                    Outcome::Success,
                    "password and policy factors",
                )?;
                Ok((user, role))
            }
            Err(failure) => {
                self.store
                    .add_sign_in_failure(&user.id, now, self.config.lockout.lock_after)?;
                let reason = match failure {
                    LoginFailure::MfaNotEnrolled => "second factor required but not enrolled",
                    _ => "wrong password or code",
                };
                self.audit_sign_in(Some(&user), client_id, Outcome::Denied, reason)?;
                Err(failure)
            }
        }
    }

    fn check_factors(
        &self,
        user: &UserRecord,
        role: Role,
        password: &str,
        totp: Option<&str>,
        enrolled: bool,
        now: i64,
    ) -> Result<(), LoginFailure> {
        let hash = PasswordHash::from_stored(user.password_hash.clone());
        verify_password(&hash, password).map_err(|_| LoginFailure::Credentials)?;
        if !role.is_person() {
            return Err(LoginFailure::Credentials);
        }
        if !(role.requires_mfa() || enrolled) {
            return Ok(());
        }
        if !enrolled {
            return Err(LoginFailure::MfaNotEnrolled);
        }
        let code = totp.ok_or(LoginFailure::Credentials)?;
        let secret = self
            .store
            .totp_secret(user)?
            .ok_or(LoginFailure::MfaNotEnrolled)?;
        let totp = Totp::from_secret(&secret).map_err(|_| LoginFailure::Credentials)?;
        let last = self.store.user_security(&user.id)?.totp_last_step;
        let step = totp
            .verify(code, now, last)
            .map_err(|_| LoginFailure::Credentials)?;
        // The store decides atomically, so two sign-ins racing with one code cannot both pass.
        if !self.store.claim_totp_step(&user.id, step)? {
            return Err(LoginFailure::Credentials);
        }
        Ok(())
    }

    fn audit_sign_in(
        &self,
        user: Option<&UserRecord>,
        client_id: &str,
        outcome: Outcome,
        detail: &str,
    ) -> Result<(), OAuthError> {
        let actor = Actor {
            user_id: user.map_or_else(|| "unknown".to_owned(), |u| u.id.clone()),
            role: user.map_or_else(String::new, |u| u.role.clone()),
            client_id: Some(client_id.to_owned()),
            address: None,
        };
        let mut event = AuditEvent::new(actor, Action::SignIn, outcome);
        event.detail = Some(detail.to_owned());
        self.audit.append(event)?;
        Ok(())
    }
}
