//! One automaton that walks both trigger-word automata at once.
//!
//! `scan` used to step two Aho-Corasick DFAs per byte (words read ignoring case, and words
//! spelled one way, see `words`), and ask each whether it had reached a match state: two byte
//! class look-ups, two transitions and four comparisons per byte. Their product, built once
//! per detector, takes one class look-up, one transition and one comparison.
//!
//! Why it reports exactly what the two automata report: a state of the product is the pair of
//! states the two automata are in after the same bytes, and its transition on a byte is the
//! pair of their transitions, so after any prefix of a text the product is in the pair the two
//! would be in. States are numbered with the pairs in which either automaton is in a match
//! state first, so one comparison tells whether either matched, and for each such state
//! what they matched is listed with it once, at build time: the words the first automaton
//! reports in that state, then those of the second, each with the triggers it stands for, in
//! the order the two automata list them. Two bytes share a class only when every reachable
//! pair moves to the same pair on both, so classes change no transition.
//!
//! Classes also tell the scan which bytes are marked (the trigger bytes, looked up in a table of
//! their own): two bytes share a class only when both are marked or neither is, and the marked
//! classes are numbered last, so one comparison of the class the scan has already looked up
//! tells whether the byte needs the table.
//!
//! The scan stops on both kinds of event with one comparison per byte: a state is the pair
//! together with whether the last byte read was marked, and states that report words or come
//! right after a marked byte (the *stops*) are numbered first. The flag changes no pair's
//! transitions, so the pairs walked are the ones above; it only doubles the states reached
//! right after a marked byte (few: trigger words hold hardly any marked bytes). Two compares
//! per byte became one, and the loop, whose rare branch now holds everything but the walk,
//! keeps its state in registers (about 10 instructions per byte less, measured).

use rustc_hash::FxHashMap;

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};

use super::words::WordFinder;

/// The most states the product may have; beyond it the table would outgrow the caches that
/// make it fast, and the detector is not built (`Prefilter::new` reports a build error).
const MAX_STATES: usize = 1 << 16;

/// The product of the two trigger-word automata, as a dense table over byte classes.
pub(super) struct Joint {
    /// For each byte, its class: a column of `trans`.
    classes: [u8; 256],
    /// How many classes there are: the length of a row of `trans`.
    stride: usize,
    /// Classes from this one on hold only marked bytes; those below, none.
    marked_from: u8,
    /// The next state of each state on each class, states numbered by the start of their row.
    trans: Vec<u32>,
    /// The state a scan starts in.
    pub(super) start: u32,
    /// States numbered below this are stops: pairs in which either automaton is in a match
    /// state, or states reached by reading a marked byte.
    stops_below: u32,
    /// For each stop (by row), where its words lie in `words` (none for a stop that only
    /// follows a marked byte).
    reported: Vec<(u32, u32)>,
    /// The words reported, state after state (see `Word`).
    words: Vec<Word>,
}

/// A word a state reports: its length, and one trigger it stands for (a word standing for
/// several triggers is listed once for each), or `ESCAPE` for a fold escape.
#[derive(Clone, Copy)]
pub(super) struct Word {
    pub(super) len: u32,
    pub(super) trigger: u32,
}

/// `Word::trigger` of a fold escape (see `trigger::FOLD_ESCAPES`).
pub(super) const ESCAPE: u32 = u32::MAX;

impl Joint {
    /// The product of `words` and `exact`, with the bytes `marked` says in classes of their
    /// own, or `None` when it has more than `MAX_STATES` states or an automaton will not start.
    pub(super) fn new(
        words: &WordFinder,
        exact: &WordFinder,
        marked: &[bool; 256],
    ) -> Option<Self> {
        let (pairs, next) = explore(words, exact, marked)?;
        let reports = |&(a, b, _): &Pair| words.dfa.is_match(a) || exact.dfa.is_match(b);
        let stops = |pair: &Pair| pair.2 || reports(pair);
        // Stops first, each group in the order it was found (the start stays first among its
        // group), so that one comparison separates them.
        let mut order: Vec<usize> = (0..pairs.len()).filter(|&i| stops(&pairs[i])).collect();
        let stopping = order.len();
        order.extend((0..pairs.len()).filter(|&i| !stops(&pairs[i])));
        let mut rank = vec![0usize; pairs.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old] = new;
        }

