//! Finding known numbers written with any separators: `617-555-0199` also finds `(617) 555 0199`
//! and `6175550199`.
//!
//! One pass over the text serves every known number: the text is read as runs of ASCII digits
//! joined only by separators, each run's digits are searched for every known digit string at
//! once (one automaton, or for a handful of strings a direct comparison), and a match must
//! begin and end at a word boundary. A regular expression per
//! value did the same work once per value, so a request with n numbers in text of length m cost
//! n·m; this costs m plus the matches.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use crate::entity::{Entity, EntityKind, Source};

/// At most this many digit strings are looked for one by one rather than through an automaton:
/// a request knows a handful of numbers, and building an automaton for them cost more than
/// comparing them with the few runs of digits in its text (measured on the gateway's 8 KB
/// request).
const FEW_NUMBERS: usize = 16;

/// How the digit strings are looked for in a run.
#[derive(Clone)]
enum Search {
    /// Each digit string compared at each place of the run.
    Few(Vec<String>),
    /// One automaton of every digit string.
    Many(AhoCorasick),
}

/// Known values that are numbers, prepared for matching.
#[derive(Clone, Default)]
pub(crate) struct KnownNumbers {
    /// `None` when there is no number to look for (or the automaton could not be built).
    search: Option<Search>,
    /// For each digit string, the kinds of the known values with those digits, in the order
    /// they were added.
    kinds: Vec<Vec<EntityKind>>,
}

/// Builds [`KnownNumbers`], merging values that share their digits.
#[derive(Default)]
pub(crate) struct NumbersBuilder {
    digits: Vec<String>,
    index: HashMap<String, usize>,
    kinds: Vec<Vec<EntityKind>>,
}

impl NumbersBuilder {
    /// Adds `value` if it is made of at least five digits and separators only.
    pub(crate) fn add(&mut self, kind: EntityKind, value: &str) {
        let only_number = value
            .chars()
            .all(|c| c.is_ascii_digit() || " ()+-./".contains(c));
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 5 || !only_number {
            return;
        }
        let at = *self.index.entry(digits.clone()).or_insert_with(|| {
            self.digits.push(digits);
            self.kinds.push(Vec::new());
            self.kinds.len() - 1
        });
        self.kinds[at].push(kind);
    }

    pub(crate) fn build(self) -> KnownNumbers {
        if self.digits.is_empty() {
            return KnownNumbers::default();
        }
        let search = if self.digits.len() <= FEW_NUMBERS {
            Some(Search::Few(self.digits))
        } else {
            crate::automaton::per_request(&self.digits).map(Search::Many)
        };
        KnownNumbers {
            search,
            kinds: self.kinds,
        }
    }
}

/// Every occurrence of every digit string in `digits`, overlapping ones included, as
/// `(start, end, pattern)` in the order an automaton reports them: by end, and at one end the
/// longer (earlier starting) first.
fn occurrences(search: &Search, digits: &str) -> Vec<(usize, usize, usize)> {
    match search {
        Search::Many(automaton) => automaton
            .find_overlapping_iter(digits)
            .map(|found| (found.start(), found.end(), found.pattern().as_usize()))
            .collect(),
        Search::Few(list) => {
            let mut found = Vec::new();
            for (pattern, number) in list.iter().enumerate() {
                for start in 0..digits.len() {
                    if digits
                        .get(start..)
                        .is_some_and(|rest| rest.starts_with(number.as_str()))
                    {
                        found.push((start, start + number.len(), pattern));
                    }
                }
            }
            // Distinct digit strings never share both ends, so the order is total.
            found.sort_unstable_by_key(|&(start, end, _)| (end, start));
            found
        }
    }
}

/// What may stand between two digits of one written number (the regex class `[\s().+/-]`).
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '.' | '+' | '/' | '-')
}

/// A word character in the sense of a regex word boundary.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The digits of one run, with where each sits in the text and whether a word boundary lies
/// before and after it.
#[derive(Default)]
struct Run {
    digits: String,
    at: Vec<(usize, bool, bool)>,
}

