//! A table of regular-expression rules, compiled once and run inside the windows the prefilter
//! finds for each.
//!
//! Each rule names the kind it finds, a score, and optionally a capture group `v` that holds the
//! identifying part (so `MRN: 1234` redacts only `1234`) and a check that can refuse a match or
//! change its kind (a Luhn check, "fax" before a phone number).

use std::borrow::Cow;

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input, Match, PatternID};

use super::prefilter::{Plan, Prefilter};
use required::Required;
use scratch::{Slot, SlotPool};

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

/// A test that the bytes of every match of a rule pass, and so every window holding one: a
/// window that fails it is not searched. It must hold of any bytes that hold a passing part
/// (the match lies somewhere inside the window), so it looks for something in the bytes rather
/// than at their edges.
pub(crate) type Needs = fn(&[u8]) -> bool;

/// A rule as written in a table.
pub(crate) struct RuleSpec {
    pub(crate) pattern: Cow<'static, str>,
    pub(crate) kind: EntityKind,
    pub(crate) score: f32,
    /// The identifying part must hold an ASCII digit (a label followed by words is no match).
    pub(crate) value_has_digit: bool,
    pub(crate) check: Option<Check>,
    /// What every match holds that its trigger does not already promise (see [`Needs`]).
    pub(crate) needs: Option<Needs>,
}

impl RuleSpec {
    /// This rule, searched only in windows that pass `needs`.
    pub(crate) fn needing(self, needs: Needs) -> Self {
        RuleSpec {
            needs: Some(needs),
            ..self
        }
    }
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
        value_has_digit: false,
        check: None,
        needs: None,
    }
}

/// Shorthand for a rule whose identifying part must hold an ASCII digit.
pub(crate) fn with_digit(
    pattern: impl Into<Cow<'static, str>>,
    kind: EntityKind,
    score: f32,
) -> RuleSpec {
    RuleSpec {
        value_has_digit: true,
        ..rule(pattern, kind, score)
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
        value_has_digit: false,
        check: Some(check),
        needs: None,
    }
}

struct Compiled {
    regex: Regex,
    /// The rule without its Unicode word boundaries, searched first in windows beyond ASCII
    /// (see `loose`).
    twin: Option<Regex>,
    value_group: Option<usize>,
    kind: EntityKind,
    score: f32,
    value_has_digit: bool,
    check: Option<Check>,
    needs: Option<Needs>,
    /// The bytes every match holds (see `required`), tested in every window after `needs`.
    required: Required,
    /// Whether this rule shares the windows that pass its `Needs` with its neighbours.
    shared: Shared,
}

/// How rules share the windows that pass their [`Needs`]: rules next to each other in the
/// table, with the same test and always the same windows (one borrows the other's, or both a
/// third's: see `prefilter`), test the same bytes the same way, so the first one's passing
/// windows are the rest's too.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shared {
    /// Tests its windows itself, for itself.
    No,
    /// Tests its windows and keeps those that pass for the rules after it.
    Kept,
    /// Searches the windows the rule before it kept.
    Taken,
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

/// A builder for regexes searched inside windows, without the engine's own literal prefilter.
///
/// A window already lies around an occurrence of its rule's trigger and is a few dozen bytes
/// long, so a literal search started for each window finds little to skip and costs more than
/// the DFA reading those bytes (the prefilter also picks the engines that search around an
/// inner literal, slower still on short windows). A prefilter only skips positions where no
/// match can start, so searches without one find exactly the same matches.
fn builder() -> regex_automata::meta::Builder {
    let mut builder = Regex::builder();
    builder.configure(Regex::config().auto_prefilter(false));
    builder
}

/// Compiled rules, each searched only inside the windows the prefilter plans for it.
pub(crate) struct RuleTable {
    rules: Vec<Compiled>,
    pub(super) prefilter: Prefilter,
    /// Each thread's caches and captures for every rule.
    slots: SlotPool,
}

