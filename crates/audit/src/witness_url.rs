//! The witness URL: every checkpoint the log signs is also POSTed, as its signed note
//! (`text/plain`), to a receiver outside the deployment, which can check the signature with the
//! log's public key and keep the note where the log's writer cannot reach.
//!
//! Delivery never holds up an append: the committer offers each checkpoint to a bounded queue
//! without waiting, and one thread of this module delivers them in order, each with a timeout
//! and a few retries with backoff. A checkpoint that finds the queue full, or that fails every
//! attempt, is counted as a failure. After each checkpoint the thread rewrites a small status
//! file (JSON), which `phigate compliance report` reads: how many were delivered, the largest
//! size the witness acknowledged, how many failed, and whether the last attempt failed.
//!
//! Dropping the poster delivers what is queued first, so a short-lived command's checkpoints
//! reach the witness too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{AuditError, Checkpoint};

/// Checkpoints waiting for delivery before new ones are counted as failures.
const QUEUE: usize = 1024;

/// Where and how checkpoints are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessUrl {
    /// The receiver (https, or http on loopback: the caller checks).
    pub url: String,
    /// The status file this process rewrites after each checkpoint.
    pub status_file: PathBuf,
    /// Longest one attempt may take.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
}

impl WitnessUrl {
    /// Delivery to `url`, recorded in `status_file`, with a 5 s timeout and 3 retries.
    pub fn new(url: &str, status_file: &Path) -> Self {
        Self {
            url: url.to_owned(),
            status_file: status_file.to_owned(),
            timeout: Duration::from_secs(5),
            retries: 3,
        }
    }
}

/// What the status file records, accumulated across processes that share it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessStatus {
    /// The receiver.
    pub url: String,
    /// Checkpoints the receiver acknowledged (a 2xx answer).
    pub delivered: u64,
    /// The largest checkpoint size it acknowledged.
    pub delivered_size: u64,
    /// Checkpoints that were never acknowledged: every attempt failed, or the queue was full.
    pub failures: u64,
    /// Whether the most recent checkpoint failed.
    pub failing: bool,
    /// Why the most recent failure happened (a status code or an error kind, never a body).
    pub last_error: Option<String>,
    /// When the file was last written (Unix seconds).
    pub updated_at: i64,
}

impl WitnessStatus {
    /// Reads a status file; `None` if there is none yet.
    pub fn read(path: &Path) -> Result<Option<Self>, AuditError> {
        let witness_err = |source| AuditError::Witness {
            path: path.to_owned(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| witness_err(std::io::Error::other(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(witness_err(e)),
        }
    }

    fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, path)
    }
}

/// The committer's end: offers checkpoints without ever waiting.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointSink {
    sender: SyncSender<Checkpoint>,
    dropped: Arc<AtomicU64>,
}

impl CheckpointSink {
    /// Queues `checkpoint` for delivery, or counts it as failed when the queue is full.
    pub(crate) fn offer(&self, checkpoint: &Checkpoint) {
        match self.sender.try_send(checkpoint.clone()) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The delivery thread; dropping it delivers what is queued, then stops it.
pub(crate) struct WitnessPoster {
    sink: Option<CheckpointSink>,
    thread: Option<JoinHandle<()>>,
}

impl WitnessPoster {
    /// Starts delivering to `target`.
    pub(crate) fn start(target: WitnessUrl) -> Result<Self, AuditError> {
        let (sender, receiver) = sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        let thread = std::thread::Builder::new()
            .name("audit-witness".into())
            .spawn(move || deliver_all(&target, &receiver, &counter))
            .map_err(|_| AuditError::CommitterStopped)?;
        Ok(Self {
            sink: Some(CheckpointSink { sender, dropped }),
            thread: Some(thread),
        })
    }

    /// A handle for the committer.
    pub(crate) fn sink(&self) -> Option<CheckpointSink> {
        self.sink.clone()
    }
}

impl Drop for WitnessPoster {
    fn drop(&mut self) {
        // The thread ends once every sender, the committer's included, is gone and the queue
        // is empty.
        self.sink = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn deliver_all(target: &WitnessUrl, queue: &Receiver<Checkpoint>, dropped: &AtomicU64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let client = reqwest::Client::builder()
        .timeout(target.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let mut status = WitnessStatus::read(&target.status_file)
        .ok()
        .flatten()
        .filter(|s| s.url == target.url)
        .unwrap_or_else(|| WitnessStatus {
            url: target.url.clone(),
            ..WitnessStatus::default()
        });
    while let Ok(checkpoint) = queue.recv() {
        let result = match (&runtime, &client) {
            (Ok(runtime), Ok(client)) => deliver(runtime, client, target, &checkpoint),
            _ => Err("no HTTP client".to_owned()),
        };
        match result {
            Ok(()) => {
                status.delivered += 1;
                status.delivered_size = status.delivered_size.max(checkpoint.size);
                status.failing = false;
            }
            Err(why) => {
                status.failures += 1;
                status.failing = true;
                status.last_error = Some(why);
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            status.failures += lost;
            status.failing = true;
            status.last_error = Some(format!("{lost} checkpoint(s) found the queue full"));
        }
        status.updated_at = time::OffsetDateTime::now_utc().unix_timestamp();
        // A status that cannot be written shows up as a missing or stale file in the report.
        let _ = status.write(&target.status_file);
    }
}

/// POSTs one note, retrying with backoff; the reason of the last failure otherwise.
fn deliver(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    target: &WitnessUrl,
    checkpoint: &Checkpoint,
) -> Result<(), String> {
    let note = checkpoint.to_note();
    let mut why = String::new();
    for attempt in 0..=target.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << attempt.min(5)));
        }
        // The request is built inside the runtime: its timeout needs the runtime's timer.
        let sent = runtime.block_on(async {
            client
                .post(&target.url)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .header("x-phigate-checkpoint-size", checkpoint.size)
                .body(note.clone())
                .send()
                .await
        });
        match sent {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => why = format!("HTTP status {}", answer.status().as_u16()),
            Err(err) if err.is_timeout() => why = "timed out".into(),
            Err(err) if err.is_connect() => why = "could not connect".into(),
            Err(_) => why = "request failed".into(),
        }
    }
    Err(why)
}
