//! Group commit: many appenders, one committer thread, one transaction and one sync per batch.
//!
//! An appender validates and encodes its event on its own thread, queues it, and waits. The
//! committer takes everything queued, numbers and hashes it, writes it in one transaction,
//! signs checkpoints where they fall due, commits (the database syncs once), and only then
//! answers every waiter of the batch. If any step fails the transaction is rolled back and
//! every waiter of that batch gets the error: nothing is acknowledged that is not durable.
//!
//! The committer also signs a checkpoint when entries have waited `checkpoint_after` without
//! one, and appends each checkpoint it signs to the witness file, when there is one.
//!
//! Waking a batch's waiters costs the kernel a wake-up per thread, as much as a fifth of the
//! committer's time under load; a second thread, the answerer, does it while the committer
//! starts on the next batch. It only ever carries answers for batches already committed (or
//! failed), in the order they were decided, so nothing is acknowledged any earlier than before.
//! A batch of one, with the answerer idle, is answered by the committer itself: one wake-up
//! instead of two hops, which is most of an append's latency when appends come one at a time.

use std::mem;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::checkpoint::CheckpointSigner;
use crate::event::Encoded;
use crate::merkle::{self, Frontier, Hash};
use crate::store::{NewRow, Writer};
use crate::witness_url::CheckpointSink;
use crate::{AppendReceipt, AuditError, Checkpoint, witness};

/// Most entries written in one transaction.
const MAX_BATCH: usize = 4096;

/// When checkpoints are signed.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// A checkpoint is signed as soon as this many entries are not covered by one.
    pub checkpoint_every: u64,
    /// A checkpoint is also signed once entries have waited this long without one.
    pub checkpoint_after: Duration,
    /// A file to which every signed checkpoint is also appended.
    pub witness_file: Option<PathBuf>,
    /// Where every signed checkpoint is offered for delivery to the witness URL.
    pub witness_sink: Option<CheckpointSink>,
}

/// Where the answer to one job goes: a thread blocked on a channel, or a task that awaits it.
enum Reply<T> {
    Blocking(SyncSender<Result<T, AuditError>>),
    Awaited(tokio::sync::oneshot::Sender<Result<T, AuditError>>),
}

impl<T> Reply<T> {
    /// Delivers the answer; a waiter that has gone away (a dropped request) is not an error.
    fn send(self, answer: Result<T, AuditError>) {
        match self {
            Reply::Blocking(reply) => {
                let _ = reply.send(answer);
            }
            Reply::Awaited(reply) => {
                let _ = reply.send(answer);
            }
        }
    }
}

/// The answers of one decided batch, delivered by the answerer thread.
type Answers = Box<dyn FnOnce() + Send>;

enum Job {
    Append(Encoded, Reply<AppendReceipt>),
    Checkpoint(Reply<Checkpoint>),
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The handle appenders use; dropping it drains the queue and stops the committer.
pub(crate) struct Committer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    answerer: Option<JoinHandle<()>>,
}

impl Committer {
    pub(crate) fn start(
        writer: Box<dyn Writer>,
        signer: Arc<CheckpointSigner>,
        origin: String,
        options: CommitOptions,
    ) -> Result<Self, AuditError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
        });
        let (answers, decided) = channel::<Answers>();
        let answering = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&answering);
        let answerer = std::thread::Builder::new()
            .name("audit-answer".into())
            .spawn(move || answer_all(&decided, &counter))
            .map_err(|_| AuditError::CommitterStopped)?;
        let mut state = State {
            answers,
            answering,
            writer,
            signer,
            origin,
            options,
            tip: Tip::default(),
            loaded: false,
            last_checkpoint_at: Instant::now(),
        };
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("audit-commit".into())
            .spawn(move || state.run(&worker))
            .map_err(|_| AuditError::CommitterStopped)?;
        Ok(Self {
            shared,
            thread: Some(thread),
            answerer: Some(answerer),
        })
    }

    /// Queues `job` for the committer.
    fn queue(&self, job: Job) -> Result<(), AuditError> {
        {
            let mut queue = self.shared.lock();
            if queue.closed {
                return Err(AuditError::CommitterStopped);
            }
            queue.jobs.push(job);
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, AuditError> {
        let (reply, answer) = sync_channel(1);
        self.queue(job(Reply::Blocking(reply)))?;
        answer.recv().map_err(|_| AuditError::CommitterStopped)?
    }

    /// Queues an encoded event and waits until its batch is durable.
    pub(crate) fn append(&self, encoded: Encoded) -> Result<AppendReceipt, AuditError> {
        self.submit(|reply| Job::Append(encoded, reply))
    }

    /// Queues an encoded event and resolves once its batch is durable, without holding a
    /// thread while it waits: the committer answers the task directly.
    pub(crate) async fn append_async(&self, encoded: Encoded) -> Result<AppendReceipt, AuditError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue(Job::Append(encoded, Reply::Awaited(reply)))?;
        // A committer that stops drops the reply unanswered: that is a failure, never a success.
        answer.await.map_err(|_| AuditError::CommitterStopped)?
    }

    /// Whether the committer thread still takes appends.
    pub(crate) fn is_running(&self) -> bool {
        !self.shared.lock().closed && self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Asks for a checkpoint of the log as it is once everything queued before is written.
    pub(crate) fn checkpoint(&self) -> Result<Checkpoint, AuditError> {
        self.submit(Job::Checkpoint)
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panicking committer has already dropped its repliers, failing every waiter.
            let _ = thread.join();
        }
        // The committer's end closed the answerer's channel; it delivers what it holds and ends.
        if let Some(answerer) = self.answerer.take() {
            let _ = answerer.join();
        }
    }
}

