//! Token-bucket rate limits, keyed by principal, client, tenant or address.
//!
//! Each key has a bucket of `burst` tokens refilled at `per_second`; a request takes one token
//! or is refused with the time until one is available. Buckets live in this process, unless the
//! limiter is made with [`RateLimiter::shared`]: then they live wherever [`SharedBuckets`] keeps
//! them (a database several replicas share), and the replicas enforce one limit together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Buckets kept outside this process. `take` takes one token from `bucket` under `limit` at
/// the present time, or says how long to wait; an implementation that cannot reach its
/// storage must refuse (fail closed).
pub trait SharedBuckets: Send + Sync {
    /// Takes a token, or returns how long until one is available.
    fn take(&self, bucket: &str, limit: RateLimit) -> Result<(), Duration>;
}

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
    shared: Option<Shared>,
}

/// Where a shared limiter's buckets are, and the prefix naming them.
struct Shared {
    name: String,
    buckets: Arc<dyn SharedBuckets>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter with `limit` for every key.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// A limiter whose buckets live in `buckets`, each named `name/key`, so that every
    /// process using the same `buckets` and `name` draws from the same bucket per key.
    pub fn shared(limit: RateLimit, name: &str, buckets: Arc<dyn SharedBuckets>) -> Self {
        Self {
            shared: Some(Shared {
                name: name.to_owned(),
                buckets,
            }),
            ..Self::new(limit)
        }
    }

    /// Takes a token from `key`'s bucket at `now`, or says how long to wait for one. A
    /// poisoned lock refuses (fail closed) with a one-second wait.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            return shared
                .buckets
                .take(&format!("{}/{key}", shared.name), self.limit);
        }
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

    /// Buckets in a map the test can look into, standing for a shared database.
    #[derive(Default)]
    struct Counted(Mutex<HashMap<String, u32>>);

    impl SharedBuckets for Counted {
        fn take(&self, bucket: &str, limit: RateLimit) -> Result<(), Duration> {
            let mut taken = self.0.lock().unwrap();
            let n = taken.entry(bucket.to_owned()).or_default();
            if *n < limit.burst {
                *n += 1;
                Ok(())
            } else {
                Err(Duration::from_secs(1))
            }
        }
    }

    #[test]
    fn limiters_sharing_buckets_draw_from_one_bucket_per_key() {
        let limit = RateLimit {
            burst: 2,
            per_second: 1.0,
        };
        let buckets = Arc::new(Counted::default());
        let a = RateLimiter::shared(limit, "principal", buckets.clone());
        let b = RateLimiter::shared(limit, "principal", buckets.clone());
        let now = Instant::now();
        assert!(a.check("p1", now).is_ok());
        assert!(b.check("p1", now).is_ok());
        assert!(
            a.check("p1", now).is_err(),
            "the other limiter spent the bucket"
        );
        assert!(b.check("p2", now).is_ok());
        let keys: Vec<String> = buckets.0.lock().unwrap().keys().cloned().collect();
        assert!(keys.iter().all(|k| k.starts_with("principal/")), "{keys:?}");
    }
}
