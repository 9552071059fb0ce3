//! Scopes: SMART on FHIR v2 resource scopes (`patient/Observation.rs`, `user/*.cruds`) and
//! Phigate's own capability scopes (`task/triage`, `audit/read`).
//!
//! A SMART scope names a context (`patient`, `user` or `system`), a resource type or `*`, and
//! permissions drawn in order from `c` (create), `r` (read), `u` (update), `d` (delete) and `s`
//! (search). SMART v1 suffixes (`.read`, `.write`, `.*`) are accepted and mean `rs`, `cud` and
//! `cruds`. A granted scope satisfies a needed one when the context is the same, the resource is
//! the same or `*`, and every needed permission is granted. A granular query (`?category=…`) on
//! the granted scope narrows it: it then only satisfies a need with the same query.

use crate::AuthError;

/// The launch context of a SMART scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    /// Data of the patient in context.
    Patient,
    /// Data the signed-in user may see.
    User,
    /// Data a backend system may see.
    System,
}

/// SMART v2 permissions as a bit set: create, read, update, delete, search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

const LETTERS: [char; 5] = ['c', 'r', 'u', 'd', 's'];

impl Permissions {
    /// Parses `cruds`-style letters, which must appear in that order, each at most once.
    fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => return Some(Self(0b01001)),
            "write" => return Some(Self(0b10110)),
            "*" => return Some(Self(0b11111)),
            _ => {}
        }
        let mut bits = 0u8;
        let mut next = 0;
        for ch in text.chars() {
            let position = LETTERS[next..].iter().position(|l| *l == ch)? + next;
            bits |= 1 << (4 - position);
            next = position + 1;
        }
        (bits != 0).then_some(Self(bits))
    }

    /// Whether every permission in `other` is in `self`.
    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One parsed scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A SMART resource scope.
    Smart {
        /// `patient`, `user` or `system`.
        context: Context,
        /// A FHIR resource type, or `*` for all.
        resource: String,
        /// What may be done.
        permissions: Permissions,
        /// A granular restriction such as `category=vital-signs`, if any.
        query: Option<String>,
    },
    /// A Phigate capability (`task/triage`, `admin/users`) or an OpenID/SMART launch scope.
    Capability(String),
}

impl Scope {
    /// Parses one scope; anything not in the grammar is refused.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let bad = || AuthError::InvalidScope;
        if text.is_empty() || text.len() > 200 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad());
        }
        let context = match text.split_once('/') {
            Some(("patient", _)) => Some(Context::Patient),
            Some(("user", _)) => Some(Context::User),
            Some(("system", _)) => Some(Context::System),
            _ => None,
        };
        let Some(context) = context else {
            return capability(text).ok_or_else(bad);
        };
        let rest = text.split_once('/').map_or("", |(_, rest)| rest);
        let (body, query) = match rest.split_once('?') {
            Some((body, query)) if !query.is_empty() => (body, Some(query.to_owned())),
            Some(_) => return Err(bad()),
            None => (rest, None),
        };
        let (resource, permissions) = body.split_once('.').ok_or_else(bad)?;
        let resource_ok = resource == "*"
            || (resource.starts_with(|c: char| c.is_ascii_uppercase())
                && resource.chars().all(|c| c.is_ascii_alphanumeric()));
        if !resource_ok {
            return Err(bad());
        }
        Ok(Scope::Smart {
            context,
            resource: resource.to_owned(),
            permissions: Permissions::parse(permissions).ok_or_else(bad)?,
            query,
        })
    }

    /// Whether holding `self` is enough for an action that needs `needed`.
    pub fn grants(&self, needed: &Scope) -> bool {
        match (self, needed) {
            (Scope::Capability(held), Scope::Capability(want)) => held == want,
            (
                Scope::Smart {
                    context,
                    resource,
                    permissions,
                    query,
                },
                Scope::Smart {
                    context: want_context,
                    resource: want_resource,
                    permissions: want_permissions,
                    query: want_query,
                },
            ) => {
                context == want_context
                    && (resource == "*" || resource == want_resource)
                    && permissions.contains(*want_permissions)
                    && (query.is_none() || query == want_query)
            }
            _ => false,
        }
    }
}