impl KnownNumbers {
    /// Appends every occurrence of a known number in `text`. Like a regex search per value,
    /// occurrences of one value do not overlap each other.
    ///
    /// Between runs nothing is kept but the character before the next digit, so the text is
    /// searched for the next ASCII digit byte by byte, and read as characters only from there
    /// to the end of its run (what [`KnownNumbers::find_char_by_char`] does for every
    /// character, with the same result).
    pub(crate) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let Some(search) = &self.search else {
            return;
        };
        let mut last_end: HashMap<usize, usize> = HashMap::new();
        let mut run = Run::default();
        let mut from = 0;
        while let Some(first) = text
            .as_bytes()
            .get(from..)
            .and_then(|rest| rest.iter().position(u8::is_ascii_digit))
            .map(|offset| from + offset)
        {
            let mut previous = text
                .get(..first)
                .and_then(|before| before.chars().next_back());
            let mut chars = text
                .get(first..)
                .unwrap_or_default()
                .char_indices()
                .peekable();
            // Where the next search for a digit starts: the end of the text unless the run is
            // ended by a character that is neither a digit nor a separator.
            from = text.len();
            while let Some((offset, c)) = chars.next() {
                if c.is_ascii_digit() {
                    let before = previous.is_none_or(|p| !is_word(p));
                    let after = chars.peek().is_none_or(|&(_, n)| !is_word(n));
                    run.digits.push(c);
                    run.at.push((first + offset, before, after));
                } else if !is_separator(c) {
                    from = first + offset + c.len_utf8();
                    break;
                }
                previous = Some(c);
            }
            self.run_matches(search, &run, &mut last_end, out);
            run.digits.clear();
            run.at.clear();
        }
    }

    /// What [`KnownNumbers::find`] must agree with: the text read one character at a time.
    #[cfg(test)]
    fn find_char_by_char(&self, text: &str, out: &mut Vec<Entity>) {
        let Some(search) = &self.search else {
            return;
        };
        let mut last_end: HashMap<usize, usize> = HashMap::new();
        let mut run = Run::default();
        let mut previous: Option<char> = None;
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c.is_ascii_digit() {
                let before = previous.is_none_or(|p| !is_word(p));
                let after = chars.peek().is_none_or(|&(_, n)| !is_word(n));
                run.digits.push(c);
                run.at.push((at, before, after));
            } else if !is_separator(c) && !run.digits.is_empty() {
                self.run_matches(search, &run, &mut last_end, out);
                run.digits.clear();
                run.at.clear();
            }
            previous = Some(c);
        }
        self.run_matches(search, &run, &mut last_end, out);
    }

    fn run_matches(
        &self,
        search: &Search,
        run: &Run,
        last_end: &mut HashMap<usize, usize>,
        out: &mut Vec<Entity>,
    ) {
        if run.digits.len() < 5 {
            return;
        }
        for (found_start, found_end, pattern) in occurrences(search, &run.digits) {
            let (start, before, _) = run.at[found_start];
            let (last, _, after) = run.at[found_end - 1];
            if !before || !after || last_end.get(&pattern).is_some_and(|&end| start < end) {
                continue;
            }
            let end = last + 1;
            last_end.insert(pattern, end);
            for kind in &self.kinds[pattern] {
                out.push(Entity {
                    kind: *kind,
                    start,
                    end,
                    source: Source::Known,
                    score: 1.0,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::Gen;

    fn spans(found: &[Entity]) -> Vec<(EntityKind, usize, usize)> {
        found.iter().map(|e| (e.kind, e.start, e.end)).collect()
    }

    #[test]
    fn skipping_to_the_next_digit_finds_what_reading_every_character_found() {
        let values = [
            "617-555-0199",
            "(617) 555 0199",
            "555-0199",
            "55501995",
            "1111111",
            "11111",
            "999-12-3456",
            "48213377",
            "1961",
            "03/09/1961",
            "12345",
            "+1 617.555.0199",
        ];
        let mut generator = Gen::new(0x5EED);
        let mut found = 0;
        for round in 0..3000 {
            let chosen: Vec<String> = (0..1 + generator.below(4))
                .map(|_| generator.pick(&values).to_owned())
                .collect();
            let mut builder = NumbersBuilder::default();
            for (i, value) in chosen.iter().enumerate() {
                let kind = if i % 2 == 0 {
                    EntityKind::Phone
                } else {
                    EntityKind::Mrn
                };
                builder.add(kind, value);
            }
            let digits = builder.digits.clone();
            let numbers = builder.build();
            // The same numbers looked for through an automaton, as they all were before.
            let through_automaton = KnownNumbers {
                search: crate::automaton::per_request(&digits).map(Search::Many),
                kinds: numbers.kinds.clone(),
            };
            let text = generator.text(&chosen, 24);
            let (mut fast, mut slow, mut old) = (Vec::new(), Vec::new(), Vec::new());
            numbers.find(&text, &mut fast);
            numbers.find_char_by_char(&text, &mut slow);
            through_automaton.find_char_by_char(&text, &mut old);
            assert_eq!(spans(&fast), spans(&old), "round {round}");
            assert_eq!(spans(&slow), spans(&old), "round {round}");
            found += usize::from(!slow.is_empty());
        }
        // The comparison means something only if numbers are found often, and missed often too.
        assert!((300..2700).contains(&found), "{found} of 3000 found");
    }
}
