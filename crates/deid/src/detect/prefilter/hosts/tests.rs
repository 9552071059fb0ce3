use super::{Reach, dominates, hosts, may_host};
use crate::detect::prefilter::{Plan, Prefilter};
use crate::detect::{Detector, DetectorConfig};
use crate::eval::parse_corpus;
use crate::testgen::Gen;

fn reach(allowed: &[u8], min_len: usize, max_len: Option<usize>) -> Reach {
    Reach {
        trigger: Some(0),
        allows: std::array::from_fn(|b| {
            u8::try_from(b).is_ok_and(|b| b.is_ascii_digit() || allowed.contains(&b))
        }),
        min_len,
        max_len,
        max_cost: max_len,
        starts_on_trigger: false,
        allows_trigger: true,
        starts_on_word: false,
        needs_digits: false,
    }
}

#[test]
fn a_host_allows_more_and_reaches_further() {
    let guest = reach(b" -", 6, None);
    assert!(may_host(&reach(b" -:", 5, None), &guest));
    // Its shortest match is longer than the guest's: it drops windows the guest needs.
    assert!(!dominates(&reach(b" -:", 7, None), &guest));
    // It does not allow a byte the guest's matches may hold.
    assert!(!dominates(&reach(b" :", 5, None), &guest));
    // Bounded windows stop short of an unbounded guest's matches.
    assert!(!dominates(&reach(b" -", 6, Some(40)), &guest));
    let mut opening = reach(b" -", 6, None);
    opening.starts_on_trigger = true;
    assert!(!dominates(&opening, &guest));
    assert!(dominates(&guest, &opening));
    let mut digits = reach(b" -", 6, None);
    digits.needs_digits = true;
    assert!(!dominates(&digits, &guest));
    let mut other = reach(b" -", 6, None);
    other.trigger = Some(1);
    assert!(!dominates(&other, &guest));
}

#[test]
fn a_host_is_near_its_guest() {
    let guest = reach(b" -", 6, Some(20));
    assert!(may_host(&reach(b" -:/", 6, Some(40)), &guest));
    // Twice as loose a bound at most, and a few more bytes at most.
    assert!(!may_host(&reach(b" -", 6, Some(41)), &guest));
    assert!(!may_host(&reach(b" -", 6, None), &guest));
    assert!(!may_host(&reach(b" -abcde", 6, Some(20)), &guest));
    let mut beyond = reach(b" -", 6, Some(20));
    beyond.allows[0xC3] = true;
    assert!(!may_host(&beyond, &guest));
}

#[test]
fn hosts_build_their_own_windows() {
    let reaches = [
        reach(b" -", 6, None),
        reach(b" -:", 5, None),
        reach(b" -:/", 4, None),
        reach(b"abc", 3, Some(9)),
    ];
    let chosen = hosts(&reaches);
    assert_eq!(chosen, [Some(2), Some(2), None, None]);
    for host in chosen.iter().flatten() {
        assert_eq!(chosen[*host], None);
    }
}

fn detector() -> Detector {
    match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(_) => panic!("the detector builds"),
    }
}

/// Whether every window of every rule planned without hosts lies inside one window the same rule
/// is searched in with them; the index of the first rule where one does not, if any.
fn uncovered(prefilter: &Prefilter, text: &str) -> Option<usize> {
    let (hosted, own) = (prefilter.plan(text), prefilter.plan_unhosted(text));
    (0..prefilter.rule_reach.len()).find(|&rule| match (hosted.of(rule), own.of(rule)) {
        (Plan::Whole, _) => false,
        (Plan::Windows(_), Plan::Whole) => true,
        (Plan::Windows(wide), Plan::Windows(narrow)) => !narrow
            .iter()
            .all(|n| wide.iter().any(|w| w.0 <= n.0 && n.1 <= w.1)),
    })
}

const PIECES: &[&str] = &[
    "12",
    "4417",
    "9816",
    "70248",
    "3610-114",
    "840 24",
    "7",
    " ",
    "  ",
    "\t",
    "\n",
    ", ",
    ": ",
    "at ",
    "to ",
    "in ",
    "address: ",
    "Apt ",
    "Suite ",
    "unit ",
    "Allika",
    "Main",
    "Street",
    "rue",
    "de",
    "la",
    "Paix",
    "Érd",
    "Øster",
    "tér",
    "straße",
    "katu",
    "O'Neil",
    "St.",
    "-",
    "|",
    ">",
    "?",
    "/",
    "MA",
    "Boston",
    "N.",
    "a",
    "x",
];

#[test]
fn hosted_rules_are_searched_in_windows_that_hold_their_own() {
    let detector = detector();
    let prefilter = &detector.rules.prefilter;
    assert!(prefilter.hosted() > 0, "the shipped rules have hosts");
    let corpora = [
        include_str!("../../../../tests/data/synthea-notes-gold.jsonl"),
        include_str!("../../../../tests/data/aci-gold-names.jsonl"),
        include_str!("../../../../tests/data/presidio-gold.jsonl"),
    ];
    for corpus in corpora {
        let Ok(records) = parse_corpus(corpus) else {
            panic!("the corpus parses")
        };
        for record in &records {
            assert_eq!(uncovered(prefilter, &record.text), None);
        }
    }
    let mut generator = Gen::new(0x5EED_0F40_5700);
    for _ in 0..3000 {
        let text: String = (0..generator.below(40))
            .map(|_| generator.pick(PIECES))
            .collect();
        assert_eq!(uncovered(prefilter, &text), None);
    }
}
