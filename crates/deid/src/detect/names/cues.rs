//! Evidence from the words around a name: titles, cues, verbs of people, and repeats.

use super::{Mark, NameFinder};
use rustc_hash::FxHashMap;

use crate::detect::lexicon::Role;
use crate::detect::tokens::Shape;
use crate::entity::{EntityKind, Source};

/// Titles before a name of a patient or relative.
pub(crate) const TITLES: &[&str] = &["mr", "mrs", "ms", "mx", "miss"];

/// Titles before a clinician's name.
pub(crate) const CLINICIAN_TITLES: &[&str] = &["dr", "doctor", "prof", "professor"];

/// Words after which a name is likely: greetings, companions, labels; relatives are in
/// [`RELATIVE_CUES`].
pub(crate) const CUES: &[&str] = &[
    "named",
    "hi",
    "hello",
    "hey",
    "dear",
    "thanks",
    "bye",
    "goodbye",
    "friend",
    "caregiver",
    "neighbor",
    "neighbour",
    "patient",
    "name",
    "by",
    "guardian",
    "contact",
    "guarantor",
    "subscriber",
    "insured",
    "signed",
    "attending",
    "resident",
    "intern",
    "surgeon",
    "physician",
    "cardiologist",
    "pcp",
    "referred",
    "called",
    "under",
    "surname",
    "kid",
    "child",
    "buddy",
];

/// Verbs that take a person as subject: a capitalised word right before one is likely a name.
pub(crate) const PERSON_VERBS: &[&str] = &[
    "lives",
    "lived",
    "said",
    "says",
    "shouted",
    "told",
    "spent",
    "explained",
    "wrote",
    "asked",
    "answered",
    "replied",
    "works",
    "worked",
    "died",
    "denies",
    "reports",
    "states",
    "complains",
    "presents",
    "married",
    "visited",
    "smiled",
    "laughed",
    "cried",
    "agreed",
    "insisted",
];

/// Cues that announce a clinician rather than a patient or relative.
pub(crate) const CLINICIAN_CUES: &[&str] = &[
    "attending",
    "resident",
    "intern",
    "surgeon",
    "physician",
    "cardiologist",
    "pcp",
    "referred",
];

/// The second words of [`CUE_PAIRS`].
pub(crate) const CUE_ENDS: &[&str] = &["is", "you", "me", "as", "him", "her", "am"];

/// Two-word cues: the second word, given the first.
pub(super) const CUE_PAIRS: &[(&str, &str)] = &[
    ("name", "is"),
    ("this", "is"),
    ("i", "am"),
    ("thank", "you"),
    ("call", "me"),
    ("known", "as"),
    ("calls", "me"),
    ("named", "him"),
    ("named", "her"),
];

/// Relatives, which are also cues (`my wife Rosa`): a capitalised owner right before one is a
/// person too (`Rosa's son`).
pub(crate) const RELATIVE_CUES: &[&str] = &[
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
    "mom",
    "dad",
    "brother",
    "sister",
    "partner",
    "grandson",
    "granddaughter",
    "grandmother",
    "grandfather",
    "boyfriend",
    "girlfriend",
    "fiance",
    "fiancé",
    "fiancee",
    "niece",
    "nephew",
    "aunt",
    "uncle",
    "cousin",
    "spouse",
];

/// Relatives that are not cues (`her children` is rarely followed by a name), yet an owner
/// right before one is a person (`Rosa's children`).
pub(crate) const OTHER_RELATIVES: &[&str] = &["children", "kids", "stepson", "stepdaughter"];

/// Words before `name` that make it a strong cue (`last name: Roe`, `first name? Jo`).
pub(crate) const NAME_QUALIFIERS: &[&str] = &[
    "last", "first", "full", "middle", "maiden", "given", "family",
];

