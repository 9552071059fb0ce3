//! `phigate doctor`: the operational twin of `phigate compliance report`. It runs the
//! compliance live checks that concern a running deployment, then its own: the TLS certificate,
//! the store database, the audit store and the KMS answering, clock skew, and configuration
//! mistakes. Each check passes, warns, fails or is skipped; any failure makes the exit code
//! non-zero. It changes nothing.

mod cert;
mod checks;

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::compliance::checks::{self as compliance, Status};
use crate::config::Config;
use crate::output::Out;

/// The compliance live checks doctor repeats, as operational checks.
const COMPLIANCE_CHECKS: [&str; 7] = [
    "listen-transport",
    "tls-version",
    "provider-transport",
    "root-key-permissions",
    "data-dir-permissions",
    "audit-verifies",
    "audit-checkpoint-age",
];

/// What one check concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Pass,
    /// Works, but should be looked at.
    Warn,
    /// Broken: the exit code says so.
    Fail,
    /// Does not apply here.
    Skip,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        }
    }
}

/// One check's verdict and what it saw (settings, paths, numbers; never PHI or secrets).
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The check's name.
    pub check: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// What it saw.
    pub evidence: String,
}

impl Check {
    fn new(check: &str, verdict: Verdict, evidence: impl Into<String>) -> Self {
        Check {
            check: check.to_owned(),
            verdict,
            evidence: evidence.into(),
        }
    }
}

/// Runs `phigate doctor`.
pub fn run(config: &Config, args: &DoctorArgs) -> Result<ExitCode> {
    let mut found: Vec<Check> = COMPLIANCE_CHECKS
        .iter()
        .map(|name| {
            let finding = compliance::run(name, config);
            let verdict = match finding.status {
                Status::Pass => Verdict::Pass,
                Status::Fail => Verdict::Fail,
                Status::NotApplicable => Verdict::Skip,
            };
            Check::new(name, verdict, finding.evidence)
        })
        .collect();
    found.extend(checks::configuration(config));
    found.extend(checks::tls_certificate(config, args.cert_warn_days));
    found.extend(checks::components(config, args.max_skew_secs));
    found.push(checks::upstream_clock(config, args.max_skew_secs));

    let mut out = Out::new();
    if args.json {
        out.line(serde_json::to_string_pretty(&found)?);
    } else {
        for check in &found {
            out.line(format!(
                "{:<4}  {:<24}  {}",
                check.verdict.word(),
                check.check,
                check.evidence
            ));
        }
    }
    let failed = found.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let warned = found.iter().filter(|c| c.verdict == Verdict::Warn).count();
    if !args.json {
        out.line(format!(
            "{} checks: {failed} failed, {warned} warnings",
            found.len()
        ));
    }
    out.flush();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
