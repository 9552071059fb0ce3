//! Compiling the crate's constant regular expressions.

use regex::Regex;

/// Compiles a pattern written in this crate's source. Every such pattern is compiled by the
/// tests of the module that holds it, so a typo fails a test rather than a request.
#[expect(
    clippy::expect_used,
    reason = "constant patterns, each compiled by its module's tests"
)]
pub(crate) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid pattern")
}
