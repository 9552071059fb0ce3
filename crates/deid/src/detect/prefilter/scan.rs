//! The pass over a text that finds every trigger occurrence, and where the bytes that count
//! towards a budget are.
//!
//! One loop finds both kinds of trigger: it walks the product of the trigger-word automata a
//! byte at a time (see `joint`: the transitions the overlapping Aho-Corasick search takes, so
//! it reports the same occurrences, without leaving and re-entering an iterator at each one)
//! and, for the bytes whose class says they may be trigger bytes, looks them up in the trigger
//! table. Budgets are counted apart (see `costs`), eight
//! bytes at a time.

use super::Prefilter;
use super::costs::Costs;
use super::joint::{ESCAPE, Word};
use crate::detect::trigger;

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

/// Reads `bytes` once: every trigger occurrence into `hits` (one list per trigger, each
/// empty), the budgets into `costs`, and whether a fold escape occurs, which it returns.
///
/// The lists and the map are kept from earlier texts (see `room`) rather than made here; they
/// come empty, and the map is cleared before it is filled, so they hold what fresh ones would.
pub(super) fn scan(
    prefilter: &Prefilter,
    bytes: &[u8],
    hits: &mut [Vec<(usize, usize)>],
    costs: &mut Costs,
) -> bool {
    let mut escaped = false;
    let joint = &prefilter.joint;
    let mut state = joint.start;
    for (offset, &byte) in bytes.iter().enumerate() {
        state = joint.step(state, joint.class(byte));
        // Words end and trigger bytes lie only where the walk stops (see `joint`): one
        // comparison per byte, and everything else out of the loop.
        if joint.stops(state) {
            escaped |= stop(prefilter, state, bytes, offset, hits);
        }
    }
    costs.refill(bytes);
    escaped
}

/// Records what the walk finds where it stops in `state` on the byte at `offset`: the trigger
/// words ending with it (see `words_ending`, whose answer it returns) and, when it is a trigger
/// byte, the byte. Kept out of the loop over bytes, so that the loop keeps its few values in
/// registers.
#[inline(never)]
fn stop(
    prefilter: &Prefilter,
    state: u32,
    bytes: &[u8],
    offset: usize,
    hits: &mut [Vec<(usize, usize)>],
) -> bool {
    let joint = &prefilter.joint;
    let escaped = words_ending(prefilter, joint.words(state), bytes, offset + 1, hits);
    // Trigger bytes have classes of their own (see `joint`): most stops skip the table.
    if let Some(&byte) = bytes.get(offset)
        && joint.is_marked(joint.class(byte))
    {
        trigger_byte(prefilter.byte_triggers[usize::from(byte)], offset, hits);
    }
    escaped
}

/// Records the trigger byte at `offset` for each trigger of `mask`, joining it to the run it
/// extends.
#[inline(always)]
fn trigger_byte(mut mask: u64, offset: usize, hits: &mut [Vec<(usize, usize)>]) {
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

/// Records the trigger words of `words`, all ending at `end`, for each trigger whose gate
/// admits it, and says whether one of them is a fold escape.
#[inline]
fn words_ending(
    prefilter: &Prefilter,
    words: &[Word],
    bytes: &[u8],
    end: usize,
    hits: &mut [Vec<(usize, usize)>],
) -> bool {
    let mut escaped = false;
    for word in words {
        if word.trigger == ESCAPE {
            escaped = true;
            continue;
        }
        let start = end.saturating_sub(word.len as usize);
        let t = word.trigger as usize;
        let admitted = prefilter
            .gates
            .get(t)
            .is_none_or(|gate| gate.admits(bytes, start, end));
        if let (true, Some(list)) = (admitted, hits.get_mut(t)) {
            list.push((start, end));
        }
    }
    escaped
}
