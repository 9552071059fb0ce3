//! Finding the values the caller knows are PHI, however they are cased or spaced.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use crate::detect::lexicon::Lexicon;
use crate::entity::{Entity, EntityKind, Source};
use crate::fold::{Folded, fold_value};
use crate::known::KnownPhi;

/// The known values of one request, prepared for matching many texts.
pub(crate) struct KnownMatcher {
    automaton: Option<AhoCorasick>,
    patterns: Vec<KnownPattern>,
    /// Numbers written with any separators: `617-555-0199` also finds `(617) 555 0199`.
    numbers: Vec<(EntityKind, Regex)>,
}

struct KnownPattern {
    kind: EntityKind,
    /// Only match where the original text is capitalised (a name part that is also a word).
    capitalised_only: bool,
}

impl KnownMatcher {
    pub(crate) fn new(known: &KnownPhi, lexicon: &Lexicon) -> Self {
        let mut folded_patterns = Vec::new();
        let mut patterns: Vec<KnownPattern> = Vec::new();
        let mut numbers = Vec::new();
        // A value given as known is matched whatever its case, like the egress gate matches it;
        // only the name parts derived here may require a capital (so "will" stays a verb when
        // "Will Hope" is known, but a known value "Little" is found in "a little bit").
        let mut add = |folded: String, kind, capitalised_only| {
            if folded.chars().count() < 2 {
                return;
            }
            match folded_patterns.iter().position(|p| *p == folded) {
                Some(at) => patterns[at].capitalised_only &= capitalised_only,
                None => {
                    folded_patterns.push(folded);
                    patterns.push(KnownPattern {
                        kind,
                        capitalised_only,
                    });
                }
            }
        };
        for (kind, value) in known.values() {
            add(fold_value(value), kind, false);
            if kind.is_person() {
                for part in value.split(|c: char| c.is_whitespace() || c == ',') {
                    let part = part.trim_matches(|c: char| !c.is_alphanumeric());
                    let lower = part.to_lowercase();
                    if part.chars().count() < 2
                        || lexicon.is_function_word(&lower) && part.len() < 3
                    {
                        continue;
                    }
                    let info = lexicon.info(&lower);
                    for nickname in lexicon.nicknames(&lower) {
                        let nick = lexicon.info(nickname);
                        add(
                            (*nickname).to_owned(),
                            kind,
                            nick.function || nick.ambiguous,
                        );
                    }
                    add(lower, kind, info.function || info.ambiguous);
                }
            }
            if let Some(regex) = number_regex(value) {
                numbers.push((kind, regex));
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&folded_patterns)
            .ok();
        KnownMatcher {
            automaton,
            patterns,
            numbers,
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
        for (kind, regex) in &self.numbers {
            for found in regex.find_iter(text) {
                out.push(Entity {
                    kind: *kind,
                    start: found.start(),
                    end: found.end(),
                    source: Source::Known,
                    score: 1.0,
                });
            }
        }
    }
}

/// For a value made of at least five digits and separators, a regex that finds the same digits
/// with any separators between them.
fn number_regex(value: &str) -> Option<Regex> {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    let only_number = value
        .chars()
        .all(|c| c.is_ascii_digit() || " ()+-./".contains(c));
    if digits.len() < 5 || !only_number {
        return None;
    }
    let body: Vec<String> = digits.iter().map(char::to_string).collect();
    Regex::new(&format!(r"\b{}\b", body.join(r"[\s().+/-]*"))).ok()
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
