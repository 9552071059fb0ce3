//! The gate's second look, for identifiers that are codes: numbers (SSNs, phone numbers, record
//! numbers, dates) and letter-and-digit ids (licences, passports, UUIDs). A code written with
//! other separators, or none, is the same code: `999 68 5158`, `999–68–5158` (en dashes),
//! `999_68_5158`, `(555) 201-7788` and `4ACB6705 25A7…` are all caught. Outbound text is read as
//! runs of letters and digits, and a code must fill whole groups of a run, so `617-555-0199`
//! is not found inside the different number `1617-555-01999`.

use std::collections::HashSet;

use aho_corasick::AhoCorasick;

use crate::fold::is_dash;

/// At most this many separator characters may stand between two parts of one run
/// (`) ` in `(555) 201`).
const MAX_GAP: usize = 2;

/// Characters that separate the groups of one written code.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || is_dash(c) || matches!(c, '.' | '/' | '(' | ')' | '_' | ':')
}

/// Characters a reader does not see at all; they neither separate nor count.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// A value seen as its letters and digits alone, lower case.
pub(super) struct CodeValue {
    pub code: String,
    pub index: usize,
}

/// The code of `value` when it is one: at least six digits making up three quarters of its
/// letters and digits (`999-68-5158`, `S99989904`), or at least eight letters and digits with
/// at least four digits and a letter (`X38727102X`, a UUID). Names and words are not codes.
pub(super) fn code_value(value: &str, index: usize) -> Option<CodeValue> {
    let code: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let digits = code.bytes().filter(u8::is_ascii_digit).count();
    let numeric = digits >= 6 && digits * 4 >= code.len() * 3;
    let mixed = code.len() >= 8 && digits >= 4 && digits < code.len();
    (numeric || mixed).then_some(CodeValue { code, index })
}

/// A run of letters and digits in the outbound text, where it starts in the original bytes,
/// and where it splits into groups (offsets into `code`): at separators, and where letters
/// meet digits (`ssn999685158` splits after `ssn`).
struct Run {
    code: String,
    start: usize,
    groups: Vec<usize>,
}

/// Every code value, in one automaton, so a run is read once whatever the number of values
/// (comparing each run with each value made the gate quadratic in a crowded request).
pub(super) struct Codes {
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the index of the first value with that code.
    index: Vec<usize>,
    /// The length of the shortest code: a shorter run cannot hold one.
    shortest: usize,
}

impl Codes {
    pub(super) fn new(values: impl IntoIterator<Item = CodeValue>) -> Self {
        let mut codes = Vec::new();
        let mut index = Vec::new();
        let mut seen = HashSet::new();
        for value in values {
            if seen.insert(value.code.clone()) {
                codes.push(value.code);
                index.push(value.index);
            }
        }
        let automaton = (!codes.is_empty())
            .then(|| crate::automaton::per_request(&codes))
            .flatten();
        let shortest = codes.iter().map(String::len).min().unwrap_or(0);
        Codes {
            automaton,
            index,
            shortest,
        }
    }

    fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

impl Run {
    /// The smallest index of a value that fills whole groups of this run.
    fn holds(&self, codes: &Codes) -> Option<usize> {
        let Some(automaton) = &codes.automaton else {
            // The automaton could not be built: fail closed.
            return codes.index.first().copied();
        };
        let aligned =
            |at: usize| at == 0 || at == self.code.len() || self.groups.binary_search(&at).is_ok();
        automaton
            .find_overlapping_iter(&self.code)
            .filter(|found| aligned(found.start()) && aligned(found.end()))
            .map(|found| codes.index[found.pattern().as_usize()])
            .min()
    }
}

/// Finds the first code present in `chars` (decoded characters with their original byte
/// offsets); returns its offset and the index of the value.
pub(super) fn first_match(
    chars: impl Iterator<Item = (char, usize, usize)>,
    codes: &Codes,
) -> Option<(usize, usize)> {
    if codes.is_empty() {
        return None;
    }
    let mut best: Option<(usize, usize)> = None;
    let mut consider = |run: &Run| {
        // Without an automaton every run fails closed, however short.
        let too_short = codes.automaton.is_some() && run.code.len() < codes.shortest;
        if too_short || best.is_some_and(|(offset, _)| offset <= run.start) {
            return;
        }
        if let Some(index) = run.holds(codes) {
            best = Some((run.start, index));
        }
    };

    // One buffer serves every run; `open` says whether it holds a run now.
    let mut run = Run {
        code: String::new(),
        start: 0,
        groups: Vec::new(),
    };
    let mut open = false;
    let mut gap = 0;
    for (c, start, _) in chars {
        if is_invisible(c) {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            let c = c.to_ascii_lowercase();
            if !open {
                run.code.clear();
                run.groups.clear();
                run.start = start;
                open = true;
            }
            let kind_changes = run
                .code
                .as_bytes()
                .last()
                .is_some_and(|p| p.is_ascii_digit() != c.is_ascii_digit());
            if !run.code.is_empty() && (gap > 0 || kind_changes) {
                run.groups.push(run.code.len());
            }
            run.code.push(c);
            gap = 0;
        } else if open && is_separator(c) && gap < MAX_GAP {
            gap += 1;
        } else if open {
            consider(&run);
            open = false;
            gap = 0;
        }
    }
    if open {
        consider(&run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, values: &[&str]) -> Option<usize> {
        let codes = Codes::new(
            values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| code_value(v, i)),
        );
        let chars = text.char_indices().map(|(i, c)| (c, i, i + c.len_utf8()));
        first_match(chars, &codes).map(|(_, index)| index)
    }

    #[test]
    fn the_same_digits_with_other_separators_are_the_same_identifier() {
        assert_eq!(find("ssn 999 12 3456 ok", &["999-12-3456"]), Some(0));
        assert_eq!(
            find("ssn 999\u{2013}12\u{2013}3456", &["999-12-3456"]),
            Some(0)
        );
        assert_eq!(find("ssn 999_12_3456", &["999-12-3456"]), Some(0));
        assert_eq!(find("ssn 999-12\u{200B}-3456", &["999-12-3456"]), Some(0));
        assert_eq!(find("ssn999123456", &["999-12-3456"]), Some(0));
        assert_eq!(find("call (555) 201-7788", &["555-201-7788"]), Some(0));
        assert_eq!(find("call +1 555.201.7788", &["555-201-7788"]), Some(0));
        assert_eq!(find("born 1961/03/09", &["1961-03-09"]), Some(0));
    }

    #[test]
    fn letter_and_digit_codes_are_found_in_any_case_and_spacing() {
        let uuid = "4acb6705-25a7-430a-b799-a4ad8d7fbb38";
        assert_eq!(
            find("mrn 4ACB670525A7430AB799A4AD8D7FBB38", &[uuid]),
            Some(0)
        );
        assert_eq!(
            find("mrn 4acb6705 25a7 430a b799 a4ad8d7fbb38.", &[uuid]),
            Some(0)
        );
        assert_eq!(find("passport x 3872 7102 x", &["X38727102X"]), Some(0));
    }

    #[test]
    fn a_code_must_fill_whole_groups() {
        assert_eq!(find("ref 1234567890", &["345678"]), None);
        assert_eq!(find("ref 345-678.", &["345678"]), Some(0));
        assert_eq!(find("ref 1617-555-01999", &["617-555-0199"]), None);
    }

    #[test]
    fn words_and_short_numbers_are_not_codes() {
        assert!(code_value("Gibson Pathway", 0).is_none());
        assert!(code_value("12345", 0).is_none());
        assert!(code_value("Apt 4B", 0).is_none());
    }

    #[test]
    fn unrelated_numbers_pass() {
        assert_eq!(
            find(
                "BP 120/80, HR 72, 2 weeks",
                &["999-12-3456", "555-201-7788"]
            ),
            None
        );
    }
}
