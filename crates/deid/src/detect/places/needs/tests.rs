use regex_automata::meta::Regex;

use super::super::specs;
use super::{BLANK, DIGIT, SPACE, UPPER};
use crate::detect::rules::{RuleSpec, RuleTable};
use crate::testgen::Gen;

/// Phrases each rule with a test matches, and near misses, with the characters beyond ASCII
/// the tests must let through: Unicode white space and digits, accented capitals, `ſ` and the
/// Kelvin sign (which `(?i)` reads as `s` and `k`).
const SEEDS: &[&str] = &[
    "611 Gibson Pathway",
    "12 N. Main St.",
    "3369 24 Clarke Avenue",
    "5 \u{663}rd Park",
    "7 \u{c9}lan\u{a0}Way",
    "at 20789 Allika 46",
    "\n233 Erzs\u{e9}bet t\u{e9}r 19.",
    "is 12 \u{c5}sa V\u{e4}g 4",
    ": 12 Main Rd 5",
    "apt 3 14 Rahu 37",
    "at 9816 214 Pavlou Drandaki",
    "to 70248 31 Rue Tachkent",
    "at 123\t4 rua x",
    "in Acquapendente 1021",
    "in Quinta de S\u{e3}o Tiago 3610-114",
    "in \u{d6}VERTURINGEN 840 24",
    "from Oulu \u{663}\u{664}100",
    "Kiannonkatu 98",
    "Skoanveien 226",
    "S\u{f8}ndergade\u{2003}52",
    "Hauptstra\u{df}e 5",
    "plad\u{17f} 4",
    "POLKU 7",
    "pol\u{212a}u 7",
    "Marie 5",
    "tie\u{a0}5",
    "rue de la Paix 5",
    "C/ Mayor 3",
    "R\u{da}A Nova 12",
    "\u{17f}trada Nuova 7",
    "ul. D\u{142}uga 4",
    "via\u{a0}Roma\u{2003}9",
    "7878 Rahu 37 Apt. 405",
    "12 \u{c9}lm 4 suite #3",
    "Springfield, IL",
    "Boston,\tMA",
    "Jo Roe, MD",
    "Ana Lee,PA",
    "lives in Boston",
    "moved to the Bronx",
    "went back to\u{a0}\u{c5}re",
    "I'm in Flateyri",
    "lived near The Hague",
    "flew from  Oslo",
];

/// Pieces between the phrases.
const PIECES: &[&str] = &[
    " ", "  ", "\t", "\n", "\u{a0}", "\u{85}", ",", ".", "-", "'", "\u{2019}", "4", "42",
    "\u{663}", "Main", "Street", "St", "the", "in", "to", "IL", "x", "\u{e9}", "\u{c9}",
];

/// Text of phrases, some respelled (case, spacing, separators changed), and pieces.
fn text(generator: &mut Gen) -> String {
    let mut text = String::new();
    for _ in 0..2 + generator.below(6) {
        match generator.below(4) {
            0 => text.push_str(generator.pick(PIECES)),
            1 => {
                let seed = generator.pick(SEEDS);
                text.push_str(&generator.respell(seed));
            }
            _ => text.push_str(generator.pick(SEEDS)),
        }
        text.push_str(generator.pick(&[" ", "", "\n", ", ", "\t"]));
    }
    text
}

/// The rules that have a test.
fn needing() -> Vec<RuleSpec> {
    specs()
        .into_iter()
        .filter(|spec| spec.needs.is_some())
        .collect()
}

#[test]
fn every_match_of_a_rule_passes_its_test() {
    let rules = needing();
    assert_eq!(rules.len(), 10);
    let mut generator = Gen::new(0x5eed);
    let texts: Vec<String> = (0..20_000).map(|_| text(&mut generator)).collect();
    for spec in &rules {
        // The rules with a test use `\p{…}`, so the table keeps their `\b` as it is written.
        assert!(spec.pattern.contains("\\p{"), "{}", spec.pattern);
        let (Ok(regex), Some(needs)) = (Regex::new(&spec.pattern), spec.needs) else {
            panic!("the rule builds: {}", spec.pattern);
        };
        let mut matches = 0;
        for text in &texts {
            for found in regex.find_iter(text) {
                matches += 1;
                let bytes = &text.as_bytes()[found.range()];
                assert!(needs(bytes), "{}: {:?}", spec.pattern, &text[found.range()]);
            }
        }
        assert!(matches > 200, "only {matches} matches of {}", spec.pattern);
    }
}

