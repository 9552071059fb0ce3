//! The administrators' routes the web console uses (accounts, OAuth clients, keys): for the
//! admin role only, every refusal and every change audited, secrets shown once.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod console_harness;

use console_harness::*;
use phigate_audit::Action;
use phigate_auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_admin_routes_are_for_the_admin_role_only_and_refusals_are_audited() {
    let h = start().await;
    let routes: [(Method, &str, Option<Value>); 9] = [
        (Method::GET, "/v1/admin/users", None),
        (
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "x1", "role": "nurse"})),
        ),
        (Method::POST, "/v1/admin/users/admin-1/disable", None),
        (Method::POST, "/v1/admin/users/admin-1/enable", None),
        (Method::POST, "/v1/admin/users/admin-1/reset-mfa", None),
        (Method::GET, "/v1/admin/clients", None),
        (Method::POST, "/v1/admin/clients/nope/revoke", None),
        (Method::GET, "/v1/admin/keys", None),
        (Method::POST, "/v1/admin/keys/rotate", Some(json!({}))),
    ];
    for (method, path, body) in &routes {
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Admin) {
            let (status, error) = h.call(method.clone(), path, role, body.clone()).await;
            assert_eq!(status, 403, "{method} {path} as {role:?}");
            assert_eq!(error["error"]["type"], "permission_error");
        }
        let anonymous = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", h.url))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path}");
    }
    assert!(h.details(Action::Denial).len() >= routes.len() * 7);
    assert!(
        h.details(Action::ConfigChange).is_empty(),
        "nothing changed"
    );
}

#[tokio::test]
async fn an_admin_manages_accounts_clients_and_keys_and_every_change_is_audited() {
    let h = start().await;
    let created = h
        .send(
            Method::POST,
            "/v1/admin/users",
            Role::Admin,
            Some(json!({"username": "dr.ada", "role": "clinician"})),
        )
        .await;
    assert!(created["password"].as_str().unwrap().len() >= 16);
    assert!(created["totp_uri"].is_null(), "clinicians opt in to TOTP");
    let auditor = h
        .send(
            Method::POST,
            "/v1/admin/users",
            Role::Admin,
            Some(json!({"username": "aud.bo", "role": "auditor"})),
        )
        .await;
    assert!(
        auditor["totp_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/admin/users",
            Role::Admin,
            Some(json!({"username": "dr.ada", "role": "nurse"})),
        )
        .await;
    assert_eq!(status, 400, "a name is taken once");
    for bad in [
        json!({"username": "has space", "role": "nurse"}),
        json!({"username": "svc", "role": "service"}),
        json!({"username": "x", "role": "root"}),
        json!({"username": "x", "role": "nurse", "extra": 1}),
    ] {
        let (status, _) = h
            .call(Method::POST, "/v1/admin/users", Role::Admin, Some(bad))
            .await;
        assert_eq!(status, 400);
    }

    h.send(
        Method::POST,
        "/v1/admin/users/dr.ada/disable",
        Role::Admin,
        None,
    )
    .await;
    let users = h
        .send(Method::GET, "/v1/admin/users", Role::Admin, None)
        .await;
    let ada = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dr.ada")
        .unwrap();
    assert_eq!(ada["state"], "disabled");
    assert!(
        h.store
            .user_by_name(TENANT, "dr.ada")
            .unwrap()
            .unwrap()
            .disabled
    );
    h.send(
        Method::POST,
        "/v1/admin/users/dr.ada/enable",
        Role::Admin,
        None,
    )
    .await;
    let reset = h
        .send(
            Method::POST,
            "/v1/admin/users/dr.ada/reset-mfa",
            Role::Admin,
            None,
        )
        .await;
    assert!(reset["totp_uri"].as_str().unwrap().contains("secret="));
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/admin/users/nobody/disable",
            Role::Admin,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // An administrator cannot lock themselves out.
    let me = h.store.user_by_name(TENANT, "aud.bo").unwrap().unwrap();
    let token = h.token_for(&me.id, Role::Admin);
    let own = reqwest::Client::new()
        .post(format!("{}/v1/admin/users/aud.bo/disable", h.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 400);

    let client = h
        .send(
            Method::POST,
            "/v1/admin/clients",
            Role::Admin,
            Some(json!({"name": "ehr-bridge", "role": "service", "method": "client_secret_basic"})),
        )
        .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap();
    let stored = h.store.client(&id).unwrap().unwrap();
    assert_eq!(
        stored.secret_hash.as_deref(),
        Some(phigate_oauth::hash_client_secret(secret).as_str())
    );
    let (status, _) = h
        .call(
            Method::POST,
            "/v1/admin/clients",
            Role::Admin,
            Some(json!({"name": "x", "role": "service", "method": "none",
                        "redirect_uris": ["http://example.org/cb"]})),
        )
        .await;
    assert_eq!(status, 400, "plain HTTP off loopback is refused");
    let listed = h
        .send(Method::GET, "/v1/admin/clients", Role::Admin, None)
        .await;
    assert!(
        !listed.to_string().contains(secret),
        "the secret is shown once only"
    );
    h.send(
        Method::POST,
        &format!("/v1/admin/clients/{id}/revoke"),
        Role::Admin,
        None,
    )
    .await;
    assert!(h.store.client(&id).unwrap().unwrap().revoked);

    let before = h
        .send(Method::GET, "/v1/admin/keys", Role::Admin, None)
        .await;
    let rotated = h
        .send(
            Method::POST,
            "/v1/admin/keys/rotate",
            Role::Admin,
            Some(json!({})),
        )
        .await;
    let was = before["tenant"].as_array().unwrap().len() as u64;
    assert_eq!(rotated["tenant_version"], was + 1);
    let after = h
        .send(Method::GET, "/v1/admin/keys", Role::Admin, None)
        .await;
    assert_eq!(after["tenant"].as_array().unwrap().len() as u64, was + 1);

    let changes = h.details(Action::ConfigChange);
    for expected in [
        "user added with role clinician",
        "user added with role auditor",
        "user disabled",
        "user enabled",
        "user second factor reset",
        "added (client_secret_basic)",
        "revoked",
    ] {
        assert!(changes.iter().any(|d| d.contains(expected)), "{expected}");
    }
    assert_eq!(h.details(Action::KeyRotation).len(), 1);
    let logged = h.everything_logged();
    assert!(!logged.contains("dr.ada") && !logged.contains(secret));
    assert!(!logged.contains(created["password"].as_str().unwrap()));
}
