use regex_automata::meta::Regex;

use super::Required;
use crate::detect::rules::ascii_word_boundaries;
use crate::detect::{dates, patterns, places, test_hir};
use crate::testgen::Gen;

fn required(pattern: &str) -> Vec<(u8, usize)> {
    Required::of(&test_hir(pattern)).counts
}

#[test]
fn literals_count_alternatives_take_the_fewest_and_repetitions_their_minimum() {
    assert_eq!(required(r"\b\d{3}-\d{2}-\d{4}\b"), [(b'-', 2)]);
    assert_eq!(required(r"(?:\d+\.){3}\d+"), [(b'.', 3)]);
    assert_eq!(
        required(r"a(?:-b|c--)*/?(?:x/|/y/)"),
        [(b'/', 1), (b'a', 1)]
    );
    assert_eq!(required(r"(?i)mrn:"), [(b':', 1)]);
    assert_eq!(required(r"(?P<v>é-)"), [(b'-', 1)]);
    assert!(Required::of(&test_hir(r"\p{L}+\s\d")).is_empty());
}

/// Pieces that build text where the rules of the detector find matches: dates, numbers,
/// addresses, labels, separators and characters beyond ASCII.
const PIECES: &[&str] = &[
    "03/09/1961",
    "4-3-26",
    "12.05.2020",
    "3/2019",
    "2026-01-17",
    "2026/01/17",
    "Jan 5, 2020",
    "9 March",
    "192.168.0.1",
    "fe80::1",
    "123-45-6789",
    "SSN ",
    "617-555-0199",
    "(617) 555-0199",
    "+44 20 7946 0958",
    "020 7946 0958",
    "MRN: ",
    "ID ",
    "acct ",
    "4111 1111 1111 1111",
    "1EG4-TE5-MK73",
    "1HGCM82633A004352",
    "48213377",
    "AB123456",
    "42 Larkspur Lane",
    "Rue ",
    "Hauptstraße 5",
    "Boston, MA 02118",
    "a@b.org",
    "www.x.com/",
    " ",
    " ",
    ", ",
    ". ",
    "-",
    "/",
    ".",
    ":",
    "\n",
    "é",
    "Åsa",
    "aged 95",
    "92 y/o",
    "x",
    "٣",
    "\u{a0}",
    "\u{2003}",
    "0",
    "12",
    "0٢١-٣4-5٦٧٨",
    "0٣ ٤٥\u{a0}67",
    "9٣٣-4٤-5555",
    "123-٣٤-5678",
    "012 34\u{a0}56",
    "012\u{2003}34\u{a0}56",
];

#[test]
fn every_match_of_every_rule_holds_what_its_rule_requires_and_passes_its_needs() {
    let specs: Vec<_> = dates::specs()
        .into_iter()
        .chain(patterns::specs())
        .chain(places::specs())
        .collect();
    let needs: Vec<_> = specs.iter().map(|spec| spec.needs).collect();
    let rules: Vec<(Regex, Required)> = specs
        .iter()
        .map(|spec| {
            let pattern = ascii_word_boundaries(&spec.pattern);
            let Ok(regex) = Regex::new(&pattern) else {
                panic!("a rule does not build");
            };
            (regex, Required::of(&test_hir(&pattern)))
        })
        .collect();
    assert!(rules.iter().filter(|(_, r)| !r.is_empty()).count() > 10);
    let mut generator = Gen::new(0x4E9);
    let mut checked = 0;
    for _ in 0..3000 {
        let text: String = (0..1 + generator.below(10))
            .map(|_| generator.pick(PIECES))
            .collect();
        for (index, (regex, required)) in rules.iter().enumerate() {
            for found in regex.find_iter(&text) {
                assert!(
                    required.held_by(&text.as_bytes()[found.range()]),
                    "rule {index} at {:?}",
                    found.range()
                );
                let bytes = &text.as_bytes()[found.range()];
                assert!(
                    needs[index].is_none_or(|needs| needs(bytes)),
                    "needs of rule {index} at {:?}",
                    found.range()
                );
                checked += usize::from(!required.is_empty());
            }
        }
    }
    assert!(checked > 2000, "only {checked} matches checked");
}