impl NameFinder<'_> {
    /// Rule 1: `Mr. Roe`, `Dr. Jane Roe`, `mrs. hernandez`.
    pub(super) fn titles(&mut self) {
        let roled = std::mem::take(&mut self.roled);
        for &i in &roled {
            let lower = self.tokens[i].lower;
            let kind = if self.info[i].is(Role::Title) {
                EntityKind::Name
            } else if self.info[i].is(Role::ClinicianTitle) {
                EntityKind::Provider
            } else {
                continue;
            };
            // `ms. Quinzia`: a title typed in lower case still announces a capitalised name.
            let lower_title_then_capital = self.tokens[i].shape == Shape::Lower
                && self
                    .tokens
                    .get(i + 1)
                    .is_some_and(|t| t.shape == Shape::Capitalized);
            if !(self.tokens[i].shape == Shape::Capitalized
                || self.lowercase
                || lower_title_then_capital)
            {
                continue;
            }
            let between = self.gap_before(i + 1);
            if !matches!(between.trim(), "" | ".") || between.contains('\n') {
                continue;
            }
            // Spelled-out titles are common words: ask more of what follows them.
            let strict = matches!(lower, "doctor" | "miss" | "professor") || self.lowercase;
            self.mark_following(i + 1, kind, Source::Context, 0.9, strict);
        }
        self.roled = roled;
    }

    /// Marks up to three name-shaped words from `first` on; returns how many were marked.
    fn mark_following(
        &mut self,
        first: usize,
        kind: EntityKind,
        source: Source,
        score: f32,
        strict: bool,
    ) -> usize {
        let mut count = 0;
        let mut i = first;
        while i < self.tokens.len() && count < 3 {
            if count > 0 && !self.adjacent(i - 1) {
                break;
            }
            let info = self.info[i];
            let token = &self.tokens[i];
            let shaped = self.name_shaped(i) || (count == 0 && token.shape == Shape::Upper);
            if !shaped || info.function || self.is_institution(i) {
                break;
            }
            if strict && !(info.is_listed_name() || (count == 0 && !self.lowercase)) {
                break;
            }
            if count > 0 && self.lowercase && (info.ambiguous || !info.is_listed_name()) {
                break;
            }
            self.mark(i, kind, source, score);
            count += 1;
            if token.possessive {
                break;
            }
            i += 1;
        }
        count
    }

    /// Rule 2: a name right after a cue word (`my wife Mary`, `hi , martha`, `Name: Jo Roe`).
    pub(super) fn cues(&mut self) {
        let roled = std::mem::take(&mut self.roled);
        let n = self.tokens.len();
        for &i in roled.iter().take_while(|&&i| i + 1 < n) {
            let lower = self.tokens[i].lower;
            let single = self.info[i].is(Role::Cue);
            let pair = i > 0
                && self.info[i].is(Role::CueEnd)
                && CUE_PAIRS
                    .iter()
                    .any(|(a, b)| *b == lower && self.tokens[i - 1].lower == *a);
            if !(single || pair) {
                continue;
            }
            let between = self.gap_before(i + 1);
            if between.contains('\n')
                || !between
                    .chars()
                    .all(|c| matches!(c, ' ' | ',' | ':' | '-' | '\t' | '?'))
            {
                continue;
            }
            let next = i + 1;
            let info = self.info[next];
            // "by" and "patient" are everyday words: only a clear name may follow them.
            let qualified = lower == "name" && i > 0 && self.info[i - 1].is(Role::NameQualifier);
            let weak_cue =
                !qualified && matches!(lower, "by" | "patient" | "name" | "contact" | "signed");
            // `my kid Marie`: after a strong cue, a given name that also lives in an eponym
            // (`Charcot-Marie-Tooth`) is the person, unless a head noun makes it the eponym.
            let given_name = !weak_cue
                && info.first_rank.is_some()
                && !self
                    .tokens
                    .get(next + 1)
                    .is_some_and(|t| self.lexicon.is_eponym_head(t.lower));
            if info.function
                || info.eponym != crate::detect::lexicon::Eponym::No
                    && self.eponym_use(next)
                    && !given_name
            {
                continue;
            }
            if weak_cue
                && !between.contains(':')
                && (info.ambiguous || info.medical && !info.is_listed_name())
            {
                continue;
            }
            let listed = info.is_listed_name() && !info.medical || info.first_rank.is_some();
            if self.lowercase && (info.ambiguous || !listed) {
                continue;
            }
            let kind = if self.info[i].is(Role::ClinicianCue) {
                EntityKind::Provider
            } else {
                EntityKind::Name
            };
            let strict = self.lowercase || (weak_cue && !between.contains(':'));
            if strict && !self.lowercase && !self.plausible_capitalized_name(next) {
                continue;
            }
            self.mark_following(next, kind, Source::Context, 0.8, self.lowercase);
        }
        self.roled = roled;
        self.owners_of_relatives();
    }

    /// `I'm Rosa's daughter`: a capitalised word in the possessive right before a relative is
    /// the relative's person, even when it is also an everyday word (`Misty`, `Hope`). Words of
    /// the name rules (`Patient's son`, `Doctor's wife`), function words and medical words are
    /// left alone.
    fn owners_of_relatives(&mut self) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        for &i in capitals.iter().take_while(|&&i| i + 1 < n) {
            let (token, info) = (&self.tokens[i], self.info[i]);
            if !token.possessive
                || token.shape != Shape::Capitalized
                || info.function
                || info.medical
                || info.roles != 0
                || self.is_institution(i)
            {
                continue;
            }
            let between = self.gap_before(i + 1);
            let relative = self.info[i + 1].is(Role::Relative);
            if relative && !between.contains('\n') && between.trim().chars().count() <= 2 {
                self.mark(i, EntityKind::Name, Source::Context, 0.7);
            }
        }
        self.capitals = capitals;
    }

    /// A capitalised word, or two, that could be a name after a weak cue like "by".
    fn plausible_capitalized_name(&self, i: usize) -> bool {
        let info = self.info[i];
        if self.tokens[i].shape != Shape::Capitalized || info.ambiguous {
            return false;
        }
        let two_words = self.adjacent(i)
            && self
                .tokens
                .get(i + 1)
                .is_some_and(|t| t.shape == Shape::Capitalized);
        info.is_listed_name() || two_words
    }

    /// `Enrico shouted`, `Tomomi Nishiyama lives at`: capitalised words before a verb of people.
    pub(super) fn before_person_verbs(&mut self) {
        let roled = std::mem::take(&mut self.roled);
        for &verb in roled.iter().filter(|&&verb| verb >= 1) {
            let is_verb = self.info[verb].is(Role::PersonVerb);
            if !is_verb || !self.adjacent(verb - 1) {
                continue;
            }
            let mut first = verb - 1;
            while first > 0
                && verb - first < 3
                && self.adjacent(first - 1)
                && self.unlisted_part(first - 1)
            {
                first -= 1;
            }
            if (first..verb).all(|j| self.unlisted_part(j) || self.marks[j].is_some()) {
                for j in first..verb {
                    self.mark(j, EntityKind::Name, Source::Context, 0.6);
                }
            }
        }
        self.roled = roled;
    }

    /// Rule 6: later occurrences of a word already marked as part of a name.
    pub(super) fn propagate(&mut self) {
        let mut found: FxHashMap<&str, Mark> = FxHashMap::default();
        let mut from = 0;
        while let Some(i) = self.next_mark(from, |_| true) {
            from = i + 1;
            let (Some(mark), token) = (&self.marks[i], &self.tokens[i]) else {
                continue;
            };
            let info = self.info[i];
            let weak = token.lower.chars().count() < 3
                || info.function
                || info.eponym == crate::detect::lexicon::Eponym::Always;
            if !weak {
                found.entry(token.lower).or_insert(*mark);
            }
        }
        if found.is_empty() {
            return;
        }
        // The lengths and first bytes of the words found, one bit each: most words of a text
        // miss one of them and are passed over without hashing.
        let (mut lengths, mut firsts) = (0u64, 0u64);
        for word in found.keys() {
            lengths |= 1 << word.len().min(63);
            firsts |= 1 << (word.as_bytes().first().copied().unwrap_or(0) & 63);
        }
        // In mixed-case text only words that are not lower case are taken: the capitalised
        // and upper-case ones (`capitals`) and the few of mixed case (`mixed`). Each word is
        // decided on its own (from `found`, made above, and its own mark), so the two lists
        // may be walked one after the other rather than in text order.
        let (capitals, mixed) = (
            std::mem::take(&mut self.capitals),
            std::mem::take(&mut self.mixed),
        );
        if self.lowercase {
            for i in 0..self.tokens.len() {
                self.repeat(i, &found, lengths, firsts);
            }
        } else {
            for &i in capitals.iter().chain(&mixed) {
                self.repeat(i, &found, lengths, firsts);
            }
        }
        (self.capitals, self.mixed) = (capitals, mixed);
    }

    /// Marks token `i` as a repeat of a word in `found` (see [`NameFinder::propagate`]);
    /// `lengths` and `firsts` are the bits of the lengths and first bytes of those words.
    ///
    /// Always inlined: it is asked of every capitalised word of a text that has names, and
    /// the call cost more than most answers.
    #[inline(always)]
    fn repeat(&mut self, i: usize, found: &FxHashMap<&str, Mark>, lengths: u64, firsts: u64) {
        if self.marks[i].is_some() {
            return;
        }
        let token = &self.tokens[i];
        let info = self.info[i];
        let case_ok = if self.lowercase {
            !info.ambiguous
        } else {
            token.shape != Shape::Lower
        };
        let word = token.lower.as_bytes();
        if !case_ok
            || lengths & (1 << word.len().min(63)) == 0
            || firsts & (1 << (word.first().copied().unwrap_or(0) & 63)) == 0
        {
            return;
        }
        let Some(&mark) = found.get(token.lower) else {
            return;
        };
        if self.eponym_use(i) {
            return;
        }
        let mark = match mark {
            Mark::Person { kind, .. } => Mark::Person {
                kind,
                source: Source::Context,
                score: 0.6,
            },
            Mark::Reserved => Mark::Reserved,
        };
        self.set_mark(i, mark);
    }
}
