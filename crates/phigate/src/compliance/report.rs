//! The report for the privacy officer: every control with its status and evidence, as Markdown
//! and as JSON.

use std::fmt::Write as _;

use phigate_compliance::{Catalogue, Requirement};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::checks::{self, Finding, Status};
use crate::config::Config;

/// One control's result on this deployment.
#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    /// The catalogue id.
    pub id: String,
    /// The citation in 45 CFR.
    pub citation: String,
    /// The requirement's name.
    pub title: String,
    /// Required or addressable.
    pub requirement: Requirement,
    /// Pass, fail or not-applicable.
    pub status: Status,
    /// The live checks' findings (empty when the build alone meets the control).
    pub findings: Vec<Finding>,
    /// The features that meet it.
    pub features: Vec<String>,
    /// The tests that prove them.
    pub tests: Vec<String>,
    /// What the organisation must do itself.
    pub organisation: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The Phigate version that made it.
    pub phigate_version: String,
    /// The catalogue version it checked against.
    pub catalogue_version: u32,
    /// The tenant of this deployment.
    pub tenant: String,
    /// Every control.
    pub controls: Vec<ControlResult>,
}

impl Report {
    /// Checks `config` and its data directory against `catalogue`.
    pub fn build(catalogue: &Catalogue, config: &Config) -> Report {
        let controls = catalogue
            .controls
            .iter()
            .map(|control| {
                let findings: Vec<Finding> = control
                    .checks
                    .iter()
                    .map(|name| checks::run(name, config))
                    .collect();
                let status = if findings.iter().any(|f| f.status == Status::Fail) {
                    Status::Fail
                } else if !findings.is_empty()
                    && findings.iter().all(|f| f.status == Status::NotApplicable)
                {
                    Status::NotApplicable
                } else {
                    Status::Pass
                };
                ControlResult {
                    id: control.id.clone(),
                    citation: control.citation.clone(),
                    title: control.title.clone(),
                    requirement: control.requirement,
                    status,
                    findings,
                    features: control.features.clone(),
                    tests: control.tests.clone(),
                    organisation: control.organisation.clone(),
                }
            })
            .collect();
        Report {
            generated_at: OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
            phigate_version: env!("CARGO_PKG_VERSION").to_owned(),
            catalogue_version: catalogue.version,
            tenant: config.tenant.clone(),
            controls,
        }
    }

    /// The required controls that fail.
    pub fn failing_required(&self) -> Vec<&ControlResult> {
        self.controls
            .iter()
            .filter(|c| c.requirement == Requirement::Required && c.status == Status::Fail)
            .collect()
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Phigate compliance report\n");
        let _ = writeln!(
            md,
            "Generated {} by Phigate {} against controls catalogue version {}, tenant `{}`.\n",
            self.generated_at, self.phigate_version, self.catalogue_version, self.tenant
        );
        let failing = self.failing_required().len();
        let _ = writeln!(
            md,
            "**{}**\n",
            if failing == 0 {
                "Every required control passes.".to_owned()
            } else {
                format!("{failing} required control(s) fail.")
            }
        );
        let _ = writeln!(md, "| Control | Citation | Requirement | Status |");
        let _ = writeln!(md, "|---|---|---|---|");
        for c in &self.controls {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                c.title,
                c.citation,
                c.requirement,
                status_word(c.status)
            );
        }
        for c in &self.controls {
            let _ = writeln!(md, "\n## {} ({})\n", c.title, c.citation);
            let _ = writeln!(
                md,
                "Status: **{}** ({})\n",
                status_word(c.status),
                c.requirement
            );
            if c.findings.is_empty() {
                let _ = writeln!(
                    md,
                    "No setting can turn these features off: this build meets the control.\n"
                );
            }
            for f in &c.findings {
                let _ = writeln!(
                    md,
                    "- `{}`: {} — {}",
                    f.check,
                    status_word(f.status),
                    f.evidence
                );
            }
            let _ = writeln!(md, "\nFeatures:\n");
            for feature in &c.features {
                let _ = writeln!(md, "- {feature}");
            }
            let _ = writeln!(md, "\nProven by:\n");
            for test in &c.tests {
                let _ = writeln!(md, "- `{test}`");
            }
            let _ = writeln!(md, "\nThe organisation's part: {}", c.organisation);
        }
        md
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::NotApplicable => "not applicable",
    }
}
