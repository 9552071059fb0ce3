//! Short-lived access tokens: compact JWS (RFC 7515) signed with Ed25519 (`alg: EdDSA`).
//!
//! Verification checks the header, the signature against one of the published keys, the
//! audience, the issuer, the time window (`nbf`, `iat`, `exp`), that the token was never issued
//! for longer than [`MAX_ACCESS_TOKEN_TTL`], and that its `jti` was not revoked; anything else is
//! refused without saying more than which check failed.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::verified::SignedBy;
use crate::{AuthError, Principal, RevocationList, VerifiedTokens};

/// Access tokens never live longer than this.
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// Allowed clock skew between Phigate replicas.
pub(crate) const LEEWAY_SECS: i64 = 30;

/// The claims Phigate puts in an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user or client id.
    pub sub: String,
    /// Audience the token is for.
    pub aud: String,
    /// Tenant.
    pub tenant: String,
    /// Role names; the first is the one the caller acts in.
    pub roles: Vec<String>,
    /// Space-separated scopes.
    pub scope: String,
    /// The OAuth client the token was issued to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// For a patient's token: the keyed reference of the one patient record the account is
    /// bound to (an HMAC, not an identifier). Patient-facing routes take the patient from here
    /// and from nowhere else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// Unique token id, for revocation and audit.
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// Signs access tokens. Holds the private key; its `Debug` shows only the key id.
pub struct TokenSigner {
    key: Ed25519KeyPair,
    kid: String,
    issuer: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// Generates a new Ed25519 key as PKCS#8 bytes, for the caller to store.
    pub fn generate_pkcs8() -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| AuthError::Key("could not generate an Ed25519 key"))?;
        Ok(Zeroizing::new(doc.as_ref().to_vec()))
    }

    /// Loads a signer from PKCS#8 bytes.
    pub fn from_pkcs8(pkcs8: &[u8], issuer: &str) -> Result<Self, AuthError> {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| AuthError::Key("not an Ed25519 PKCS#8 key"))?;
        let kid = key_id(key.public_key().as_ref());
        Ok(Self {
            key,
            kid,
            issuer: issuer.to_owned(),
        })
    }

    /// The key id written into every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The issuer written into every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// The verifier matching this signer.
    pub fn verifier(&self, audience: &str) -> TokenVerifier {
        TokenVerifier::new(
            vec![(self.kid.clone(), self.public_key().to_vec())],
            &self.issuer,
            audience,
        )
    }

    /// Issues a token for `principal`, valid for `ttl` (capped at 15 minutes) from `now`.
    pub fn issue(
        &self,
        principal: &Principal,
        audience: &str,
        ttl: Duration,
        now: i64,
    ) -> Result<String, AuthError> {
        self.issue_for_client(principal, None, audience, ttl, now)
    }

    /// Like [`issue`](Self::issue), naming the OAuth client the token goes to.
    pub fn issue_for_client(
        &self,
        principal: &Principal,
        client_id: Option<&str>,
        audience: &str,
        ttl: Duration,
        now: i64,
    ) -> Result<String, AuthError> {
        self.issue_bound(principal, client_id, None, audience, ttl, now)
    }

    /// Like [`issue_for_client`](Self::issue_for_client), binding the token to one patient
    /// record by its keyed reference (for the patient role).
    pub fn issue_bound(
        &self,
        principal: &Principal,
        client_id: Option<&str>,
        patient: Option<&str>,
        audience: &str,
        ttl: Duration,
        now: i64,
    ) -> Result<String, AuthError> {
        let ttl = ttl.min(MAX_ACCESS_TOKEN_TTL).as_secs() as i64;
        let mut jti = [0u8; 16];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| AuthError::Key("no randomness"))?;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: principal.user_id.clone(),
            aud: audience.to_owned(),
            tenant: principal.tenant.clone(),
            roles: vec![principal.role.as_str().to_owned()],
            scope: principal.scopes.join(" "),
            client_id: client_id.map(str::to_owned),
            patient: patient.map(str::to_owned),
            jti: hex::encode(jti),
            iat: now,
            nbf: now,
            exp: now + ttl,
        };
        self.sign_claims(&claims)
    }

    /// Signs arbitrary claims. Only for tests of the verifier and for the issuer itself.
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        let header = Header {
            alg: "EdDSA".into(),
            typ: "JWT".into(),
            kid: self.kid.clone(),
        };
        let signing_input = format!("{}.{}", encode_json(&header)?, encode_json(claims)?);
        let signature = self.key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            B64.encode(signature.as_ref())
        ))
    }
}

/// Verifies access tokens against a set of published public keys.
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    keys: Vec<(String, Vec<u8>)>,
    issuer: String,
    audience: String,
    revocations: Option<Arc<RevocationList>>,
}

