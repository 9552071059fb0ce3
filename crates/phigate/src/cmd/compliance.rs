//! `phigate compliance report|tests|controls`.

use std::fs;
use std::process::ExitCode;

use anyhow::{Context, Result};
use phigate_compliance::{Catalogue, TestOutcome, TestRun};

use crate::cli::ComplianceCommand;
use crate::compliance::Report;
use crate::config::Config;
use crate::output::{Out, error_line};

/// Runs `phigate compliance …`.
pub fn run(config: &Config, command: &ComplianceCommand) -> Result<ExitCode> {
    let catalogue = Catalogue::shipped().context("the built-in controls catalogue is invalid")?;
    let mut out = Out::new();
    let code = match command {
        ComplianceCommand::Report { json, out: dir } => {
            let report = Report::build(&catalogue, config);
            let as_json = serde_json::to_string_pretty(&report)?;
            let as_markdown = report.to_markdown();
            if let Some(dir) = dir {
                fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                for (name, text) in [
                    ("compliance-report.md", &as_markdown),
                    ("compliance-report.json", &as_json),
                ] {
                    let path = dir.join(name);
                    fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
            }
            out.line(if *json { as_json } else { as_markdown });
            let failing = report.failing_required();
            for control in &failing {
                error_line(&format!(
                    "required control failing: {} ({})",
                    control.title, control.citation
                ));
            }
            if failing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        ComplianceCommand::Tests { results } => {
            let text = fs::read_to_string(results)
                .with_context(|| format!("cannot read {}", results.display()))?;
            let run = TestRun::parse(&text);
            let unproven = catalogue.unproven_tests(&run);
            let named = catalogue.test_refs().len();
            for (test, outcome) in &unproven {
                let said = match outcome {
                    TestOutcome::Failed => "failed",
                    TestOutcome::Ignored => "was ignored",
                    TestOutcome::NotRun | TestOutcome::Passed => "did not run",
                };
                error_line(&format!("{test} {said}"));
            }
            if unproven.is_empty() && !run.is_empty() {
                out.line(format!(
                    "all {named} tests named by the controls catalogue passed ({} tests in the run)",
                    run.len()
                ));
                ExitCode::SUCCESS
            } else {
                error_line(&format!(
                    "{} of {named} tests named by the controls catalogue did not pass in {}",
                    unproven.len(),
                    results.display()
                ));
                ExitCode::FAILURE
            }
        }
        ComplianceCommand::Controls => {
            for c in &catalogue.controls {
                out.line(format!(
                    "{:<20} {:<12} {:<34} {} test(s)",
                    c.citation,
                    c.requirement.to_string(),
                    c.id,
                    c.tests.len()
                ));
            }
            ExitCode::SUCCESS
        }
    };
    out.flush();
    Ok(code)
}
