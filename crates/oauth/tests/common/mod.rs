//! A live authorization server on loopback with its own store, audit log and keys.

#![allow(dead_code, reason = "each test file uses part of the harness")]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_auth::{
    RevocationList, Role, TokenKeys, TokenSigner, Totp, hash_password, random_token,
};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_oauth::{OAuthConfig, OAuthServer, hash_client_secret, router};
use phigate_store::{ClientRecord, Store, UserRecord};
use reqwest::redirect::Policy;
use serde_json::Value;

pub const TENANT: &str = "north";
pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT: &str = "https://app.example/callback";

pub struct Harness {
    pub url: String,
    pub server: Arc<OAuthServer>,
    pub store: Store,
    pub audit: Arc<AuditLog>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn start(tune: impl FnOnce(&mut OAuthConfig)) -> Harness {
    start_serving(tune, false).await
}

/// [`start`], with the server telling handlers each client's address, as `phigate serve` does.
pub async fn start_with_addresses(tune: impl FnOnce(&mut OAuthConfig)) -> Harness {
    start_serving(tune, true).await
}

async fn start_serving(tune: impl FnOnce(&mut OAuthConfig), addresses: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("app.db"),
        Arc::new(LocalKms::from_key(
            KeyMaterial::from_bytes(&[3u8; 32]).unwrap(),
        )),
    )
    .unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.db"), signer, "test").unwrap());
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let mut config = OAuthConfig::new(&url, "phigate", TENANT);
    tune(&mut config);
    let pkcs8 = TokenSigner::generate_pkcs8().unwrap();
    let keys = TokenKeys::new(TokenSigner::from_pkcs8(&pkcs8, &url).unwrap());
    let server = Arc::new(OAuthServer::new(
        config,
        store.clone(),
        audit.clone(),
        keys,
        Arc::new(RevocationList::new()),
    ));
    let app = router(server.clone());
    tokio::spawn(async move {
        let _ = if addresses {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        } else {
            axum::serve(listener, app).await
        };
    });
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Harness {
        url,
        server,
        store,
        audit,
        http,
        _dir: dir,
    }
}

impl Harness {
    /// Adds a person; returns their TOTP when one is enrolled.
    pub fn add_user(&self, username: &str, role: Role, totp: bool) -> Option<Totp> {
        let user = UserRecord {
            id: format!("id-{username}"),
            tenant: TENANT.into(),
            username: username.into(),
            role: role.as_str().into(),
            password_hash: hash_password(PASSWORD).unwrap().as_str().to_owned(),
            disabled: false,
        };
        self.store.upsert_user(&user).unwrap();
        totp.then(|| {
            let totp = Totp::generate().unwrap();
            self.store
                .set_totp_secret(&user, Some(totp.secret()))
                .unwrap();
            totp
        })
    }

    /// Registers a client; returns its secret for the secret methods.
    pub fn add_client(&self, id: &str, method: &str, role: Role, jwks: Option<Value>) -> String {
        let secret = random_token("").unwrap().to_string();
        self.store
            .insert_client(&ClientRecord {
                id: id.into(),
                tenant: TENANT.into(),
                name: format!("App {id}"),
                role: role.as_str().into(),
                auth_method: method.into(),
                secret_hash: method
                    .starts_with("client_secret")
                    .then(|| hash_client_secret(&secret)),
                jwks: jwks.map(|j| j.to_string()),
                redirect_uris: vec![REDIRECT.into()],
                scopes: phigate_auth::scopes(role)
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                revoked: false,
            })
            .unwrap();
        secret
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .header("content-type", FORM)
            .body(encode(form))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_basic(
        &self,
        path: &str,
        id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .basic_auth(id, Some(secret))
            .header("content-type", FORM)
            .body(encode(form))
            .send()
            .await
            .unwrap()
    }

    /// Runs the browser part of the code flow; returns the redirect's `Location`.
    pub async fn sign_in(
        &self,
        client_id: &str,
        challenge: &str,
        username: &str,
        password: &str,
        totp: Option<&str>,
    ) -> reqwest::Response {
        let page = self
            .http
            .get(authorize_url(
                &self.url,
                &[
                    ("response_type", "code"),
                    ("client_id", client_id),
                    ("redirect_uri", REDIRECT),
                    ("state", "s-123"),
                    ("code_challenge", challenge),
                    ("code_challenge_method", "S256"),
                ],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let html = page.text().await.unwrap();
        let request = hidden(&html, "request");
        let csrf = hidden(&html, "csrf");
        let mut form = vec![
            ("request", request.as_str()),
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        if let Some(code) = totp {
            form.push(("totp", code));
        }
        self.http
            .post(format!("{}/oauth/authorize", self.url))
            .header("cookie", cookie)
            .header("content-type", FORM)
            .body(encode(&form))
            .send()
            .await
            .unwrap()
    }

    /// The whole code flow for a person; returns the token response.
    pub async fn code_flow(&self, client_id: &str, username: &str, totp: Option<&str>) -> Value {
        let (verifier, challenge) = pkce();
        let answer = self
            .sign_in(client_id, &challenge, username, PASSWORD, totp)
            .await;
        assert_eq!(answer.status(), 303, "{}", answer.text().await.unwrap());
        let code = query_param(answer.headers()["location"].to_str().unwrap(), "code");
        let tokens = self
            .post_form(
                "/oauth/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(tokens.status(), 200);
        tokens.json().await.unwrap()
    }

    pub async fn refresh(&self, client_id: &str, token: &str) -> reqwest::Response {
        self.post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("refresh_token", token),
            ],
        )
        .await
    }
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    url_decode_pairs(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in the redirect"))
}

fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = random_token("v").unwrap().to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, B64.encode(digest.as_ref()))
}

pub fn error_code(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

pub const FORM: &str = "application/x-www-form-urlencoded";

pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

pub fn authorize_url(base: &str, pairs: &[(&str, &str)]) -> String {
    format!("{base}/oauth/authorize?{}", encode(pairs))
}
