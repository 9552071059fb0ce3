//! Whether the tests the catalogue names still exist in the source tree.

use std::fs;
use std::path::Path;

use crate::{Catalogue, TestRef};

/// A named test that the source tree does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTest {
    /// The reference as the catalogue gives it.
    pub test: TestRef,
    /// Why it does not count.
    pub why: &'static str,
}

impl Catalogue {
    /// Every test the catalogue names that is not a test function in the named file under
    /// `root` (the repository). Empty when the catalogue and the code agree.
    pub fn missing_tests(&self, root: &Path) -> Vec<MissingTest> {
        self.test_refs()
            .into_iter()
            .filter_map(|test| {
                let why = match fs::read_to_string(root.join(&test.file)) {
                    Err(_) => Some("the file does not exist"),
                    Ok(source) => match find_test(&source, &test.name) {
                        Found::Test => None,
                        Found::NotATest => Some("the function is not marked as a test"),
                        Found::Nothing => Some("no function of that name in the file"),
                    },
                };
                why.map(|why| MissingTest { test, why })
            })
            .collect()
    }
}

/// What a file holds under a name.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Test,
    NotATest,
    Nothing,
}

/// Finds `fn name(` in `source` and whether a test attribute precedes it closely.
fn find_test(source: &str, name: &str) -> Found {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Found::Nothing;
    for (i, line) in lines.iter().enumerate() {
        if !declares(line, name) {
            continue;
        }
        if attributes_above(&lines[..i]).any(is_test_attribute) {
            return Found::Test;
        }
        found = Found::NotATest;
    }
    found
}

/// Whether `line` declares a function called exactly `name`.
fn declares(line: &str, name: &str) -> bool {
    let Some(at) = line.find("fn ") else {
        return false;
    };
    let rest = &line[at + 3..];
    rest.strip_prefix(name)
        .is_some_and(|after| after.starts_with('(') || after.starts_with('<'))
        && line[..at]
            .split_whitespace()
            .all(|w| matches!(w, "pub" | "pub(crate)" | "async" | "unsafe" | "const"))
}

/// The attribute lines directly above a declaration (comments and blank lines between them are
/// passed over; an attribute spread over several lines is read from its first line).
fn attributes_above<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    let mut at = lines.len();
    std::iter::from_fn(move || {
        while at > 0 {
            at -= 1;
            let line = lines[at].trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            if line.starts_with("#[") {
                return Some(line);
            }
            if line.ends_with(")]") {
                // The last line of a multi-line attribute: find where it opens.
                while at > 0 && !lines[at].trim().starts_with("#[") {
                    at -= 1;
                }
                return lines[at].trim().starts_with("#[").then(|| lines[at].trim());
            }
            at = 0;
        }
        None
    })
}

/// Whether `line` is `#[test]` or an async runtime's test attribute.
fn is_test_attribute(line: &str) -> bool {
    let line = line.trim();
    line == "#[test]" || line.starts_with("#[tokio::test") || line.starts_with("#[test_case")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_function_is_found_and_a_plain_function_is_not_a_test() {
        let source = "#[test]\nfn proves_it() {}\n\nfn helper() {}\n#[tokio::test(flavor = \"multi_thread\")]\n#[allow(\n    x,\n    reason = \"y\"\n)]\n// note\nasync fn also_proves() {}\n";
        assert_eq!(find_test(source, "proves_it"), Found::Test);
        assert_eq!(find_test(source, "also_proves"), Found::Test);
        assert_eq!(find_test(source, "helper"), Found::NotATest);
        assert_eq!(find_test(source, "proves"), Found::Nothing);
        assert_eq!(find_test(source, "gone"), Found::Nothing);
    }

    #[test]
    fn a_renamed_or_removed_test_is_reported_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("crates/x/src")).unwrap();
        std::fs::write(
            dir.path().join("crates/x/src/lib.rs"),
            "#[test]\nfn renamed_now() {}\n",
        )
        .unwrap();
        let catalogue = Catalogue::parse(
            r#"
version = 1
[[control]]
id = "c"
citation = "164.312(b)"
title = "t"
requirement = "required"
asks = "a"
features = ["f"]
tests = ["crates/x/src/lib.rs::renamed_now", "crates/x/src/lib.rs::old_name", "crates/y/src/lib.rs::anything"]
organisation = "o"
"#,
        )
        .unwrap();
        let missing = catalogue.missing_tests(dir.path());
        let names: Vec<_> = missing.iter().map(|m| m.test.name.as_str()).collect();
        assert_eq!(names, ["old_name", "anything"]);
        assert_eq!(missing[1].why, "the file does not exist");
    }
}
