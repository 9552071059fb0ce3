//! The identity a request runs as, and the single place scopes are checked.

use crate::{AuthError, Claims, Role};

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
    /// Builds the principal a verified token speaks for.
    pub fn from_claims(claims: &Claims) -> Result<Self, AuthError> {
        Ok(Self {
            user_id: claims.sub.clone(),
            tenant: claims.tenant.clone(),
            role: Role::parse(&claims.role)?,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        })
    }

    /// Succeeds only if every one of `required` was granted.
    pub fn require(&self, required: &[&str]) -> Result<(), AuthError> {
        match required
            .iter()
            .find(|r| !self.scopes.iter().any(|s| s == *r))
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
}
