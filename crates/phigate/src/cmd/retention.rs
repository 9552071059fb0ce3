//! `phigate retention report|purge`, and the purge `phigate serve` runs periodically.
//!
//! Classes: decided drafts, drafts left awaiting review and vault maps in the store
//! (`[retention]`), and the bodies of audit entries (`audit.retention_days`, which pruning
//! refuses to take under six years). The store keeps no prompts or responses beyond drafts and
//! vault maps, so there is no class for them. Patients under legal hold are skipped; because
//! audit pruning works on whole ranges of the log, it is suspended while any hold is active.

use std::process::ExitCode;

use anyhow::{Result, bail};
use phigate_audit::{Action, AuditError, AuditEvent, AuditLog, Outcome, Query};
use phigate_store::{RetentionCounts, RetentionCutoffs, Store};
use time::OffsetDateTime;

use crate::cli::RetentionCommand;
use crate::cmd::patient::operator;
use crate::config::Config;
use crate::datadir;
use crate::output::Out;

/// Six years with leap days: the least the audit log keeps entry bodies.
pub const MIN_AUDIT_DAYS: u64 = phigate_audit::RETENTION_DAYS as u64;

/// What happened to the audit class in a purge.
#[derive(Debug)]
pub enum AuditPurge {
    /// Bodies of this many entries were cleared.
    Pruned(u64),
    /// Audit pruning did not run, and why.
    Skipped(&'static str),
}

/// What one purge did.
#[derive(Debug)]
pub struct PurgeReport {
    /// Store rows deleted per class.
    pub store: RetentionCounts,
    /// The audit class.
    pub audit: AuditPurge,
}

/// Runs `phigate retention …`.
pub fn run(config: &Config, command: &RetentionCommand) -> Result<ExitCode> {
    let opened = datadir::open(config)?;
    let mut out = Out::new();
    match command {
        RetentionCommand::Report => {
            check_audit_days(config)?;
            let counts = opened
                .store
                .retention_report(&config.tenant, &cutoffs(config)?)?;
            let audit_due = audit_due(config, &opened.audit)?;
            let r = &config.retention;
            out.line("class                       kept    due now");
            out.line(format!(
                "drafts, signed or rejected  {:>4} d  {:>7}",
                r.drafts_decided_days, counts.drafts_decided
            ));
            out.line(format!(
                "drafts, awaiting review     {:>4} d  {:>7}",
                r.drafts_awaiting_days, counts.drafts_awaiting
            ));
            out.line(format!(
                "vault maps                  {:>4} d  {:>7}",
                r.vault_days, counts.vaults
            ));
            out.line(format!(
                "audit entry bodies          {:>4} d  {:>7}",
                config.audit.retention_days, audit_due
            ));
            let holds = opened.store.legal_holds(&config.tenant)?.len();
            out.line(format!(
                "{} rows past retention kept for {holds} patients under legal hold{}",
                counts.held,
                if holds > 0 {
                    "; audit pruning is suspended while a hold is active"
                } else {
                    ""
                }
            ));
        }
        RetentionCommand::Purge => {
            let report = purge(config, &opened.store, &opened.audit)?;
            out.line(describe(&report));
        }
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Purges every class and audits a `retention` entry with the counts.
pub fn purge(config: &Config, store: &Store, audit: &AuditLog) -> Result<PurgeReport> {
    check_audit_days(config)?;
    let counts = store.retention_purge(&config.tenant, &cutoffs(config)?)?;
    let audit_purge = if !store.legal_holds(&config.tenant)?.is_empty() {
        AuditPurge::Skipped("a legal hold is active")
    } else {
        match audit.prune(audit_cutoff(config)?, operator()) {
            Ok(cleared) => AuditPurge::Pruned(cleared),
            Err(AuditError::NeedsOwner(_)) => {
                AuditPurge::Skipped("the PostgreSQL log is pruned by its owner role")
            }
            Err(err) => return Err(err.into()),
        }
    };
    let report = PurgeReport {
        store: counts,
        audit: audit_purge,
    };
    let mut event = AuditEvent::new(operator(), Action::Retention, Outcome::Success);
    event.detail = Some(describe(&report));
    audit.append(event)?;
    Ok(report)
}

/// One line of counts, for the terminal and the audit entry.
pub fn describe(report: &PurgeReport) -> String {
    let s = &report.store;
    let audit = match &report.audit {
        AuditPurge::Pruned(n) => format!("{n} audit entry bodies pruned"),
        AuditPurge::Skipped(why) => format!("audit pruning skipped ({why})"),
    };
    format!(
        "purged {} signed or rejected drafts, {} drafts awaiting review, {} vault maps; \
         {} rows kept for legal hold; {audit}",
        s.drafts_decided, s.drafts_awaiting, s.vaults, s.held
    )
}

/// Refuses a configuration that would prune audit entries younger than six years.
pub(crate) fn check_audit_days(config: &Config) -> Result<()> {
    if config.audit.retention_days < MIN_AUDIT_DAYS {
        bail!(
            "audit.retention_days is {}; audit entries are kept at least {MIN_AUDIT_DAYS} days \
             (six years), so retention refuses to run",
            config.audit.retention_days
        );
    }
    Ok(())
}

fn days_ago(days: u64) -> Result<OffsetDateTime> {
    Ok(OffsetDateTime::now_utc() - time::Duration::days(i64::try_from(days)?))
}

fn cutoffs(config: &Config) -> Result<RetentionCutoffs> {
    let r = &config.retention;
    Ok(RetentionCutoffs {
        drafts_decided_before: days_ago(r.drafts_decided_days)?.unix_timestamp(),
        drafts_awaiting_before: days_ago(r.drafts_awaiting_days)?.unix_timestamp(),
        vaults_before: days_ago(r.vault_days)?.unix_timestamp(),
    })
}

fn audit_cutoff(config: &Config) -> Result<OffsetDateTime> {
    days_ago(config.audit.retention_days)
}

/// Audit entries older than the cutoff that still have their bodies.
fn audit_due(config: &Config, audit: &AuditLog) -> Result<usize> {
    let query = Query {
        until: Some(audit_cutoff(config)?.unix_timestamp()),
        limit: u64::MAX >> 1,
        ..Query::default()
    };
    Ok(audit.search(&query)?.len())
}
