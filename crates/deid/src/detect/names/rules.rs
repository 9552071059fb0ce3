//! The individual evidence rules of name detection.

use super::{Mark, NameFinder};
use crate::detect::tokens::Shape;
use crate::entity::{EntityKind, Source};

/// Titles before a name, with the kind of person they announce.
const TITLES: &[(&str, EntityKind)] = &[
    ("mr", EntityKind::Name),
    ("mrs", EntityKind::Name),
    ("ms", EntityKind::Name),
    ("mx", EntityKind::Name),
    ("miss", EntityKind::Name),
    ("dr", EntityKind::Provider),
    ("doctor", EntityKind::Provider),
    ("prof", EntityKind::Provider),
    ("professor", EntityKind::Provider),
];

/// Words after which a name is likely: greetings, relatives, labels.
const CUES: &[&str] = &[
    "named", "hi", "hello", "hey", "dear", "thanks", "bye", "goodbye", "wife", "husband", "son",
    "daughter", "mother", "father", "mom", "dad", "brother", "sister", "partner", "friend",
    "grandson", "granddaughter", "grandmother", "grandfather", "boyfriend", "girlfriend", "fiance",
    "fiancé", "fiancee", "caregiver", "neighbor", "neighbour", "niece", "nephew", "aunt", "uncle",
    "cousin", "patient", "name", "by", "guardian", "spouse", "contact", "guarantor", "subscriber",
    "insured", "signed", "attending", "resident", "intern", "surgeon", "physician",
    "cardiologist", "pcp", "referred",
];

/// Cues that announce a clinician rather than a patient or relative.
const CLINICIAN_CUES: &[&str] =
    &["attending", "resident", "intern", "surgeon", "physician", "cardiologist", "pcp", "referred"];

/// Two-word cues: the second word, given the first.
const CUE_PAIRS: &[(&str, &str)] = &[
    ("name", "is"),
    ("this", "is"),
    ("i", "am"),
    ("thank", "you"),
    ("call", "me"),
    ("known", "as"),
];

