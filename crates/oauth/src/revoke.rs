//! `POST /oauth/revoke` (RFC 7009). A client may revoke only its own tokens. The answer is
//! `200` whether or not the token was known, so the endpoint reveals nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use phigate_auth::hash_refresh_token;

use crate::form::Form;
use crate::{OAuthError, OAuthServer, now};

/// `POST /oauth/revoke`.
pub async fn revoke(
    State(server): State<Arc<OAuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match server.revoke(&headers, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => err.into_response(),
    }
}

impl OAuthServer {
    fn revoke(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
        let form = Form::parse(headers, body)?;
        let now = now();
        let (client, _) = self.authenticate_client(headers, &form, now)?;
        let token = form.require("token", "token is required.")?;
        // The hint only orders the lookups; both kinds are tried.
        if let Some(family) = self.store.refresh_family_of(&hash_refresh_token(token))? {
            if family.client_id == client.id {
                self.store
                    .revoke_refresh_family(&family.id, now, "revoked by the client")?;
            }
            return Ok(());
        }
        if let Ok(claims) = self.verifier(now).verify_signature(token)
            && claims.client_id.as_deref() == Some(client.id.as_str())
        {
            self.revocations.revoke(&claims.jti, claims.exp);
            self.store.revoke_access_token(&claims.jti, claims.exp)?;
        }
        Ok(())
    }
}
