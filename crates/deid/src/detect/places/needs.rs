//! Cheap tests that every match of a place rule passes (see `rules::Needs`), for the rules
//! whose windows are many and long but rarely hold a match: a window that fails its rule's test
//! is not searched at all.
//!
//! Each test looks for a short stretch that every match holds, reading the bytes' classes
//! eight at a time where it scans (see `eights`), and one by one around what it finds. It
//! may let through windows that hold no match; it must never refuse one that does. Characters
//! beyond ASCII are where that could go wrong (a Unicode `\s`, `\d` or `\p{Lu}`, a letter that
//! case-folds to an ASCII one), so a byte beyond ASCII is taken to be whatever a match needs at
//! that place: each test errs towards searching.

use std::sync::OnceLock;

use super::{STATES, STREET_SUFFIX};
use eights::{class_bits, eights, equal};

/// The classes of a byte, one bit each: what it may be part of.
const SPACE: u8 = 1;
const BLANK: u8 = 2;
const DIGIT: u8 = 4;
const UPPER: u8 = 8;
const LETTER: u8 = 16;

/// Each byte's classes. A byte beyond ASCII may belong to a Unicode `\s`, `\d`, `\p{Lu}` or
/// letter, so it has every class but `BLANK`.
static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = match byte {
            b' ' | b'\t' => SPACE | BLANK,
            b'\n' | 0x0B | 0x0C | b'\r' => SPACE,
            b'0'..=b'9' => DIGIT,
            b'A'..=b'Z' => UPPER | LETTER,
            b'a'..=b'z' => LETTER,
            0x80..=0xFF => SPACE | DIGIT | UPPER | LETTER,
            _ => 0,
        };
        b += 1;
    }
    table
}

/// Whether `byte` has any class of `classes`.
fn is(byte: u8, classes: u8) -> bool {
    CLASSES[usize::from(byte)] & classes != 0
}

/// The first index from `from` on where a byte of class `first` is followed by one of class
/// `second`: the index of the second. (The tests' plain reading; see `eights`.)
#[cfg(test)]
fn pair(bytes: &[u8], from: usize, first: u8, second: u8) -> Option<usize> {
    let mut before = false;
    for (at, &b) in bytes.iter().enumerate().skip(from) {
        let class = CLASSES[usize::from(b)];
        if before & (class & second != 0) {
            return Some(at);
        }
        before = class & first != 0;
    }
    None
}

/// Every index where a byte of class `FIRST` is followed by one of class `SECOND`: the index
/// of the second, in order, read eight bytes at a time (see `eights`). The classes are
/// constants, so that each caller's tests fold to the few its classes need even when the
/// iterator is not inlined.
fn pairs<const FIRST: u8, const SECOND: u8>(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut eights = eights(bytes);
    let (mut marks, mut carried, mut base) = (0u64, 0u64, 0usize);
    std::iter::from_fn(move || {
        while marks == 0 {
            let eight = eights.next()?;
            let (firsts, seconds) = (class_bits(eight, FIRST), class_bits(eight, SECOND));
            // A byte closes a pair when the one before it, moved up a byte (the last of the
            // previous eight carried in), is of class `FIRST`.
            marks = ((firsts << 8) | carried) & seconds;
            carried = firsts >> 56;
            base += 8;
        }
        let at = base - 8 + marks.trailing_zeros() as usize / 8;
        marks &= marks - 1;
        Some(at)
    })
}

/// `pairs` one byte at a time: what the eight-byte version must give.
#[cfg(test)]
fn pairs_plain(bytes: &[u8], first: u8, second: u8) -> impl Iterator<Item = usize> + '_ {
    // A search from `at` reads the pair that starts there first, so pairs may overlap.
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = pair(bytes, from, first, second)?;
        from = at;
        Some(at)
    })
}

/// Where the run of bytes of class `class` that ends right before `end` starts.
fn run_start(bytes: &[u8], end: usize, class: u8) -> usize {
    bytes[..end]
        .iter()
        .rposition(|&b| !is(b, class))
        .map_or(0, |at| at + 1)
}

