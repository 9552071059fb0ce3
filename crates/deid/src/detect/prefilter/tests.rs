//! The prefiltered rule search must find exactly what searching the whole text finds.

use crate::detect::{Detector, DetectorConfig};
use crate::entity::Entity;
use crate::eval::parse_corpus;

const PRESIDIO: &str = include_str!("../../../tests/data/presidio-gold.jsonl");
const ACI: &str = include_str!("../../../tests/data/aci-gold-names.jsonl");
const SYNTHEA: &str = include_str!("../../../tests/data/synthea-notes-gold.jsonl");

fn detector() -> Detector {
    match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(_) => panic!("the detector builds"),
    }
}

fn spans(found: &[Entity]) -> Vec<(usize, usize, &'static str)> {
    found
        .iter()
        .map(|e| (e.start, e.end, e.kind.tag()))
        .collect()
}

/// The index of the first text on which the two searches differ, if any.
fn first_difference<'t>(
    detector: &Detector,
    texts: impl Iterator<Item = &'t str>,
) -> Option<usize> {
    texts.enumerate().find_map(|(index, text)| {
        let (mut windowed, mut whole) = (Vec::new(), Vec::new());
        detector.rules.find(text, &mut windowed);
        detector.rules.find_whole(text, &mut whole);
        (spans(&windowed) != spans(&whole)).then_some(index)
    })
}

#[test]
fn every_rule_has_a_trigger() {
    assert_eq!(detector().rules.untriggered(), 0);
}

#[test]
fn windows_find_what_whole_text_search_finds_on_every_shipped_corpus() {
    let detector = detector();
    for (name, corpus) in [("presidio", PRESIDIO), ("aci", ACI), ("synthea", SYNTHEA)] {
        let Ok(records) = parse_corpus(corpus) else {
            panic!("{name} parses")
        };
        assert!(!records.is_empty());
        let texts = records.iter().map(|r| r.text.as_str());
        assert_eq!(first_difference(&detector, texts), None, "{name}");
        let whole: String = records.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            first_difference(&detector, std::iter::once(whole.as_str())),
            None,
            "{name} as one text"
        );
    }
}

/// Pieces chosen to sit at the edges of windows: labels far from their values, long runs of
/// spaces, letters that fold to ASCII, digits beyond ASCII, every kind of separator.
const PIECES: &[&str] = &[
    "MRN",
    "mrn:",
    "Chart number",
    "SSN",
    "social security",
    "last four of her ssn is",
    "phone",
    "Fax",
    "call me at",
    "Member ID",
    "license",
    "plate",
    "acct",
    "card",
    "zip code",
    "address:",
    "lives at",
    "lives in",
    "works at",
    "corner of",
    "Apt",
    "Suite",
    "P.O. Box",
    "USNS",
    "APO AE",
    "Boston",
    "Springfield, IL",
    ", MA",
    "Ohio",
    "Main St.",
    "Gibson Pathway",
    "Kiannonkatu",
    "rue de la Paix",
    "Jan",
    "March",
    "may",
    "the 3rd",
    "Christmas",
    "year-old",
    "yo",
    "aged",
    "2026",
    "17",
    "3",
    "01",
    "555",
    "0199",
    "123-45-6789",
    "617-555-0199",
    "(617)",
    "+44",
    "02118",
    "10.0.0.1",
    "fe80::1",
    "::",
    "x@y.org",
    "@",
    "https://",
    "www.",
    ".com",
    ".org",
    "4111 1111 1111 1111",
    "GB82WEST12345698765432",
    "1HGCM82633A004352",
    "NDA020800",
    "1EG4-TE5-MK73",
    "\u{17F}sn",
    "\u{212A}",
    "٣",
    "é",
    "ß",
    "’",
    "\u{200B}",
    " ",
    "  ",
    "          ",
    "\n",
    "\n\n",
    "\t",
    ".",
    ",",
    ":",
    ";",
    "-",
    "/",
    "#",
    "(",
    ")",
    "'",
    "a",
    "Z",
];

/// A small deterministic generator (xorshift), so a failing case can be replayed.
fn generated(seed: u64, pieces: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut text = String::new();
    for _ in 0..pieces {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = usize::try_from(state % PIECES.len() as u64).unwrap_or(0);
        text.push_str(PIECES[index]);
        if state & 0x30 != 0 {
            text.push(' ');
        }
    }
    text
}

#[test]
fn windows_find_what_whole_text_search_finds_on_generated_text() {
    let detector = detector();
    let texts: Vec<String> = (0..3000)
        .map(|seed| generated(seed, 4 + seed as usize % 60))
        .collect();
    let difference = first_difference(&detector, texts.iter().map(String::as_str));
    assert_eq!(difference, None, "generated case");
}