impl TokenVerifier {
    /// A verifier trusting `keys` (key id, raw Ed25519 public key).
    pub fn new(keys: Vec<(String, Vec<u8>)>, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            revocations: None,
        }
    }

    /// Also refuses tokens whose `jti` is on `list`.
    pub fn with_revocations(mut self, list: Arc<RevocationList>) -> Self {
        self.revocations = Some(list);
        self
    }

    /// The audience this verifier accepts.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Checks the signature, issuer and audience only, ignoring time and revocation: for
    /// revocation requests, which must accept a token that has just expired.
    pub fn verify_signature(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_signed_by(token).map(|(claims, _)| claims)
    }

    /// Like [`verify_signature`](Self::verify_signature), also saying which key signed it.
    fn verify_signed_by(&self, token: &str) -> Result<(Claims, SignedBy), AuthError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::InvalidToken("not a compact JWS"));
        };
        let header: Header = decode_json(h)?;
        if header.alg != "EdDSA" {
            return Err(AuthError::InvalidToken("unexpected algorithm"));
        }
        let Some((kid, public_key)) = self.keys.iter().find(|(kid, _)| *kid == header.kid) else {
            return Err(AuthError::InvalidToken("unknown key id"));
        };
        let signature = B64
            .decode(s)
            .map_err(|_| AuthError::InvalidToken("bad signature encoding"))?;
        let signing_input = &token[..h.len() + 1 + c.len()];
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| AuthError::InvalidToken("bad signature"))?;

        let claims: Claims = decode_json(c)?;
        self.check_parties(&claims)?;
        let signed_by = SignedBy {
            kid: kid.clone(),
            public_key: public_key.clone(),
        };
        Ok((claims, signed_by))
    }

    /// The issuer and audience checks.
    fn check_parties(&self, claims: &Claims) -> Result<(), AuthError> {
        if claims.iss != self.issuer {
            return Err(AuthError::InvalidToken("wrong issuer"));
        }
        if claims.aud != self.audience {
            return Err(AuthError::InvalidToken("wrong audience"));
        }
        Ok(())
    }

    /// Verifies `token` at time `now` and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        let claims = self.verify_signature(token)?;
        self.check_current(claims, now)
    }

    /// Like [`verify`](Self::verify), checking the signature only if `seen` does not already
    /// hold this token as signed by a key this verifier still trusts (see `verified`); every
    /// other check is made on every call. A token that passes is remembered in `seen`.
    pub fn verify_remembered(
        &self,
        token: &str,
        now: i64,
        seen: &VerifiedTokens,
    ) -> Result<Claims, AuthError> {
        let remembered = seen.get(token).filter(|(claims, signed_by)| {
            self.keys
                .iter()
                .any(|(kid, key)| *kid == signed_by.kid && *key == signed_by.public_key)
                && self.check_parties(claims).is_ok()
        });
        let claims = match remembered {
            Some((claims, _)) => claims,
            None => {
                let (claims, signed_by) = self.verify_signed_by(token)?;
                let claims = self.check_current(claims, now)?;
                seen.insert(token, &claims, signed_by);
                return Ok(claims);
            }
        };
        self.check_current(claims, now)
    }

    /// The checks that depend on the time and on the revocation list.
    fn check_current(&self, claims: Claims, now: i64) -> Result<Claims, AuthError> {
        if claims.exp - claims.iat > MAX_ACCESS_TOKEN_TTL.as_secs() as i64 {
            return Err(AuthError::InvalidToken("lifetime longer than allowed"));
        }
        if claims.iat > now + LEEWAY_SECS || claims.nbf > now + LEEWAY_SECS {
            return Err(AuthError::NotYetValid);
        }
        if now >= claims.exp + LEEWAY_SECS {
            return Err(AuthError::Expired);
        }
        if self
            .revocations
            .as_ref()
            .is_some_and(|list| list.is_revoked(&claims.jti))
        {
            return Err(AuthError::Revoked);
        }
        Ok(claims)
    }
}

/// The key id of a raw public key: base64url of the first 12 bytes of its SHA-256.
pub(crate) fn key_id(public_key: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, public_key);
    B64.encode(&digest.as_ref()[..12])
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, AuthError> {
    let bytes = serde_json::to_vec(value).map_err(|_| AuthError::InvalidToken("unencodable"))?;
    Ok(B64.encode(bytes))
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, AuthError> {
    let bytes = B64
        .decode(part)
        .map_err(|_| AuthError::InvalidToken("bad base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::InvalidToken("bad JSON"))
}

#[cfg(test)]
pub(crate) mod tests;
