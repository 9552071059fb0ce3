use std::sync::Arc;
use std::time::Duration;

use super::VerifiedTokens;
use crate::token::tests::{NOW, principal, signer};
use crate::{AuthError, RevocationList, TokenSigner, TokenVerifier};

fn token(signer: &TokenSigner) -> String {
    signer
        .issue(&principal(), "phigate", Duration::from_secs(600), NOW)
        .unwrap()
}

#[test]
fn a_remembered_token_gives_the_same_claims_as_a_full_verification() {
    let signer = signer();
    let token = token(&signer);
    let verifier = signer.verifier("phigate");
    let seen = VerifiedTokens::default();
    let first = verifier.verify_remembered(&token, NOW, &seen).unwrap();
    assert_eq!(seen.len(), 1);
    let again = verifier.verify_remembered(&token, NOW + 5, &seen).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(first, again);
    assert_eq!(first, verifier.verify(&token, NOW).unwrap());
}

#[test]
fn a_remembered_token_still_expires_and_can_still_be_revoked() {
    let signer = signer();
    let token = token(&signer);
    let list = Arc::new(RevocationList::new());
    let verifier = signer.verifier("phigate").with_revocations(list.clone());
    let seen = VerifiedTokens::default();
    let claims = verifier.verify_remembered(&token, NOW, &seen).unwrap();
    assert!(matches!(
        verifier.verify_remembered(&token, NOW + 3600, &seen),
        Err(AuthError::Expired)
    ));
    list.revoke(&claims.jti, claims.exp);
    assert!(matches!(
        verifier.verify_remembered(&token, NOW + 1, &seen),
        Err(AuthError::Revoked)
    ));
}

#[test]
fn a_token_signed_by_a_key_no_longer_trusted_is_refused_even_when_remembered() {
    let old = signer();
    let token = token(&old);
    let seen = VerifiedTokens::default();
    old.verifier("phigate")
        .verify_remembered(&token, NOW, &seen)
        .unwrap();
    assert_eq!(seen.len(), 1);

    // The key rotated out: a verifier trusting only the new key.
    let new = signer();
    let rotated = new.verifier("phigate");
    assert!(rotated.verify_remembered(&token, NOW, &seen).is_err());

    // The same key id bound to another public key is not the key that signed it either.
    let impostor = TokenVerifier::new(
        vec![(old.kid().to_owned(), new.public_key().to_vec())],
        old.issuer(),
        "phigate",
    );
    assert!(impostor.verify_remembered(&token, NOW, &seen).is_err());

    // Nor does a remembered token pass a verifier for another audience.
    assert!(
        old.verifier("elsewhere")
            .verify_remembered(&token, NOW, &seen)
            .is_err()
    );
}

#[test]
fn refused_tokens_are_never_remembered() {
    let signer = signer();
    let token = token(&signer);
    let verifier = signer.verifier("phigate");
    let seen = VerifiedTokens::default();

    // A forged signature: one character in the middle of the signature changed.
    let at = token.rfind('.').unwrap() + 20;
    let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
    assert!(verifier.verify_remembered(&forged, NOW, &seen).is_err());
    // Expired at first sight.
    assert!(
        verifier
            .verify_remembered(&token, NOW + 3600, &seen)
            .is_err()
    );
    assert!(seen.is_empty());

    // Remembering the real token does not make its forgery pass.
    verifier.verify_remembered(&token, NOW, &seen).unwrap();
    assert!(verifier.verify_remembered(&forged, NOW, &seen).is_err());
    assert_eq!(seen.len(), 1);
}

#[test]
fn the_set_stays_within_its_capacity() {
    let signer = signer();
    let verifier = signer.verifier("phigate");
    let seen = VerifiedTokens::with_capacity(3);
    for _ in 0..10 {
        let token = token(&signer);
        verifier.verify_remembered(&token, NOW, &seen).unwrap();
        assert!(seen.len() <= 3);
    }
    assert!(!seen.is_empty());
}

#[test]
fn debug_shows_no_token() {
    let signer = signer();
    let token = token(&signer);
    let seen = VerifiedTokens::default();
    signer
        .verifier("phigate")
        .verify_remembered(&token, NOW, &seen)
        .unwrap();
    let shown = format!("{seen:?}");
    assert!(!shown.contains(&token[..20]));
    assert!(shown.contains("len: 1"));
}