/// The answerer thread: delivers each decided batch's answers, in order, until the committer
/// is gone. `answering` counts the batches sent to it and not yet delivered.
fn answer_all(decided: &Receiver<Answers>, answering: &AtomicUsize) {
    for answers in decided {
        answers();
        answering.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the committer knows about the end of the log.
#[derive(Clone, Default)]
struct Tip {
    chain: Hash,
    frontier: Frontier,
    last_checkpoint: u64,
}

struct State {
    /// To the answerer thread.
    answers: Sender<Answers>,
    /// Batches handed to the answerer and not yet delivered.
    answering: Arc<AtomicUsize>,
    writer: Box<dyn Writer>,
    signer: Arc<CheckpointSigner>,
    origin: String,
    options: CommitOptions,
    tip: Tip,
    loaded: bool,
    last_checkpoint_at: Instant,
}

/// What one batch wrote, kept until it is known to be durable.
struct Written {
    tip: Tip,
    receipts: Vec<AppendReceipt>,
    checkpoints: Vec<Checkpoint>,
}

impl State {
    fn run(&mut self, shared: &Shared) {
        loop {
            let (jobs, closed) = self.next_jobs(shared);
            if jobs.is_empty() {
                if closed {
                    return;
                }
                self.timed_checkpoint();
                continue;
            }
            self.commit(jobs);
        }
    }

    /// Waits for work, or until a timed checkpoint falls due.
    fn next_jobs(&self, shared: &Shared) -> (Vec<Job>, bool) {
        let mut queue = shared.lock();
        while queue.jobs.is_empty() && !queue.closed {
            let wait = self.until_timed_checkpoint();
            let (guard, timeout) = shared
                .ready
                .wait_timeout(queue, wait)
                .unwrap_or_else(PoisonError::into_inner);
            queue = guard;
            if timeout.timed_out() && queue.jobs.is_empty() {
                return (Vec::new(), queue.closed);
            }
        }
        let take = queue.jobs.len().min(MAX_BATCH);
        let rest = queue.jobs.split_off(take);
        (mem::replace(&mut queue.jobs, rest), queue.closed)
    }

    fn until_timed_checkpoint(&self) -> Duration {
        let pending = self.tip.frontier.size() > self.tip.last_checkpoint;
        if pending {
            self.options
                .checkpoint_after
                .saturating_sub(self.last_checkpoint_at.elapsed())
                .max(Duration::from_millis(1))
        } else {
            // Nothing to cover; wake now and then to notice other processes' entries.
            self.options.checkpoint_after.max(Duration::from_millis(1))
        }
    }

    fn timed_checkpoint(&mut self) {
        let uncovered = self.loaded && self.tip.frontier.size() > self.tip.last_checkpoint;
        if uncovered && self.last_checkpoint_at.elapsed() >= self.options.checkpoint_after {
            // A failure here is retried at the next timeout; no caller is waiting on it.
            let _ = self.write(&[], true);
        }
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        let lone = jobs.len() == 1;
        let mut events = Vec::with_capacity(jobs.len());
        let mut append_replies = Vec::with_capacity(jobs.len());
        let mut checkpoint_replies = Vec::new();
        for job in jobs {
            match job {
                Job::Append(encoded, reply) => {
                    events.push(encoded);
                    append_replies.push(reply);
                }
                Job::Checkpoint(reply) => checkpoint_replies.push(reply),
            }
        }
        let answers: Answers = match self.write(&events, !checkpoint_replies.is_empty()) {
            Ok(written) => Box::new(move || {
                for (reply, receipt) in append_replies.into_iter().zip(written.receipts) {
                    reply.send(Ok(receipt));
                }
                for reply in checkpoint_replies {
                    let last = written.checkpoints.last().cloned();
                    reply.send(last.ok_or(AuditError::CommitterStopped));
                }
            }),
            Err(err) => Box::new(move || {
                let err = Arc::new(err);
                for reply in append_replies {
                    reply.send(Err(AuditError::BatchFailed(Arc::clone(&err))));
                }
                for reply in checkpoint_replies {
                    reply.send(Err(AuditError::BatchFailed(Arc::clone(&err))));
                }
            }),
        };
        // A lone waiter is answered here when that keeps the order: nothing earlier is still
        // waiting at the answerer (only this thread adds to the count, so it cannot rise now).
        if lone && self.answering.load(Ordering::Acquire) == 0 {
            answers();
            return;
        }
        self.answering.fetch_add(1, Ordering::AcqRel);
        // Should the answerer have died, answer here rather than leave anyone waiting.
        if let Err(unsent) = self.answers.send(answers) {
            self.answering.fetch_sub(1, Ordering::AcqRel);
            (unsent.0)();
        }
    }

    /// Writes one batch in one transaction; the state advances only once it has committed.
    fn write(&mut self, events: &[Encoded], force_checkpoint: bool) -> Result<Written, AuditError> {
        let stored = self.writer.begin()?;
        let written = self
            .sync_tip(stored)
            .and_then(|()| self.build(events, force_checkpoint))
            .and_then(|(rows, written)| {
                let notes: Vec<(u64, String)> = written
                    .checkpoints
                    .iter()
                    .map(|c| (c.size, c.to_note()))
                    .collect();
                self.writer.insert(&rows, &notes)?;
                self.writer.commit()?;
                Ok(written)
            });
        let written = match written {
            Ok(written) => written,
            Err(err) => {
                self.writer.rollback();
                // The stored state is read again at the next batch.
                self.loaded = false;
                return Err(err);
            }
        };
        self.tip = written.tip.clone();
        if !written.checkpoints.is_empty() {
            self.last_checkpoint_at = Instant::now();
            if let Some(path) = &self.options.witness_file {
                // Fail closed: entries whose checkpoint the witness did not get are reported as
                // failures, although they are durable in the log.
                witness::append(path, &written.checkpoints)?;
            }
            if let Some(sink) = &self.options.witness_sink {
                written.checkpoints.iter().for_each(|c| sink.offer(c));
            }
        }
        Ok(written)
    }

    /// Makes the in-memory tip agree with what is stored (another process may have written).
    fn sync_tip(&mut self, stored: Option<(u64, Hash)>) -> Result<(), AuditError> {
        let (size, chain) = match stored {
            Some((last, chain)) => (last.saturating_add(1), chain),
            None => (0, [0u8; 32]),
        };
        if self.loaded && self.tip.frontier.size() == size && self.tip.chain == chain {
            return Ok(());
        }
        let (leaves, last_checkpoint) = self.writer.reload(size)?;
        if leaves.len() as u64 != size {
            return Err(AuditError::Corrupt {
                seq: leaves.len() as u64,
                reason: "entries are missing; run verify",
            });
        }
        self.tip = Tip {
            chain,
            frontier: Frontier::from_leaves(&leaves),
            last_checkpoint,
        };
        self.loaded = true;
        Ok(())
    }

    /// Numbers, hashes and links `events` after the tip, signing checkpoints where due.
    fn build(
        &self,
        events: &[Encoded],
        force_checkpoint: bool,
    ) -> Result<(Vec<NewRow>, Written), AuditError> {
        let mut tip = self.tip.clone();
        let mut rows = Vec::with_capacity(events.len());
        let mut receipts = Vec::with_capacity(events.len());
        let mut checkpoints = Vec::new();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for encoded in events {
            let seq = tip.frontier.size();
            let body = encoded.body(seq);
            let leaf_hash = merkle::leaf_hash(&body);
            let chain_hash = crate::log::chain_hash(&tip.chain, &leaf_hash);
            rows.push(NewRow {
                seq,
                prev_hash: tip.chain,
                leaf_hash,
                chain_hash,
                time: encoded.time,
                body,
                user_id: encoded.user_id.clone(),
                action: encoded.action,
                patient_ref: encoded.patient_ref.clone(),
            });
            receipts.push(AppendReceipt { seq, leaf_hash });
            tip.chain = chain_hash;
            tip.frontier.push(leaf_hash);
            if tip.frontier.size() - tip.last_checkpoint >= self.options.checkpoint_every {
                checkpoints.push(self.sign(&mut tip, now));
            }
        }
        let uncovered = tip.frontier.size() > tip.last_checkpoint;
        if force_checkpoint && (uncovered || checkpoints.is_empty()) {
            checkpoints.push(self.sign(&mut tip, now));
        }
        Ok((
            rows,
            Written {
                tip,
                receipts,
                checkpoints,
            },
        ))
    }

    fn sign(&self, tip: &mut Tip, now: i64) -> Checkpoint {
        let size = tip.frontier.size();
        tip.last_checkpoint = size;
        self.signer
            .sign(&self.origin, size, tip.frontier.root(), now)
    }
}
