//! `GET` and `POST /oauth/authorize`: the authorization code flow's front channel.
//!
//! `GET` checks the client and its exact redirect URI (errors about those are shown here, never
//! redirected, so the endpoint cannot be used as an open redirector), requires `response_type=
//! code` and a PKCE S256 challenge, remembers the request server-side and shows the sign-in form.
//! The form carries the pending request's id and a CSRF token that must also come back in a
//! `SameSite=Strict` cookie. `POST` signs the person in and redirects with a one-minute,
//! single-use code, stored hashed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use phigate_auth::{hash_refresh_token, random_token, scope};
use phigate_store::ClientRecord;

use crate::form::Form;
use crate::grants::CodeGrant;
use crate::login::LoginFailure;
use crate::{OAuthServer, Pending, now, page};

/// How long the sign-in form stays valid.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// How long a code may wait to be exchanged.
const CODE_TTL_SECS: i64 = 60;
/// Most sign-in forms open at once; more are refused rather than exhausting memory.
const MAX_PENDING: usize = 10_000;
/// Most sign-in forms one client address may hold open; its oldest gives way to a new one, so
/// one address cannot fill the table that every other sign-in needs.
const MAX_PENDING_PER_ADDRESS: usize = 20;
/// Shown for every failed sign-in, whatever the cause.
const FAILED: &str = "Sign-in failed. Check your details and try again; after several failures \
                      you must wait before trying again.";

fn query_map(
    query: Option<&str>,
) -> Result<std::collections::HashMap<String, String>, &'static str> {
    let mut map = std::collections::HashMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if map.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("A parameter was sent more than once.");
        }
    }
    Ok(map)
}

/// A redirect to the client with `params` added to its redirect URI's query.
fn redirect(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{separator}{}", query.finish());
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => page::error(StatusCode::BAD_REQUEST, "The redirect URI is not usable."),
    }
}

/// `GET /oauth/authorize`.
pub async fn show(
    State(server): State<Arc<OAuthServer>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawQuery(query): RawQuery,
) -> Response {
    // Each form held open costs memory for ten minutes: limit them per client address first.
    // (`phigate serve` always reports the address; a server that does not gets no such limit.)
    let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let throttled = address.is_some_and(|ip| server.throttle(&format!("authorize:{ip}")).is_err());
    if throttled {
        return page::error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in requests from this address; wait and try again.",
        );
    }
    let params = match query_map(query.as_deref()) {
        Ok(params) => params,
        Err(message) => return page::error(StatusCode::BAD_REQUEST, message),
    };
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let client = match get("client_id").map(|id| server.store.client(id)) {
        Some(Ok(Some(client))) if !client.revoked && client.tenant == server.config.tenant => {
            client
        }
        Some(Err(_)) => return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later."),
        _ => return page::error(StatusCode::BAD_REQUEST, "Unknown or revoked client."),
    };
    let Some(redirect_uri) =
        get("redirect_uri").filter(|u| client.redirect_uris.iter().any(|r| r == u))
    else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is not registered for this client.",
        );
    };
    let state = get("state");
    let fail = |code: &str, description: &str| {
        let mut params = vec![("error", code), ("error_description", description)];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", server.config.issuer.as_str()));
        redirect(redirect_uri, &params)
    };
    if get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    let Some(challenge) = get("code_challenge").filter(|c| c.len() == 43) else {
        return fail("invalid_request", "A PKCE code_challenge is required.");
    };
    if get("code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256.");
    }
    let (Ok(id), Ok(csrf)) = (random_token("req_"), random_token("")) else {
        return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later.");
    };
    let pending = Pending {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope: get("scope").map(str::to_owned),
        state: state.map(str::to_owned),
        challenge: challenge.to_owned(),
        csrf: csrf.clone(),
        expires: Instant::now() + PENDING_TTL,
        address,
    };
    let Ok(mut map) = server.pending.lock() else {
        return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later.");
    };
    let now = Instant::now();
    map.retain(|_, p| p.expires > now);
    make_room_for(&mut map, address);
    if map.len() >= MAX_PENDING {
        return page::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sign-ins at once; try again.",
        );
    }
    map.insert(id.to_string(), pending);
    let secure = server.config.secure_cookies;
    page::login(StatusCode::OK, &id, (&csrf, secure), &client.name, None)
}

/// Drops the oldest forms of `address` while it holds [`MAX_PENDING_PER_ADDRESS`] or more.
fn make_room_for(map: &mut HashMap<String, Pending>, address: Option<IpAddr>) {
    let Some(address) = address else { return };
    let mut mine: Vec<(Instant, String)> = map
        .iter()
        .filter(|(_, p)| p.address == Some(address))
        .map(|(id, p)| (p.expires, id.clone()))
        .collect();
    if mine.len() < MAX_PENDING_PER_ADDRESS {
        return;
    }
    mine.sort();
    for (_, id) in mine.iter().take(mine.len() + 1 - MAX_PENDING_PER_ADDRESS) {
        map.remove(id);
    }
}

