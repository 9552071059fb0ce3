//! The witness URL check: every checkpoint the log signed has reached the receiver named by
//! `audit.witness_url`, as the delivery status file records it.

use phigate_audit::witness_url::WitnessStatus;

use super::{Finding, Status, open_audit};
use crate::config::Config;
use crate::datadir::Layout;

/// Passes when the receiver acknowledged the latest checkpoint and the last delivery did not
/// fail; not applicable without a witness URL.
pub fn witness_url(name: &str, config: &Config, layout: &Layout) -> Finding {
    let Some(url) = &config.audit.witness_url else {
        return Finding::new(
            name,
            Status::NotApplicable,
            "no audit.witness_url: checkpoints are copied only where audit.witness_file says",
        );
    };
    let latest = match open_audit(config, layout).and_then(|log| {
        log.checkpoints()
            .map_err(|e| format!("cannot read the log: {e}"))
    }) {
        Ok(checkpoints) => checkpoints.iter().map(|c| c.size).max().unwrap_or(0),
        Err(problem) => return Finding::new(name, Status::Fail, problem),
    };
    let status = match WitnessStatus::read(&layout.witness_status()) {
        Ok(Some(status)) if status.url == *url => status,
        Ok(_) if latest == 0 => {
            return Finding::new(name, Status::Pass, "no checkpoint to deliver yet");
        }
        Ok(_) => {
            return Finding::new(
                name,
                Status::Fail,
                format!("no checkpoint has been delivered to {url}"),
            );
        }
        Err(e) => return Finding::new(name, Status::Fail, format!("{e}")),
    };
    let evidence = format!(
        "{} checkpoint(s) delivered to {url}, up to size {} of {latest}; {} failure(s){}",
        status.delivered,
        status.delivered_size,
        status.failures,
        match (&status.last_error, status.failing) {
            (Some(why), true) => format!(", failing now: {why}"),
            _ => String::new(),
        }
    );
    if status.failing || status.delivered_size < latest {
        Finding::new(name, Status::Fail, evidence)
    } else {
        Finding::new(name, Status::Pass, evidence)
    }
}