/// `Springfield, IL`: a comma, blanks and a state's two capitals.
///
/// Every match of the rule ends in `,[ \t]*` and one of `STATES`, two ASCII capitals (the rule
/// does not ignore case).
pub(super) fn comma_state(bytes: &[u8]) -> bool {
    commas(bytes).any(|at| state_after_comma(bytes, at))
}

/// `comma_state` one byte at a time: what the eight-byte version must answer.
#[cfg(test)]
fn comma_state_plain(bytes: &[u8]) -> bool {
    (0..bytes.len()).any(|at| bytes[at] == b',' && state_after_comma(bytes, at))
}

/// Whether the comma at `at` is followed by blanks and one of `STATES`.
fn state_after_comma(bytes: &[u8], at: usize) -> bool {
    let rest = &bytes[at + 1..];
    let Some(state) = rest
        .iter()
        .position(|&b| !is(b, BLANK))
        .and_then(|skip| rest.get(skip..skip + 2))
    else {
        return false;
    };
    is_state(state[0], state[1])
}

/// For each capital, the second capitals of the states it opens, one bit each.
static STATE_SECONDS: [u32; 26] = state_seconds();

const fn state_seconds() -> [u32; 26] {
    let mut table = [0; 26];
    let states = STATES.as_bytes();
    let mut at = 0;
    while at + 1 < states.len() {
        table[(states[at] - b'A') as usize] |= 1 << (states[at + 1] - b'A');
        at += 3;
    }
    table
}

/// Whether `first` and `second` spell one of `STATES`: one look-up, where a search through the
/// list cost a few hundred instructions for each comma before two capitals (`, DOB`).
fn is_state(first: u8, second: u8) -> bool {
    let (Some(row), Some(column)) = (first.checked_sub(b'A'), second.checked_sub(b'A')) else {
        return false;
    };
    column < 26
        && STATE_SECONDS
            .get(usize::from(row))
            .is_some_and(|seconds| seconds >> column & 1 == 1)
}

/// Whether `state` is one of `STATES`, by the list: what `is_state` must answer.
#[cfg(test)]
fn is_state_plain(state: [u8; 2]) -> bool {
    state.iter().all(u8::is_ascii_uppercase) && STATES.as_bytes().chunks(3).any(|s| s[..2] == state)
}

/// The index of every comma in `bytes`, in order, found eight bytes at a time.
fn commas(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut eights = eights(bytes);
    let (mut marks, mut base) = (0u64, 0usize);
    std::iter::from_fn(move || {
        while marks == 0 {
            marks = equal(eights.next()?, b',');
            base += 8;
        }
        let at = base - 8 + marks.trailing_zeros() as usize / 8;
        marks &= marks - 1;
        Some(at)
    })
}

/// `20789 Allika 46`, `7878 Rahu 37 Apt`, `9816 214 Pavlou`: a number ended by a blank, then,
/// further on, a blank and a number.
///
/// Every match of these rules holds `\d[ \t]` (the first number and the blank after it) and,
/// starting at or after that blank, `[ \t]\d` (the blank before the second number).
pub(super) fn number_then_number(bytes: &[u8]) -> bool {
    number_then_number_eights(bytes)
}

/// `number_then_number` one byte at a time: what the eight-byte version must answer.
#[cfg(test)]
fn number_then_number_plain(bytes: &[u8]) -> bool {
    pair(bytes, 0, DIGIT, BLANK).is_some_and(|blank| pair(bytes, blank, BLANK, DIGIT).is_some())
}

/// `number_then_number` eight bytes at a time.
///
/// A byte that closes a pair (`\d[ \t]` or `[ \t]\d`) is marked where the byte before it,
/// shifted up by one byte (the last of the eight before carried in), is of the pair's first
/// class. The plain test finds the blank of the first `\d[ \t]`, then a `[ \t]\d` whose blank
/// lies at or after it: since no byte is both a blank and a digit, that is a digit closing a
/// `[ \t]\d` strictly after the blank closing some `\d[ \t]` (after the first one, if after
/// any). Both marks sit on top bits, so "after" compares bit positions within the eight, and
/// any digit mark does once a blank mark has been seen in an earlier eight.
fn number_then_number_eights(bytes: &[u8]) -> bool {
    let (mut carried_digit, mut carried_blank, mut seen) = (0u64, 0u64, false);
    for eight in eights(bytes) {
        let (digits, blanks) = (class_bits(eight, DIGIT), class_bits(eight, BLANK));
        let blank_marks = ((digits << 8) | carried_digit) & blanks;
        let digit_marks = ((blanks << 8) | carried_blank) & digits;
        // The bits from the first blank mark on (none when there is none).
        let from_first_blank = !(blank_marks & blank_marks.wrapping_neg()).wrapping_sub(1);
        if digit_marks != 0 && (seen || digit_marks & from_first_blank != 0) {
            return true;
        }
        seen |= blank_marks != 0;
        (carried_digit, carried_blank) = (digits >> 56, blanks >> 56);
    }
    false
}

