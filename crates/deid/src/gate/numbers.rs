//! The gate's second look, for identifiers that are mostly digits (SSNs, phone numbers, record
//! numbers, dates): the same digits written with other separators (`999 12 3456`,
//! `(555) 201-7788`, `1961/03/09`) are the same identifier, so outbound text is also read as runs
//! of digits and compared digit for digit.

/// Separators that may stand between the digits of one written number.
const SEPARATORS: &[char] = &[' ', '-', '.', '/', '(', ')', '\u{a0}'];

/// At most this many separator characters may stand between two digits of one run
/// (`) ` in `(555) 201`).
const MAX_GAP: usize = 2;

/// A value seen as its digits alone.
pub(super) struct DigitValue {
    pub digits: String,
    pub index: usize,
}

/// The digits of `value` when it is essentially a number: at least six digits, making up at
/// least three quarters of its letters and digits (`S99989904` yes, a UUID no: mixed codes are
/// left to the text pass).
pub(super) fn digit_value(value: &str, index: usize) -> Option<DigitValue> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let alnum = value.chars().filter(|c| c.is_alphanumeric()).count();
    (digits.len() >= 6 && digits.len() * 4 >= alnum * 3).then_some(DigitValue { digits, index })
}

/// A run of digits found in the outbound text, where it starts in the original bytes, and
/// where separators split it into groups (as offsets into `digits`).
struct Run {
    digits: String,
    start: usize,
    groups: Vec<usize>,
}

impl Run {
    /// Whether `value` is the run, or a sequence of whole groups of it (`555 201 7788` inside
    /// `+1 555 201 7788`), but not digits cut out of the middle of a group.
    fn holds(&self, value: &str) -> bool {
        let aligned = |at: usize| at == 0 || at == self.digits.len() || self.groups.contains(&at);
        self.digits
            .match_indices(value)
            .any(|(at, _)| aligned(at) && aligned(at + value.len()))
    }
}

/// Finds the first digit value present in `chars` (decoded characters with their original
/// byte offsets).
pub(super) fn first_match(
    chars: impl Iterator<Item = (char, usize, usize)>,
    values: &[DigitValue],
) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut consider = |run: &Run| {
        for value in values {
            if run.holds(&value.digits) && best.is_none_or(|(offset, _)| run.start < offset) {
                best = Some((run.start, value.index));
            }
        }
    };

    let mut run: Option<Run> = None;
    let mut gap = 0;
    for (c, start, _) in chars {
        if c.is_ascii_digit() {
            match &mut run {
                Some(r) => {
                    if gap > 0 {
                        r.groups.push(r.digits.len());
                    }
                    r.digits.push(c);
                }
                // A run glued to letters (`A12345678`) is part of a code; it is still checked,
                // because a known number inside a code is still that number.
                None => {
                    run = Some(Run {
                        digits: c.to_string(),
                        start,
                        groups: Vec::new(),
                    })
                }
            }
            gap = 0;
        } else if run.is_some() && SEPARATORS.contains(&c) && gap < MAX_GAP {
            gap += 1;
        } else if let Some(done) = run.take() {
            consider(&done);
            gap = 0;
        }
    }
    if let Some(done) = run {
        consider(&done);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, values: &[&str]) -> Option<usize> {
        let values: Vec<DigitValue> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| digit_value(v, i))
            .collect();
        let chars = text.char_indices().map(|(i, c)| (c, i, i + c.len_utf8()));
        first_match(chars, &values).map(|(_, index)| index)
    }

    #[test]
    fn the_same_digits_with_other_separators_are_the_same_identifier() {
        assert_eq!(find("ssn 999 12 3456 ok", &["999-12-3456"]), Some(0));
        assert_eq!(find("call (555) 201-7788", &["555-201-7788"]), Some(0));
        assert_eq!(find("call +1 555.201.7788", &["555-201-7788"]), Some(0));
        assert_eq!(find("born 1961/03/09", &["1961-03-09"]), Some(0));
    }

    #[test]
    fn short_numbers_must_match_a_whole_run_and_mixed_codes_are_not_numbers() {
        assert_eq!(find("ref 1234567890", &["345678"]), None);
        assert_eq!(find("ref 345-678.", &["345678"]), Some(0));
        assert_eq!(find("ref 1617-555-01999", &["617-555-0199"]), None);
        assert!(digit_value("4acb6705-25a7-430a-b799-a4ad8d7fbb38", 0).is_none());
        assert!(digit_value("12345", 0).is_none());
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
