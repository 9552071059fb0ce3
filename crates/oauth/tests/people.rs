//! People: the authorization code flow with PKCE and the sign-in page, TOTP, lockout, refresh
//! rotation and reuse, idle logoff, revocation, introspection and discovery.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::time::Duration;

use common::{PASSWORD, REDIRECT, error_code, pkce, query_param, start};
use phigate_audit::{Action, Outcome};
use phigate_auth::Role;
use serde_json::Value;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_clinician_signs_in_with_pkce_and_gets_role_scoped_tokens() {
    let h = start(|_| {}).await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let tokens = h.code_flow("ehr", "dr.a", None).await;
    let claims = h
        .server
        .verifier(now())
        .verify(tokens["access_token"].as_str().unwrap(), now())
        .unwrap();
    assert_eq!(claims.sub, "id-dr.a");
    assert_eq!(claims.roles, ["clinician"]);
    assert!(claims.scope.contains("task/clinical-note"));
    assert!(!claims.scope.contains("admin/"));
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("phr_")
    );
    let actions: Vec<(Action, Outcome)> = h
        .audit
        .entries(0, 100)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.event)
        .map(|e| (e.action, e.outcome))
        .collect();
    assert!(actions.contains(&(Action::SignIn, Outcome::Success)));
    assert!(actions.contains(&(Action::TokenIssued, Outcome::Success)));
}

