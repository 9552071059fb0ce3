//! Whether the tests the catalogue names ran and passed, read from a test run's output.

use std::collections::HashMap;

use crate::{Catalogue, TestRef};

/// What a test run said of one test function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOutcome {
    /// It ran and passed.
    Passed,
    /// It ran and failed.
    Failed,
    /// It was skipped.
    Ignored,
    /// The run does not mention it.
    NotRun,
}

/// The outcomes in the output of `cargo test` (the standard test harness's `test NAME ... ok`
/// lines), keyed by the function's name (the last `::` segment of the test path).
#[derive(Debug, Default)]
pub struct TestRun {
    outcomes: HashMap<String, TestOutcome>,
}

impl TestRun {
    /// Reads the output of a test run. A name that failed anywhere counts as failed, even if a
    /// function of the same name passed in another binary.
    pub fn parse(output: &str) -> TestRun {
        let mut outcomes: HashMap<String, TestOutcome> = HashMap::new();
        for line in output.lines() {
            let Some(rest) = line.strip_prefix("test ") else {
                continue;
            };
            let Some((path, verdict)) = rest.split_once(" ... ") else {
                continue;
            };
            let outcome = match verdict.trim() {
                "ok" => TestOutcome::Passed,
                "FAILED" => TestOutcome::Failed,
                v if v.starts_with("ignored") => TestOutcome::Ignored,
                _ => continue,
            };
            let name = path.rsplit("::").next().unwrap_or(path).trim().to_owned();
            let entry = outcomes.entry(name).or_insert(outcome);
            if outcome == TestOutcome::Failed || *entry == TestOutcome::Ignored {
                *entry = outcome;
            }
        }
        TestRun { outcomes }
    }

    /// What the run said of a test function.
    pub fn outcome(&self, name: &str) -> TestOutcome {
        self.outcomes
            .get(name)
            .copied()
            .unwrap_or(TestOutcome::NotRun)
    }

    /// How many test functions the run reported.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether the run reported no test at all.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
}

impl Catalogue {
    /// Every named test that did not run and pass in `run`, with what the run said of it.
    pub fn unproven_tests(&self, run: &TestRun) -> Vec<(TestRef, TestOutcome)> {
        self.test_refs()
            .into_iter()
            .map(|t| {
                let outcome = run.outcome(&t.name);
                (t, outcome)
            })
            .filter(|(_, outcome)| *outcome != TestOutcome::Passed)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
running 3 tests
test log::tests::appended_entries_verify ... ok
test fails_here ... FAILED
test skipped_one ... ignored, needs a database
test crates/x/src/lib.rs - doc (line 3) ... ok
test result: FAILED. 1 passed; 1 failed; 1 ignored
";

    #[test]
    fn outcomes_are_read_per_function_name() {
        let run = TestRun::parse(OUTPUT);
        assert_eq!(run.outcome("appended_entries_verify"), TestOutcome::Passed);
        assert_eq!(run.outcome("fails_here"), TestOutcome::Failed);
        assert_eq!(run.outcome("skipped_one"), TestOutcome::Ignored);
        assert_eq!(run.outcome("never_mentioned"), TestOutcome::NotRun);
    }

    #[test]
    fn a_failure_anywhere_wins_over_a_pass_of_the_same_name() {
        let run = TestRun::parse("test a::same ... ok\ntest b::same ... FAILED\n");
        assert_eq!(run.outcome("same"), TestOutcome::Failed);
        let run = TestRun::parse("test a::same ... FAILED\ntest b::same ... ok\n");
        assert_eq!(run.outcome("same"), TestOutcome::Failed);
    }
}
