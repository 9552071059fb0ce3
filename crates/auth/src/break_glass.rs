//! Break-glass: emergency access to a patient outside the caller's usual reach, for people whose
//! role allows it, with a stated reason, for a limited time. Whoever grants it must record it in
//! the audit log as a `BreakGlass` entry; auditors list the grants with their reasons.

use std::time::Duration;

use crate::{AuthError, Principal};

/// The scope that allows break-glass access.
pub const BREAK_GLASS_SCOPE: &str = "break-glass";

/// How break-glass requests are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakGlassPolicy {
    /// The longest access granted.
    pub max_duration: Duration,
    /// The shortest reason accepted, in characters: "emergency" alone says nothing.
    pub min_reason_chars: usize,
    /// The longest reason accepted, in characters.
    pub max_reason_chars: usize,
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(60 * 60),
            min_reason_chars: 15,
            max_reason_chars: 500,
        }
    }
}

impl BreakGlassPolicy {
    /// Checks a request by `principal` for `duration` with `reason`; returns the duration
    /// granted (capped at the maximum).
    pub fn check(
        &self,
        principal: &Principal,
        reason: &str,
        duration: Duration,
    ) -> Result<Duration, AuthError> {
        principal.require(&[BREAK_GLASS_SCOPE])?;
        let reason = reason.trim();
        let chars = reason.chars().count();
        if chars < self.min_reason_chars || chars > self.max_reason_chars {
            return Err(AuthError::BreakGlassRefused(
                "state the reason in 15 to 500 characters",
            ));
        }
        if reason.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AuthError::BreakGlassRefused(
                "the reason has control characters",
            ));
        }
        if duration.is_zero() {
            return Err(AuthError::BreakGlassRefused(
                "the duration must be positive",
            ));
        }
        Ok(duration.min(self.max_duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn a_clinician_with_a_reason_gets_time_limited_access_and_others_do_not() {
        let policy = BreakGlassPolicy::default();
        let clinician = Principal::with_role("u", "t", Role::Clinician);
        let reason = "unconscious patient in the emergency department";
        let granted = policy
            .check(&clinician, reason, Duration::from_secs(8 * 3600))
            .unwrap();
        assert_eq!(granted, Duration::from_secs(3600));
        assert!(matches!(
            policy.check(&clinician, "emergency", Duration::from_secs(60)),
            Err(AuthError::BreakGlassRefused(_))
        ));
        assert!(policy.check(&clinician, reason, Duration::ZERO).is_err());
        for role in [Role::Nurse, Role::Admin, Role::Auditor, Role::Service] {
            let other = Principal::with_role("u", "t", role);
            assert!(matches!(
                policy.check(&other, reason, Duration::from_secs(60)),
                Err(AuthError::Denied { .. })
            ));
        }
    }
}
