//! A table of regular-expression rules, compiled once and run one after another.
//!
//! Each rule names the kind it finds, a score, and optionally a capture group `v` that holds the
//! identifying part (so `MRN: 1234` redacts only `1234`) and a check that can refuse a match or
//! change its kind (a Luhn check, "fax" before a phone number).

use std::borrow::Cow;

use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::entity::{Entity, EntityKind, Source};
use crate::error::DeidError;

/// One match offered to a rule's check.
pub(crate) struct Hit<'t> {
    /// The whole input text.
    pub(crate) text: &'t str,
    /// The whole match.
    pub(crate) whole: (usize, usize),
    /// The identifying part (group `v`, or the whole match).
    pub(crate) value: (usize, usize),
}

impl<'t> Hit<'t> {
    /// The identifying part as text.
    pub(crate) fn value_str(&self) -> &'t str {
        &self.text[self.value.0..self.value.1]
    }

    /// The whole match as text.
    pub(crate) fn whole_str(&self) -> &'t str {
        &self.text[self.whole.0..self.whole.1]
    }

    /// Up to `n` bytes of text before the whole match (cut back to a char boundary).
    pub(crate) fn before(&self, n: usize) -> &'t str {
        let mut from = self.whole.0.saturating_sub(n);
        while !self.text.is_char_boundary(from) {
            from += 1;
        }
        &self.text[from..self.whole.0]
    }

    /// Up to `n` bytes of text after the whole match.
    pub(crate) fn after(&self, n: usize) -> &'t str {
        let mut to = (self.whole.1 + n).min(self.text.len());
        while !self.text.is_char_boundary(to) {
            to -= 1;
        }
        &self.text[self.whole.1..to]
    }
}

/// Decides the kind of a hit, or refuses it.
pub(crate) type Check = fn(&Hit<'_>, EntityKind) -> Option<EntityKind>;

/// A rule as written in a table.
pub(crate) struct RuleSpec {
    pub(crate) pattern: Cow<'static, str>,
    pub(crate) kind: EntityKind,
    pub(crate) score: f32,
    pub(crate) check: Option<Check>,
}

/// Shorthand for a rule without a check.
pub(crate) fn rule(
    pattern: impl Into<Cow<'static, str>>,
    kind: EntityKind,
    score: f32,
) -> RuleSpec {
    RuleSpec {
        pattern: pattern.into(),
        kind,
        score,
        check: None,
    }
}

/// Shorthand for a rule with a check.
pub(crate) fn checked(
    pattern: impl Into<Cow<'static, str>>,
    kind: EntityKind,
    score: f32,
    check: Check,
) -> RuleSpec {
    RuleSpec {
        pattern: pattern.into(),
        kind,
        score,
        check: Some(check),
    }
}

struct Compiled {
    regex: Regex,
    value_group: Option<usize>,
    kind: EntityKind,
    score: f32,
    check: Option<Check>,
}

/// Rewrites `\b` as an ASCII word boundary in a rule that matches no letter beyond ASCII on its
/// own (no `\p{…}` class).
///
/// A Unicode `\b` stops the lazy DFA as soon as the text holds a non-ASCII character, and the
/// search falls back to the much slower NFA engines; an ASCII `\b` keeps the DFA. For a rule
/// whose boundaries sit next to digits, ASCII letters or punctuation the two agree, except that
/// a letter beyond ASCII now counts as a boundary (`é2026-01-17` still finds the date), which
/// errs on the side of finding.
fn ascii_word_boundaries(pattern: &str) -> Cow<'_, str> {
    if pattern.contains("\\p{") || !pattern.contains("\\b") {
        return Cow::Borrowed(pattern);
    }
    Cow::Owned(pattern.replace("\\b", "(?-u:\\b)"))
}

/// Compiled rules, each run on its own after one prefilter pass.
///
/// A `RegexSet` over the rules without Unicode classes (their word boundaries made ASCII) says
/// in one pass which of them match anywhere in a text; only those run, to find where. Rules
/// with Unicode classes always run: in the set they would push its automaton off the lazy DFA
/// onto the slow engine, which cost more than the whole set saved.
pub(crate) struct RuleTable {
    rules: Vec<Compiled>,
    /// The rules without Unicode classes at once, asked only which match somewhere in a text.
    set: RegexSet,
    /// `gated[k]`: the rule that pattern `k` of `set` stands for.
    gated: Vec<usize>,
    /// Rules outside the set, always run.
    ungated: Vec<usize>,
}

impl RuleTable {
    pub(crate) fn new(what: &'static str, specs: &[RuleSpec]) -> Result<Self, DeidError> {
        let error = |_| DeidError::Build { what };
        let mut rules = Vec::with_capacity(specs.len());
        let patterns: Vec<Cow<'_, str>> = specs
            .iter()
            .map(|spec| ascii_word_boundaries(&spec.pattern))
            .collect();
        // Rules with Unicode classes stay out of the set: they would push it off the fast DFA.
        let gated: Vec<usize> = (0..patterns.len())
            .filter(|&i| !patterns[i].contains("\\p{"))
            .collect();
        let set = RegexSetBuilder::new(gated.iter().map(|&i| &*patterns[i]))
            .dfa_size_limit(64 << 20)
            .build()
            .map_err(error)?;
        for (spec, pattern) in specs.iter().zip(&patterns) {
            let regex = Regex::new(pattern).map_err(error)?;
            let value_group = regex.capture_names().position(|name| name == Some("v"));
            rules.push(Compiled {
                regex,
                value_group,
                kind: spec.kind,
                score: spec.score,
                check: spec.check,
            });
        }
        let ungated = (0..rules.len()).filter(|i| !gated.contains(i)).collect();
        Ok(RuleTable {
            rules,
            set,
            gated,
            ungated,
        })
    }

    /// Runs every rule that can match `text` and appends what they find.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let matched = self.set.matches(text);
        let mut run: Vec<usize> = matched.iter().map(|k| self.gated[k]).collect();
        run.extend(&self.ungated);
        run.sort_unstable();
        for index in run {
            let rule = &self.rules[index];
            for caps in rule.regex.captures_iter(text) {
                let Some(whole) = caps.get(0) else { continue };
                let value = rule
                    .value_group
                    .and_then(|g| caps.get(g))
                    .map_or((whole.start(), whole.end()), |m| (m.start(), m.end()));
                let hit = Hit {
                    text,
                    whole: (whole.start(), whole.end()),
                    value,
                };
                let kind = match rule.check {
                    Some(check) => check(&hit, rule.kind),
                    None => Some(rule.kind),
                };
                if let Some(kind) = kind
                    && value.1 > value.0
                {
                    out.push(Entity {
                        kind,
                        start: value.0,
                        end: value.1,
                        source: Source::Pattern,
                        score: rule.score,
                    });
                }
            }
        }
    }
}
