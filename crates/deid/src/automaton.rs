//! Multi-pattern automata over one request's values (known values, the egress gate's list).
//!
//! These are built for every request and used on that request's text only, so building must be
//! cheap: a contiguous NFA builds in a fraction of the time of a DFA (which the builder would
//! pick for a small pattern set) and scans a few kilobytes nearly as fast.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// An automaton reporting every occurrence (overlapping searches included) of `patterns`, or
/// `None` when the patterns are too large to build one; callers treat that as failing closed.
pub(crate) fn per_request<P: AsRef<[u8]>>(patterns: &[P]) -> Option<AhoCorasick> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(patterns)
        .ok()
}
