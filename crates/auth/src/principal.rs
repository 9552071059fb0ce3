//! The identity a request runs as, and the single place scopes are checked.

use crate::{AuthError, Claims, Role, scope};

/// An authenticated caller. Carries ids and scopes only, never credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Stable user or client id.
    pub user_id: String,
    /// Tenant the caller belongs to.
    pub tenant: String,
    /// The caller's role.
    pub role: Role,
    /// Scopes granted to this session (a subset of the role's).
    pub scopes: Vec<String>,
}

impl Principal {
    /// Builds the principal a verified token speaks for. The first role the token names is the
    /// role the caller acts in; a token naming no known role is refused.
    pub fn from_claims(claims: &Claims) -> Result<Self, AuthError> {
        let role = claims
            .roles
            .first()
            .ok_or(AuthError::InvalidToken("no role"))?;
        Ok(Self {
            user_id: claims.sub.clone(),
            tenant: claims.tenant.clone(),
            role: Role::parse(role)?,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        })
    }

    /// A principal with every scope of `role`.
    pub fn with_role(user_id: &str, tenant: &str, role: Role) -> Self {
        Self {
            user_id: user_id.to_owned(),
            tenant: tenant.to_owned(),
            role,
            scopes: crate::scopes(role)
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// Succeeds only if every one of `required` is granted by some held scope (SMART v2
    /// matching: `user/*.cruds` grants `user/Observation.r`).
    pub fn require(&self, required: &[&str]) -> Result<(), AuthError> {
        match required
            .iter()
            .find(|r| !scope::is_granted(&self.scopes, r))
        {
            None => Ok(()),
            Some(missing) => Err(AuthError::Denied {
                missing: (*missing).to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[&str]) -> Principal {
        Principal {
            user_id: "u1".into(),
            tenant: "t".into(),
            role: Role::Clinician,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_missing_scope_is_named_in_the_denial() {
        let p = principal(&["task/clinical-note"]);
        assert!(p.require(&["task/clinical-note"]).is_ok());
        let err = p
            .require(&["task/clinical-note", "user/Condition.r"])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "permission denied: missing scope user/Condition.r"
        );
    }

    #[test]
    fn a_wildcard_smart_scope_covers_each_resource() {
        let p = principal(&["user/*.cruds"]);
        assert!(p.require(&["user/Observation.r", "user/Claim.c"]).is_ok());
        assert!(p.require(&["patient/Observation.r"]).is_err());
    }
}
