//! What every match of a rule must contain, and which bytes any match may contain, read from
//! the rule's syntax tree, so that the prefilter's windows follow from the rules themselves
//! rather than from a second, hand-kept list that could drift from them.
//!
//! Two facts are derived for each rule:
//!
//! - its *trigger*: a set of short strings (compared ignoring ASCII case) of which every match
//!   holds at least one, or a set of bytes of which every match holds at least one;
//! - its *reach*: the bytes a match may hold at all, and the longest a match can be.
//!
//! Every fact over-approximates: a string or byte a match might hold is never left out. The
//! windows built from them (see `prefilter`) therefore hold every match.

use regex_syntax::hir::{Class, Hir, HirKind};

mod starts;

pub(crate) use starts::{is_ascii_word, opening_words, starts_on_word};

/// A set of bytes, one bit each.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    /// The set of the given bytes.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let mut set = ByteSet::default();
        bytes.iter().for_each(|&b| set.insert(b));
        set
    }

    pub(crate) fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    fn insert_range(&mut self, from: u8, to: u8) {
        (from..=to).for_each(|b| self.insert(b));
    }

    /// Adds every byte that can occur in the UTF-8 encoding of a character beyond ASCII.
    pub(crate) fn insert_non_ascii(&mut self) {
        self.insert_range(0x80, 0xFF);
    }

    pub(crate) fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }

    fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    pub(crate) fn is_subset(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    /// The bytes in the set, in order.
    pub(crate) fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&b| self.contains(b))
    }
}

/// Characters beyond ASCII that Unicode case folding makes equal to an ASCII letter: the long
/// s (`ſ`, folds to `s`) and the Kelvin sign (`K`, folds to `k`). A case-insensitive rule
/// matches them where it matches `s` or `k`; the prefilter, which compares ASCII case only,
/// treats a text holding either as one it cannot narrow down.
pub(crate) const FOLD_ESCAPES: [char; 2] = ['\u{17F}', '\u{212A}'];

/// The bytes any match of `hir` may hold.
pub(crate) fn allowed(hir: &Hir) -> ByteSet {
    let mut set = ByteSet::default();
    collect_allowed(hir, &mut set);
    set
}

fn collect_allowed(hir: &Hir, set: &mut ByteSet) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => literal.0.iter().for_each(|&b| set.insert(b)),
        HirKind::Class(class) => set.union(&class_bytes(class)),
        HirKind::Repetition(rep) => collect_allowed(&rep.sub, set),
        HirKind::Capture(cap) => collect_allowed(&cap.sub, set),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|sub| collect_allowed(sub, set));
        }
    }
}

/// The bytes of the UTF-8 encodings of a class's members (every byte beyond ASCII stands for
/// any character beyond ASCII).
fn class_bytes(class: &Class) -> ByteSet {
    let mut set = ByteSet::default();
    match class {
        Class::Unicode(unicode) => {
            for range in unicode.ranges() {
                let (start, end) = (u32::from(range.start()), u32::from(range.end()));
                if start < 0x80 {
                    let to = u8::try_from(end.min(0x7F)).unwrap_or(0x7F);
                    set.insert_range(u8::try_from(start).unwrap_or(0), to);
                }
                if end >= 0x80 {
                    set.insert_non_ascii();
                }
            }
        }
        Class::Bytes(bytes) => {
            for range in bytes.ranges() {
                set.insert_range(range.start(), range.end());
            }
        }
    }
    set
}

/// Whether a byte counts towards a window's budget: printable ASCII. Whitespace and the bytes of
/// characters beyond ASCII are free, so a budget never runs out inside a run of spaces.
pub(crate) const fn costs(byte: u8) -> bool {
    byte.is_ascii() && !matches!(byte, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

/// The most bytes that [`costs`] counts in any match of `hir`, when bounded: unlike the length
/// in bytes, a rule like `label\s*value` has one.
pub(crate) fn max_cost(hir: &Hir) -> Option<usize> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(literal) => Some(literal.0.iter().filter(|&&b| costs(b)).count()),
        HirKind::Class(class) => {
            let set = class_bytes(class);
            Some(usize::from(
                (0..=0x7Fu8).any(|b| costs(b) && set.contains(b)),
            ))
        }
        HirKind::Repetition(rep) => match max_cost(&rep.sub)? {
            0 => Some(0),
            each => each.checked_mul(usize::try_from(rep.max?).ok()?),
        },
        HirKind::Capture(cap) => max_cost(&cap.sub),
        HirKind::Concat(subs) => subs
            .iter()
            .try_fold(0usize, |sum, sub| sum.checked_add(max_cost(sub)?)),
        HirKind::Alternation(subs) => subs
            .iter()
            .try_fold(0usize, |most, sub| Some(most.max(max_cost(sub)?))),
    }
}