#[test]
fn windows_that_fail_a_test_hold_no_entity() {
    let Ok(table) = RuleTable::new("place rules", &needing()) else {
        panic!("the rules build");
    };
    let mut generator = Gen::new(0x9e3);
    for _ in 0..5_000 {
        let text = text(&mut generator);
        let (mut windowed, mut whole) = (Vec::new(), Vec::new());
        table.find(&text, &mut windowed);
        table.find_whole(&text, &mut whole);
        let spans = |found: &[crate::entity::Entity]| -> Vec<(usize, usize)> {
            found.iter().map(|e| (e.start, e.end)).collect()
        };
        assert_eq!(spans(&windowed), spans(&whole), "{text:?}");
    }
}

#[test]
fn only_s_and_k_fold_to_a_character_beyond_ascii() {
    // The tests read `(?i)` words as ASCII but for `s` and `k`; `i` has no partner either.
    let Ok(letter) = Regex::new(r"(?i)^[a-z]$") else {
        panic!("the class builds");
    };
    let partners: Vec<char> = ('\u{80}'..=char::MAX)
        .filter(|c| letter.is_match(c.encode_utf8(&mut [0; 4]).as_bytes()))
        .collect();
    assert_eq!(partners, ['\u{17f}', '\u{212a}']);
}

#[test]
fn street_suffixes_are_capitalised_ascii_words() {
    for word in super::STREET_SUFFIX.split('|').map(str::as_bytes) {
        assert!(word[0].is_ascii_uppercase() && word.iter().all(u8::is_ascii_alphabetic));
        assert!(super::key(word).is_some_and(|key| super::suffixes().contains(&key)));
    }
}

#[test]
fn number_then_number_reads_eight_bytes_as_it_reads_one() {
    let mut generator = Gen::new(0x0dd5);
    // Digits, blanks, other white space, letters, bytes beyond ASCII and a zero byte (the
    // padding the eight-byte version adds), at lengths across several eights.
    let alphabet: &[u8] = b"05 9 \t\tx/:\n\x00\xc3\xa9\x7f";
    for len in 0..40 {
        for _ in 0..400 {
            let bytes = generator.bytes(alphabet, len);
            assert_eq!(
                super::number_then_number_eights(&bytes),
                super::number_then_number_plain(&bytes),
                "{bytes:?}"
            );
        }
    }
}

#[test]
fn pairs_read_eight_bytes_as_they_read_one() {
    let mut generator = Gen::new(0x9a1e);
    let alphabet: &[u8] = b"05 \t\nAZax\r\x0b.\x00\xc3\xa9";
    for len in 0..40 {
        for _ in 0..200 {
            let bytes = generator.bytes(alphabet, len);
            let eights: Vec<usize> = super::pairs::<SPACE, UPPER>(&bytes).collect();
            let plain: Vec<usize> = super::pairs_plain(&bytes, SPACE, UPPER).collect();
            assert_eq!(eights, plain, "{bytes:?}");
            let eights: Vec<usize> = super::pairs::<BLANK, DIGIT>(&bytes).collect();
            let plain: Vec<usize> = super::pairs_plain(&bytes, BLANK, DIGIT).collect();
            assert_eq!(eights, plain, "{bytes:?}");
        }
    }
}

#[test]
fn comma_state_reads_eight_bytes_as_it_reads_one() {
    let mut generator = Gen::new(0xc0a);
    let alphabet: &[u8] = b",,, \tILMAX\n,\x00\xc3";
    for len in 0..30 {
        for _ in 0..400 {
            let bytes = generator.bytes(alphabet, len);
            assert_eq!(
                super::comma_state(&bytes),
                super::comma_state_plain(&bytes),
                "{bytes:?}"
            );
        }
    }
}

#[test]
fn the_state_table_answers_as_the_list() {
    for first in 0..=255u8 {
        for second in 0..=255u8 {
            assert_eq!(
                super::is_state(first, second),
                super::is_state_plain([first, second]),
                "{first:#x} {second:#x}"
            );
        }
    }
}