#[tokio::test]
async fn the_sign_in_page_is_hardened_and_names_no_one() {
    let h = start(|_| {}).await;
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    let page = h
        .http
        .get(common::authorize_url(
            &h.url,
            &[
                ("response_type", "code"),
                ("client_id", "ehr"),
                ("redirect_uri", REDIRECT),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback cannot keep a Secure cookie"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"totp\"") && html.contains("name=\"csrf\""));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn the_csrf_cookie_is_secure_when_the_server_is_reached_over_https() {
    let h = start(|config| config.secure_cookies = true).await;
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    let page = h
        .http
        .get(common::authorize_url(
            &h.url,
            &[
                ("response_type", "code"),
                ("client_id", "ehr"),
                ("redirect_uri", REDIRECT),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let https = phigate_oauth::OAuthConfig::new("https://phigate.example", "phigate", "t");
    assert!(
        https.secure_cookies,
        "an https issuer means Secure cookies by default"
    );
}

#[tokio::test]
async fn a_submission_without_the_csrf_cookie_is_refused() {
    let h = start(|_| {}).await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    let page = h
        .http
        .get(common::authorize_url(
            &h.url,
            &[
                ("response_type", "code"),
                ("client_id", "ehr"),
                ("redirect_uri", REDIRECT),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let request = common::hidden(&html, "request");
    let csrf = common::hidden(&html, "csrf");
    let forged = h
        .post_form(
            "/oauth/authorize",
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("username", "dr.a"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());
}

#[tokio::test]
async fn bad_authorization_requests_are_refused_without_an_open_redirect() {
    let h = start(|_| {}).await;
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    let get = |params: Vec<(&'static str, String)>| {
        let h = &h;
        async move {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.http
                .get(common::authorize_url(&h.url, &pairs))
                .send()
                .await
                .unwrap()
        }
    };
    let base = |extra: &[(&'static str, &str)]| {
        let mut params = vec![
            ("response_type", "code".to_owned()),
            ("client_id", "ehr".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            params.push((k, (*v).to_owned()));
        }
        params
    };
    // An unregistered redirect URI is shown an error page, never redirected to.
    let response = get(base(&[("redirect_uri", "https://evil.example/cb")])).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // The implicit flow and plain PKCE are refused back to the (registered) client.
    for (extra, code) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
    ] {
        let response = get(base(&extra)).await;
        assert_eq!(response.status(), 303, "{extra:?}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(REDIRECT));
        assert_eq!(query_param(location, "error"), code);
    }
}

#[tokio::test]
async fn a_code_works_once_with_its_verifier_and_a_replay_revokes_what_it_gave() {
    let h = start(|_| {}).await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let (verifier, challenge) = pkce();
    let answer = h.sign_in("ehr", &challenge, "dr.a", PASSWORD, None).await;
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query_param(&location, "state"), "s-123");
    assert_eq!(query_param(&location, "iss"), h.url);
    let code = query_param(&location, "code");
    let exchange = |verifier: String| {
        let h = &h;
        let code = code.clone();
        async move {
            let response = h
                .post_form(
                    "/oauth/token",
                    &[
                        ("grant_type", "authorization_code"),
                        ("client_id", "ehr"),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", &verifier),
                    ],
                )
                .await;
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (wrong_verifier, _) = pkce();
    let (status, body) = exchange(wrong_verifier).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_grant"));
    // The failed attempt consumed the code: codes are single use whatever happens.
    let (status, _) = exchange(verifier.clone()).await;
    assert_eq!(status, 400);

    // A fresh code, exchanged properly, then replayed: the replay is refused and the session
    // the code gave is revoked with it.
    let (verifier, challenge) = pkce();
    let answer = h.sign_in("ehr", &challenge, "dr.a", PASSWORD, None).await;
    let code = query_param(answer.headers()["location"].to_str().unwrap(), "code");
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "ehr"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let first = h.post_form("/oauth/token", &form).await;
    assert_eq!(first.status(), 200);
    let tokens: Value = first.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let replay = h.post_form("/oauth/token", &form).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(error_code(&replay.json().await.unwrap()), "invalid_grant");
    assert_eq!(h.refresh("ehr", &refresh).await.status(), 400);

    // An untouched session is not affected.
    let other = h.code_flow("ehr", "dr.a", None).await;
    let refresh = other["refresh_token"].as_str().unwrap();
    assert_eq!(h.refresh("ehr", refresh).await.status(), 200);
}

#[tokio::test]
async fn an_admin_needs_a_totp_code_and_a_code_works_only_once() {
    let h = start(|_| {}).await;
    let totp = h.add_user("root", Role::Admin, true).unwrap();
    h.add_user("no-mfa-admin", Role::Admin, false);
    h.add_client("console", "none", Role::Admin, None);
    let (_, challenge) = pkce();

    let without = h
        .sign_in("console", &challenge, "root", PASSWORD, None)
        .await;
    assert_eq!(without.status(), 401);
    assert!(without.text().await.unwrap().contains("Sign-in failed"));

    let code = totp.code_at(now());
    let with = h
        .sign_in("console", &challenge, "root", PASSWORD, Some(&code))
        .await;
    assert_eq!(with.status(), 303);

    let replay = h
        .sign_in("console", &challenge, "root", PASSWORD, Some(&code))
        .await;
    assert_eq!(replay.status(), 401, "a replayed code is refused");

    // An administrator without an enrolled second factor cannot sign in at all.
    let none = h
        .sign_in(
            "console",
            &challenge,
            "no-mfa-admin",
            PASSWORD,
            Some("123456"),
        )
        .await;
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let h = start(|c| {
        // No backoff here: this test is about the lockout (the backoff has unit tests in auth).
        c.lockout.base_delay = Duration::ZERO;
        c.lockout.lock_after = 3;
    })
    .await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    for _ in 0..3 {
        let r = h.sign_in("ehr", &challenge, "dr.a", "wrong", None).await;
        assert_eq!(r.status(), 401);
    }
    let right = h.sign_in("ehr", &challenge, "dr.a", PASSWORD, None).await;
    assert_eq!(right.status(), 401);
    let state = h.store.user_security("id-dr.a").unwrap();
    assert!(state.locked);
    h.store.set_user_disabled("north", "dr.a", false).unwrap();
    let after_enable = h.sign_in("ehr", &challenge, "dr.a", PASSWORD, None).await;
    assert_eq!(after_enable.status(), 303);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reusing_a_rotated_one_revokes_the_family() {
    let h = start(|c| c.refresh.grace = Duration::ZERO).await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let tokens = h.code_flow("ehr", "dr.a", None).await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = h.refresh("ehr", &r0).await.json().await.unwrap();
    let r1 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r0, r1);
    let third: Value = h.refresh("ehr", &r1).await.json().await.unwrap();
    let r2 = third["refresh_token"].as_str().unwrap().to_owned();

    // r0 is two generations back: presenting it is theft, and the family dies.
    let reuse = h.refresh("ehr", &r0).await;
    assert_eq!(reuse.status(), 400);
    assert_eq!(error_code(&reuse.json().await.unwrap()), "invalid_grant");
    let after = h.refresh("ehr", &r2).await;
    assert_eq!(after.status(), 400, "the live token died with its family");
}

#[tokio::test]
async fn a_concurrent_refresh_race_over_http_has_one_winner() {
    let h = start(|_| {}).await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let tokens = h.code_flow("ehr", "dr.a", None).await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let h = std::sync::Arc::new(h);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let h = h.clone();
            let r0 = r0.clone();
            tokio::spawn(async move {
                let response = h.refresh("ehr", &r0).await;
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 200 {
            winners.push(body["refresh_token"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(error_code(&body), "invalid_grant");
        }
    }
    assert_eq!(winners.len(), 1);
    // The winner's token is the family's one live token and still works.
    assert_eq!(h.refresh("ehr", &winners[0]).await.status(), 200);
}

#[tokio::test]
async fn a_session_idle_past_its_limit_must_sign_in_again() {
    let h = start(|c| c.refresh.idle = Duration::from_secs(1)).await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let tokens = h.code_flow("ehr", "dr.a", None).await;
    let r0 = tokens["refresh_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = h.refresh("ehr", &r0).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
    // Signing in again works.
    h.code_flow("ehr", "dr.a", None).await;
}

#[tokio::test]
async fn revoked_tokens_are_inactive_and_introspection_needs_a_client() {
    let h = start(|_| {}).await;
    h.add_user("dr.a", Role::Clinician, false);
    let secret = h.add_client("ehr", "client_secret_basic", Role::Clinician, None);
    let rs = h.add_client("rs", "client_secret_basic", Role::Service, None);
    let (verifier, challenge) = pkce();
    let answer = h.sign_in("ehr", &challenge, "dr.a", PASSWORD, None).await;
    let code = query_param(answer.headers()["location"].to_str().unwrap(), "code");
    let tokens: Value = h
        .post_basic(
            "/oauth/token",
            "ehr",
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let introspect = |token: String| {
        let h = &h;
        let rs = rs.clone();
        async move {
            h.post_basic("/oauth/introspect", "rs", &rs, &[("token", &token)])
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let active = introspect(access.to_owned()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["sub"], "id-dr.a");
    assert_eq!(active["client_id"], "ehr");
    assert_eq!(introspect(refresh.to_owned()).await["active"], true);
    assert_eq!(
        introspect("nonsense".into()).await,
        serde_json::json!({"active": false})
    );

    let anonymous = h.post_form("/oauth/introspect", &[("token", access)]).await;
    assert_eq!(anonymous.status(), 401);

    // Another client cannot revoke ehr's tokens; ehr can.
    let other = h
        .post_basic("/oauth/revoke", "rs", &rs, &[("token", access)])
        .await;
    assert_eq!(other.status(), 200);
    assert_eq!(introspect(access.to_owned()).await["active"], true);
    for token in [access, refresh] {
        let revoked = h
            .post_basic("/oauth/revoke", "ehr", &secret, &[("token", token)])
            .await;
        assert_eq!(revoked.status(), 200);
        assert_eq!(introspect(token.to_owned()).await["active"], false);
    }
    assert!(h.server.verifier(now()).verify(access, now()).is_err());
    let unknown = h
        .post_basic(
            "/oauth/revoke",
            "ehr",
            &secret,
            &[("token", "never-issued")],
        )
        .await;
    assert_eq!(unknown.status(), 200);
}

#[tokio::test]
async fn discovery_documents_and_the_jwks_describe_the_server() {
    let h = start(|_| {}).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/smart-configuration",
    ] {
        let doc: Value = h
            .http
            .get(format!("{}{path}", h.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], h.url.as_str());
        assert_eq!(doc["token_endpoint"], format!("{}/oauth/token", h.url));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        let grants = doc["grant_types_supported"].to_string();
        assert!(!grants.contains("implicit") && !grants.contains("password"));
        assert!(
            doc["scopes_supported"]
                .to_string()
                .contains("user/Observation.rs")
        );
    }
    let jwks: Value = h
        .http
        .get(format!("{}/oauth/jwks", h.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none());
}

/// Regression (security review, issue 5): an account in backoff or locked answered without
/// the Argon2 work every other refusal does, so timing told which usernames exist.
#[tokio::test]
async fn a_locked_account_takes_as_long_to_refuse_as_an_unknown_one() {
    let h = start(|c| {
        c.lockout.base_delay = Duration::ZERO;
        c.lockout.lock_after = 1;
    })
    .await;
    h.add_user("dr.a", Role::Clinician, false);
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    let first = h.sign_in("ehr", &challenge, "dr.a", "wrong", None).await;
    assert_eq!(first.status(), 401);
    assert!(h.store.user_security("id-dr.a").unwrap().locked);

    let fastest = |username: &'static str| {
        let h = &h;
        let challenge = challenge.clone();
        async move {
            let mut best = Duration::MAX;
            for _ in 0..3 {
                let started = std::time::Instant::now();
                let r = h.sign_in("ehr", &challenge, username, "wrong", None).await;
                assert_eq!(r.status(), 401);
                best = best.min(started.elapsed());
            }
            best
        }
    };
    let unknown = fastest("nobody.here").await;
    let locked = fastest("dr.a").await;
    // Both do one Argon2 verification; before the fix the locked account did none.
    assert!(
        locked * 3 >= unknown,
        "locked {locked:?} against unknown {unknown:?}"
    );
}

/// Regression (security review, issue 5): `GET /oauth/authorize` had no limit, so one client
/// could open 10,000 pending sign-ins and block everyone's for ten minutes.
#[tokio::test]
async fn one_address_can_neither_flood_the_sign_in_page_nor_fill_the_pending_table() {
    let h = common::start_with_addresses(|c| {
        c.token_rate.burst = 30;
        c.token_rate.per_second = 0.001;
    })
    .await;
    h.add_client("ehr", "none", Role::Clinician, None);
    let (_, challenge) = pkce();
    let url = common::authorize_url(
        &h.url,
        &[
            ("response_type", "code"),
            ("client_id", "ehr"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut statuses = Vec::new();
    for _ in 0..31 {
        statuses.push(h.http.get(&url).send().await.unwrap().status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[30], 429, "the address is over its rate");
    // The 30 forms it opened keep only the newest 20 of them alive.
    assert_eq!(h.server.pending_sign_ins(), 20);
}
