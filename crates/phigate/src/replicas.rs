//! What replicas sharing one PostgreSQL store share besides the store's rows: rate-limit buckets
//! and access-token revocations. With the SQLite store there is one process, and both stay in
//! memory as before.
//!
//! Every replica must also hold the same key files (root key or KMS settings, token-signing key,
//! audit checkpoint key): a data directory made once by `phigate init` and copied to each
//! replica, or one directory they all mount.

use std::sync::Arc;
use std::time::Duration;

use phigate_auth::{RateLimit, RateLimiter, RevocationList, SharedBuckets};
use phigate_gateway::RateLimits;
use phigate_store::{BackendKind, Store};

/// How often each replica reloads the revocations the others recorded.
pub const REVOCATION_SYNC: Duration = Duration::from_secs(1);

/// Buckets are forgotten this long after their last use (all limits refill well within it).
const BUCKET_IDLE_MS: i64 = 3_600_000;

/// Whether `store` is shared by replicas (PostgreSQL).
pub fn is_shared(store: &Store) -> bool {
    store.database().kind() == BackendKind::Postgres
}

/// Rate-limit buckets in the store.
pub struct StoreBuckets {
    store: Store,
}

impl StoreBuckets {
    /// Buckets in `store`.
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Self { store })
    }
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

impl SharedBuckets for StoreBuckets {
    fn take(&self, bucket: &str, limit: RateLimit) -> Result<(), Duration> {
        match self
            .store
            .take_rate_token(bucket, limit.burst, limit.per_second, now_ms())
        {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(wait),
            Err(err) => {
                // Fail closed: without the shared bucket nobody can say the caller is in limit.
                tracing::warn!(error = %err, "shared rate-limit bucket unavailable; refusing");
                Err(Duration::from_secs(1))
            }
        }
    }
}

/// The gateway's principal, client and tenant limiters over shared buckets.
pub fn gateway_limiters(buckets: &Arc<StoreBuckets>, limits: RateLimits) -> [RateLimiter; 3] {
    let shared: Arc<dyn SharedBuckets> = buckets.clone();
    [
        RateLimiter::shared(limits.principal, "principal", shared.clone()),
        RateLimiter::shared(limits.client, "client", shared.clone()),
        RateLimiter::shared(limits.tenant, "tenant", shared),
    ]
}

/// The token endpoint's limiter over shared buckets.
pub fn token_limiter(buckets: &Arc<StoreBuckets>, limit: RateLimit) -> RateLimiter {
    RateLimiter::shared(limit, "oauth-token", buckets.clone())
}

/// Starts the thread that, every [`REVOCATION_SYNC`], adds the revocations other replicas
/// recorded to `list`, and now and then forgets idle rate-limit buckets. A revocation made on
/// one replica is therefore honoured by every other within about a second.
pub fn follow(store: Store, list: Arc<RevocationList>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("phigate-replica-sync".into())
        .spawn(move || {
            let mut rounds = 0u64;
            loop {
                std::thread::sleep(REVOCATION_SYNC);
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                match store.revoked_access_tokens(now) {
                    Ok(revoked) => {
                        for (jti, expires_at) in revoked {
                            list.revoke(&jti, expires_at);
                        }
                        list.purge(now);
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot reload revocations"),
                }
                rounds += 1;
                if rounds.is_multiple_of(60)
                    && let Err(err) = store.purge_rate_buckets(now_ms() - BUCKET_IDLE_MS)
                {
                    tracing::warn!(error = %err, "cannot forget idle rate-limit buckets");
                }
            }
        })
        .map(drop)
}
