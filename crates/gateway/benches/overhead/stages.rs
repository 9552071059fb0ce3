//! Where a request's time goes inside the gateway, from the gateway's own tracing spans.
//!
//! The gateway opens a debug-level span for each step of a request (`gateway.read`,
//! `gateway.deidentify`, `gateway.egress`, `gateway.audit`, `gateway.upstream`, …). Once
//! installed and switched on, [`StageTimer`] keeps, for every such span that closes, the time
//! from its opening to its closing (wall) and the time a thread was inside it (busy). Span
//! names and the audit action are fixed words: nothing from a request is kept.
//!
//! Nested spans overlap: `gateway.egress` holds the egress gate and the disclosure's
//! `gateway.audit`; `http.request` holds everything.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Every closed span's (wall, busy) times, by label.
pub type Timings = Arc<Mutex<BTreeMap<String, Vec<(Duration, Duration)>>>>;

/// Kept on each span while it is open.
struct Open {
    label: String,
    opened: Instant,
    entered: Option<Instant>,
    busy: Duration,
}

/// Reads the audit span's `action` field, to tell the disclosure's append from the response's.
struct ActionField(Option<String>);

impl Visit for ActionField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "action" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

/// The layer: times the gateway's spans while `on` is set; otherwise the gateway's spans are
/// not even created.
pub struct StageTimer {
    pub timings: Timings,
    pub on: Arc<AtomicBool>,
}

/// Whether `metadata` is one of the gateway's request spans.
fn ours(metadata: &Metadata<'_>) -> bool {
    metadata.is_span()
        && *metadata.level() <= Level::DEBUG
        && (metadata.name().starts_with("gateway.") || metadata.name() == "http.request")
}

impl<S> Layer<S> for StageTimer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // Asked again at each span (see `enabled`), since the timer is switched on and off.
        if ours(metadata) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        ours(metadata) && self.on.load(Ordering::Relaxed)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut label = attrs.metadata().name().to_owned();
        let mut action = ActionField(None);
        attrs.record(&mut action);
        if let Some(action) = action.0 {
            label = format!("{label} ({action})");
        }
        span.extensions_mut().insert(Open {
            label,
            opened: Instant::now(),
            entered: None,
            busy: Duration::ZERO,
        });
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(open) = span.extensions_mut().get_mut::<Open>()
        {
            open.entered = Some(Instant::now());
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(open) = span.extensions_mut().get_mut::<Open>()
            && let Some(entered) = open.entered.take()
        {
            open.busy += entered.elapsed();
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<Open>() else {
            return;
        };
        let mut timings = self.timings.lock().unwrap();
        timings
            .entry(open.label)
            .or_default()
            .push((open.opened.elapsed(), open.busy));
    }
}
