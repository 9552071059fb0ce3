//! A table of regular-expression rules, compiled once and run one after another.
//!
//! Each rule names the kind it finds, a score, and optionally a capture group `v` that holds the
//! identifying part (so `MRN: 1234` redacts only `1234`) and a check that can refuse a match or
//! change its kind (a Luhn check, "fax" before a phone number).

use std::borrow::Cow;

use regex::Regex;

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

/// Compiled rules, each run on its own.
///
/// A `RegexSet` over all of them, used once as a prefilter, cost ten times more than it saved:
/// with this many Unicode-aware rules its automaton falls back to the slow engine, while each
/// rule alone runs on the lazy DFA with its own literal prefilter.
pub(crate) struct RuleTable {
    rules: Vec<Compiled>,
}

impl RuleTable {
    pub(crate) fn new(what: &'static str, specs: &[RuleSpec]) -> Result<Self, DeidError> {
        let error = |_| DeidError::Build { what };
        let mut rules = Vec::with_capacity(specs.len());
        for spec in specs {
            let regex = Regex::new(&spec.pattern).map_err(error)?;
            let value_group = regex.capture_names().position(|name| name == Some("v"));
            rules.push(Compiled {
                regex,
                value_group,
                kind: spec.kind,
                score: spec.score,
                check: spec.check,
            });
        }
        Ok(RuleTable { rules })
    }

    /// Runs every rule that can match `text` and appends what they find.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        for rule in &self.rules {
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
