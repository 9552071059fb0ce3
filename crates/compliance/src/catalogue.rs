//! The catalogue's shape, parsed from TOML and checked for consistency.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::CatalogueError;

/// The catalogue shipped with this build.
const SHIPPED: &str = include_str!("../../../compliance/controls.toml");

/// Whether the rule makes a control mandatory or lets the organisation assess it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// The rule says "required": every deployment must meet it.
    Required,
    /// The rule says "addressable": implement it, or document why an equivalent is reasonable.
    Addressable,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Requirement::Required => "required",
            Requirement::Addressable => "addressable",
        })
    }
}

/// One requirement of the rules and how Phigate meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// A short stable identifier (`audit-controls`).
    pub id: String,
    /// The citation in 45 CFR (`164.312(b)`).
    pub citation: String,
    /// The requirement's name as the rule gives it.
    pub title: String,
    /// Required or addressable.
    pub requirement: Requirement,
    /// What the rule asks, in a sentence.
    pub asks: String,
    /// The Phigate features that meet it.
    pub features: Vec<String>,
    /// The automated tests that prove those features, as `path/to/file.rs::test_name`.
    pub tests: Vec<String>,
    /// The live checks `phigate compliance report` runs on a deployment for this control.
    #[serde(default)]
    pub checks: Vec<String>,
    /// What software alone cannot meet: the organisation's part.
    pub organisation: String,
}

/// A test named by the catalogue: the file it is in and its function name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TestRef {
    /// The file, relative to the repository root.
    pub file: String,
    /// The test function's name.
    pub name: String,
}

impl TestRef {
    /// Parses `path/to/file.rs::test_name`.
    pub fn parse(text: &str) -> Option<TestRef> {
        let (file, name) = text.rsplit_once("::")?;
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let file_ok = file.ends_with(".rs") && !file.starts_with('/') && !file.contains("..");
        (name_ok && file_ok).then(|| TestRef {
            file: file.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for TestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.file, self.name)
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The catalogue's own version, raised on every change of meaning.
    pub version: u32,
    /// The controls, in the order of the rule.
    #[serde(rename = "control")]
    pub controls: Vec<Control>,
}

impl Catalogue {
    /// The catalogue this build was made with.
    pub fn shipped() -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(SHIPPED)
    }

    /// Parses and checks a catalogue: unique ids, at least one feature and one test per control,
    /// and well-formed test references.
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Parse(e.message().to_owned()))?;
        let mut ids = HashSet::new();
        for control in &catalogue.controls {
            let invalid = |problem: &str| CatalogueError::Invalid {
                id: control.id.clone(),
                problem: problem.to_owned(),
            };
            if !ids.insert(control.id.as_str()) {
                return Err(invalid("the id is used twice"));
            }
            if control.features.is_empty() {
                return Err(invalid("no feature meets it"));
            }
            if control.tests.is_empty() {
                return Err(invalid("no test proves it"));
            }
            if let Some(bad) = control.tests.iter().find(|t| TestRef::parse(t).is_none()) {
                return Err(invalid(&format!(
                    "test reference {bad:?} is not path/to/file.rs::test_name"
                )));
            }
        }
        Ok(catalogue)
    }

    /// Every distinct test the catalogue names, in catalogue order.
    pub fn test_refs(&self) -> Vec<TestRef> {
        let mut seen = HashSet::new();
        self.controls
            .iter()
            .flat_map(|c| c.tests.iter())
            .filter_map(|t| TestRef::parse(t))
            .filter(|t| seen.insert(t.clone()))
            .collect()
    }

    /// The control with this id.
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
version = 1
[[control]]
id = "audit-controls"
citation = "164.312(b)"
title = "Audit controls"
requirement = "required"
asks = "Record and examine activity."
features = ["tamper-evident log"]
tests = ["crates/audit/src/log/tests.rs::appended_entries_verify_with_automatic_checkpoints"]
organisation = "Review the log."
"#;

    #[test]
    fn a_catalogue_parses_and_lists_its_tests() {
        let catalogue = Catalogue::parse(ONE).unwrap();
        assert_eq!(catalogue.controls[0].requirement, Requirement::Required);
        let refs = catalogue.test_refs();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].file, "crates/audit/src/log/tests.rs");
        assert_eq!(
            refs[0].name,
            "appended_entries_verify_with_automatic_checkpoints"
        );
    }

    #[test]
    fn duplicate_ids_untested_controls_and_bad_references_are_refused() {
        let twice = format!("{ONE}{}", ONE.replace("version = 1", ""));
        assert!(matches!(
            Catalogue::parse(&twice),
            Err(CatalogueError::Invalid { .. })
        ));
        let untested = ONE.replace(
            "tests = [\"crates/audit/src/log/tests.rs::appended_entries_verify_with_automatic_checkpoints\"]",
            "tests = []",
        );
        assert!(matches!(
            Catalogue::parse(&untested),
            Err(CatalogueError::Invalid { .. })
        ));
        for bad in [
            "no_separator",
            "/abs/path.rs::t",
            "../up.rs::t",
            "a.rs::Bad-Name",
        ] {
            let text = ONE.replace(
                "crates/audit/src/log/tests.rs::appended_entries_verify_with_automatic_checkpoints",
                bad,
            );
            assert!(Catalogue::parse(&text).is_err(), "{bad} was accepted");
        }
        assert!(matches!(
            Catalogue::parse("version = 1\n[[control]]\nid = 3\n"),
            Err(CatalogueError::Parse(_))
        ));
    }

    #[test]
    fn the_shipped_catalogue_parses_and_covers_the_rules_it_names() {
        let catalogue = Catalogue::shipped().unwrap();
        for citation in [
            "164.312(a)(2)(i)",
            "164.312(a)(2)(ii)",
            "164.312(a)(2)(iii)",
            "164.312(a)(2)(iv)",
            "164.312(b)",
            "164.312(c)(1)",
            "164.312(d)",
            "164.312(e)(1)",
            "164.502(b)",
            "164.514(b)",
            "164.528",
            "164.404",
            "164.316(b)(2)",
        ] {
            assert!(
                catalogue.controls.iter().any(|c| c.citation == citation),
                "no control cites {citation}"
            );
        }
    }
}
