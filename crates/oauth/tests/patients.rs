//! Patients sign in like staff, through the authorization code flow with PKCE, and every access
//! token they get (refreshed ones included) names the one record their account is bound to; a
//! patient account with no binding gets no token, and a patient cannot sign in through a staff
//! application.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::{PASSWORD, REDIRECT, error_code, pkce, query_param, start};
use phigate_auth::Role;
use serde_json::Value;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_patients_tokens_carry_their_bound_record_through_sign_in_and_refresh() {
    let h = start(|_| {}).await;
    h.add_user("pat.a", Role::Patient, false);
    h.add_client("portal", "none", Role::Patient, None);
    let bound = h.store.patient_ref(common::TENANT, "patient-a");
    h.store
        .bind_patient_account("id-pat.a", common::TENANT, &bound)
        .unwrap();

    let tokens = h.code_flow("portal", "pat.a", None).await;
    let claims = h
        .server
        .verifier(now())
        .verify(tokens["access_token"].as_str().unwrap(), now())
        .unwrap();
    assert_eq!(claims.roles, ["patient"]);
    assert_eq!(claims.patient.as_deref(), Some(bound.as_str()));
    assert!(claims.scope.contains("task/assistant"));
    assert!(!claims.scope.contains("user/"), "no staff scope");

    let refreshed: Value = h
        .refresh("portal", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let claims = h
        .server
        .verifier(now())
        .verify(refreshed["access_token"].as_str().unwrap(), now())
        .unwrap();
    assert_eq!(claims.patient.as_deref(), Some(bound.as_str()));
}

#[tokio::test]
async fn a_patient_account_without_a_record_gets_no_token() {
    let h = start(|_| {}).await;
    h.add_user("pat.unbound", Role::Patient, false);
    h.add_client("portal", "none", Role::Patient, None);
    let (verifier, challenge) = pkce();
    let answer = h
        .sign_in("portal", &challenge, "pat.unbound", PASSWORD, None)
        .await;
    assert_eq!(answer.status(), 303);
    let code = query_param(answer.headers()["location"].to_str().unwrap(), "code");
    let response = h
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_grant");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn a_patient_signing_in_through_a_staff_application_gets_no_scope() {
    let h = start(|_| {}).await;
    h.add_user("pat.a", Role::Patient, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    h.store
        .bind_patient_account(
            "id-pat.a",
            common::TENANT,
            &h.store.patient_ref(common::TENANT, "patient-a"),
        )
        .unwrap();
    let (_, challenge) = pkce();
    let answer = h.sign_in("ehr", &challenge, "pat.a", PASSWORD, None).await;
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&location, "error"), "invalid_scope");
}