        let (classes, representatives, marked_from) = classes(&next, pairs.len(), marked);
        let stride = representatives.len();
        let id = |state: usize| u32::try_from(rank[state] * stride).ok();
        let mut trans = Vec::with_capacity(pairs.len() * stride);
        for &old in &order {
            for &byte in &representatives {
                trans.push(id(next[old * 256 + usize::from(byte)])?);
            }
        }
        let mut reported = Vec::with_capacity(stopping);
        let mut listed = Vec::new();
        for &old in &order[..stopping] {
            let (a, b, _) = pairs[old];
            let from = u32::try_from(listed.len()).ok()?;
            list(words, a, &mut listed)?;
            list(exact, b, &mut listed)?;
            reported.push((from, u32::try_from(listed.len()).ok()?));
        }
        Some(Joint {
            classes,
            stride,
            marked_from,
            trans,
            start: id(0)?,
            stops_below: u32::try_from(stopping * stride).ok()?,
            reported,
            words: listed,
        })
    }

    /// The class of `byte`.
    #[inline(always)]
    pub(super) fn class(&self, byte: u8) -> u8 {
        self.classes[usize::from(byte)]
    }

    /// Whether the bytes of `class` are marked.
    #[inline(always)]
    pub(super) fn is_marked(&self, class: u8) -> bool {
        class >= self.marked_from
    }

    /// The state after `state` reads a byte of `class`.
    #[inline(always)]
    pub(super) fn step(&self, state: u32, class: u8) -> u32 {
        // `new` writes only the starts of rows it creates, and a class is below the stride, so
        // the index is always in bounds (the product test walks every state it reaches).
        self.trans
            .get(state as usize + usize::from(class))
            .copied()
            .unwrap_or(self.start)
    }

    /// The state after `state` reads `byte`.
    #[cfg(test)]
    pub(super) fn next(&self, state: u32, byte: u8) -> u32 {
        self.step(state, self.class(byte))
    }

    /// Whether `state` is a stop: one in which either automaton is in a match state, or one
    /// reached by reading a marked byte. Every other state reports no word, and was reached by
    /// an unmarked byte.
    #[inline(always)]
    pub(super) fn stops(&self, state: u32) -> bool {
        state < self.stops_below
    }

    /// The words that end where the scan reaches `state` (none unless it is a stop).
    pub(super) fn words(&self, state: u32) -> &[Word] {
        let span = self.reported.get(state as usize / self.stride);
        span.and_then(|&(from, to)| self.words.get(from as usize..to as usize))
            .unwrap_or(&[])
    }
}

/// Appends the words `finder` reports in state `sid` (none if it is not a match state), or
/// `None` when a length or trigger does not fit in 32 bits.
fn list(finder: &WordFinder, sid: StateID, out: &mut Vec<Word>) -> Option<()> {
    let dfa = &finder.dfa;
    if !dfa.is_match(sid) {
        return Some(());
    }
    for index in 0..dfa.match_len(sid) {
        let pattern = dfa.match_pattern(sid, index);
        let len = u32::try_from(dfa.pattern_len(pattern)).ok()?;
        let triggers = finder
            .pattern_triggers
            .get(pattern.as_usize())
            .map_or(&[][..], Vec::as_slice);
        if triggers.is_empty() {
            out.push(Word {
                len,
                trigger: ESCAPE,
            });
        }
        for &trigger in triggers {
            let trigger = u32::try_from(trigger).ok().filter(|&t| t != ESCAPE)?;
            out.push(Word { len, trigger });
        }
    }
    Some(())
}

/// A state of the product: the states of the two automata, and whether the last byte read was
/// marked.
type Pair = (StateID, StateID, bool);

/// The states of the product, and the next state of each on each byte (see `explore`).
type Explored = (Vec<Pair>, Vec<usize>);

/// Every pair of states the two automata reach together from their unanchored starts, each
/// with whether the byte that led to it is marked (the start: not), the start first, and each
/// one's next on every byte (`next[state * 256 + byte]`).
fn explore(words: &WordFinder, exact: &WordFinder, marked: &[bool; 256]) -> Option<Explored> {
    let start = (
        words.dfa.start_state(Anchored::No).ok()?,
        exact.dfa.start_state(Anchored::No).ok()?,
        false,
    );
    let mut pairs = vec![start];
    let mut known: FxHashMap<Pair, usize> = FxHashMap::default();
    known.insert(start, 0);
    let mut next = Vec::new();
    let mut at = 0;
    while let Some(&(a, b, _)) = pairs.get(at) {
        for byte in 0..=255u8 {
            let pair = (
                words.dfa.next_state(Anchored::No, a, byte),
                exact.dfa.next_state(Anchored::No, b, byte),
                marked[usize::from(byte)],
            );
            let index = match known.get(&pair) {
                Some(&index) => index,
                None => {
                    if pairs.len() >= MAX_STATES {
                        return None;
                    }
                    pairs.push(pair);
                    known.insert(pair, pairs.len() - 1);
                    pairs.len() - 1
                }
            };
            next.push(index);
        }
        at += 1;
    }
    Some((pairs, next))
}