impl RuleTable {
    pub(crate) fn new(what: &'static str, specs: &[RuleSpec]) -> Result<Self, DeidError> {
        let error = |_| DeidError::Build { what };
        let patterns: Vec<Cow<'_, str>> = specs
            .iter()
            .map(|spec| ascii_word_boundaries(&spec.pattern))
            .collect();
        let mut rules = Vec::with_capacity(specs.len());
        for (spec, pattern) in specs.iter().zip(&patterns) {
            let hir = regex_syntax::parse(pattern).map_err(|_| DeidError::Build { what })?;
            let regex = builder().build_from_hir(&hir).map_err(error)?;
            let value_group = regex.group_info().to_index(PatternID::ZERO, "v");
            rules.push(Compiled {
                twin: loose::twin(&hir),
                required: Required::of(&hir),
                regex,
                value_group,
                kind: spec.kind,
                score: spec.score,
                value_has_digit: spec.value_has_digit,
                check: spec.check,
                needs: spec.needs,
                shared: Shared::No,
            });
        }
        let patterns: Vec<&str> = patterns.iter().map(|p| &**p).collect();
        let prefilter = Prefilter::new(what, &patterns)?;
        for at in 1..rules.len() {
            // Same address, same code: tests found equal give the same answers.
            let same_test = match (rules[at - 1].needs, rules[at].needs) {
                (Some(a), Some(b)) => std::ptr::fn_addr_eq(a, b),
                _ => false,
            };
            if same_test && prefilter.same_windows(at - 1, at) {
                if rules[at - 1].shared == Shared::No {
                    rules[at - 1].shared = Shared::Kept;
                }
                rules[at].shared = Shared::Taken;
            }
        }
        Ok(RuleTable {
            rules,
            prefilter,
            slots: scratch::pool(),
        })
    }

    /// Runs every rule inside the windows where it can match and appends what they find.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let plans = self.prefilter.plan(text);
        let whole = [(0, text.len())];
        let mut slots = self.slots();
        // The windows that passed the test of the last rule that keeps them (see `Shared`).
        let mut passed: Vec<(usize, usize)> = Vec::new();
        for ((index, rule), slot) in self.rules.iter().enumerate().zip(slots.iter_mut()) {
            let windows = match plans.of(index) {
                Plan::Whole => &whole[..],
                Plan::Windows(windows) => windows,
            };
            if rule.shared == Shared::Kept {
                passed.clear();
                let passing = windows.iter().filter(|w| rule.may_hold_match(text, **w));
                passed.extend(passing);
            }
            let (windows, tested) = match rule.shared {
                Shared::No => (windows, false),
                Shared::Kept | Shared::Taken => (&passed[..], true),
            };
            for &window in windows {
                if (tested || rule.may_hold_match(text, window))
                    && rule.holds_required(text, window)
                {
                    rule.search(text, window, slot, out);
                }
            }
        }
    }

    /// The calling thread's slots, one per rule, made on its first text.
    fn slots(&self) -> scratch::Guard<'_> {
        let mut slots = self.slots.get();
        if slots.len() != self.rules.len() {
            *slots = self.rules.iter().map(Compiled::slot).collect();
        }
        slots
    }

    /// Runs every rule on the whole text: what [`RuleTable::find`] must give, for tests.
    #[cfg(test)]
    pub(crate) fn find_whole(&self, text: &str, out: &mut Vec<Entity>) {
        for rule in &self.rules {
            rule.search(text, (0, text.len()), &mut rule.slot(), out);
        }
    }

    /// How many rules have no trigger and always read the whole text.
    #[cfg(test)]
    pub(crate) fn untriggered(&self) -> usize {
        self.prefilter.untriggered()
    }
}

impl Compiled {
    /// Whether `window` passes the rule's [`Needs`], when it has one, and holds an ASCII digit,
    /// when the rule keeps only values that do. A window without one may hold matches, but the
    /// rule refuses every one of them, and searching it changes nothing elsewhere: each window
    /// is searched on its own.
    fn may_hold_match(&self, text: &str, window: (usize, usize)) -> bool {
        let Some(bytes) = text.as_bytes().get(window.0..window.1) else {
            return true;
        };
        (!self.value_has_digit || bytes.iter().any(u8::is_ascii_digit))
            && self.needs.is_none_or(|needs| needs(bytes))
    }