/// `in ÖVERTURINGEN 840 24`: a capital, and later a word's last byte, blanks and two digits.
///
/// Every match of the rule opens with a `\p{Lu}` and ends in `[ \t]+` and a postcode, whose
/// first two characters are digits (or, for one beyond ASCII, whose first two bytes are); before
/// the blanks comes the end of a word, a letter or one of `'’.-` (of a capitalised word, or of
/// `de`, `van`…).
pub(super) fn place_then_postcode(bytes: &[u8]) -> bool {
    let Some(capital) = bytes.iter().position(|&b| is(b, UPPER)) else {
        return false;
    };
    pairs::<BLANK, DIGIT>(&bytes[capital..]).any(|at| {
        let at = capital + at;
        let word_end = run_start(bytes, at, BLANK);
        let ends_word = |b: u8| is(b, LETTER) || b".-'".contains(&b);
        bytes.get(at + 1).is_some_and(|&b| is(b, DIGIT))
            && word_end > 0
            && ends_word(bytes[word_end - 1])
    })
}

/// `611 Gibson Pathway`: white space, then a word of `STREET_SUFFIX` standing alone.
///
/// Every match of the rule ends in `\s+`, one of those words (spelled as listed: the rule does
/// not ignore case) and a word boundary. The words are ASCII letters, so the run of ASCII
/// letters that starts there is exactly the word: the boundary after it is no ASCII letter.
pub(super) fn street_suffix(bytes: &[u8]) -> bool {
    pairs::<SPACE, UPPER>(bytes).any(|at| {
        let rest = &bytes[at..];
        let len = rest
            .iter()
            .position(|b| !b.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        key(&rest[..len]).is_some_and(|key| suffixes().binary_search(&key).is_ok())
    })
}

/// A word of at most sixteen bytes as a number, so that words compare as numbers do.
fn key(word: &[u8]) -> Option<u128> {
    let mut bytes = [0; 16];
    bytes.get_mut(..word.len())?.copy_from_slice(word);
    Some(u128::from_be_bytes(bytes))
}

/// `STREET_SUFFIX`'s words as keys, sorted for a binary search.
fn suffixes() -> &'static [u128] {
    static SORTED: OnceLock<Vec<u128>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut words: Vec<u128> = STREET_SUFFIX
            .split('|')
            .filter_map(|word| key(word.as_bytes()))
            .collect();
        words.sort_unstable();
        words
    })
}

/// `lives in Boston`, `moved to the Bronx`: `in`, `to`, `at`, `near`, `from` or `the`, white
/// space, and a capital.
///
/// Every match of the rule holds one of its prepositions (`back to` ends in `to`) or `the`,
/// each after white space, then `\s+` and a `\p{Lu}`. At the capital, going back over the white
/// space reaches that word; when the white space is ASCII, the run of ASCII letters ending there
/// is the word itself, whose letters have no case partner beyond ASCII.
pub(super) fn preposition_then_capital(bytes: &[u8]) -> bool {
    pairs::<SPACE, UPPER>(bytes).any(|at| {
        let word_end = run_start(bytes, at, SPACE);
        if bytes[word_end..at].iter().any(|&b| b >= 0x80) {
            return true;
        }
        let word_start = bytes[..word_end]
            .iter()
            .rposition(|b| !b.is_ascii_alphabetic())
            .map_or(0, |at| at + 1);
        let word = &bytes[word_start..word_end];
        ["in", "to", "at", "near", "from", "the"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
    })
}

pub(super) mod eights;
#[cfg(test)]
mod tests;
