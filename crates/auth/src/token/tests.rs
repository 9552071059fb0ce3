use super::*;
use crate::Role;

pub(crate) const NOW: i64 = 1_800_000_000;

pub(crate) fn signer() -> TokenSigner {
    TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "phigate-test").unwrap()
}

pub(crate) fn principal() -> Principal {
    Principal {
        user_id: "u-1".into(),
        tenant: "t".into(),
        role: Role::Clinician,
        scopes: vec!["task/clinical-note".into()],
    }
}

fn claims(signer: &TokenSigner) -> Claims {
    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(600), NOW)
        .unwrap();
    signer.verifier("phigate").verify(&token, NOW).unwrap()
}

#[test]
fn an_issued_token_verifies_into_its_principal_and_carries_every_claim() {
    let signer = signer();
    let token = signer
        .issue_for_client(
            &principal(),
            Some("app-1"),
            "phigate",
            Duration::from_secs(600),
            NOW,
        )
        .unwrap();
    let claims = signer.verifier("phigate").verify(&token, NOW + 10).unwrap();
    assert_eq!(Principal::from_claims(&claims).unwrap(), principal());
    assert_eq!(claims.exp - claims.iat, 600);
    assert_eq!(claims.nbf, NOW);
    assert_eq!(claims.roles, ["clinician"]);
    assert_eq!(claims.client_id.as_deref(), Some("app-1"));
    assert_eq!(claims.jti.len(), 32);
    assert_eq!(claims.aud, "phigate");
    assert_eq!(claims.tenant, "t");
}

#[test]
fn lifetimes_are_capped_at_fifteen_minutes() {
    let signer = signer();
    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(86_400), NOW)
        .unwrap();
    let claims = signer.verifier("phigate").verify(&token, NOW).unwrap();
    assert_eq!(claims.exp - claims.iat, 900);

    // A token signed with a longer lifetime (by a buggy or hostile issuer) is refused.
    let mut long = claims.clone();
    long.exp = long.iat + 3600;
    let token = signer.sign_claims(&long).unwrap();
    assert!(matches!(
        signer.verifier("phigate").verify(&token, NOW),
        Err(AuthError::InvalidToken("lifetime longer than allowed"))
    ));
}

#[test]
fn expired_tokens_are_refused() {
    let signer = signer();
    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
        .unwrap();
    let verifier = signer.verifier("phigate");
    assert!(verifier.verify(&token, NOW + 60 + LEEWAY_SECS - 1).is_ok());
    let verdict = verifier.verify(&token, NOW + 60 + LEEWAY_SECS);
    assert!(matches!(verdict, Err(AuthError::Expired)));
}

#[test]
fn not_yet_valid_tokens_are_refused() {
    let signer = signer();
    let mut future = claims(&signer);
    future.nbf = NOW + 300;
    let token = signer.sign_claims(&future).unwrap();
    assert!(matches!(
        signer.verifier("phigate").verify(&token, NOW),
        Err(AuthError::NotYetValid)
    ));
    assert!(signer.verifier("phigate").verify(&token, NOW + 300).is_ok());

    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(60), NOW + 120)
        .unwrap();
    assert!(matches!(
        signer.verifier("phigate").verify(&token, NOW),
        Err(AuthError::NotYetValid)
    ));
}

#[test]
fn forged_tokens_are_refused() {
    let signer = signer();
    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
        .unwrap();
    let verifier = signer.verifier("phigate");

    // Claims swapped for an administrator's, signature kept.
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut admin = claims(&signer);
    admin.roles = vec!["admin".into()];
    let forged_claims = B64.encode(serde_json::to_vec(&admin).unwrap());
    parts[1] = &forged_claims;
    assert!(matches!(
        verifier.verify(&parts.join("."), NOW),
        Err(AuthError::InvalidToken("bad signature"))
    ));

    // Signed by another key that claims this signer's key id.
    let other = self::signer();
    let mut header: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    header["kid"] = signer.kid().into();
    let body = token.split('.').nth(1).unwrap();
    let input = format!("{}.{body}", B64.encode(header.to_string()));
    let sig = other.key.sign(input.as_bytes());
    let forged = format!("{input}.{}", B64.encode(sig.as_ref()));
    assert!(verifier.verify(&forged, NOW).is_err());

    // A token from another key altogether.
    assert!(matches!(
        other.verifier("phigate").verify(&token, NOW),
        Err(AuthError::InvalidToken("unknown key id"))
    ));

    // Garbage.
    for junk in ["a.b", "", "a.b.c", "...", &format!("{token}.x")] {
        assert!(verifier.verify(junk, NOW).is_err(), "{junk}");
    }
}

#[test]
fn the_none_algorithm_is_refused() {
    let signer = signer();
    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
        .unwrap();
    let claims = token.split('.').nth(1).unwrap();
    for alg in ["none", "None", "HS256", "ES256"] {
        let header = B64.encode(format!(
            r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#,
            signer.kid()
        ));
        let verdict = signer
            .verifier("phigate")
            .verify(&format!("{header}.{claims}."), NOW);
        assert!(
            matches!(
                verdict,
                Err(AuthError::InvalidToken("unexpected algorithm"))
            ),
            "{alg}"
        );
    }
}

#[test]
fn wrong_audience_tokens_are_refused() {
    let signer = signer();
    let token = signer
        .issue(&principal(), "other-api", Duration::from_secs(60), NOW)
        .unwrap();
    assert!(matches!(
        signer.verifier("phigate").verify(&token, NOW),
        Err(AuthError::InvalidToken("wrong audience"))
    ));
}

#[test]
fn wrong_issuer_tokens_are_refused() {
    let signer = signer();
    let mut foreign = claims(&signer);
    foreign.iss = "https://elsewhere.invalid".into();
    let token = signer.sign_claims(&foreign).unwrap();
    assert!(matches!(
        signer.verifier("phigate").verify(&token, NOW),
        Err(AuthError::InvalidToken("wrong issuer"))
    ));
}

#[test]
fn revoked_tokens_are_refused() {
    let signer = signer();
    let list = Arc::new(RevocationList::new());
    let verifier = signer.verifier("phigate").with_revocations(list.clone());
    let token = signer
        .issue(&principal(), "phigate", Duration::from_secs(60), NOW)
        .unwrap();
    let claims = verifier.verify(&token, NOW).unwrap();
    list.revoke(&claims.jti, claims.exp);
    assert!(matches!(
        verifier.verify(&token, NOW),
        Err(AuthError::Revoked)
    ));
}

#[test]
fn debug_shows_no_key_material() {
    let shown = format!("{:?}", signer());
    assert!(shown.starts_with("TokenSigner { kid: ") && shown.ends_with(".. }"));
}

#[test]
fn a_bound_token_carries_its_patient_reference_and_an_unbound_one_none() {
    let signer = signer();
    let patient = "ab".repeat(32);
    let token = signer
        .issue_bound(
            &principal(),
            Some("portal"),
            Some(&patient),
            "phigate",
            Duration::from_secs(600),
            NOW,
        )
        .unwrap();
    let bound = signer.verifier("phigate").verify(&token, NOW).unwrap();
    assert_eq!(bound.patient.as_deref(), Some(patient.as_str()));
    assert_eq!(claims(&signer).patient, None);
}
