//! Backoff and lockout after failed sign-ins.
//!
//! The first few failures cost nothing (people mistype). After that each further attempt must
//! wait twice as long as the one before, up to a ceiling; after `lock_after` consecutive
//! failures the account is locked until an administrator enables it again. The counter is kept
//! by the store; this module only decides.

use std::time::Duration;

use crate::AuthError;

/// The thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures allowed before any delay is imposed.
    pub free_failures: u32,
    /// The delay after the first failure past `free_failures`; doubled each time after.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Consecutive failures that lock the account.
    pub lock_after: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_failures: 3,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
            lock_after: 10,
        }
    }
}

/// What the store knows about an account's recent failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureState {
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
    /// When the last one happened (Unix seconds).
    pub last_failure_at: Option<i64>,
    /// Whether the account has been locked.
    pub locked: bool,
}

impl LockoutPolicy {
    /// How long after the last failure the next attempt must wait.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures <= self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_failures - 1).min(20);
        self.base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }

    /// Whether an attempt may be made at `now`. Checked before the password, so a locked or
    /// cooling-down account costs no Argon2 work and reveals nothing about the password.
    pub fn check(&self, state: &FailureState, now: i64) -> Result<(), AuthError> {
        if state.locked || state.failures >= self.lock_after {
            return Err(AuthError::Locked);
        }
        let wait = self.delay(state.failures).as_secs() as i64;
        let last = state.last_failure_at.unwrap_or(i64::MIN / 2);
        let ready_at = last.saturating_add(wait);
        if wait > 0 && now < ready_at {
            return Err(AuthError::Backoff {
                retry_after: Duration::from_secs((ready_at - now) as u64),
            });
        }
        Ok(())
    }

    /// The state after one more failure at `now`.
    pub fn record_failure(&self, state: &FailureState, now: i64) -> FailureState {
        let failures = state.failures.saturating_add(1);
        FailureState {
            failures,
            last_failure_at: Some(now),
            locked: state.locked || failures >= self.lock_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failures_are_free_then_each_wait_doubles_up_to_a_ceiling() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.delay(3), Duration::ZERO);
        assert_eq!(policy.delay(4), Duration::from_secs(2));
        assert_eq!(policy.delay(5), Duration::from_secs(4));
        assert_eq!(policy.delay(9), Duration::from_secs(64));
        let steep = LockoutPolicy {
            lock_after: 100,
            ..policy
        };
        assert_eq!(steep.delay(40), Duration::from_secs(300));
    }

    #[test]
    fn an_attempt_during_the_backoff_is_refused_with_the_wait() {
        let policy = LockoutPolicy::default();
        let mut state = FailureState::default();
        for _ in 0..5 {
            state = policy.record_failure(&state, 1_000);
        }
        match policy.check(&state, 1_001) {
            Err(AuthError::Backoff { retry_after }) => assert_eq!(retry_after.as_secs(), 3),
            other => panic!("expected a backoff, got {other:?}"),
        }
        assert!(policy.check(&state, 1_004).is_ok());
    }

    #[test]
    fn ten_consecutive_failures_lock_the_account() {
        let policy = LockoutPolicy::default();
        let mut state = FailureState::default();
        for i in 0..10 {
            assert!(!state.locked, "locked after {i}");
            state = policy.record_failure(&state, 1_000 + i64::from(i) * 1_000);
        }
        assert!(state.locked);
        assert!(matches!(
            policy.check(&state, 1_000_000),
            Err(AuthError::Locked)
        ));
    }
}
