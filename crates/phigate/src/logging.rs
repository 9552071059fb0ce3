//! Operator logging and, when `[telemetry] otlp_endpoint` is set, OpenTelemetry trace export.
//!
//! Logs go to standard error as text or JSON, filtered by `[log] level`. The exporter is a
//! second `tracing` layer with its own filter: it sees only spans (never events, whose
//! messages are free text) from Phigate's own crates, so what leaves the process is span
//! names and the fixed fields those spans declare (route templates, methods, statuses, request
//! ids Phigate made, provider kinds). Span fields follow the rule of the metrics labels: no
//! PHI and no string a user supplied.

use std::time::Duration;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::{Config, TelemetryConfig};

/// The tracing set-up of this process; [`Tracing::shutdown`] flushes exported spans.
pub struct Tracing {
    provider: Option<SdkTracerProvider>,
}

impl Tracing {
    /// Exports the spans still buffered and stops the exporter. Blocks, so it runs outside
    /// the async runtime, after the server has drained.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && provider.shutdown().is_err()
        {
            tracing::warn!("otlp.flush_failed");
        }
    }
}

/// Installs the process's subscriber: the log layer always, the exporter when `export` is
/// asked for and configured.
pub fn init(config: &Config, export: bool) -> anyhow::Result<Tracing> {
    let provider = if export && config.telemetry.enabled() {
        Some(provider(&config.telemetry)?)
    } else {
        None
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("phigate"))
            .with_location(false)
            .with_threads(false)
            .with_filter(FilterFn::new(exported))
    });
    let filter = EnvFilter::new(&config.log.level);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if config.log.format == "json" {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    // A second initialisation (impossible here) would only be refused; nothing to handle.
    let _ = Registry::default().with(fmt).with(otel).try_init();
    Ok(Tracing { provider })
}

/// What the exporter sees: spans at debug or above from Phigate's crates. Events stay in the
/// logs, and dependencies' spans (HTTP clients, the exporter's own) stay out.
fn exported(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.target().starts_with("phigate") && *meta.level() <= Level::DEBUG
}

fn provider(telemetry: &TelemetryConfig) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(telemetry.traces_url())
        .with_timeout(Duration::from_secs(telemetry.export_timeout_secs))
        .build()
        .context("building the OTLP span exporter")?;
    let resource = Resource::builder()
        .with_service_name(telemetry.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::TraceIdRatioBased(telemetry.sample_ratio))
        .with_resource(resource)
        .build())
}
