//! Evidence from how a sentence uses a word: the author of a work (`the Sokolov novel`), the
//! speaker of a quoted line (`Zuzana: "Who are you?"`), the subject of a question (`Why is
//! Katrine so…`), someone called by name (`Don't go, Mark!`), a generational suffix (`Kevin
//! Roe II`), the value of a `name:` field in lower-cased text, and surnames that are everyday
//! words or eponyms standing in a list with other names (`Kónya, Becker and Vasquez`).
//!
//! Each rule reads one construction a reader recognises at once; none of them relies on the
//! census lists alone, so words that are also English (`Park`, `Brown`) or medical eponyms
//! (`Becker`) are taken only where the construction leaves no other reading.

use super::NameFinder;
use super::proper::drug_like;
use crate::detect::lexicon::{Eponym, Role};
use crate::detect::tokens::{Shape, Token};
use crate::entity::{EntityKind, Source};

/// Nouns for a creative work, which take their author's name as a modifier (`the Roe novel`).
const WORKS: &[&str] = &[
    "novel",
    "novels",
    "biography",
    "memoir",
    "memoirs",
    "trilogy",
    "saga",
    "poem",
    "poems",
    "opera",
    "symphony",
    "sonata",
    "concerto",
];

/// Words that open a noun phrase naming a work (`the`, `a`, `another`).
const WORK_OPENERS: &[&str] = &[
    "the", "a", "an", "this", "that", "another", "every", "latest",
];

/// Endings of adjectives of nationality, period or style (`Russian`, `Victorian`, `English`,
/// `Gothic`, `Japanese`, `French`), which modify a work the way an author's name does.
const ADJECTIVE_ENDINGS: &[&str] = &["ian", "ean", "an", "ese", "ish", "ic", "ch", "que"];

/// Question words that put the subject after the verb (`Why is Katrine so…`).
const QUESTION_WORDS: &[&str] = &["why", "how", "where", "when", "what"];

/// Auxiliaries that stand before the subject of a question.
const AUXILIARIES: &[&str] = &["is", "was", "does", "did", "has", "can", "will", "would"];

/// Generational suffixes written after a surname.
const SUFFIXES: &[&str] = &["II", "III", "IV", "Jr", "Sr"];

