//! The automata that find trigger words.
//!
//! Trigger words are read ignoring ASCII case, and most are searched that way. A word whose
//! every letter the rules of its trigger allow in one case only (the state codes `AL|AK|…` of a
//! case-sensitive rule) is searched spelled that way instead, in an automaton of its own: read
//! ignoring case, two-letter words like these occur inside most English words (`also`,
//! `normal`), and each occurrence costs a report that the gate (see `scan::Gate`) then drops.
//! The occurrences the exact spelling misses hold a letter in a case no rule of the trigger
//! allows, so the gate would have dropped every one of them.

use aho_corasick::MatchKind;
use aho_corasick::dfa::DFA;

/// One automaton over trigger words, and the triggers each of its patterns stands for.
pub(super) struct WordFinder {
    /// Read once, when the prefilter builds the product of both finders (see `joint`), whose
    /// walk reports every occurrence, overlapping ones included, as the overlapping search
    /// does. Built without a prefilter, so that only match and dead states are special.
    pub(super) dfa: DFA,
    /// For each pattern, the triggers it stands for (empty for a fold escape).
    pub(super) pattern_triggers: Vec<Vec<usize>>,
}

impl WordFinder {
    /// An automaton over `words`, each with the trigger it stands for (`None` for a fold
    /// escape), read ignoring ASCII case or not, or `None` when it cannot be built. With no
    /// words it never reports anything.
    pub(super) fn new(
        words: impl IntoIterator<Item = (Vec<u8>, Option<usize>)>,
        ignore_case: bool,
    ) -> Option<Self> {
        let (patterns, pattern_triggers) = by_pattern(words);
        let dfa = DFA::builder()
            .ascii_case_insensitive(ignore_case)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&patterns)
            .ok()?;
        Some(WordFinder {
            dfa,
            pattern_triggers,
        })
    }
}

/// Each distinct word once, with every trigger it stands for (none for a fold escape).
fn by_pattern(
    words: impl IntoIterator<Item = (Vec<u8>, Option<usize>)>,
) -> (Vec<Vec<u8>>, Vec<Vec<usize>>) {
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut pattern_triggers: Vec<Vec<usize>> = Vec::new();
    for (pattern, trigger) in words {
        let at = match patterns.iter().position(|p| *p == pattern) {
            Some(at) => at,
            None => {
                patterns.push(pattern);
                pattern_triggers.push(Vec::new());
                patterns.len() - 1
            }
        };
        if let (Some(t), Some(list)) = (trigger, pattern_triggers.get_mut(at)) {
            list.push(t);
        }
    }
    (patterns, pattern_triggers)
}

/// `word` (lower case) spelled the one way `allows` lets each of its letters be, if there is
/// exactly one.
pub(super) fn exact_spelling(word: &[u8], allows: &[bool; 256]) -> Option<Vec<u8>> {
    word.iter()
        .map(|&byte| {
            if !byte.is_ascii_alphabetic() {
                return Some(byte);
            }
            let (lower, upper) = (byte.to_ascii_lowercase(), byte.to_ascii_uppercase());
            match (allows[usize::from(lower)], allows[usize::from(upper)]) {
                (true, false) => Some(lower),
                (false, true) => Some(upper),
                _ => None,
            }
        })
        .collect()
}
