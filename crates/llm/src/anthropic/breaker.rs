//! A circuit breaker: after enough consecutive failures, stop calling for a while.
//!
//! Closed, it lets every call through and counts consecutive failures. At the threshold it
//! opens and refuses calls until `open_for` has passed. Then it lets exactly one probe
//! through (half-open): success closes it, failure opens it again.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::config::BreakerConfig;
use crate::error::LlmError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out; if it never reports back (its caller gave up), another may go after
    /// the deadline, so a lost probe cannot keep the circuit shut for ever.
    HalfOpen {
        probe_deadline: Instant,
    },
}

/// A thread-safe circuit breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether a call may go out now.
    pub(crate) fn check(&self) -> Result<(), LlmError> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), LlmError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(LlmError::CircuitOpen {
                retry_after: until - now,
            }),
            State::HalfOpen { probe_deadline } if now < probe_deadline => {
                Err(LlmError::CircuitOpen {
                    retry_after: probe_deadline - now,
                })
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen {
                    probe_deadline: now + self.config.open_for,
                };
                Ok(())
            }
        }
    }

    /// The upstream answered in a way that shows it is healthy.
    pub(crate) fn record_success(&self) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State::Closed { failures: 0 };
    }

    /// The upstream failed (5xx, overload, unreachable).
    pub(crate) fn record_failure(&self) {
        self.record_failure_at(Instant::now());
    }

    fn record_failure_at(&self, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let open = State::Open {
            until: now + self.config.open_for,
        };
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.config.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            State::Closed { .. } | State::HalfOpen { .. } => {
                tracing::warn!(
                    open_for_ms = self.config.open_for.as_millis() as u64,
                    "llm.breaker opened"
                );
                open
            }
            State::Open { until } => State::Open { until },
        };
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_secs(10),
        })
    }

    #[test]
    fn the_circuit_opens_after_the_threshold_of_consecutive_failures() {
        let breaker = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(breaker.check_at(now).is_ok());
            breaker.record_failure_at(now);
        }
        let refused = breaker.check_at(now + Duration::from_secs(1));
        assert!(matches!(refused, Err(LlmError::CircuitOpen { .. })));
    }

    #[test]
    fn a_success_resets_the_count_of_failures() {
        let breaker = breaker();
        let now = Instant::now();
        breaker.record_failure_at(now);
        breaker.record_failure_at(now);
        breaker.record_success();
        breaker.record_failure_at(now);
        assert!(breaker.check_at(now).is_ok());
    }

    #[test]
    fn after_the_open_period_one_probe_goes_through_and_decides() {
        let breaker = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            breaker.record_failure_at(now);
        }
        let later = now + Duration::from_secs(11);
        assert!(breaker.check_at(later).is_ok(), "the probe");
        assert!(breaker.check_at(later).is_err(), "only one probe at a time");
        breaker.record_failure_at(later);
        assert!(
            breaker.check_at(later + Duration::from_secs(1)).is_err(),
            "open again"
        );

        let much_later = later + Duration::from_secs(11);
        assert!(breaker.check_at(much_later).is_ok());
        breaker.record_success();
        assert!(breaker.check_at(much_later).is_ok() && breaker.check_at(much_later).is_ok());
    }
}