impl NameFinder<'_> {
    /// Runs the rules of this file, after the dictionary rules and before repeats are found.
    pub(super) fn phrasing(&mut self) {
        if self.lowercase {
            self.lowercase_name_fields();
            self.lowercase_lists();
        } else {
            // One pass over the words, each rule asked only where a cheap test lets it in.
            // Every rule of the walk starts at a capitalised word or at a word no dictionary
            // has, so only those are walked (`phrased`), in order.
            let phrased = std::mem::take(&mut self.phrased);
            for &i in &phrased {
                match self.text.as_bytes().get(self.tokens[i].end) {
                    Some(b':') => self.quoted_speaker(i),
                    Some(b'!' | b'?') => self.called_by_name(i),
                    _ => {}
                }
                if self.unknown[i] {
                    self.author_before(i);
                    self.question_subject(i);
                }
                self.particle_name(i);
            }
            self.phrased = phrased;
            self.listed_surnames();
        }
        self.generational_suffixes();
    }

    /// Whether token `i` is a capitalised word outside the English dictionary that no list
    /// makes something other than a name (it may be a census name).
    fn proper_word(&self, i: usize) -> bool {
        let info = self.info[i];
        self.unknown[i]
            && !info.function
            && (!info.medical || info.is_listed_name())
            && !self.is_institution(i)
            && !self.eponym_use(i)
            && !drug_like(self.tokens[i].lower)
    }

    /// `Unlike the Sokolov novel`, `a Petersson biography`: one or two capitalised words between
    /// a determiner and a noun for a work are its author. Adjectives of nationality or style
    /// (`the Russian novel`) have the same shape and are left out by their endings.
    ///
    /// Reads the work noun after token `last`, a word no dictionary has.
    fn author_before(&mut self, last: usize) {
        let work = last + 1;
        let is_work = |t: &Token<'_>| WORKS.contains(&t.lower);
        if !self.adjacent(last) || !self.tokens.get(work).is_some_and(is_work) {
            return;
        }
        let mut first = last;
        if first > 1
            && self.adjacent(first - 1)
            && self.tokens[first - 1].shape == Shape::Capitalized
        {
            first -= 1;
        }
        let opener = first
            .checked_sub(1)
            .is_some_and(|o| self.adjacent(o) && WORK_OPENERS.contains(&&*self.tokens[o].lower));
        let author = (first..work).all(|j| {
            let lower = &*self.tokens[j].lower;
            self.proper_word(j) && !ADJECTIVE_ENDINGS.iter().any(|e| lower.ends_with(e))
        });
        if opener && author {
            for j in first..work {
                self.mark(j, EntityKind::Name, Source::Context, 0.55);
            }
        }
    }

    /// `Zuzana: "Who are you?"`: a capitalised word alone at the start of a line, before a colon
    /// and an opening quotation mark, is the speaker of the quoted line. Unlike
    /// [`NameFinder::speaker_labels`], one such line is enough, since the quotation mark rules
    /// out most headings; the word must still be unknown to the dictionary or a listed first name
    /// (`Warning:` is a rare census surname, and an English word).
    ///
    /// Reads token `i`, which a colon follows.
    fn quoted_speaker(&mut self, i: usize) {
        if !self.is_speaker_label(i) {
            return;
        }
        let after = self.text[self.tokens[i].end + 1..].trim_start_matches([' ', '\t']);
        if !after.starts_with(['"', '“']) {
            return;
        }
        let info = self.info[i];
        let plain = !info.function
            && (!info.medical || info.is_listed_name())
            && !self.eponym_use(i)
            && !info.is(Role::Title)
            && !info.is(Role::ClinicianTitle);
        if plain && (self.proper_word(i) || info.first_rank.is_some()) {
            self.mark(i, EntityKind::Name, Source::Context, 0.6);
        }
    }

    /// `Why is Katrine so impulsive?`: after a question word and an auxiliary, a capitalised
    /// word no list knows is the subject of the question, which is mostly a person.
    ///
    /// Reads token `i`, a word no dictionary has.
    fn question_subject(&mut self, i: usize) {
        if i < 2 {
            return;
        }
        let (question, aux) = (self.tokens[i - 2].lower, self.tokens[i - 1].lower);
        if QUESTION_WORDS.contains(&question)
            && AUXILIARIES.contains(&aux)
            && self.adjacent(i - 2)
            && self.adjacent(i - 1)
            && self.tokens[i].shape == Shape::Capitalized
            && self.proper_word(i)
            && !self.info[i].is_listed_name()
        {
            self.mark(i, EntityKind::Name, Source::Context, 0.5);
        }
    }

    /// `Don't go to town, Mark!`: a listed first name set off by a comma at the end of an
    /// exclamation or a question is the person spoken to, even when it is also an everyday word.
    ///
    /// Reads token `i`, which `!` or `?` follows.
    fn called_by_name(&mut self, i: usize) {
        if i == 0 {
            return;
        }
        let given = self.plain_given_name(i);
        if given && self.gap_before(i) == ", " {
            self.mark(i, EntityKind::Name, Source::Context, 0.5);
        }
    }

    /// Whether token `i` stands alone: no capitalised word written right beside it.
    fn stands_alone(&self, i: usize) -> bool {
        let capital = |j: usize| self.tokens[j].shape == Shape::Capitalized;
        let after_capital = i > 0 && self.adjacent(i - 1) && capital(i - 1);
        let before_capital = i + 1 < self.tokens.len() && self.adjacent(i) && capital(i + 1);
        !after_capital && !before_capital
    }

    /// `Kónya, Becker and Vasquez`, `Park and Mann`, `Muslija and Brown`: in a list of single
    /// capitalised words, a census surname that is also a medical eponym or an everyday word is
    /// a person when another item is plainly a name. For an eponym that other item must be a
    /// word no dictionary has that a rule already took as a name, so a list of diseases
    /// (`Crohn, Hashimoto and Graves`) is left alone.
    fn listed_surnames(&mut self) {
        // Only the lists [`NameFinder::list_items`] found are walked, in order, as a walk from
        // every word would find them.
        self.each_list(|finder, items| {
            if items.len() < 2 || !items.iter().all(|&k| finder.stands_alone(k)) {
                return;
            }
            let person = |f: &Self, k: usize| f.marks[k].is_some();
            let proper = |f: &Self, k: usize| f.proper_word(k) && !f.info[k].is_listed_name();
            let eponym = |f: &Self, k: usize| {
                let info = f.info[k];
                let head = (f.tokens.get(k + 1)).is_some_and(|t| f.lexicon.is_eponym_head(t.lower));
                info.eponym == Eponym::Always
                    && info.last_rank.is_some()
                    && !f.tokens[k].possessive
                    && !head
            };
            let everyday = |f: &Self, k: usize| {
                let info = f.info[k];
                info.ambiguous
                    && info.last_rank.is_some_and(|rank| rank.get() <= 1000)
                    && !info.function
                    && !f.tokens[k].possessive
                    && !f.eponym_use(k)
            };
            let possible =
                |f: &Self, k: usize| person(f, k) || proper(f, k) || eponym(f, k) || everyday(f, k);
            if !items.iter().all(|&k| possible(finder, k)) {
                return;
            }
            let proper_person = items
                .iter()
                .any(|&k| person(finder, k) && proper(finder, k));
            let other = |f: &Self, k: usize, test: &dyn Fn(&Self, usize) -> bool| {
                items.iter().any(|&o| o != k && test(f, o))
            };
            for &k in items.iter() {
                let take = if person(finder, k) {
                    false
                } else if eponym(finder, k) {
                    proper_person
                } else if everyday(finder, k) {
                    other(finder, k, &|f, o| person(f, o) || proper(f, o))
                } else if proper(finder, k) {
                    other(finder, k, &|f, o| person(f, o) || everyday(f, o))
                } else {
                    false
                };
                if take {
                    finder.mark(k, EntityKind::Name, Source::Context, 0.5);
                }
            }
        });
    }

    /// `Kevin Roe II`, `John Smith Jr`: a generational suffix right after a name is part of it.
    fn generational_suffixes(&mut self) {
        let last = self.tokens.len().saturating_sub(1);
        let mut from = 0;
        // Most words are unmarked: passed over before anything else is read. A suffix marked
        // here is itself looked at next, as the marks are read afresh from `i + 1`.
        while let Some(i) = self.next_mark(from, |_| true).filter(|&i| i < last) {
            from = i + 1;
            if !self.adjacent(i) {
                continue;
            }
            let next = self.tokens[i + 1].start..self.tokens[i + 1].end;
            if let (true, Some(mark)) = (SUFFIXES.contains(&&self.text[next]), self.marks[i]) {
                self.set_mark(i + 1, mark);
            }
        }
    }

    /// `name:    hyuuma t. maida`: in lower-cased text, the words after a `name:` field at the
    /// start of a line, to the end of that line, are the name, even when no list has them.
    fn lowercase_name_fields(&mut self) {
        for i in 0..self.tokens.len().saturating_sub(1) {
            let label = self.tokens[i].lower == "name"
                && self.text[self.tokens[i].end..].starts_with(':')
                && (self.sentence_start(i) || self.info[i - 1].is(Role::NameQualifier));
            if !label {
                continue;
            }
            let mut j = i + 1;
            while j < self.tokens.len() && j - i <= 4 {
                let gap = self.gap_before(j);
                let first = j == i + 1;
                let joined = matches!(gap.trim(), "" | ".") && !gap.contains('\n');
                let opened = first && gap.trim() == ":" && !gap.contains('\n');
                let token = &self.tokens[j];
                let word = token.shape == Shape::Lower
                    && token.lower.chars().all(char::is_alphabetic)
                    && !self.info[j].function;
                if !(word && (joined || opened)) {
                    break;
                }
                self.mark(j, EntityKind::Name, Source::Context, 0.6);
                j += 1;
            }
        }
    }

    /// The next item of a lower-case list after token `j` (`, x`, ` and x`, `, and x`).
    fn next_lowercase_item(&self, j: usize) -> Option<usize> {
        let next = self.tokens.get(j + 1)?;
        let between = self.gap_before(j + 1);
        if between.contains('\n') {
            return None;
        }
        if between.trim() == "," && next.lower != "and" {
            return Some(j + 1);
        }
        let and = next.lower == "and" && matches!(between.trim(), "," | "");
        (and && self.gap_before(j + 2).trim().is_empty() && j + 2 < self.tokens.len())
            .then_some(j + 2)
    }

    /// `they had 6: leonti, terrence, pamela and brian`: in lower-cased text, a list of three
    /// words or more in which two are names already has names for its other items too, when
    /// they are words no dictionary has (so `milk, eggs, bread and anna` stays a shopping list).
    fn lowercase_lists(&mut self) {
        if self.marks.iter().filter(|m| m.is_some()).take(2).count() < 2 {
            return;
        }
        let n = self.tokens.len();
        let mut i = 0;
        while i < n {
            // Most words start no list: a comma or `and` must follow before a list is built.
            let comma = self.text.as_bytes().get(self.tokens[i].end) == Some(&b',');
            let and = self.tokens.get(i + 1).is_some_and(|t| t.lower == "and");
            if !(comma || and) {
                i += 1;
                continue;
            }
            let mut items = vec![i];
            let mut j = i;
            while let Some(next) = self.next_lowercase_item(j) {
                items.push(next);
                j = next;
            }
            i = j + 1;
            let named = items.iter().filter(|&&k| self.marks[k].is_some()).count();
            if items.len() < 3 || named < 2 {
                continue;
            }
            for k in items {
                if self.marks[k].is_none() && self.lowercase_surname(k) {
                    self.mark(k, EntityKind::Name, Source::Context, 0.5);
                }
            }
        }
    }

    /// `Willemine ten Pas`, `Jan ter Horst`: a word no dictionary has (or a clear first name),
    /// a lower-case name particle and a capitalised word are one name.
    ///
    /// Reads token `i` as the first word of such a name.
    fn particle_name(&mut self, i: usize) {
        if i + 2 >= self.tokens.len() {
            return;
        }
        let shapes = (self.tokens[i].shape, self.tokens[i + 1].shape);
        if shapes != (Shape::Capitalized, Shape::Lower) {
            return;
        }
        let particle = self.is_particle(i + 1)
            || self.tokens[i + 1].shape == Shape::Lower
                && matches!(self.tokens[i + 1].lower, "ten" | "ter");
        // Most capitalised words are followed by no particle: the other tests, all of them
        // plain reads, are not made for them.
        if !particle {
            return;
        }
        let first = self.tokens[i].shape == Shape::Capitalized
            && (self.proper_word(i) || self.info[i].is_clear_first_name());
        let last = self.tokens[i + 2].shape == Shape::Capitalized
            && !self.info[i + 2].function
            && !self.is_institution(i + 2)
            && !self.eponym_use(i + 2);
        if particle && first && last && self.adjacent(i) && self.adjacent(i + 1) {
            for j in i..=i + 2 {
                self.mark(j, EntityKind::Name, Source::Context, 0.5);
            }
        }
    }
}

#[cfg(test)]
mod tests;
