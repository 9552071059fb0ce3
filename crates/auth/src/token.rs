//! Short-lived access tokens: compact JWS (RFC 7515) signed with Ed25519 (`alg: EdDSA`).
//!
//! Verification checks the header, the signature, the audience, the issuer, the time window and
//! that the token was never issued for longer than [`MAX_ACCESS_TOKEN_TTL`]; anything else is
//! refused without saying more than which check failed.

use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{AuthError, Principal};

/// Access tokens never live longer than this.
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// Allowed clock skew between Phigate replicas.
const LEEWAY_SECS: i64 = 30;

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
    /// Role name.
    pub role: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Unique token id, for revocation and audit.
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
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

    /// The verifier matching this signer.
    pub fn verifier(&self, audience: &str) -> TokenVerifier {
        TokenVerifier {
            public_key: self.key.public_key().as_ref().to_vec(),
            kid: self.kid.clone(),
            issuer: self.issuer.clone(),
            audience: audience.to_owned(),
        }
    }

    /// Issues a token for `principal`, valid for `ttl` (capped at 15 minutes) from `now`.
    pub fn issue(
        &self,
        principal: &Principal,
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
            role: principal.role.as_str().to_owned(),
            scope: principal.scopes.join(" "),
            jti: hex::encode(jti),
            iat: now,
            exp: now + ttl,
        };
        let header = Header {
            alg: "EdDSA".into(),
            typ: "JWT".into(),
            kid: self.kid.clone(),
        };
        let signing_input = format!("{}.{}", encode_json(&header)?, encode_json(&claims)?);
        let signature = self.key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            B64.encode(signature.as_ref())
        ))
    }
}

/// Verifies access tokens against one public key.
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    public_key: Vec<u8>,
    kid: String,
    issuer: String,
    audience: String,
}

impl TokenVerifier {
    /// Verifies `token` at time `now` and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
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
        if header.kid != self.kid {
            return Err(AuthError::InvalidToken("unknown key id"));
        }
        let signature = B64
            .decode(s)
            .map_err(|_| AuthError::InvalidToken("bad signature encoding"))?;
        let signing_input = &token[..h.len() + 1 + c.len()];
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| AuthError::InvalidToken("bad signature"))?;

        let claims: Claims = decode_json(c)?;
        if claims.iss != self.issuer {
            return Err(AuthError::InvalidToken("wrong issuer"));
        }
        if claims.aud != self.audience {
            return Err(AuthError::InvalidToken("wrong audience"));
        }
        if claims.exp - claims.iat > MAX_ACCESS_TOKEN_TTL.as_secs() as i64 {
            return Err(AuthError::InvalidToken("lifetime longer than allowed"));
        }
        if claims.iat > now + LEEWAY_SECS {
            return Err(AuthError::InvalidToken("issued in the future"));
        }
        if now >= claims.exp + LEEWAY_SECS {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }
}

fn key_id(public_key: &[u8]) -> String {
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
mod tests {
    use super::*;
    use crate::Role;

    const NOW: i64 = 1_800_000_000;

    fn signer() -> TokenSigner {
        TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "phigate-test").unwrap()
    }

    fn principal() -> Principal {
        Principal {
            user_id: "u-1".into(),
            tenant: "t".into(),
            role: Role::Clinician,
            scopes: vec!["task/clinical-note".into()],
        }
    }

    #[test]
    fn an_issued_token_verifies_into_its_principal() {
        let signer = signer();
        let token = signer
            .issue(&principal(), "phigate", Duration::from_secs(600), NOW)
            .unwrap();
        let claims = signer.verifier("phigate").verify(&token, NOW + 10).unwrap();
        assert_eq!(Principal::from_claims(&claims).unwrap(), principal());
        assert_eq!(claims.exp - claims.iat, 600);
    }

    #[test]
    fn lifetimes_are_capped_at_fifteen_minutes() {
        let signer = signer();
        let token = signer
            .issue(&principal(), "phigate", Duration::from_secs(86_400), NOW)
            .unwrap();
        let claims = signer.verifier("phigate").verify(&token, NOW).unwrap();
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let signer = signer();
        let token = signer
            .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
            .unwrap();
        let verdict = signer
            .verifier("phigate")
            .verify(&token, NOW + 60 + LEEWAY_SECS);
        assert!(matches!(verdict, Err(AuthError::Expired)));
    }

    #[test]
    fn tampered_tokens_and_other_keys_and_audiences_are_refused() {
        let signer = signer();
        let token = signer
            .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
            .unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_claims = B64.encode(br#"{"iss":"phigate-test","sub":"admin"}"#);
        parts[1] = &forged_claims;
        let forged = parts.join(".");
        let verifier = signer.verifier("phigate");
        assert!(verifier.verify(&forged, NOW).is_err());
        assert!(signer.verifier("other").verify(&token, NOW).is_err());
        assert!(
            self::signer()
                .verifier("phigate")
                .verify(&token, NOW)
                .is_err()
        );
        assert!(verifier.verify("a.b", NOW).is_err());
        assert!(verifier.verify("", NOW).is_err());
    }

    #[test]
    fn the_none_algorithm_is_refused() {
        let signer = signer();
        let token = signer
            .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
            .unwrap();
        let claims = token.split('.').nth(1).unwrap();
        let header = B64.encode(br#"{"alg":"none","typ":"JWT","kid":"x"}"#);
        let verdict = signer
            .verifier("phigate")
            .verify(&format!("{header}.{claims}."), NOW);
        assert!(matches!(verdict, Err(AuthError::InvalidToken(_))));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let shown = format!("{:?}", signer());
        assert!(shown.starts_with("TokenSigner { kid: ") && shown.ends_with(".. }"));
    }
}
