//! External identity providers (`[[oauth.external_issuers]]`): issuers whose JWTs the gateway
//! accepts beside Phigate's own, each checked against its JWKS, its role claim mapped to a
//! Phigate role. Set in the file only: a list of tables has no environment form.

use std::collections::BTreeMap;
use std::time::Duration;

use phigate_auth::Role;
use phigate_oauth::{ExternalIdp, IdpConfig, IdpError};
use serde::Deserialize;

/// One trusted external issuer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIssuerSettings {
    /// The `iss` its tokens carry, exactly.
    pub issuer: String,
    /// Where its JWKS is published: https, or http on loopback.
    pub jwks_url: String,
    /// The `aud` its tokens must carry for this gateway.
    pub audience: String,
    /// The claim naming the caller's groups or roles (a string or a list of strings).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// Claim value to Phigate role (`"ehr-physicians" = "clinician"`). A token whose claim
    /// matches none is refused. Values are tried in name order; the first match wins.
    pub roles: BTreeMap<String, String>,
    /// The tenant its people belong to; the deployment's when left out.
    #[serde(default)]
    pub tenant: Option<String>,
    /// How long a fetched JWKS is trusted, seconds.
    #[serde(default = "default_cache_secs")]
    pub jwks_cache_secs: u64,
}

fn default_role_claim() -> String {
    "groups".into()
}

fn default_cache_secs() -> u64 {
    3600
}

/// The least time between two JWKS fetches caused by unknown key ids: made-up key ids must not
/// make the gateway hammer the issuer.
const MIN_REFRESH: Duration = Duration::from_secs(30);

impl ExternalIssuerSettings {
    /// Checks one entry; the reason names the field, never its value.
    pub(super) fn check(&self, own_issuer: &str, tenant: &str) -> Result<(), String> {
        if self.issuer.trim().is_empty() || self.issuer == own_issuer {
            return Err("each issuer must be set and differ from oauth.issuer".into());
        }
        super::check_base_url(&self.jwks_url).map_err(|r| format!("jwks_url {r}"))?;
        if self.audience.trim().is_empty() || self.role_claim.trim().is_empty() {
            return Err("audience and role_claim must be set".into());
        }
        if self.roles.is_empty() {
            return Err("roles must map at least one claim value".into());
        }
        if let Some(bad) = self.roles.values().find(|r| Role::parse(r).is_err()) {
            return Err(format!(
                "roles maps a value to an unknown role ({} characters)",
                bad.chars().count()
            ));
        }
        if self.tenant.as_deref().is_some_and(|t| t != tenant) {
            return Err("tenant must be the deployment's tenant".into());
        }
        if self.jwks_cache_secs == 0 {
            return Err("jwks_cache_secs must be positive".into());
        }
        Ok(())
    }

    /// The verifier this entry configures.
    pub fn provider(&self, tenant: &str) -> Result<ExternalIdp, IdpError> {
        let role_map = self
            .roles
            .iter()
            .filter_map(|(value, role)| Some((value.clone(), Role::parse(role).ok()?)))
            .collect();
        ExternalIdp::new(IdpConfig {
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_url.clone(),
            audience: self.audience.clone(),
            role_claim: self.role_claim.clone(),
            role_map,
            tenant: self.tenant.clone().unwrap_or_else(|| tenant.to_owned()),
            cache_ttl: Duration::from_secs(self.jwks_cache_secs),
            min_refresh: MIN_REFRESH,
        })
    }
}