/// `name` or `name/name`, lowercase letters, digits, `-` and `_`; also the SMART launch scopes.
fn capability(text: &str) -> Option<Scope> {
    let word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    if text == "fhirUser" {
        return Some(Scope::Capability(text.to_owned()));
    }
    let ok = match text.split_once('/') {
        Some((a, b)) => word(a) && word(b),
        None => word(text),
    };
    ok.then(|| Scope::Capability(text.to_owned()))
}

/// Whether the scopes in `held` satisfy the scope `needed` (both as strings). A held scope that
/// does not parse grants nothing; a needed scope that does not parse is never satisfied.
pub fn is_granted(held: &[String], needed: &str) -> bool {
    let Ok(needed) = Scope::parse(needed) else {
        return false;
    };
    held.iter()
        .filter_map(|s| Scope::parse(s).ok())
        .any(|s| s.grants(&needed))
}

/// Narrows a space-separated request to the scopes `allowed` covers. Scopes that do not parse
/// or that nothing allowed covers are dropped: a client never gets more than its ceiling.
pub fn narrow(requested: &str, allowed: &[String]) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split_whitespace() {
        if is_granted(allowed, scope) && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    #[test]
    fn smart_v2_scopes_parse_and_malformed_ones_are_refused() {
        for ok in [
            "patient/Observation.rs",
            "user/*.cruds",
            "system/Patient.r",
            "user/Condition.read",
            "patient/*.*",
            "patient/Observation.rs?category=vital-signs",
            "task/clinical-note",
            "openid",
            "launch/patient",
        ] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "user/Observation.sr",
            "user/Observation.rr",
            "user/Observation.x",
            "user/Observation.",
            "user/observation.r",
            "user/Obs-ervation.r",
            "nurse/Observation.r",
            "user/Observation.rs?",
            "a b",
            "Task/Triage",
            "a/b/c",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_wider_scope_grants_a_narrower_one_and_never_the_reverse() {
        assert!(p("user/*.cruds").grants(&p("user/Observation.r")));
        assert!(p("user/Observation.rs").grants(&p("user/Observation.r")));
        assert!(p("user/Observation.rs").grants(&p("user/Observation.s")));
        assert!(!p("user/Observation.r").grants(&p("user/Observation.rs")));
        assert!(!p("user/Observation.rs").grants(&p("user/Condition.r")));
        assert!(!p("user/Observation.rs").grants(&p("user/Observation.c")));
        assert!(!p("user/Observation.rs").grants(&p("user/*.r")));
        assert!(!p("patient/*.cruds").grants(&p("user/Observation.r")));
        assert!(!p("user/*.cruds").grants(&p("patient/Observation.r")));
        assert!(p("user/Condition.read").grants(&p("user/Condition.rs")));
        assert!(!p("user/Condition.read").grants(&p("user/Condition.u")));
        assert!(p("user/Condition.write").grants(&p("user/Condition.cud")));
        assert!(p("task/triage").grants(&p("task/triage")));
        assert!(!p("task/triage").grants(&p("task/coding")));
        assert!(!p("task/triage").grants(&p("user/Observation.r")));
    }

    #[test]
    fn a_granular_scope_only_covers_its_own_query() {
        let vitals = p("patient/Observation.rs?category=vital-signs");
        assert!(vitals.grants(&p("patient/Observation.r?category=vital-signs")));
        assert!(!vitals.grants(&p("patient/Observation.r")));
        assert!(!vitals.grants(&p("patient/Observation.r?category=laboratory")));
        assert!(p("patient/Observation.rs").grants(&p("patient/Observation.r?category=x")));
    }

    #[test]
    fn narrowing_keeps_only_what_the_ceiling_covers() {
        let ceiling = vec!["user/Observation.rs".to_owned(), "task/triage".to_owned()];
        assert_eq!(
            narrow(
                "user/Observation.r user/Condition.r task/triage admin/users junk!! task/triage",
                &ceiling
            ),
            ["user/Observation.r", "task/triage"]
        );
        assert!(narrow("user/*.cruds", &ceiling).is_empty());
    }
}
