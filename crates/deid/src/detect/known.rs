//! Finding the values the caller knows are PHI, however they are cased or spaced.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use super::known_numbers::{KnownNumbers, NumbersBuilder};
use crate::detect::lexicon::Lexicon;
use crate::entity::{Entity, EntityKind, Source};
use crate::fold::{Folded, fold_value};
use crate::known::KnownPhi;

/// The known values of one request, prepared for matching many texts.
///
/// Preparing costs time linear in the number of values (patterns are merged through a map, not
/// by scanning the ones already added), so a request cannot make it quadratic.
#[derive(Clone)]
pub struct KnownMatcher {
    automaton: Option<AhoCorasick>,
    patterns: Vec<KnownPattern>,
    /// Numbers written with any separators: `617-555-0199` also finds `(617) 555 0199`.
    numbers: KnownNumbers,
}

impl std::fmt::Debug for KnownMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KnownMatcher {{ patterns: {} }}", self.patterns.len())
    }
}

#[derive(Clone)]
struct KnownPattern {
    kind: EntityKind,
    /// Only match where the original text is capitalised (a name part that is also a word).
    capitalised_only: bool,
}

/// Collects folded patterns, each once.
#[derive(Default)]
struct PatternSet {
    folded: Vec<String>,
    index: HashMap<String, usize>,
    patterns: Vec<KnownPattern>,
}

impl PatternSet {
    fn add(&mut self, folded: String, kind: EntityKind, capitalised_only: bool) {
        if folded.chars().count() < 2 {
            return;
        }
        match self.index.get(&folded) {
            Some(&at) => self.patterns[at].capitalised_only &= capitalised_only,
            None => {
                self.index.insert(folded.clone(), self.folded.len());
                self.folded.push(folded);
                self.patterns.push(KnownPattern {
                    kind,
                    capitalised_only,
                });
            }
        }
    }
}

impl KnownMatcher {
    pub(crate) fn new(known: &KnownPhi, lexicon: &Lexicon) -> Self {
        let mut set = PatternSet::default();
        let mut numbers = NumbersBuilder::default();
        // A value given as known is matched whatever its case, like the egress gate matches it;
        // only the name parts derived here may require a capital (so "will" stays a verb when
        // "Will Hope" is known, but a known value "Little" is found in "a little bit").
        for (kind, value) in known.values() {
            set.add(fold_value(value), kind, false);
            if kind.is_person() {
                name_parts(&mut set, kind, value, lexicon);
            }
            numbers.add(kind, value);
        }
        // No value, nothing to look for: building an empty automaton costs as much as a small
        // one, and every request prepares an empty matcher for its first look.
        let automaton = if set.folded.is_empty() {
            None
        } else {
            crate::automaton::per_request(&set.folded)
        };
        KnownMatcher {
            automaton,
            patterns: set.patterns,
            numbers: numbers.build(),
        }
    }

    /// Appends every token-bounded occurrence of a known value in `text`.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        if let Some(automaton) = &self.automaton
            && !self.patterns.is_empty()
        {
            let folded = Folded::plain(text);
            for found in automaton.find_overlapping_iter(&folded.text) {
                if !folded.at_token_boundary(found.start(), found.end()) {
                    continue;
                }
                let pattern = &self.patterns[found.pattern().as_usize()];
                let (start, end) = folded.original_range(found.start(), found.end());
                if pattern.capitalised_only && !text[start..].starts_with(char::is_uppercase) {
                    continue;
                }
                out.push(Entity {
                    kind: pattern.kind,
                    start,
                    end,
                    source: Source::Known,
                    score: 1.0,
                });
            }
        }
        self.numbers.find(text, out);
    }
}

/// Each part of a person's name is found alone too, with its common nicknames.
fn name_parts(set: &mut PatternSet, kind: EntityKind, value: &str, lexicon: &Lexicon) {
    for part in value.split(|c: char| c.is_whitespace() || c == ',') {
        let part = part.trim_matches(|c: char| !c.is_alphanumeric());
        let lower = part.to_lowercase();
        if part.chars().count() < 2 || lexicon.is_function_word(&lower) && part.len() < 3 {
            continue;
        }
        let info = lexicon.info(&lower);
        for nickname in lexicon.nicknames(&lower) {
            let nick = lexicon.info(nickname);
            set.add(
                (*nickname).to_owned(),
                kind,
                nick.function || nick.ambiguous,
            );
        }
        set.add(lower, kind, info.function || info.ambiguous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(known: &KnownPhi, text: &str) -> Vec<(EntityKind, String)> {
        let matcher = KnownMatcher::new(known, &Lexicon::new(crate::detect::names::ROLES));
        let mut out = Vec::new();
        matcher.find(text, &mut out);
        out.sort_by_key(|e| e.start);
        out.iter()
            .map(|e| (e.kind, text[e.start..e.end].to_owned()))
            .collect()
    }

    #[test]
    fn known_values_are_found_whatever_their_case_or_spacing() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Location, "611 Gibson Pathway");
        let found = spans(&known, "lives at 611  GIBSON\npathway now");
        assert_eq!(
            found,
            [(EntityKind::Location, "611  GIBSON\npathway".to_owned())]
        );
    }

    #[test]
    fn each_part_of_a_known_name_is_found_alone() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Name, "Martha J. Collins");
        let found = spans(&known, "Ms. Collins and martha");
        assert_eq!(
            found,
            [
                (EntityKind::Name, "Collins".to_owned()),
                (EntityKind::Name, "martha".to_owned())
            ]
        );
    }

    #[test]
    fn a_known_name_part_that_is_a_word_must_be_capitalised() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Name, "Will Hope");
        let found = spans(&known, "we will see; Will came, we hope");
        assert_eq!(found, [(EntityKind::Name, "Will".to_owned())]);
    }

    #[test]
    fn a_value_known_on_its_own_is_found_in_any_case_even_if_it_is_a_word() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Name, "Ada Little");
        known.add(EntityKind::Name, "Little");
        let found = spans(&known, "a little bit");
        assert_eq!(found, [(EntityKind::Name, "little".to_owned())]);
    }

    #[test]
    fn known_values_respect_token_boundaries() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Name, "Ann");
        assert!(spans(&known, "Annual planning").is_empty());
    }

    #[test]
    fn known_numbers_are_found_with_other_separators() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Phone, "617-555-0199");
        let found = spans(
            &known,
            "call (617) 555 0199 or 6175550199 but not 96175550199",
        );
        let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
        assert!(
            texts.contains(&"617) 555 0199") || texts.contains(&"(617) 555 0199"),
            "{texts:?}"
        );
        assert!(texts.contains(&"6175550199"));
        assert_eq!(texts.len(), 2);
    }
}
