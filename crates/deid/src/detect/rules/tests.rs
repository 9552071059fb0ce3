use super::{RuleTable, with_digit};
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