/// The bytes a non-empty match of `hir` may start with.
pub(crate) fn first_bytes(hir: &Hir) -> ByteSet {
    first_bytes_and_empty(hir).0
}

/// The bytes a match of `hir` may start with, and whether it may match the empty string (so
/// that what follows it may start the match instead).
fn first_bytes_and_empty(hir: &Hir) -> (ByteSet, bool) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ByteSet::default(), true),
        HirKind::Literal(literal) => match literal.0.first() {
            Some(&byte) => (ByteSet::of(&[byte]), false),
            None => (ByteSet::default(), true),
        },
        HirKind::Class(class) => (class_bytes(class), class_is_empty(class)),
        HirKind::Repetition(rep) => {
            let (set, empty) = first_bytes_and_empty(&rep.sub);
            (set, empty || rep.min == 0)
        }
        HirKind::Capture(cap) => first_bytes_and_empty(&cap.sub),
        HirKind::Concat(subs) => {
            let mut set = ByteSet::default();
            for sub in subs {
                let (first, empty) = first_bytes_and_empty(sub);
                set.union(&first);
                if !empty {
                    return (set, false);
                }
            }
            (set, true)
        }
        HirKind::Alternation(subs) => {
            let mut set = ByteSet::default();
            let mut any_empty = false;
            for sub in subs {
                let (first, empty) = first_bytes_and_empty(sub);
                set.union(&first);
                any_empty |= empty;
            }
            (set, any_empty)
        }
    }
}

/// Whether every match of `hir` holds at least one byte of `set`.
pub(crate) fn requires(hir: &Hir, set: &ByteSet) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(literal) => literal.0.iter().any(|&b| set.contains(b)),
        HirKind::Class(class) => class_bytes(class).is_subset(set) && !class_is_empty(class),
        HirKind::Repetition(rep) => rep.min >= 1 && requires(&rep.sub, set),
        HirKind::Capture(cap) => requires(&cap.sub, set),
        HirKind::Concat(subs) => subs.iter().any(|sub| requires(sub, set)),
        HirKind::Alternation(subs) => subs.iter().all(|sub| requires(sub, set)),
    }
}

fn class_is_empty(class: &Class) -> bool {
    match class {
        Class::Unicode(unicode) => unicode.ranges().is_empty(),
        Class::Bytes(bytes) => bytes.ranges().is_empty(),
    }
}

/// The most strings a word set may hold; beyond it a rule falls back to another trigger.
const MAX_WORDS: usize = 64;

/// A set of strings, lower-cased (ASCII), one of which every match holds (ignoring ASCII case).
pub(crate) type Words = Vec<Vec<u8>>;

/// The strings `hir` matches exactly, when there are few of them (ASCII case ignored).
fn finite(hir: &Hir) -> Option<Words> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(literal) => Some(vec![literal.0.to_ascii_lowercase()]),
        HirKind::Class(class) => class_chars(class),
        HirKind::Capture(cap) => finite(&cap.sub),
        HirKind::Repetition(rep) => {
            let max = rep.max?;
            if max > 3 {
                return None;
            }
            let sub = finite(&rep.sub)?;
            let mut all: Words = Vec::new();
            let mut power = vec![Vec::new()];
            for count in 0..=max {
                if count >= rep.min {
                    all.extend(power.iter().cloned());
                }
                power = product(&power, &sub)?;
            }
            dedup(all)
        }
        HirKind::Concat(subs) => subs
            .iter()
            .try_fold(vec![Vec::new()], |acc, sub| product(&acc, &finite(sub)?)),
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for sub in subs {
                all.extend(finite(sub)?);
            }
            dedup(all)
        }
    }
}

/// The members of a small class as one-character strings; letters beyond ASCII that fold to
/// an ASCII letter (see [`FOLD_ESCAPES`]) are left to the prefilter's fallback.
fn class_chars(class: &Class) -> Option<Words> {
    let Class::Unicode(unicode) = class else {
        return None;
    };
    let mut chars = Vec::new();
    for range in unicode.ranges() {
        for c in range.start()..=range.end() {
            if FOLD_ESCAPES.contains(&c) {
                continue;
            }
            let byte = u8::try_from(u32::from(c)).ok().filter(u8::is_ascii)?;
            chars.push(vec![byte.to_ascii_lowercase()]);
            if chars.len() > 8 {
                return None;
            }
        }
    }
    dedup(chars)
}

fn product(left: &Words, right: &Words) -> Option<Words> {
    if left.len() * right.len() > MAX_WORDS {
        return None;
    }
    let mut out = Vec::with_capacity(left.len() * right.len());
    for a in left {
        for b in right {
            out.push([a.as_slice(), b.as_slice()].concat());
        }
    }
    dedup(out)
}

fn dedup(mut words: Words) -> Option<Words> {
    words.sort();
    words.dedup();
    (words.len() <= MAX_WORDS).then_some(words)
}

