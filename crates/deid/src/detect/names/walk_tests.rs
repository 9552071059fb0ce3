//! The rules that walk only the marked tokens, or skip a text all ASCII, against the walks over
//! every capitalised word they replace, on generated text.

use super::*;
use crate::detect::tokens::tokenize;

/// Words that reach the rules under test: eponyms that are census names, head nouns, given
/// names that are everyday words, foreign and unknown words, initials and a few others.
const WORDS: &[&str] = &[
    "Hoffmann",
    "Parkinson",
    "Graves",
    "Wilson",
    "Bell",
    "sign",
    "disease",
    "Tünde",
    "Jiráňová",
    "Kónya",
    "Suknović",
    "Šárka",
    "Ottová",
    "Martinsen",
    "Weronika",
    "Szollosyova",
    "Grace",
    "Parker",
    "Marie",
    "Hope",
    "Jane",
    "Roe",
    "Mr.",
    "my",
    "wife",
    "said",
    "J",
    "Hospital",
    "the",
    "Tylenol",
    "Kastner",
    "is",
];

const GAPS: &[&str] = &[" ", " ", " ", ", ", "\n", ". ", "  ", " and ", "- "];

/// Generated texts of [`WORDS`] and [`GAPS`]; every fourth is all ASCII.
fn texts(seed: u64) -> Vec<String> {
    let mut generator = crate::testgen::Gen::new(seed);
    (0..500)
        .map(|round| {
            let mut text = String::new();
            for _ in 0..generator.below(60) {
                let word = generator.pick(WORDS);
                if round % 4 == 0 && !word.is_ascii() {
                    continue;
                }
                text.push_str(word);
                text.push_str(generator.pick(GAPS));
            }
            text
        })
        .collect()
}

/// The marks of `finder`, to be put back with [`restore`].
fn marks_of(finder: &NameFinder<'_>) -> (Vec<Option<Mark>>, Vec<u64>) {
    (finder.marks.clone(), finder.marked.clone())
}

fn restore(finder: &mut NameFinder<'_>, (marks, marked): (Vec<Option<Mark>>, Vec<u64>)) {
    finder.marks = marks;
    finder.marked = marked;
}

/// The rules that run before the proper-noun rules in mixed-case text, so that the rules under
/// test start from the marks they meet in a real run.
fn rules_before(finder: &mut NameFinder<'_>) {
    finder.titles();
    finder.cues();
    finder.quotation_speakers();
    finder.speaker_labels();
    finder.last_comma_first();
    finder.capitalized_runs();
    finder.unknown_pairs();
    finder.foreign_words();
    finder.unknown_singles();
}

impl NameFinder<'_> {
    /// `eponym_neighbours` as it was: every pair beside a capitalised word, in order.
    fn eponym_neighbours_by_capitals(&mut self) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        let pairs = (capitals.iter()).flat_map(|&k| k.saturating_sub(1)..=k);
        let mut from = 0;
        for i in pairs {
            if i < from || i + 1 >= n {
                continue;
            }
            from = i + 1;
            if !self.adjacent(i) {
                continue;
            }
            for (this, other) in [(i, i + 1), (i + 1, i)] {
                if self.marks[other].is_some() {
                    self.eponym_beside(this, other);
                }
            }
        }
        self.capitals = capitals;
    }

    /// `given_names_before_foreign` as it was: every capitalised word, in order.
    fn given_names_before_foreign_by_capitals(&mut self) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        for &i in capitals.iter().take_while(|&&i| i + 1 < n) {
            self.given_name_before(i);
        }
        self.capitals = capitals;
    }
}

#[test]
fn rules_walking_the_marks_find_what_walking_the_capitals_finds() {
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let (mut eponyms, mut givens) = (0, 0);
    for text in texts(41) {
        let mut lowered = String::new();
        let tokens = tokenize(&text, &mut lowered);
        if tokens.is_empty() {
            continue;
        }
        let mut finder = NameFinder::new(&text, &tokens, &lexicon, true, scratch::take());
        if finder.lowercase {
            continue;
        }
        rules_before(&mut finder);
        let before = marks_of(&finder);
        finder.eponym_neighbours();
        let walked = marks_of(&finder);
        restore(&mut finder, before.clone());
        finder.eponym_neighbours_by_capitals();
        assert_eq!(finder.marks, walked.0, "{text:?}");
        assert_eq!(finder.marked, walked.1, "{text:?}");
        eponyms += usize::from(finder.marks != before.0);

        let before = marks_of(&finder);
        finder.given_names_before_foreign();
        let walked = marks_of(&finder);
        restore(&mut finder, before.clone());
        finder.given_names_before_foreign_by_capitals();
        assert_eq!(finder.marks, walked.0, "{text:?}");
        assert_eq!(finder.marked, walked.1, "{text:?}");
        givens += usize::from(finder.marks != before.0);
    }
    // The generated texts do reach both rules.
    assert!(eponyms > 10 && givens > 10, "{eponyms} {givens}");
}

#[test]
fn rules_that_skip_a_text_all_ascii_find_what_they_find_reading_it() {
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let mut ascii_texts = 0;
    for text in texts(43) {
        let mut lowered = String::new();
        let tokens = tokenize(&text, &mut lowered);
        if tokens.is_empty() {
            continue;
        }
        let mut finder = NameFinder::new(&text, &tokens, &lexicon, true, scratch::take());
        let ascii = finder.ascii;
        assert_eq!(ascii, text.is_ascii(), "{text:?}");
        if ascii {
            ascii_texts += 1;
            assert!(tokens.iter().all(|t| t.lower.is_ascii()), "{text:?}");
        }
        let start = marks_of(&finder);
        let run = |finder: &mut NameFinder<'_>, ascii: bool| {
            restore(finder, start.clone());
            finder.ascii = ascii;
            rules_before(finder);
            finder.given_names_before_foreign();
            marks_of(finder)
        };
        let skipped = run(&mut finder, ascii);
        let read = run(&mut finder, false);
        assert_eq!(skipped, read, "{text:?}");
    }
    assert!(ascii_texts > 100, "{ascii_texts}");
}
