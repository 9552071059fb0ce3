//! The committer's queue, how it is woken, and the answers the `audit-ack` thread delivers.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::{Job, MAX_BATCH, Reply};
use crate::AppendReceipt;

#[derive(Default)]
pub(super) struct Queue {
    pub(super) jobs: Vec<Job>,
    pub(super) closed: bool,
    /// Appenders between queuing a job and taking its answer.
    pub(super) active: usize,
    /// What the committer waits for, so that one appender wakes it rather than every appender
    /// making a system call.
    pub(super) waiting: Waiting,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// The committer is not waiting.
    #[default]
    No,
    /// For any job.
    Any,
    /// For every active appender's job (or a full batch).
    All,
}

impl Queue {
    /// Whether the committer should be woken now; if so it is no longer waiting.
    pub(super) fn wake(&mut self) -> bool {
        let due = match self.waiting {
            Waiting::No => false,
            Waiting::Any => !self.jobs.is_empty(),
            Waiting::All => self.gathered(),
        };
        if due {
            self.waiting = Waiting::No;
        }
        due
    }

    /// Whether every active appender has queued, or a batch is full.
    pub(super) fn gathered(&self) -> bool {
        self.jobs.len() >= self.active.min(MAX_BATCH)
    }
}

pub(super) struct Shared {
    pub(super) queue: Mutex<Queue>,
    pub(super) ready: Condvar,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The answers of one committed batch, for the `audit-ack` thread to deliver.
pub(super) struct Acks {
    pub(super) replies: Vec<Reply<AppendReceipt>>,
    pub(super) receipts: Vec<AppendReceipt>,
}

impl Acks {
    pub(super) fn send(self) {
        for (reply, receipt) in self.replies.into_iter().zip(self.receipts) {
            // A waiter that has gone away no longer needs its answer.
            let _ = reply.send(Ok(receipt));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    fn checkpoint_job() -> Job {
        Job::Checkpoint(sync_channel(1).0)
    }

    #[test]
    fn a_committer_waiting_for_all_is_woken_once_every_active_appender_has_queued() {
        let mut queue = Queue {
            active: 2,
            waiting: Waiting::All,
            ..Queue::default()
        };
        queue.jobs.push(checkpoint_job());
        assert!(
            !queue.wake(),
            "one of two active appenders has not queued yet"
        );
        queue.jobs.push(checkpoint_job());
        assert!(queue.wake());
        assert!(
            queue.waiting == Waiting::No,
            "a woken committer is not woken again"
        );
        assert!(!queue.wake());
    }

    #[test]
    fn an_appender_leaving_without_appending_again_completes_the_gathering() {
        let mut queue = Queue {
            active: 3,
            waiting: Waiting::All,
            ..Queue::default()
        };
        queue.jobs.push(checkpoint_job());
        assert!(!queue.wake());
        queue.active = 1;
        assert!(queue.wake());
    }

    #[test]
    fn a_committer_waiting_for_any_job_is_woken_by_the_first() {
        let mut queue = Queue {
            waiting: Waiting::Any,
            ..Queue::default()
        };
        assert!(!queue.wake());
        queue.jobs.push(checkpoint_job());
        assert!(queue.wake());
    }
}
