use super::*;
use crate::detect::names::ROLES;

fn entity(text: &str, part: &str, kind: crate::entity::EntityKind, source: Source) -> Entity {
    let start = text.find(part).expect("the part is in the text");
    Entity {
        kind,
        start,
        end: start + part.len(),
        source,
        score: 0.5,
    }
}

/// The texts of the locations the edge rules add next to `part`.
fn edges(text: &str, part: &str, kind: crate::entity::EntityKind, source: Source) -> Vec<String> {
    let lexicon = Lexicon::new(ROLES);
    let mut out = Vec::new();
    add_edges(
        text,
        &[entity(text, part, kind, source)],
        &lexicon,
        &mut out,
    );
    out.iter()
        .map(|e| text[e.start..e.end].to_owned())
        .collect()
}

#[test]
fn a_number_closing_a_clause_after_a_street_named_like_a_person_is_its_house_number() {
    let text = "The bus station is on Peter Zuidhove 188";
    assert_eq!(
        edges(text, "Peter Zuidhove", Name, Source::Dictionary),
        ["Peter Zuidhove 188"]
    );
    let text = "She lives on the north side of Joaquin Suarez 2906.";
    assert_eq!(
        edges(text, "Joaquin Suarez", Name, Source::Dictionary),
        ["Joaquin Suarez 2906"]
    );
    let text = "Meet at Locavore, 641 Dašická 688, Turkovice";
    assert_eq!(
        edges(text, "Dašická", Name, Source::Dictionary),
        ["641 Dašická 688"]
    );
}

#[test]
fn a_number_after_a_name_without_a_locative_or_a_year_is_not_a_house_number() {
    let none: [&str; 0] = [];
    let text = "I gave Peter Zuidhove 188.";
    assert_eq!(
        edges(text, "Peter Zuidhove", Name, Source::Dictionary),
        none
    );
    let text = "We met at Christmas 2019.";
    assert_eq!(edges(text, "Christmas", Location, Source::Context), none);
    let text = "She saw Dr Roe at Smith 3 times";
    assert_eq!(edges(text, "Smith", Name, Source::Dictionary), none);
}

#[test]
fn capitalised_words_right_before_a_house_number_are_the_start_of_the_street() {
    let text = "Please update the billing address with Serenade Opus 420 Gairbekov Rapids";
    assert_eq!(
        edges(text, "420 Gairbekov Rapids", Location, Source::Pattern),
        ["Serenade Opus 420 Gairbekov Rapids"]
    );
    let text = "Dataweave\n\nFuglie 41 Popović Dam";
    assert_eq!(
        edges(text, "41 Popović Dam", Location, Source::Pattern),
        ["Fuglie 41 Popović Dam"]
    );
    let text = "The bus station is on C. Beerninckstraat 88";
    assert_eq!(
        edges(text, "Beerninckstraat 88", Location, Source::Pattern),
        ["C. Beerninckstraat 88"]
    );
}

#[test]
fn a_street_after_a_lower_case_word_a_function_word_or_a_long_run_is_left_as_it_is() {
    let none: [&str; 0] = [];
    let text = "She lives at 12 Main Street";
    assert_eq!(
        edges(text, "12 Main Street", Location, Source::Pattern),
        none
    );
    let text = "The 12 Main Street";
    assert_eq!(
        edges(text, "12 Main Street", Location, Source::Pattern),
        none
    );
    let text = "Riverside Park North Tower 12 Main Street";
    assert_eq!(
        edges(text, "12 Main Street", Location, Source::Pattern),
        none
    );
    let text = "Dr. Main Street 4";
    assert_eq!(
        edges(text, "Main Street 4", Location, Source::Pattern),
        none
    );
}

#[test]
fn plain_lower_case_words_ending_the_line_after_a_unit_are_the_city() {
    let text = "3747 fourth avenue suite 112 calgary alberta\nnext";
    assert_eq!(
        edges(
            text,
            "3747 fourth avenue suite 112",
            Location,
            Source::Pattern
        ),
        ["calgary alberta"]
    );
    let text = "947 trg revolucije 17 apt. 858 begunje na gorenjskem slovenia";
    assert_eq!(
        edges(
            text,
            "947 trg revolucije 17 apt. 858",
            Location,
            Source::Pattern
        ),
        ["begunje na gorenjskem slovenia"]
    );
}

#[test]
fn a_sentence_going_on_after_a_unit_is_not_a_city() {
    let none: [&str; 0] = [];
    let text = "12 elm st apt 4 with her husband";
    assert_eq!(
        edges(text, "12 elm st apt 4", Location, Source::Pattern),
        none
    );
    let text = "12 elm st 4 calgary";
    assert_eq!(edges(text, "12 elm st 4", Location, Source::Pattern), none);
    let text = "12 Elm St Apt 4 calgary";
    assert_eq!(
        edges(text, "12 Elm St Apt 4", Location, Source::Pattern),
        none
    );
}
