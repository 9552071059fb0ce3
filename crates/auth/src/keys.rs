//! The token signing keys of one issuer, with rotation and their JWKS.
//!
//! Rotation makes a new key current for signing. The previous key stops signing at once but
//! stays published, and trusted by verifiers, until every token it could have signed has
//! expired: rotation time plus the longest lifetime plus clock leeway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::token::LEEWAY_SECS;
use crate::{AuthError, MAX_ACCESS_TOKEN_TTL, TokenSigner, TokenVerifier};

/// A key that no longer signs but whose tokens may still be in use.
#[derive(Clone, Debug)]
struct Retired {
    kid: String,
    public_key: Vec<u8>,
    until: i64,
}

/// The current signer and the retired keys still published.
#[derive(Debug)]
pub struct TokenKeys {
    current: TokenSigner,
    retired: Vec<Retired>,
}

impl TokenKeys {
    /// A key set with one key.
    pub fn new(current: TokenSigner) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }

    /// The key that signs new tokens.
    pub fn signer(&self) -> &TokenSigner {
        &self.current
    }

    /// Makes `next` the signing key at `now`; the old one stays published until its last
    /// possible token has expired. `next` must have the same issuer.
    pub fn rotate(&mut self, next: TokenSigner, now: i64) -> Result<(), AuthError> {
        if next.issuer() != self.current.issuer() || next.kid() == self.current.kid() {
            return Err(AuthError::Key(
                "a rotated key must be new and for the same issuer",
            ));
        }
        let old = std::mem::replace(&mut self.current, next);
        self.retired.push(Retired {
            kid: old.kid().to_owned(),
            public_key: old.public_key().to_vec(),
            until: Self::retirement_end(now),
        });
        Ok(())
    }

    /// When a key retired at `now` may leave the JWKS: its last possible token has expired.
    pub fn retirement_end(now: i64) -> i64 {
        now + MAX_ACCESS_TOKEN_TTL.as_secs() as i64 + LEEWAY_SECS
    }

    /// Publishes a key retired earlier, by another process (`phigate keys rotate-signing`),
    /// until `until`. The current key is never listed twice.
    pub fn publish_retired(&mut self, kid: &str, public_key: &[u8], until: i64) {
        if kid == self.current.kid() || self.retired.iter().any(|r| r.kid == kid) {
            return;
        }
        self.retired.push(Retired {
            kid: kid.to_owned(),
            public_key: public_key.to_vec(),
            until,
        });
    }

    fn published(&self, now: i64) -> impl Iterator<Item = (&str, &[u8])> {
        std::iter::once((self.current.kid(), self.current.public_key())).chain(
            self.retired
                .iter()
                .filter(move |r| r.until > now)
                .map(|r| (r.kid.as_str(), r.public_key.as_slice())),
        )
    }

    /// A verifier trusting every key published at `now`.
    pub fn verifier(&self, audience: &str, now: i64) -> TokenVerifier {
        TokenVerifier::new(
            self.published(now)
                .map(|(kid, key)| (kid.to_owned(), key.to_vec()))
                .collect(),
            self.current.issuer(),
            audience,
        )
    }

    /// The JSON Web Key Set (RFC 7517, OKP keys per RFC 8037) published at `now`.
    pub fn jwks(&self, now: i64) -> Value {
        let keys: Vec<Value> = self
            .published(now)
            .map(|(kid, key)| {
                json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                       "kid": kid, "x": B64.encode(key)})
            })
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Principal, Role};

    const NOW: i64 = 1_800_000_000;

    fn signer() -> TokenSigner {
        TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "iss").unwrap()
    }

    #[test]
    fn an_old_key_stays_published_until_its_tokens_expire() {
        let mut keys = TokenKeys::new(signer());
        let principal = Principal::with_role("u", "t", Role::Nurse);
        let old_token = keys
            .signer()
            .issue(&principal, "aud", MAX_ACCESS_TOKEN_TTL, NOW)
            .unwrap();
        let old_kid = keys.signer().kid().to_owned();
        keys.rotate(signer(), NOW).unwrap();
        assert_ne!(keys.signer().kid(), old_kid);

        let new_token = keys
            .signer()
            .issue(&principal, "aud", Duration::from_secs(60), NOW)
            .unwrap();
        let verifier = keys.verifier("aud", NOW + 60);
        assert!(verifier.verify(&old_token, NOW + 60).is_ok());
        assert!(verifier.verify(&new_token, NOW + 60).is_ok());
        let jwks = keys.jwks(NOW + 60);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(jwks.to_string().contains(&old_kid));

        let later = NOW + 900 + LEEWAY_SECS;
        let jwks = keys.jwks(later);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert!(!jwks.to_string().contains(&old_kid));
        assert!(keys.verifier("aud", later).verify(&old_token, NOW).is_err());
    }

    #[test]
    fn the_jwks_holds_public_keys_only() {
        let keys = TokenKeys::new(signer());
        let jwks = keys.jwks(NOW);
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert!(key.get("d").is_none());
        assert_eq!(
            B64.decode(key["x"].as_str().unwrap()).unwrap(),
            keys.signer().public_key()
        );
    }

    #[test]
    fn rotating_to_the_same_key_or_another_issuer_is_refused() {
        let pkcs8 = TokenSigner::generate_pkcs8().unwrap();
        let mut keys = TokenKeys::new(TokenSigner::from_pkcs8(&pkcs8, "iss").unwrap());
        assert!(
            keys.rotate(TokenSigner::from_pkcs8(&pkcs8, "iss").unwrap(), NOW)
                .is_err()
        );
        let other = TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "x").unwrap();
        assert!(keys.rotate(other, NOW).is_err());
    }
}
