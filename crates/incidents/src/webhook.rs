//! Alerts to the configured webhook: a JSON POST per incident opened, from a thread of its own,
//! with a timeout and a bounded number of retries. Requests never wait for it: a full queue
//! drops the alert (the incident is stored either way).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use phigate_telemetry::metrics;
use serde::Serialize;

use crate::IncidentError;
use crate::model::IncidentView;

/// Alerts waiting for delivery before new ones are dropped.
const QUEUE: usize = 256;

/// Where and how alerts are sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The receiver's URL (`http` or `https`).
    pub url: String,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Further attempts after a failed one.
    pub retries: u32,
    /// The wait before the first retry; doubled for each one after.
    pub backoff: Duration,
}

/// What the receiver gets. No PHI: ids, the rule, severity, counts and the summary.
#[derive(Serialize)]
struct Alert<'a> {
    event: &'static str,
    tenant: &'a str,
    incident: &'a IncidentView,
}

/// The delivery thread and its queue; dropping it delivers what is queued, then stops.
pub(crate) struct Webhook {
    queue: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl Webhook {
    pub(crate) fn start(config: WebhookConfig) -> Result<Self, IncidentError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|_| IncidentError::Webhook("cannot build the HTTP client"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| IncidentError::Webhook("cannot start the delivery runtime"))?;
        let (queue, alerts) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("incident-webhook".into())
            .spawn(move || runtime.block_on(deliver_all(client, config, alerts)))
            .map_err(|_| IncidentError::Webhook("cannot start the delivery thread"))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues an alert for `incident`; drops it (and says so) if the queue is full.
    pub(crate) fn send(&self, tenant: &str, incident: &IncidentView) {
        let alert = Alert {
            event: "incident.opened",
            tenant,
            incident,
        };
        let Ok(body) = serde_json::to_vec(&alert) else {
            return;
        };
        let Some(queue) = &self.queue else { return };
        match queue.try_send(body) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                metrics().webhook_delivery("dropped");
                tracing::warn!(
                    incident.id = incident.id.as_str(),
                    "incidents.webhook queue full"
                );
            }
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn deliver_all(client: reqwest::Client, config: WebhookConfig, alerts: Receiver<Vec<u8>>) {
    // The receiver is a std channel so that `send` never needs a runtime; waiting on it here
    // blocks only this thread, which has nothing else to do.
    while let Ok(body) = alerts.recv() {
        deliver(&client, &config, body).await;
    }
}

async fn deliver(client: &reqwest::Client, config: &WebhookConfig, body: Vec<u8>) {
    let mut wait = config.backoff;
    for attempt in 0..=config.retries {
        if attempt > 0 {
            metrics().webhook_delivery("retried");
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        let sent = client
            .post(&config.url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                metrics().webhook_delivery("delivered");
                return;
            }
            Ok(response) => {
                tracing::warn!(
                    status = response.status().as_u16(),
                    attempt,
                    "incidents.webhook refused"
                );
            }
            Err(err) => {
                // The error names the URL, which is configuration, not data.
                tracing::warn!(error = %err, attempt, "incidents.webhook failed");
            }
        }
    }
    metrics().webhook_delivery("failed");
}
