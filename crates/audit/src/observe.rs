//! Observers: code in the serving process that must hear about every append as it happens
//! (the incident rules, the metrics), without reading the log back.

use std::time::Duration;

use crate::{AppendReceipt, AuditError, AuditEvent};

/// Told about every append once its batch is durable, or once it has failed. Called on the
/// appending thread, after the append is decided and before the appender gets its answer, so it
/// must be quick and must not block: hand the event to a queue and return. Events that fail
/// validation (a caller's bug) are not reported; failures to store are.
pub trait AuditObserver: Send + Sync {
    /// `event` was appended (`Ok`) or could not be (`Err`), `took` after the call began.
    fn appended(
        &self,
        event: &AuditEvent,
        outcome: Result<AppendReceipt, &AuditError>,
        took: Duration,
    );
}

#[cfg(test)]
mod tests;
