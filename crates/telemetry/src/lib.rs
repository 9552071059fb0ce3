//! Phigate's operational metrics, in the Prometheus (OpenMetrics) text format.
//!
//! One registry per process, reached through [`metrics`], so that a counter in the request path
//! is one call and no handle has to be threaded through every crate. What it counts: HTTP
//! requests and their latency by route template and status, upstream errors and retries,
//! entities de-identified and leak-gate blocks per entity type, prompt-injection detections,
//! audit append latency and lag, key cache hits, incidents and webhook deliveries.
//!
//! It refuses to carry PHI or any string a user supplied. Every label value is a `&'static str`
//! from a fixed set (entity tags, provider kinds, outcomes), a number (status codes), or a route
//! template taken from the router (`/v1/drafts/{id}`, never the raw path), which
//! [`RouteLabel::new`] checks for shape and caps in number.

mod labels;

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use labels::RouteLabel;
use labels::{
    HttpLabels, IncidentLabels, InjectionLabels, KindLabel, OutcomeLabel, ProviderLabels,
    UpstreamErrorLabels, method_label,
};

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds, from a millisecond to two minutes (long model answers).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0,
];

/// Audit append buckets in seconds: a group commit is one fsync, usually milliseconds.
const APPEND_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2.0];

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn append_histogram() -> Histogram {
    Histogram::new(APPEND_BUCKETS)
}

/// Every metric Phigate exports.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<HttpLabels>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    upstream_retries: Family<ProviderLabels, Counter>,
    deid_entities: Family<KindLabel, Counter>,
    leak_gate_blocks: Family<KindLabel, Counter>,
    injections: Family<InjectionLabels, Counter>,
    audit_appends: HistogramFamily<OutcomeLabel>,
    audit_unsigned: Gauge,
    key_cache: Family<OutcomeLabel, Counter>,
    incidents: Family<IncidentLabels, Counter>,
    webhook: Family<OutcomeLabel, Counter>,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("phigate"),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            upstream_errors: Family::default(),
            upstream_retries: Family::default(),
            deid_entities: Family::default(),
            leak_gate_blocks: Family::default(),
            injections: Family::default(),
            audit_appends: Family::new_with_constructor(append_histogram as fn() -> Histogram),
            audit_unsigned: Gauge::default(),
            key_cache: Family::default(),
            incidents: Family::default(),
            webhook: Family::default(),
        };
        metrics.register_all();
        metrics
    }

    fn register_all(&mut self) {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            self.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the response head for streams)",
            self.http_duration.clone(),
        );
        r.register(
            "upstream_errors",
            "Failed calls to the model provider, by provider and kind of failure",
            self.upstream_errors.clone(),
        );
        r.register(
            "upstream_retries",
            "Retries of calls to the model provider",
            self.upstream_retries.clone(),
        );
        r.register(
            "deid_entities",
            "Entities replaced by placeholders, by entity type",
            self.deid_entities.clone(),
        );
        r.register(
            "leak_gate_blocks",
            "Requests the egress leak gate blocked, by the type of the value found",
            self.leak_gate_blocks.clone(),
        );
        r.register(
            "injection_detections",
            "Untrusted text that read as a prompt injection, by source and risk",
            self.injections.clone(),
        );
        r.register(
            "audit_append_duration_seconds",
            "Time from an audit append to its durable commit, by outcome",
            self.audit_appends.clone(),
        );
        r.register(
            "audit_unsigned_entries",
            "Audit entries not yet covered by a signed checkpoint",
            self.audit_unsigned.clone(),
        );
        r.register(
            "key_cache_lookups",
            "Unwrapped key cache lookups, by hit or miss",
            self.key_cache.clone(),
        );
        r.register(
            "incidents_opened",
            "Incidents opened, by rule and severity",
            self.incidents.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Incident alert deliveries to the webhook, by outcome",
            self.webhook.clone(),
        );
    }

    /// One answered HTTP request.
    pub fn http_request(&self, route: RouteLabel, method: &str, status: u16, took: Duration) {
        let labels = HttpLabels {
            route,
            method: method_label(method),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A failed call to `provider`; `kind` names the failure class (`rate_limited`,
    /// `overloaded`, `timeout`, `transport`, `server`, `client`).
    pub fn upstream_error(&self, provider: &'static str, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels { provider, kind })
            .inc();
    }

    /// A retry of a call to `provider`.
    pub fn upstream_retry(&self, provider: &'static str) {
        self.upstream_retries
            .get_or_create(&ProviderLabels { provider })
            .inc();
    }

    /// `count` entities of type `kind` (an entity tag such as `NAME`) were replaced.
    pub fn deid_entities(&self, kind: &'static str, count: u64) {
        self.deid_entities
            .get_or_create(&KindLabel { entity: kind })
            .inc_by(count);
    }

    /// The leak gate blocked a request in which it found a value of type `kind`.
    pub fn leak_gate_block(&self, kind: &'static str) {
        self.leak_gate_blocks
            .get_or_create(&KindLabel { entity: kind })
            .inc();
    }

    /// Untrusted text from `source` (`task_input`, `tool_result`) read as an injection of
    /// `risk` (`medium`, `high`).
    pub fn injection_detected(&self, source: &'static str, risk: &'static str) {
        self.injections
            .get_or_create(&InjectionLabels { source, risk })
            .inc();
    }

    /// One audit append, durable (`ok`) or failed, after `took`.
    pub fn audit_append(&self, ok: bool, took: Duration) {
        let outcome = if ok { "ok" } else { "failed" };
        self.audit_appends
            .get_or_create(&OutcomeLabel { outcome })
            .observe(took.as_secs_f64());
    }

    /// The audit log's lag: entries appended but not yet covered by a signed checkpoint.
    pub fn audit_lag(&self, unsigned_entries: u64) {
        self.audit_unsigned
            .set(i64::try_from(unsigned_entries).unwrap_or(i64::MAX));
    }

    /// A lookup in the unwrapped key cache.
    pub fn key_cache(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.key_cache
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// An incident was opened by `rule` with `severity`.
    pub fn incident_opened(&self, rule: &'static str, severity: &'static str) {
        self.incidents
            .get_or_create(&IncidentLabels { rule, severity })
            .inc();
    }

    /// One attempt to deliver an alert: `delivered`, `retried` or `failed`.
    pub fn webhook_delivery(&self, outcome: &'static str) {
        self.webhook.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests;
