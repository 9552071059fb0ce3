//! What the web console relies on: its pages served with a strict Content-Security-Policy and
//! never cached; the auditors' body-carried search, disclosures report and chain status; and
//! drafts read beside their sources and rejected with a reason kept out of the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod console_harness;

use console_harness::*;
use phigate_auth::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn console_pages_carry_a_strict_policy_and_are_never_cached() {
    let h = start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let index = client
        .get(format!("{}/console/", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let html = index.headers().clone();
    let page = index.text().await.unwrap();
    for path in [
        "/console/",
        "/console/callback",
        "/console/console.js",
        "/console/console.css",
    ] {
        let response = client.get(format!("{}{path}", h.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], CSP, "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    assert!(
        html["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // No inline script or style: the policy would block them, and the page must not need them.
    let lowered = page.to_lowercase();
    assert!(!lowered.contains("<style") && !lowered.contains(" style="));
    for script in lowered.split("<script").skip(1) {
        assert!(
            script.split('>').next().unwrap().contains("src="),
            "inline script"
        );
    }
    assert_eq!(
        client
            .get(format!("{}/console/secret.js", h.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let bare = client
        .get(format!("{}/console", h.url))
        .send()
        .await
        .unwrap();
    assert!(bare.status().is_redirection());
    assert_eq!(bare.headers()["location"], "/console/");
}

#[tokio::test]
async fn auditors_search_by_patient_in_the_body_and_see_the_chain_verified() {
    let h = start().await;
    let id = h.draft("Assessment: migraine.").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/audit/search",
            Some(json!({"patient": PATIENT})),
        ),
        (
            Method::POST,
            "/v1/audit/disclosures",
            Some(json!({"patient": PATIENT})),
        ),
        (Method::GET, "/v1/audit/status", None),
    ] {
        for role in [Role::Clinician, Role::Admin, Role::Nurse, Role::Service] {
            let (status, _) = h.call(method.clone(), path, role, body.clone()).await;
            assert_eq!(status, 403, "{path} as {role:?}");
        }
    }
    let reference = h.store.patient_ref(TENANT, PATIENT);
    let found = h
        .send(
            Method::POST,
            "/v1/audit/search",
            Role::Auditor,
            Some(json!({"patient": PATIENT, "action": "draft_stored"})),
        )
        .await;
    let entries = found["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["event"]["patient_ref"], reference.as_str());
    assert!(
        entries[0]["event"]["detail"]
            .as_str()
            .unwrap()
            .contains(&id)
    );
    let everything = h
        .send(Method::POST, "/v1/audit/search", Role::Auditor, None)
        .await;
    assert!(everything["entries"].as_array().unwrap().len() > entries.len());
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/audit/search",
            Role::Auditor,
            Some(json!({"patient": PATIENT, "nonsense": true})),
        )
        .await;
    assert_eq!(status, 400);

    let report = h
        .send(
            Method::POST,
            "/v1/audit/disclosures",
            Role::Auditor,
            Some(json!({"patient": PATIENT})),
        )
        .await;
    assert_eq!(report["patient_ref"], reference.as_str());
    assert_eq!(report["disclosures"].as_array().unwrap().len(), 1);

    h.audit.checkpoint().unwrap();
    let status = h
        .send(Method::GET, "/v1/audit/status", Role::Auditor, None)
        .await;
    assert_eq!(status["verified"], true, "{status}");
    assert!(status["size"].as_u64().unwrap() >= 5);
    assert!(status["first_bad_seq"].is_null());
    assert!(
        !h.everything_logged().contains(PATIENT),
        "the identifier is never kept"
    );
}

#[tokio::test]
async fn a_draft_is_read_beside_its_sources_and_rejected_with_a_reason_the_log_never_holds() {
    let h = start().await;
    let id = h.draft("Assessment: migraine in [NAME_1].").await;
    let path = format!("/v1/drafts/{id}");
    let draft = h.send(Method::GET, &path, Role::Clinician, None).await;
    let input = draft["sources"]["input"].as_str().unwrap();
    assert!(
        input.contains(FAMILY),
        "the input is shown with its identifiers in place"
    );
    let record = &draft["sources"]["record"];
    assert_eq!(record["patient"]["sex"], "female");
    assert!(
        record["patient"]["name"].as_str().unwrap().contains(FAMILY),
        "the record is shown restored"
    );
    // A nurse may not read a clinical note's draft, nor so its sources.
    let (status, _) = h.call(Method::GET, &path, Role::Nurse, None).await;
    assert_eq!(status, 403);

    let reason = format!("Wrong patient: this is not {FAMILY}'s visit.");
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{path}/reject"),
            Role::Nurse,
            Some(json!({"reason": reason})),
        )
        .await;
    assert_eq!(status, 403, "only a signer rejects");
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{path}/reject"),
            Role::Clinician,
            Some(json!({"reason": "  "})),
        )
        .await;
    assert_eq!(status, 400, "a reason is not blank");
    let rejected = h
        .send(
            Method::POST,
            &format!("{path}/reject"),
            Role::Clinician,
            Some(json!({"reason": reason})),
        )
        .await;
    assert_eq!(rejected["status"], "rejected");
    let read = h.send(Method::GET, &path, Role::Clinician, None).await;
    assert_eq!(read["body"]["rejection"]["reason"], reason.as_str());
    assert!(!h.everything_logged().contains("Wrong patient"));
    assert!(!h.everything_logged().contains(FAMILY));
    let (status, _) = h
        .call(
            Method::POST,
            &format!("{path}/reject"),
            Role::Clinician,
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!(status, 409, "a reviewed draft stays as it was decided");
}
