//! Token-bucket rate limits, keyed by principal, client, tenant or address.
//!
//! Each key has a bucket of `burst` tokens refilled at `per_second`; a request takes one token
//! or is refused with the time until one is available. Buckets live in this process: with
//! several replicas each enforces its own share (see the README's known limits).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The size and refill rate of every bucket of one limiter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
    /// Sustained requests per second.
    pub per_second: f64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Most buckets kept before full ones are forgotten (a full bucket is the same as none).
const MAX_BUCKETS: usize = 100_000;

/// A set of token buckets under one limit.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter with `limit` for every key.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket at `now`, or says how long to wait for one. A
    /// poisoned lock refuses (fail closed) with a one-second wait.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Err(Duration::from_secs(1));
        };
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(1e-6);
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_requests_wait_for_the_refill() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 2.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("p1", t0).is_ok());
        }
        let wait = limiter.check("p1", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.check("p2", t0).is_ok(), "buckets are per key");
        assert!(limiter.check("p1", t0 + Duration::from_millis(500)).is_ok());
        assert!(
            limiter
                .check("p1", t0 + Duration::from_millis(500))
                .is_err()
        );
        // A long quiet period refills to the burst, no further.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(limiter.check("p1", later).is_ok());
        }
        assert!(limiter.check("p1", later).is_err());
    }
}