impl NameFinder<'_> {
    /// Rule 1: `Mr. Roe`, `Dr. Jane Roe`, `mrs. hernandez`.
    pub(super) fn titles(&mut self) {
        for i in 0..self.tokens.len() {
            let lower = self.tokens[i].lower.as_str();
            let Some(&(_, kind)) = TITLES.iter().find(|(title, _)| *title == lower) else {
                continue;
            };
            if !(self.tokens[i].shape == Shape::Capitalized || self.lowercase) {
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
    }

    /// Marks up to three name-shaped words from `first` on; returns how many were marked.
    fn mark_following(&mut self, first: usize, kind: EntityKind, source: Source, score: f32, strict: bool) -> usize {
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
            if count > 0 && self.lowercase && !(info.is_listed_name() && !info.ambiguous) {
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
        for i in 0..self.tokens.len().saturating_sub(1) {
            let lower = self.tokens[i].lower.as_str();
            let single = CUES.contains(&lower);
            let pair = i > 0
                && CUE_PAIRS.iter().any(|(a, b)| *b == lower && self.tokens[i - 1].lower == *a);
            if !(single || pair) {
                continue;
            }
            let between = self.gap_before(i + 1);
            if between.contains('\n') || !between.chars().all(|c| matches!(c, ' ' | ',' | ':' | '-' | '\t')) {
                continue;
            }
            let next = i + 1;
            let info = self.info[next];
            if info.function || info.eponym != crate::detect::lexicon::Eponym::No && self.eponym_use(next) {
                continue;
            }
            // "by" and "patient" are everyday words: only a clear name may follow them.
            let weak_cue = matches!(lower, "by" | "patient" | "name" | "contact" | "signed");
            if weak_cue && !between.contains(':') && (info.ambiguous || info.medical && !info.is_listed_name()) {
                continue;
            }
            if self.lowercase && !(info.is_listed_name() && !info.medical || info.first_rank.is_some()) {
                continue;
            }
            let kind = if CLINICIAN_CUES.contains(&lower) { EntityKind::Provider } else { EntityKind::Name };
            let strict = self.lowercase || (weak_cue && !between.contains(':'));
            if strict && !self.lowercase && !self.plausible_capitalized_name(next) {
                continue;
            }
            self.mark_following(next, kind, Source::Context, 0.8, self.lowercase);
        }
    }

    /// A capitalised word, or two, that could be a name after a weak cue like "by".
    fn plausible_capitalized_name(&self, i: usize) -> bool {
        let info = self.info[i];
        if self.tokens[i].shape != Shape::Capitalized || info.ambiguous {
            return false;
        }
        let two_words = self.adjacent(i)
            && self.tokens.get(i + 1).is_some_and(|t| t.shape == Shape::Capitalized);
        info.is_listed_name() || two_words
    }

    /// Rule 3: `ROE, JANE` and `Roe, Jane M`.
    pub(super) fn last_comma_first(&mut self) {
        for i in 0..self.tokens.len().saturating_sub(1) {
            let (last, first) = (&self.tokens[i], &self.tokens[i + 1]);
            let shaped = |s: Shape| matches!(s, Shape::Capitalized | Shape::Upper);
            if !shaped(last.shape) || !shaped(first.shape) || last.shape != first.shape {
                continue;
            }
            if self.text[last.end..first.start].trim() != "," || self.text[last.end..first.start].contains('\n') {
                continue;
            }
            let (li, fi) = (self.info[i], self.info[i + 1]);
            let last_ok = li.last_rank.is_some() && !li.function && !li.medical && li.eponym == crate::detect::lexicon::Eponym::No;
            if !last_ok || !fi.is_clear_first_name() {
                continue;
            }
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.7);
            self.mark(i + 1, EntityKind::Name, Source::Dictionary, 0.7);
            if self.adjacent(i + 1) && self.tokens.get(i + 2).is_some_and(|t| t.is_initial()) {
                self.mark(i + 2, EntityKind::Name, Source::Dictionary, 0.7);
            }
        }
    }

    /// Whether token `i` alone is evidence of a person in mixed-case text.
    fn strong_capitalized(&self, i: usize) -> bool {
        let (token, info) = (&self.tokens[i], self.info[i]);
        if token.shape != Shape::Capitalized || self.eponym_use(i) || self.is_institution(i) {
            return false;
        }
        if info.is_clear_first_name() {
            return true;
        }
        let common_surname = info.last_rank.is_some_and(|rank| rank <= 5000);
        common_surname && !info.function && !info.ambiguous && !info.medical && info.eponym == crate::detect::lexicon::Eponym::No && !self.sentence_start(i)
    }

    /// Whether token `i` may extend a name next to strong evidence.
    fn extends_name(&self, i: usize) -> bool {
        let info = self.info[i];
        if self.is_particle(i) {
            return true;
        }
        if !self.name_shaped(i) || info.function || self.eponym_use(i) || self.is_institution(i) {
            return false;
        }
        info.is_listed_name() || self.tokens[i].is_initial() || !info.medical
    }

    /// Rule 4: runs of capitalised words with a clear first name or common surname in them.
    pub(super) fn capitalized_runs(&mut self) {
        let n = self.tokens.len();
        let strong: Vec<bool> = (0..n).map(|i| self.strong_capitalized(i)).collect();
        for i in 0..n {
            if !strong[i] {
                continue;
            }
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.65);
            let mut j = i;
            while j + 1 < n && self.adjacent(j) && self.extends_name(j + 1) && j + 1 - i < 4 {
                j += 1;
                self.mark(j, EntityKind::Name, Source::Dictionary, 0.6);
            }
            let mut k = i;
            while k > 0 && self.adjacent(k - 1) && self.extends_name(k - 1) && !self.is_particle(k - 1) && i - k < 3 {
                if self.sentence_start(k) && !self.info[k - 1].is_listed_name() {
                    break;
                }
                k -= 1;
                self.mark(k, EntityKind::Name, Source::Dictionary, 0.6);
            }
        }
        self.two_surnames(&strong);
    }

    /// Two adjacent capitalised surnames, neither of them a common word (`Hernandez Gutierrez`).
    fn two_surnames(&mut self, strong: &[bool]) {
        for i in 0..self.tokens.len().saturating_sub(1) {
            if strong[i] || strong[i + 1] || !self.adjacent(i) {
                continue;
            }
            let ok = |f: &Self, j: usize| {
                let info = f.info[j];
                f.tokens[j].shape == Shape::Capitalized
                    && info.last_rank.is_some()
                    && !info.function
                    && !info.ambiguous
                    && !info.medical
                    && !f.eponym_use(j)
                    && !f.is_institution(j)
            };
            if ok(self, i) && ok(self, i + 1) {
                self.mark(i, EntityKind::Name, Source::Dictionary, 0.5);
                self.mark(i + 1, EntityKind::Name, Source::Dictionary, 0.5);
            }
        }
    }

    /// Rule 5: `hi , martha .` — clear first names in lower-cased text, and the surname after.
    pub(super) fn lowercase_dictionary(&mut self) {
        for i in 0..self.tokens.len() {
            let info = self.info[i];
            if self.tokens[i].shape != Shape::Lower || !info.is_clear_first_name() || self.eponym_use(i) {
                continue;
            }
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.6);
            let next = i + 1;
            if self.adjacent(i) && next < self.tokens.len() {
                let ni = self.info[next];
                let surname = ni.last_rank.is_some_and(|rank| rank <= 10_000);
                if surname && !ni.function && !self.eponym_use(next) {
                    self.mark(next, EntityKind::Name, Source::Dictionary, 0.55);
                }
            }
        }
    }

    /// Rule 6: later occurrences of a word already marked as part of a name.
    pub(super) fn propagate(&mut self) {
        let mut found: Vec<(String, Mark)> = Vec::new();
        for (i, mark) in self.marks.iter().enumerate() {
            let (Some(mark), token) = (mark, &self.tokens[i]) else { continue };
            let info = self.info[i];
            let weak = token.lower.chars().count() < 3 || info.function || info.eponym == crate::detect::lexicon::Eponym::Always;
            if !weak && !found.iter().any(|(w, _)| *w == token.lower) {
                found.push((token.lower.clone(), *mark));
            }
        }
        for i in 0..self.tokens.len() {
            if self.marks[i].is_some() {
                continue;
            }
            let Some((_, mark)) = found.iter().find(|(w, _)| *w == self.tokens[i].lower) else { continue };
            let token = &self.tokens[i];
            let info = self.info[i];
            let case_ok = if self.lowercase { !info.ambiguous } else { token.shape != Shape::Lower };
            if !case_ok || self.eponym_use(i) {
                continue;
            }
            self.marks[i] = Some(match *mark {
                Mark::Person { kind, .. } => Mark::Person { kind, source: Source::Context, score: 0.6 },
                Mark::Reserved => Mark::Reserved,
            });
        }
    }
}