fn cookie_csrf(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("phigate_csrf=").map(str::to_owned))
}

/// `POST /oauth/authorize`.
pub async fn submit(
    State(server): State<Arc<OAuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = Form::parse(&headers, &body) else {
        return page::error(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let request_id = form.get("request").unwrap_or_default();
    let Some(pending) = server.take_pending(request_id) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "This sign-in form has expired; start again from the application.",
        );
    };
    let posted = form.get("csrf").unwrap_or_default();
    let cookie = cookie_csrf(&headers).unwrap_or_default();
    let csrf_ok = verify_slices_are_equal(posted.as_bytes(), pending.csrf.as_bytes()).is_ok()
        && verify_slices_are_equal(cookie.as_bytes(), pending.csrf.as_bytes()).is_ok();
    if !csrf_ok {
        // The pending request is dropped: a forged submission cannot be retried against it.
        return page::error(
            StatusCode::FORBIDDEN,
            "The sign-in form was not submitted from this site.",
        );
    }
    let client = match server.store.client(&pending.client_id) {
        Ok(Some(client)) if !client.revoked => client,
        _ => return page::error(StatusCode::BAD_REQUEST, "Unknown or revoked client."),
    };
    let username = form.get("username").unwrap_or_default();
    if server.throttle(&format!("login:{username}")).is_err() {
        return server.login_again(request_id, pending, &client, StatusCode::TOO_MANY_REQUESTS);
    }
    let signed_in = server.sign_in_person(
        username,
        form.get("password").unwrap_or_default(),
        form.get("totp"),
        &client.id,
        now(),
    );
    match signed_in {
        Ok((user, role)) => server.issue_code(&pending, &client, &user.id, role),
        Err(LoginFailure::Server(err)) => {
            tracing::warn!(error = %err, "oauth.sign_in failed");
            page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later.")
        }
        Err(_) => server.login_again(request_id, pending, &client, StatusCode::UNAUTHORIZED),
    }
}

impl OAuthServer {
    fn take_pending(&self, id: &str) -> Option<Pending> {
        let mut map = self.pending.lock().ok()?;
        let pending = map.remove(id)?;
        (pending.expires > Instant::now()).then_some(pending)
    }

    /// Shows the form again for the same pending request after a failed attempt.
    fn login_again(
        &self,
        id: &str,
        pending: Pending,
        client: &ClientRecord,
        status: StatusCode,
    ) -> Response {
        let csrf = pending.csrf.clone();
        match self.pending.lock() {
            Ok(mut map) => {
                map.insert(id.to_owned(), pending);
            }
            Err(_) => return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later."),
        }
        let secure = self.config.secure_cookies;
        page::login(status, id, (&csrf, secure), &client.name, Some(FAILED))
    }

    fn issue_code(
        &self,
        pending: &Pending,
        client: &ClientRecord,
        user_id: &str,
        role: phigate_auth::Role,
    ) -> Response {
        let with_state = |mut params: Vec<(&'static str, String)>| {
            if let Some(state) = &pending.state {
                params.push(("state", state.clone()));
            }
            params.push(("iss", self.config.issuer.clone()));
            params
        };
        // A person gets what their role allows, within what the client is registered for.
        let role_scopes: Vec<String> = phigate_auth::scopes(role)
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let wanted = pending
            .scope
            .clone()
            .unwrap_or_else(|| role_scopes.join(" "));
        let scopes: Vec<String> = scope::narrow(&wanted, &role_scopes)
            .into_iter()
            .filter(|s| client.scopes.is_empty() || scope::is_granted(&client.scopes, s))
            .collect();
        if scopes.is_empty() {
            let params = with_state(vec![
                ("error", "invalid_scope".into()),
                (
                    "error_description",
                    "None of the requested scopes may be granted.".into(),
                ),
            ]);
            let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            return redirect(&pending.redirect_uri, &refs);
        }
        let Ok(code) = random_token("phc_") else {
            return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later.");
        };
        let grant = CodeGrant {
            client_id: client.id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            challenge: pending.challenge.clone(),
            user_id: user_id.to_owned(),
            role: role.as_str().to_owned(),
            scope: scopes.join(" "),
        };
        let stored = serde_json::to_string(&grant)
            .map_err(|_| ())
            .and_then(|body| {
                self.store
                    .insert_auth_code(&hash_refresh_token(&code), &body, now() + CODE_TTL_SECS)
                    .map_err(|_| ())
            });
        if stored.is_err() {
            return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Try again later.");
        }
        let params = with_state(vec![("code", code.to_string())]);
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect(&pending.redirect_uri, &refs)
    }
}