/// How good a word set is as a trigger: the length of its shortest word (longer words occur
/// less often by chance); an empty word makes the set useless.
pub(crate) fn strength(words: &Words) -> usize {
    words.iter().map(Vec::len).min().unwrap_or(0)
}

/// A set of strings of which every match of `hir` holds one (ASCII case ignored), if one can be
/// read from the tree.
pub(crate) fn required_words(hir: &Hir) -> Option<Words> {
    words_by(hir, best_in_concat).filter(|words| strength(words) > 0)
}

/// Reads a word set from the tree of `hir`: the strings of a finite part, through captures and
/// repetitions that match at least once, the union over an alternation (none if one branch has
/// none); `concat` decides for a sequence, the one place where the sets read differ.
pub(crate) fn words_by(hir: &Hir, concat: fn(&[Hir]) -> Option<Words>) -> Option<Words> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(_) | HirKind::Class(_) => finite(hir),
        HirKind::Capture(cap) => words_by(&cap.sub, concat),
        HirKind::Repetition(rep) if rep.min >= 1 => words_by(&rep.sub, concat),
        HirKind::Repetition(_) => None,
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for sub in subs {
                all.extend(words_by(sub, concat)?);
            }
            dedup(all)
        }
        HirKind::Concat(subs) => concat(subs),
    }
}

/// Strings every match of the sequence `subs` holds one of: the strongest set any part gives.
fn best_in_concat(subs: &[Hir]) -> Option<Words> {
    let parts: Vec<Option<Words>> = subs.iter().map(finite).collect();
    let mut best: Option<Words> = None;
    let mut consider = |words: Words| {
        if best.as_ref().is_none_or(|b| strength(&words) > strength(b)) {
            best = Some(words);
        }
    };
    for start in 0..parts.len() {
        let mut joined = vec![Vec::new()];
        for part in &parts[start..] {
            let Some(next) = part.as_ref().and_then(|p| product(&joined, p)) else {
                break;
            };
            joined = next;
            if strength(&joined) > 0 {
                consider(joined.clone());
            }
        }
    }
    for (sub, part) in subs.iter().zip(&parts) {
        if part.is_none()
            && let Some(words) = required_words(sub)
        {
            consider(words);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::detect::test_hir as hir;

    fn words(pattern: &str) -> Vec<String> {
        required_words(&hir(pattern))
            .unwrap_or_default()
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect()
    }

    #[test]
    fn case_insensitive_labels_become_lower_case_words() {
        assert_eq!(
            words(r"(?i)\b(?:mrn|chart(?:\s+number)?)\s*(?P<v>\d+)"),
            ["chart", "mrn"]
        );
    }

    #[test]
    fn adjacent_fixed_parts_are_joined() {
        assert_eq!(words(r"\b[a-z]+\.(?:com|org)\b"), [".com", ".org"]);
        assert_eq!(words(r"(?i)licen[cs]e"), ["licence", "license"]);
    }

    #[test]
    fn optional_parts_give_no_words() {
        assert!(words(r"(?:abc)?\d+").is_empty());
        assert!(words(r"[a-z]+").is_empty());
    }

    #[test]
    fn required_bytes_follow_alternations_and_repetitions() {
        let digits = ByteSet::of(b"0123456789");
        assert!(requires(&hir(r"[a-z]*[0-9]{2}"), &digits));
        assert!(!requires(&hir(r"[a-z]*[0-9]{0,2}"), &digits));
        assert!(!requires(&hir(r"[0-9]+|[a-z]+"), &digits));
        // `\d` is Unicode: a match may hold only digits beyond ASCII.
        assert!(!requires(&hir(r"\d"), &digits));
    }

    #[test]
    fn whitespace_runs_cost_nothing() {
        assert_eq!(max_cost(&hir(r"(?i)mrn\s*:?\s*\d{4,8}")), Some(12));
        assert_eq!(max_cost(&hir(r"a[ \t]+b")), Some(2));
        assert_eq!(max_cost(&hir(r"a\w+")), None);
    }

    #[test]
    fn first_bytes_skip_what_may_be_empty() {
        let first = first_bytes(&hir(r"\b(?:ab)?[0-9]{2}x"));
        assert!(first.contains(b'a') && first.contains(b'7'));
        assert!(!first.contains(b'b') && !first.contains(b'x'));
        let digits = ByteSet::of(b"0123456789");
        assert!(first_bytes(&hir(r"[0-9]+[a-z]*")).is_subset(&digits));
        assert!(!first_bytes(&hir(r"[a-z]*[0-9]+")).is_subset(&digits));
    }

    #[test]
    fn allowed_bytes_cover_every_member() {
        let set = allowed(&hir(r"(?i)a\d"));
        assert!(set.contains(b'a') && set.contains(b'A') && set.contains(b'7'));
        assert!(set.contains(0xD9), "Unicode digits are beyond ASCII");
        assert!(!set.contains(b' '));
    }
}