    /// Whether `window` holds the bytes every match of the rule holds (see `required`). Kept
    /// apart from [`Compiled::may_hold_match`], whose answers neighbours share: theirs differ.
    fn holds_required(&self, text: &str, window: (usize, usize)) -> bool {
        self.required.is_empty()
            || text
                .as_bytes()
                .get(window.0..window.1)
                .is_none_or(|bytes| self.required.held_by(bytes))
    }

    /// This rule's caches and, when it has a value group, room for its captures.
    fn slot(&self) -> Slot {
        Slot::new(&self.regex, self.twin.as_ref(), self.value_group)
    }

    /// The next match in `input` and where its value lies (the value group, else the whole
    /// match), or no value for a match refused before its group is placed. A rule without a
    /// value group asks for no group at all, which lets the engine stop at the lazy DFA's
    /// answer instead of running a second, slower engine over each match to place groups
    /// nobody reads.
    fn next(&self, input: &Input<'_>, slot: &mut Slot) -> Option<(Match, Option<(usize, usize)>)> {
        let Some(caps) = slot.caps.as_mut() else {
            let whole = self.regex.search_with(&mut slot.cache, input)?;
            return Some((whole, Some((whole.start(), whole.end()))));
        };
        if self.value_has_digit {
            // The value lies inside the whole match: without a digit there, the match is
            // refused whatever its groups, so only the lazy DFA's answer is needed. A match
            // that may stay gets its groups from an anchored search of exactly its span, which
            // is what the engine itself does after the DFA has found a match: the preferred
            // match starting there ends where this one does, and fits the span.
            let whole = self.regex.search_with(&mut slot.cache, input)?;
            if !has_digit(input.haystack(), whole.range()) {
                return Some((whole, None));
            }
            let span = input.clone().span(whole.range()).anchored(Anchored::Yes);
            self.regex
                .search_captures_with(&mut slot.cache, &span, caps);
        } else {
            self.regex
                .search_captures_with(&mut slot.cache, input, caps);
        }
        let whole = caps.get_match()?;
        let value = self
            .value_group
            .and_then(|g| caps.get_group(g))
            .map_or((whole.start(), whole.end()), |m| (m.start, m.end));
        Some((whole, Some(value)))
    }

    /// Appends this rule's matches inside `window`, one after another from its start, as a
    /// search of the whole text would find them.
    fn search(&self, text: &str, window: (usize, usize), slot: &mut Slot, out: &mut Vec<Entity>) {
        let mut at = window.0;
        // Beyond ASCII the rule's own search may give up on the lazy DFA; its twin does not,
        // and says where the next match can start, or that there is none.
        let twin = self.twin.as_ref().filter(|_| {
            !text
                .as_bytes()
                .get(window.0..window.1)
                .is_some_and(<[u8]>::is_ascii)
        });
        while at < window.1 {
            if let (Some(twin), Some(cache)) = (twin, slot.twin.as_mut()) {
                match twin.search_with(cache, &Input::new(text).span(at..window.1)) {
                    Some(found) => at = found.start(),
                    None => break,
                }
            }
            let input = Input::new(text).span(at..window.1);
            let Some((whole, value)) = self.next(&input, slot) else {
                break;
            };
            // Rules never match the empty string (the prefilter checks), but stay safe.
            at = if whole.is_empty() {
                next_char(text, whole.end())
            } else {
                whole.end()
            };
            let Some(value) = value else {
                continue;
            };
            if self.value_has_digit && !has_digit(text.as_bytes(), value.0..value.1) {
                continue;
            }
            let hit = Hit {
                text,
                whole: (whole.start(), whole.end()),
                value,
            };
            let kind = match self.check {
                Some(check) => check(&hit, self.kind),
                None => Some(self.kind),
            };
            if let Some(kind) = kind
                && value.1 > value.0
            {
                out.push(Entity {
                    kind,
                    start: value.0,
                    end: value.1,
                    source: Source::Pattern,
                    score: self.score,
                });
            }
        }
    }
}

mod loose;
mod required;
mod scratch;
#[cfg(test)]
mod tests;

/// Whether `bytes` hold an ASCII digit in `range`.
fn has_digit(bytes: &[u8], range: std::ops::Range<usize>) -> bool {
    bytes
        .get(range)
        .is_some_and(|part| part.iter().any(u8::is_ascii_digit))
}

/// The byte offset after the character at `at`.
fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| at + c.len_utf8())
}