/// Groups bytes that are both marked or both not, and whose transitions agree in every state:
/// each byte's class, one byte of each class in order of class, and the first marked class
/// (the unmarked ones are numbered first; the number of classes when no byte is marked).
fn classes(next: &[usize], states: usize, marked: &[bool; 256]) -> ([u8; 256], Vec<u8>, u8) {
    let mut classes = [0u8; 256];
    let mut representatives: Vec<u8> = Vec::new();
    let mut seen: FxHashMap<(bool, Vec<usize>), u8> = FxHashMap::default();
    let mut marked_from = 0;
    for group in [false, true] {
        // At most 256 classes, numbered from zero: every one fits in a byte. (Were all 256
        // unmarked, the last would count as marked: the scan would look its bytes up in the
        // table and find no trigger, which changes nothing.)
        if group {
            marked_from = u8::try_from(representatives.len()).unwrap_or(u8::MAX);
        }
        for byte in (0..=255u8).filter(|&b| marked[usize::from(b)] == group) {
            let column: Vec<usize> = (0..states)
                .map(|s| next[s * 256 + usize::from(byte)])
                .collect();
            let fresh = u8::try_from(representatives.len()).unwrap_or(u8::MAX);
            let class = *seen.entry((group, column)).or_insert_with(|| {
                representatives.push(byte);
                fresh
            });
            classes[usize::from(byte)] = class;
        }
    }
    (classes, representatives, marked_from)
}

#[cfg(test)]
mod tests {
    use aho_corasick::Input;
    use aho_corasick::automaton::{Automaton, OverlappingState};

    use super::{ESCAPE, Joint};
    use crate::detect::prefilter::words::WordFinder;

    fn finder(words: &[&str], ignore_case: bool, first_trigger: usize) -> WordFinder {
        let words = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_bytes().to_vec(), Some(first_trigger + i % 3)));
        let escape = ignore_case.then(|| ("\u{17F}".as_bytes().to_vec(), None));
        match WordFinder::new(words.chain(escape), ignore_case) {
            Some(finder) => finder,
            None => panic!("the automaton builds"),
        }
    }

    /// Every (end, length, trigger) the automaton reports in `text`, by the overlapping search.
    fn overlapping(finder: &WordFinder, text: &[u8], out: &mut Vec<(usize, u32, u32)>) {
        let mut state = OverlappingState::start();
        let input = Input::new(text);
        loop {
            if finder.dfa.try_find_overlapping(&input, &mut state).is_err() {
                panic!("the search runs");
            }
            let Some(found) = state.get_match() else {
                break;
            };
            let len = u32::try_from(found.len()).unwrap_or(u32::MAX);
            let triggers = &finder.pattern_triggers[found.pattern().as_usize()];
            if triggers.is_empty() {
                out.push((found.end(), len, ESCAPE));
            }
            for &t in triggers {
                out.push((found.end(), len, u32::try_from(t).unwrap_or(0)));
            }
        }
    }

    #[test]
    fn the_product_reports_what_both_automata_report() {
        let words = finder(&["dr", "st", "mrn", "street", "tree", "ssn", "s"], true, 0);
        let exact = finder(&["AL", "MD", "St", "MRN"], false, 5);
        // Digits and `é`'s bytes are marked: the classes must keep them apart, and the words'
        // own letters among them must still be found.
        let mut marked = [false; 256];
        for b in b"0123456789\xC3\xA9m".iter().copied() {
            marked[usize::from(b)] = true;
        }
        let Some(joint) = Joint::new(&words, &exact, &marked) else {
            panic!("the product builds")
        };
        for byte in 0..=255u8 {
            let class = joint.class(byte);
            assert_eq!(
                joint.is_marked(class),
                marked[usize::from(byte)],
                "byte {byte}"
            );
        }
        let alphabet = [
            "d", "r", "s", "t", "e", "m", "n", "A", "L", "M", "D", "S", "T", " ", "ſ", "é", "1",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..400 {
            let mut text = String::new();
            for _ in 0..(seed % 60) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let bytes = text.as_bytes();
            let mut want = Vec::new();
            overlapping(&words, bytes, &mut want);
            overlapping(&exact, bytes, &mut want);
            let mut got = Vec::new();
            let mut state = joint.start;
            for (offset, &byte) in bytes.iter().enumerate() {
                state = joint.next(state, byte);
                // Every marked byte stops the scan.
                assert!(
                    !marked[usize::from(byte)] || joint.stops(state),
                    "byte {byte}"
                );
                if joint.stops(state) {
                    got.extend(
                        joint
                            .words(state)
                            .iter()
                            .map(|w| (offset + 1, w.len, w.trigger)),
                    );
                } else {
                    assert!(joint.words(state).is_empty());
                }
            }
            // Where the scan keeps them, words are sorted by start before windows are built.
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "text of {} bytes", bytes.len());
        }
    }
}
