//! What `phigate serve` runs beside the gateway: the metrics listener, the incident monitor,
//! the readiness checks and the audit observer that feeds the metrics.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use phigate_audit::{AppendReceipt, AuditError, AuditEvent, AuditLog, AuditObserver};
use phigate_gateway::{Readiness, ReadyCheck};
use phigate_incidents::{IncidentBook, Monitor, MonitorConfig, RuleConfig, WebhookConfig};
use phigate_store::Store;
use phigate_telemetry::{CONTENT_TYPE as METRICS_CONTENT_TYPE, metrics};

use crate::config::Config;

/// How long a KMS probe result is reused: a remote KMS is not called on every probe.
const KMS_PROBE_TTL: Duration = Duration::from_secs(30);

/// Times every audit append for the metrics.
pub struct AuditMetrics;

impl AuditObserver for AuditMetrics {
    fn appended(
        &self,
        _event: &AuditEvent,
        outcome: Result<AppendReceipt, &AuditError>,
        took: Duration,
    ) {
        metrics().audit_append(outcome.is_ok(), took);
    }
}

/// Starts the incident monitor when `[incidents]` enables it.
pub fn monitor(config: &Config, store: &Store, audit: &Arc<AuditLog>) -> Result<Option<Monitor>> {
    let settings = &config.incidents;
    if !settings.enabled {
        return Ok(None);
    }
    let rules = RuleConfig {
        window_secs: i64::try_from(settings.window_secs)?,
        bulk_read_patients: usize::try_from(settings.bulk_read_patients)?,
        denial_burst: usize::try_from(settings.denial_burst)?,
        failed_sign_ins_per_user: usize::try_from(settings.failed_sign_ins_per_user)?,
        failed_sign_ins_overall: usize::try_from(settings.failed_sign_ins_overall)?,
        unusual_hours: settings.unusual_hours,
        work_start_hour: settings.work_start_hour,
        work_end_hour: settings.work_end_hour,
        utc_offset: settings.offset().unwrap_or(time::UtcOffset::UTC),
    };
    let webhook = (!settings.webhook_url.is_empty()).then(|| WebhookConfig {
        url: settings.webhook_url.clone(),
        timeout: Duration::from_secs(settings.webhook_timeout_secs),
        retries: settings.webhook_retries,
        backoff: Duration::from_millis(500),
    });
    let book = IncidentBook::new(store.clone(), config.tenant.clone());
    let monitor = Monitor::start(
        book,
        Arc::clone(audit),
        MonitorConfig {
            rules,
            merge_within: Duration::from_secs(settings.merge_secs),
            webhook,
        },
    )
    .context("cannot start the incident monitor")?;
    Ok(Some(monitor))
}

/// The deployment's readiness: the store database answers a query, the audit log's committer
/// runs and its store answers, and the KMS wraps and unwraps a throwaway key.
pub struct DeploymentReadiness {
    store: Store,
    tenant: String,
    audit: Arc<AuditLog>,
    kms: Mutex<Option<(Instant, bool)>>,
}

impl DeploymentReadiness {
    /// Checks over `store`, `audit` and the store's KMS.
    pub fn new(store: Store, tenant: String, audit: Arc<AuditLog>) -> Self {
        Self {
            store,
            tenant,
            audit,
            kms: Mutex::new(None),
        }
    }

    fn kms_ok(&self) -> bool {
        let mut cached = self.kms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, ok)) = *cached
            && at.elapsed() < KMS_PROBE_TTL
        {
            return ok;
        }
        let ok = match self.store.keyring().probe_kms() {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %err, "readyz.kms failed");
                false
            }
        };
        *cached = Some((Instant::now(), ok));
        ok
    }
}

impl Readiness for DeploymentReadiness {
    fn check(&self) -> Vec<ReadyCheck> {
        let database = match self.store.incidents(&self.tenant, None, 1) {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(error = %err, "readyz.database failed");
                false
            }
        };
        vec![
            ReadyCheck {
                part: "database",
                ok: database,
            },
            ReadyCheck {
                part: "audit",
                ok: self.audit.is_ready(),
            },
            ReadyCheck {
                part: "kms",
                ok: self.kms_ok(),
            },
        ]
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes. The audit lag is read at
/// each scrape.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    audit: Arc<AuditLog>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let audit = Arc::clone(&audit);
            async move {
                let lag = tokio::task::spawn_blocking(move || audit.unsigned_entries()).await;
                if let Ok(Ok(unsigned)) = lag {
                    metrics().audit_lag(unsigned);
                }
                ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], metrics().encode()).into_response()
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds the metrics listener, if one is configured.
pub async fn bind_metrics(config: &Config) -> Result<Option<tokio::net::TcpListener>> {
    if config.metrics.listen.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = config
        .metrics
        .listen
        .parse()
        .context("metrics.listen is not an address")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    Ok(Some(listener))
}
