//! Tests (see `rules::Needs`) for the two rules of streets written the way much of Europe
//! writes them, a street word and a number: `Kiannonkatu 98`, `Hauptstraße 5` (the word ends
//! the street's name) and `rue de la Paix 5`, `C/ Mayor 3` (the word opens it).
//!
//! Both rules are triggered by digits and allow letters and white space around them, so their
//! windows cover most sentences that hold a number, and the rules themselves are slow to run
//! (`\p{L}` under `(?i)`). Both need a word of their own list right next to white space, which
//! few windows hold.
//!
//! Each test reads ASCII text only: a window with a byte beyond ASCII passes, since there `\s`,
//! `\d` and `(?i)` reach characters the tests do not read (a Unicode space, `ſ` for `s`, the
//! Kelvin sign for `k`, the words spelled beyond ASCII).

/// The words that end a street's name, before its number (`(?i)`).
pub(super) const ENDING: [&str; 29] = [
    "katu", "gatan", "vägen", "vej", "veien", "vegen", "gade", "straße", "strasse", "weg", "laan",
    "straat", "plein", "allee", "gasse", "platz", "tie", "polku", "kuja", "ulica", "utca",
    "torget", "plads", "gränd", "väg", "rinne", "tänav", "iela", "gatve",
];

/// The words that open a street's name, before its number (`(?i)`), besides `C/`.
pub(super) const OPENING: [&str; 12] = [
    "rue", "via", "viale", "calle", "avenida", "rua", "rúa", "piazza", "plaza", "strada", "ulica",
    "ul.",
];

/// The last three bytes of each word, as [`key`] reads them.
const ENDING_KEYS: [u32; ENDING.len()] = keys(ENDING);
const OPENING_KEYS: [u32; OPENING.len()] = keys(OPENING);

/// The three bytes before `end` in one number, each with bit `0x20` set: an ASCII capital
/// reads as its small letter, so two spellings that differ only in ASCII case have one key
/// (other bytes may share a key too, which only lets more through).
const fn key(bytes: &[u8], end: usize) -> u32 {
    low(bytes[end - 3]) << 16 | low(bytes[end - 2]) << 8 | low(bytes[end - 1])
}

/// One byte of a key.
const fn low(byte: u8) -> u32 {
    (byte | 0x20) as u32
}

/// The key of each word (every one is at least three bytes long).
const fn keys<const N: usize>(words: [&str; N]) -> [u32; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        let word = words[i].as_bytes();
        out[i] = key(word, word.len());
        i += 1;
    }
    out
}

/// What `\s` matches in ASCII.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// A filter over keys: bit `hash(key)` is set for the key of each word, so a key whose bit is
/// clear is no word's, and most keys are turned away with one look-up.
struct KeyFilter([u64; 64]);

impl KeyFilter {
    const fn new(keys: &[u32]) -> Self {
        let mut bits = [0u64; 64];
        let mut i = 0;
        while i < keys.len() {
            let h = hash(keys[i]);
            bits[h / 64] |= 1 << (h % 64);
            i += 1;
        }
        KeyFilter(bits)
    }

    fn may_hold(&self, key: u32) -> bool {
        let h = hash(key);
        self.0[h / 64] & (1 << (h % 64)) != 0
    }
}

/// Twelve bits of `key`, spread by a multiply.
const fn hash(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 20) as usize
}

static ENDING_FILTER: KeyFilter = KeyFilter::new(&ENDING_KEYS);
static OPENING_FILTER: KeyFilter = KeyFilter::new(&OPENING_KEYS);

/// Whether `bytes[..end]` ends with one of `words`, ignoring ASCII case: first by the filter,
/// then by key, then byte by byte for a word whose key it has.
fn ends_with_one_of(
    bytes: &[u8],
    end: usize,
    filter: &KeyFilter,
    words: &[&str],
    keys: &[u32],
) -> bool {
    if end < 3 || end > bytes.len() {
        return false;
    }
    let key = key(bytes, end);
    filter.may_hold(key)
        && words.iter().zip(keys).any(|(word, &k)| {
            k == key
                && end
                    .checked_sub(word.len())
                    .is_some_and(|from| bytes[from..end].eq_ignore_ascii_case(word.as_bytes()))
        })
}

/// `Kiannonkatu 98`: every match ends with a word of [`ENDING`], white space and a digit.
pub(super) fn ending_word_then_number(bytes: &[u8]) -> bool {
    if !bytes.is_ascii() {
        return true;
    }
    bytes.windows(2).enumerate().any(|(at, pair)| {
        pair[1].is_ascii_digit() && is_space(pair[0]) && {
            let word_end = bytes[..at]
                .iter()
                .rposition(|&b| !is_space(b))
                .map_or(0, |last| last + 1);
            ends_with_one_of(bytes, word_end, &ENDING_FILTER, &ENDING, &ENDING_KEYS)
        }
    })
}

/// `rue de la Paix 5`: every match holds a word of [`OPENING`] (or `C/`) right before white
/// space. Each of them ends in `a`, `e`, `.` or `/`, which most bytes before white space do not.
pub(super) fn opening_word_then_space(bytes: &[u8]) -> bool {
    if !bytes.is_ascii() {
        return true;
    }
    bytes.windows(2).enumerate().any(|(at, pair)| {
        matches!(pair[0], b'a' | b'A' | b'e' | b'E' | b'.' | b'/')
            && is_space(pair[1])
            && (ends_with_one_of(bytes, at + 1, &OPENING_FILTER, &OPENING, &OPENING_KEYS)
                || bytes[..=at].ends_with(b"C/"))
    })
}

#[cfg(test)]
mod tests {
    use super::{
        ENDING, ENDING_FILTER, ENDING_KEYS, OPENING, OPENING_FILTER, OPENING_KEYS,
        ending_word_then_number, opening_word_then_space,
    };

    #[test]
    fn every_word_passes_its_filter() {
        for (word, &key) in ENDING.iter().zip(&ENDING_KEYS) {
            assert!(ENDING_FILTER.may_hold(key), "{word}");
        }
        for (word, &key) in OPENING.iter().zip(&OPENING_KEYS) {
            assert!(OPENING_FILTER.may_hold(key), "{word}");
        }
        let set = ENDING_FILTER.0.iter().map(|w| w.count_ones()).sum::<u32>();
        assert!(set <= 29, "{set} bits");
    }

    #[test]
    fn opening_words_end_where_the_test_looks() {
        for word in OPENING {
            let last = word.as_bytes().last().copied().unwrap_or(b' ');
            assert!(matches!(last, b'a' | b'e' | b'.'), "{word}");
        }
    }

    #[test]
    fn the_tests_find_the_words_and_refuse_plain_sentences() {
        assert!(ending_word_then_number(b"lives at Kiannonkatu  98 now"));
        assert!(ending_word_then_number(b"SKOANVEIEN\t226"));
        assert!(!ending_word_then_number(b"seen on 12 March at 4 pm"));
        assert!(!ending_word_then_number(b"katu98"));
        assert!(ending_word_then_number("Hauptstraße 5".as_bytes()));
        assert!(opening_word_then_space(b"at 5 rue de la Paix"));
        assert!(opening_word_then_space(b"C/ Mayor 3"));
        assert!(opening_word_then_space(b"UL. Dluga 4"));
        assert!(!opening_word_then_space(b"take 2 tablets by mouth"));
        assert!(!opening_word_then_space(b"seen on 12 March at 4 pm"));
        assert!(ENDING.len() > 20);
    }
}
