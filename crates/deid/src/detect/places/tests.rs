use crate::detect::tests::found;
use crate::entity::EntityKind;

fn covers(text: &str, part: &str) -> bool {
    found(text).iter().any(|(_, t)| t.contains(part))
}

/// Asserts that each text's detections cover its street.
fn assert_all_covered(cases: &[(&str, &str)]) {
    for (text, street) in cases {
        assert!(covers(text, street), "{text}");
    }
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

fn locations(text: &str) -> Vec<String> {
    found(text)
        .into_iter()
        .filter(|(k, _)| *k == EntityKind::Location)
        .map(|(_, t)| t)
        .collect()
}

#[test]
fn a_street_corner_is_redacted_with_the_words_that_name_it() {
    let text = "Meet me at the corner of Orme Lane and 3rd Avenue, then call.";
    assert!(
        locations(text).contains(&"the corner of Orme Lane and 3rd Avenue".to_owned()),
        "{text}"
    );
}

#[test]
fn a_corner_of_the_body_is_no_street_corner() {
    for text in [
        "Small fissure at the corner of the mouth and the lower lip.",
        "Tender at the corner of the eye and along the lid.",
    ] {
        assert!(locations(text).is_empty(), "{text}");
    }
}

#[test]
fn less_common_street_kinds_end_a_street() {
    assert_all_covered(&[
        ("Send it to 88 Ashgrove Rapids today.", "88 Ashgrove Rapids"),
        ("She lives at 4 Tolley Crossroad.", "4 Tolley Crossroad"),
        ("Return it to 210 Pennock Summit now.", "210 Pennock Summit"),
    ]);
}

#[test]
fn a_street_kind_written_first_opens_a_street() {
    assert_all_covered(&[
        (
            "Mail goes to 14 Boulevard des Aubiers.",
            "14 Boulevard des Aubiers",
        ),
        (
            "Write to 7 rue des tanneurs Loubet.",
            "7 rue des tanneurs Loubet",
        ),
        (
            "Ring at 3 Rua Nove de Julho 40 please.",
            "3 Rua Nove de Julho 40",
        ),
        ("It is C/ Mayor Alto 12 in town.", "C/ Mayor Alto 12"),
    ]);
}

#[test]
fn a_street_word_of_its_own_before_the_number_makes_a_street() {
    assert_all_covered(&[
        (
            "He moved to Lindå terrasse 12 last year.",
            "Lindå terrasse 12",
        ),
        ("The shop is on Rózsa u. 21. in town.", "Rózsa u. 21"),
        ("Deliver to Kossuth Lajos út 5 today.", "Kossuth Lajos út 5"),
    ]);
}

#[test]
fn a_street_named_in_full_after_on_is_a_location() {
    let text = "She grew up on Tamsin Hollow Street near the mill.";
    assert!(covers(text, "Tamsin Hollow Street"), "{text}");
    assert!(locations("Patient seen on The Street Team list.").is_empty());
}

#[test]
fn a_number_street_number_before_a_unit_is_a_street() {
    let text = "Validate this one: 4410 Kalmo 21 Apt. 9 please.";
    assert!(covers(text, "4410 Kalmo 21"), "{text}");
    let dose = "Take 1 Lisinopril 10 mg tablet, unit dose 2 daily.";
    assert!(locations(dose).is_empty(), "{dose}");
}

#[test]
fn a_place_name_with_particles_and_a_bracketed_region_stays_in_the_address() {
    let text = "Send to 12 Oak Street Apt. 4, Vila de Rei, Cyprus (Greek) 20455 soon.";
    assert!(covers(text, "Vila de Rei, Cyprus (Greek) 20455"), "{text}");
}

#[test]
fn a_lower_case_address_goes_on_over_its_comma_separated_parts() {
    let text = "meet me at 31 kettu street, mikkeli, finland 50100";
    assert!(covers(text, "mikkeli, finland 50100"), "{text}");
    for trip in [
        "a 10 mile road trip",
        "a 30 minute walk along the 12 mile road",
    ] {
        assert!(locations(trip).is_empty(), "{trip}");
    }
    let sentence = "meet me at 31 kettu street and then we eat";
    assert!(!covers(sentence, "then"), "{sentence}");
}

#[test]
fn an_address_block_keeps_its_postcode_before_a_label_and_its_country_before_a_sentence() {
    let card = "Bill to 2201 Harjula 8\nLAHTI\n 15140 for this card: 4111";
    assert!(covers(card, "15140"), "{:?}", found(card));
    assert!(!covers(card, "card"), "{card}");
    let country = "Drive to 9 Kowhai Street\n Suite 3\n New Zealand. Please call ahead.";
    assert!(covers(country, "New Zealand"), "{country}");
    assert!(!covers(country, "Please"), "{country}");
}

#[test]
fn a_phone_label_after_an_address_is_not_its_postcode() {
    let text = "Lives at 12 Main Street\nPhone: 555 0134";
    assert!(
        !locations(text).iter().any(|l| l.contains("Phone")),
        "{text}"
    );
}

#[test]
fn a_street_line_after_in_or_with_must_end_its_line() {
    let text = "I now live in 3318 Talvio 14\nKERAVA\n 99120";
    assert!(covers(text, "3318 Talvio 14"), "{text}");
    assert!(covers(text, "KERAVA"), "{text}");
    for text in [
        "Seen in 2019 March 14\nFollow-up planned.",
        "Recheck in 3 months 2 visits total.",
        "Discharged with 250 Tylenol 500\nFollow-up in clinic.",
        "Discharged with 2500 Units 20\nand a walker.",
        "Improved in 3 Months 2\nper the note.",
    ] {
        assert!(locations(text).is_empty(), "{:?}", found(text));
    }
}

/// `place_before_full_stop` as first written: the first `. `, then the words before it.
fn place_before_full_stop_plain(content: &str) -> Option<usize> {
    let len = content.find(". ")?;
    super::names_a_place(&content[..len]).then_some(len)
}

/// Generated lines of place words, sentences and stops, read both ways.
#[test]
fn the_bounded_reads_of_a_block_line_answer_as_the_plain_ones() {
    const WORDS: &[&str] = &[
        "New",
        "Zealand",
        "St",
        "Louis",
        "The",
        "x",
        "Ab",
        "Oulu",
        "\u{c9}ire",
        "S\u{e3}o",
        "Ko-Sa",
        "in",
        "42",
        "-",
        ". ",
        ".",
        "? ",
        "!",
        ";",
        ",",
        " ",
        "  ",
        "\t",
        "\n",
        "\u{a0}",
        "\u{2003}",
        "\u{130}",
        "\u{1F600}",
        "Please call",
        ":",
    ];
    let mut generator = crate::testgen::Gen::new(0x61ACE5);
    for _ in 0..40_000 {
        let mut line = String::new();
        for _ in 0..generator.below(14) {
            line.push_str(generator.pick(WORDS));
            if generator.below(2) == 0 {
                line.push(' ');
            }
        }
        assert_eq!(
            super::place_before_full_stop(&line),
            place_before_full_stop_plain(&line),
            "a generated line of {} bytes",
            line.len()
        );
        assert_eq!(
            super::sentence_stop(line.as_bytes()),
            line.find(['?', '!', ';']),
            "a generated line of {} bytes",
            line.len()
        );
    }
}
