use super::{RuleTable, Shared, with_digit};
use crate::entity::EntityKind;

/// The values a table finds in `text`, as text.
fn values<'t>(table: &RuleTable, text: &'t str) -> Vec<&'t str> {
    let mut found = Vec::new();
    table.find_whole(text, &mut found);
    found.iter().map(|e| &text[e.start..e.end]).collect()
}

#[test]
fn a_value_without_a_digit_is_refused_even_when_its_match_holds_one() {
    let Ok(table) = RuleTable::new(
        "test rules",
        &[with_digit(
            r"(?i)\b(?:id|no\.?\s*\d)\s*(?P<v>[a-z0-9]{4,})\b",
            EntityKind::Id,
            0.9,
        )],
    ) else {
        panic!("the rule builds");
    };
    // `id abcd` has no digit at all, `no. 5 abcd` has one outside its value.
    let text = "id abcd, id ab12, no. 5 abcd, no 7 x9yz and ID 4417";
    assert_eq!(values(&table, text), ["ab12", "x9yz", "4417"]);
}

#[test]
fn a_value_is_placed_as_an_unanchored_search_places_it() {
    // The value group's preferred placement inside the match is what a search of the whole
    // window gives: the lazy `\s*?` leaves the spaces to the value.
    let Ok(table) = RuleTable::new(
        "test rules",
        &[with_digit(
            r"(?i)\bref\s*?(?P<v>\s*[a-z]?\d+(?:\s+\d+)*)",
            EntityKind::Id,
            0.9,
        )],
    ) else {
        panic!("the rule builds");
    };
    let text = "ref  a12 3 and ref 9, ref x";
    assert_eq!(values(&table, text), ["  a12 3", " 9"]);
}

#[test]
fn neighbours_with_one_test_and_one_set_of_windows_share_what_passes() {
    let Ok(detector) = crate::detect::Detector::new(crate::detect::DetectorConfig::default())
    else {
        panic!("the detector builds");
    };
    let rules = &detector.rules.rules;
    let taken: Vec<usize> = (0..rules.len())
        .filter(|&at| rules[at].shared == Shared::Taken)
        .collect();
    // The European street rules that need a number, a street name and a number share both.
    assert!(!taken.is_empty());
    for at in taken {
        let (before, rule) = (&rules[at - 1], &rules[at]);
        assert!(matches!(before.shared, Shared::Kept | Shared::Taken));
        assert!(detector.rules.prefilter.same_windows(at - 1, at));
        let (Some(a), Some(b)) = (before.needs, rule.needs) else {
            panic!("both have a test");
        };
        assert!(std::ptr::fn_addr_eq(a, b));
    }
}
