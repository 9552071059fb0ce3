//! The monitor in the serving process: hears every audit append, runs the rules on a thread of
//! its own, records what fires, audits each incident it opens and alerts the webhook. An append
//! only pays for a non-blocking queue push.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use phigate_audit::{
    Action, Actor, AppendReceipt, AuditError, AuditEvent, AuditLog, AuditObserver, Outcome,
};
use phigate_store::NewIncident;
use phigate_telemetry::metrics;

use crate::book::IncidentBook;
use crate::model::IncidentView;
use crate::rules::{Engine, Firing, Observed, RuleConfig};
use crate::webhook::{Webhook, WebhookConfig};
use crate::{IncidentError, random_id};

/// Events waiting for the rules before new ones are dropped (and counted).
const QUEUE: usize = 16_384;

/// The audit actor of the monitor's own entries.
pub const MONITOR_ACTOR: &str = "phigate-incidents";

/// How the monitor runs, from `[incidents]`.
#[derive(Clone, Debug)]
pub struct MonitorConfig {
    /// The rules' thresholds.
    pub rules: RuleConfig,
    /// A firing merges into the open incident of its rule and subject last seen this recently.
    pub merge_within: Duration,
    /// Where alerts go, if anywhere.
    pub webhook: Option<WebhookConfig>,
}

enum Message {
    Event(Box<Observed>),
    Stop,
}

/// Hands appends to the monitor's queue.
struct Feed {
    queue: SyncSender<Message>,
    dropped: AtomicU64,
}

impl AuditObserver for Feed {
    fn appended(
        &self,
        event: &AuditEvent,
        outcome: Result<AppendReceipt, &AuditError>,
        _took: Duration,
    ) {
        if event.action == Action::Incident && outcome.is_ok() {
            return;
        }
        let observed = Observed {
            event: event.clone(),
            store_failed: outcome.is_err(),
        };
        match self.queue.try_send(Message::Event(Box::new(observed))) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed);
                if dropped.is_multiple_of(1000) {
                    tracing::warn!(
                        dropped = dropped + 1,
                        "incidents.queue full; events skipped"
                    );
                }
            }
        }
    }
}

/// The running monitor. [`Monitor::stop`] drains the queue, delivers queued alerts and stops.
pub struct Monitor {
    queue: SyncSender<Message>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Monitor {
    /// Starts the monitor for `book`'s tenant and registers it with `audit`.
    pub fn start(
        book: IncidentBook,
        audit: Arc<AuditLog>,
        config: MonitorConfig,
    ) -> Result<Self, IncidentError> {
        let webhook = config.webhook.clone().map(Webhook::start).transpose()?;
        let (queue, events) = sync_channel(QUEUE);
        let worker = Worker {
            engine: Engine::new(config.rules.clone()),
            merge_within: i64::try_from(config.merge_within.as_secs()).unwrap_or(i64::MAX),
            book,
            audit: Arc::clone(&audit),
            webhook,
        };
        let thread = std::thread::Builder::new()
            .name("incident-rules".into())
            .spawn(move || worker.run(events))
            .map_err(|_| IncidentError::Webhook("cannot start the rules thread"))?;
        audit.observe(Arc::new(Feed {
            queue: queue.clone(),
            dropped: AtomicU64::new(0),
        }));
        Ok(Self {
            queue,
            worker: Mutex::new(Some(thread)),
        })
    }

    /// Processes everything already queued, delivers the alerts it raised, and stops. Later
    /// appends are no longer watched.
    pub fn stop(&self) {
        let _ = self.queue.send(Message::Stop);
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            let _ = worker.join();
        }
    }
}

struct Worker {
    engine: Engine,
    merge_within: i64,
    book: IncidentBook,
    audit: Arc<AuditLog>,
    webhook: Option<Webhook>,
}

impl Worker {
    fn run(mut self, events: Receiver<Message>) {
        while let Ok(Message::Event(observed)) = events.recv() {
            for firing in self.engine.observe(&observed) {
                self.record(&firing);
            }
        }
        // Dropping the webhook delivers what is queued.
    }

    fn record(&self, firing: &Firing) {
        let Ok(id) = random_id() else {
            tracing::error!("incidents: no randomness for an id");
            return;
        };
        let rule = firing.rule;
        let severity = rule.severity().as_str();
        let new = NewIncident {
            id: &id,
            tenant: self.book.tenant(),
            rule: rule.as_str(),
            subject: &firing.subject,
            severity,
            summary: &firing.summary,
            at: firing.at,
            patient_refs: &firing.patient_refs,
        };
        let (record, opened) = match self.book.store().record_incident(&new, self.merge_within) {
            Ok(recorded) => recorded,
            Err(err) => {
                tracing::error!(error = %err, rule = rule.as_str(), "incidents: cannot store");
                return;
            }
        };
        if !opened {
            return;
        }
        metrics().incident_opened(rule.as_str(), severity);
        tracing::warn!(
            incident.id = record.id.as_str(),
            rule = rule.as_str(),
            severity,
            "incidents.opened"
        );
        let mut event = AuditEvent::new(
            Actor {
                user_id: MONITOR_ACTOR.into(),
                role: "system".into(),
                client_id: None,
                address: None,
            },
            Action::Incident,
            Outcome::Success,
        );
        event.detail = Some(format!(
            "opened incident {} rule={} severity={severity}",
            record.id,
            rule.as_str()
        ));
        if let Err(err) = self.audit.append(event) {
            tracing::error!(error = %err, incident.id = record.id.as_str(), "incidents: not audited");
        }
        if let Some(webhook) = &self.webhook {
            webhook.send(self.book.tenant(), &IncidentView::from(&record));
        }
    }
}
