//! The pass over a text that finds every trigger occurrence, and where the bytes that count
//! towards a budget are.
//!
//! Trigger words, trigger bytes and budgets each used to read the text on their own (an
//! overlapping Aho-Corasick iterator, a table lookup per byte, and a pass building `Costs`).
//! One loop now finds both kinds of trigger: it walks the automaton's DFA a byte at a time (the
//! same transitions the overlapping iterator takes, so it reports the same occurrences, only
//! without leaving and re-entering the iterator at each one) and looks the byte up in the
//! trigger table. Budgets are counted in loops of their own (see `costs`).

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};

use super::Prefilter;
use super::windows::Costs;
use super::words::WordFinder;
use crate::detect::trigger;

/// What one pass over a text found.
pub(super) struct Found {
    /// For each trigger, its occurrences: runs of neighbouring trigger bytes in order, or trigger
    /// words by where they end (possibly overlapping) that some rule of the trigger may hold.
    pub(super) hits: Vec<Vec<(usize, usize)>>,
    /// Whether the text holds a character that ASCII case folding may turn into a trigger
    /// word's letter (see `trigger::FOLD_ESCAPES`).
    pub(super) escaped: bool,
    pub(super) costs: Costs,
}

/// Which occurrences of a trigger word some rule of the trigger may hold: the same test
/// `windows` applies for each rule, with every rule's allowed bytes together, so an occurrence
/// it drops would have been dropped for every rule, only later and after sorting.
#[derive(Clone, Copy)]
pub(super) struct Gate {
    /// The bytes any rule of the trigger may hold.
    pub(super) allows: [bool; 256],
    /// Every rule of the trigger starts on a trigger word right after a word boundary.
    pub(super) starts_on_word: bool,
}

impl Gate {
    fn admits(&self, bytes: &[u8], start: usize, end: usize) -> bool {
        opens(self.starts_on_word, bytes, start) && all_allowed(&self.allows, bytes, start, end)
    }
}

/// Whether an occurrence at `start` can open a match of a rule: always, unless every match
/// starts on a word boundary (`starts_on_word`) and an ASCII word byte comes right before.
pub(super) fn opens(starts_on_word: bool, bytes: &[u8], start: usize) -> bool {
    !starts_on_word
        || start
            .checked_sub(1)
            .and_then(|before| bytes.get(before))
            .is_none_or(|&b| !trigger::is_ascii_word(b))
}

/// Whether every byte of `start..end` is one `allows` lets a match hold.
pub(super) fn all_allowed(allows: &[bool; 256], bytes: &[u8], start: usize, end: usize) -> bool {
    bytes
        .get(start..end)
        .is_some_and(|word| word.iter().all(|&b| allows[usize::from(b)]))
}

/// Reads `bytes` once: every trigger occurrence, whether a fold escape occurs, and the budgets.
pub(super) fn scan(prefilter: &Prefilter, bytes: &[u8]) -> Found {
    let mut hits: Vec<Vec<(usize, usize)>> = vec![Vec::new(); prefilter.triggers.len()];
    let mut escaped = false;
    let (words, exact) = (&prefilter.words, &prefilter.exact);
    let (mut sid, mut exact_sid) = (words.start, exact.start);
    for (offset, &byte) in bytes.iter().enumerate() {
        sid = words.dfa.next_state(Anchored::No, sid, byte);
        if words.dfa.is_match(sid) {
            escaped |= words_ending(prefilter, words, sid, bytes, offset + 1, &mut hits);
        }
        exact_sid = exact.dfa.next_state(Anchored::No, exact_sid, byte);
        if exact.dfa.is_match(exact_sid) {
            words_ending(prefilter, exact, exact_sid, bytes, offset + 1, &mut hits);
        }
        let mut mask = prefilter.byte_triggers[usize::from(byte)];
        while mask != 0 {
            let t = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if let Some(list) = hits.get_mut(t) {
                match list.last_mut() {
                    Some(last) if last.1 == offset => last.1 = offset + 1,
                    _ => list.push((offset, offset + 1)),
                }
            }
        }
    }
    Found {
        hits,
        escaped,
        costs: costs(bytes),
    }
}

/// Records the trigger words `words` reports in match state `sid`, all ending at `end`,
/// and says whether one of them is a fold escape. Kept out of the loop over bytes, which
/// rarely comes here.
#[inline(never)]
fn words_ending(
    prefilter: &Prefilter,
    words: &WordFinder,
    sid: StateID,
    bytes: &[u8],
    end: usize,
    hits: &mut [Vec<(usize, usize)>],
) -> bool {
    let dfa = &words.dfa;
    let mut escaped = false;
    for index in 0..dfa.match_len(sid) {
        let pattern = dfa.match_pattern(sid, index);
        let start = end.saturating_sub(dfa.pattern_len(pattern));
        let triggers = words
            .pattern_triggers
            .get(pattern.as_usize())
            .map_or(&[][..], Vec::as_slice);
        escaped |= triggers.is_empty();
        record(prefilter, triggers, bytes, (start, end), hits);
    }
    escaped
}

/// Records an occurrence of a word that stands for `triggers`, for each trigger whose gate
/// admits it.
fn record(
    prefilter: &Prefilter,
    triggers: &[usize],
    bytes: &[u8],
    (start, end): (usize, usize),
    hits: &mut [Vec<(usize, usize)>],
) {
    for &t in triggers {
        let admitted = prefilter
            .gates
            .get(t)
            .is_none_or(|gate| gate.admits(bytes, start, end));
        if let (true, Some(list)) = (admitted, hits.get_mut(t)) {
            list.push((start, end));
        }
    }
}

/// Where the bytes that count towards a budget are, in two tight loops (one filling a
/// vector of known length, one pushing only counted bytes) rather than inside the loop above,
/// which the compiler then optimises less well.
fn costs(bytes: &[u8]) -> Costs {
    let mut before = Vec::with_capacity(bytes.len() + 1);
    before.push(0u32);
    let mut sum = 0u32;
    before.extend(bytes.iter().map(|&byte| {
        sum = sum.saturating_add(u32::from(trigger::COSTS[usize::from(byte)]));
        sum
    }));
    let mut at = Vec::with_capacity(bytes.len());
    for (offset, &byte) in bytes.iter().enumerate() {
        if trigger::COSTS[usize::from(byte)] {
            at.push(offset);
        }
    }
    Costs::from_counts(before, at)
}
