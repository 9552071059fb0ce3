use crate::detect::tests::found;
use crate::entity::EntityKind;

fn covers(text: &str, part: &str) -> bool {
    found(text).iter().any(|(_, t)| t.contains(part))
}

#[test]
fn a_postcode_after_a_foreign_place_is_a_zip() {
    for (text, zip) in [
        (
            "We support Allianz in Acquapendente 1021 in its mission.",
            "1021",
        ),
        (
            "Our office in Quinta de São Tiago 3610-114 is open.",
            "3610-114",
        ),
        ("Data Explorer in ÖVERTURINGEN 840 24 grew.", "840 24"),
    ] {
        assert!(
            found(text).contains(&(EntityKind::Zip, zip.to_owned())),
            "{text}"
        );
    }
}

#[test]
fn a_year_or_a_dose_after_a_capitalised_word_is_no_postcode() {
    for text in [
        "She moved in March 2019 to be closer.",
        "He was born in Paris 1998 and stayed.",
        "Switched to Metformin 1000 mg daily.",
    ] {
        assert!(
            !found(text).iter().any(|(k, _)| *k == EntityKind::Zip),
            "{text}"
        );
    }
}

#[test]
fn a_postal_number_before_a_street_joins_it() {
    assert!(covers(
        "The bus drops you off at 9816 214 Pavlou Drandaki today.",
        "9816 214 Pavlou"
    ));
    assert!(covers(
        "Please return to 0269 Stensås terrasse 38 soon.",
        "0269"
    ));
}

#[test]
fn an_address_block_keeps_its_postcode_when_a_sentence_follows() {
    let text = "Please return to 6639 Canónigo Valiño 70\n Apt. 758\n Almussafes\n Spain 97197 in \
                case of an issue.";
    assert!(covers(text, "97197"));
    assert!(!covers(text, "issue"));
}

#[test]
fn a_decade_after_a_colon_is_not_a_street() {
    let text = "See Guilty Pleasures: 5 Musicians Of The 70s You're Supposed To Hate";
    assert!(!found(text).iter().any(|(k, _)| *k == EntityKind::Location));
}

#[test]
fn a_template_placeholder_is_not_a_street_corner() {
    assert!(found("Meet at the corner of {street_name} and {street_name}.").is_empty());
}
