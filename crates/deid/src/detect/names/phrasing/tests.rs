use crate::detect::lexicon::Lexicon;
use crate::detect::names::{ROLES, find_names};
use crate::detect::tokens::tokenize;

/// The texts of the names found in `text`.
fn texts(text: &str) -> Vec<String> {
    let lexicon = Lexicon::new(ROLES);
    let mut out = Vec::new();
    let mut lowered = String::new();
    let tokens = tokenize(text, &mut lowered);
    find_names(text, &tokens, &lexicon, true, &mut out);
    out.iter()
        .map(|e| text[e.start..e.end].to_owned())
        .collect()
}

fn found(text: &str, name: &str) -> bool {
    texts(text).iter().any(|t| t == name)
}

#[test]
fn the_author_of_a_work_is_a_name() {
    assert!(found("Unlike the Sokolov novel, it is short.", "Sokolov"));
    assert!(found(
        "She read a Petersson biography last year.",
        "Petersson"
    ));
}

#[test]
fn an_adjective_or_everyday_word_before_a_work_is_not_a_name() {
    for text in [
        "Unlike the Russian novel, it is short.",
        "It is the Gothic novel at its best.",
        "She wrote the Victorian novel again.",
        "We liked the Great novel.",
    ] {
        assert!(texts(text).is_empty(), "{text}");
    }
}

#[test]
fn a_line_opened_by_a_word_a_colon_and_a_quotation_names_its_speaker() {
    assert!(found("Zuzana: \"Who are you?\"", "Zuzana"));
    assert!(found("Heather:\"I'm his daughter\".", "Heather"));
}

#[test]
fn a_heading_before_a_quotation_is_not_a_speaker() {
    for text in [
        "Note: \"Take with food.\"",
        "Warning: \"Keep away from children.\"",
        "Zuzana: who are you?",
    ] {
        assert!(texts(text).is_empty(), "{text}");
    }
}

#[test]
fn the_subject_of_a_question_is_a_name_when_no_dictionary_has_it() {
    assert!(found("Why is Katrine so impulsive?", "Katrine"));
    assert!(found("How did Glyceria get here?", "Glyceria"));
}

#[test]
fn a_drug_an_eponym_or_a_plain_word_asked_about_is_not_a_name() {
    for text in [
        "Why is Lisinopril so expensive?",
        "Why is Parkinson so hard to treat?",
        "Why is Fever so common?",
    ] {
        assert!(texts(text).is_empty(), "{text}");
    }
}

#[test]
fn a_first_name_called_out_at_the_end_of_an_exclamation_is_a_name() {
    assert!(found("Don't go to town, Mark!", "Mark"));
    assert!(found("Are you coming, Grace?", "Grace"));
}

#[test]
fn an_everyday_word_after_a_comma_in_a_statement_is_not_a_name() {
    for text in [
        "Don't go to town, Mark.",
        "Well done, Doctor!",
        "Leave it on the table, Will.",
    ] {
        assert!(texts(text).is_empty(), "{text}");
    }
}

#[test]
fn eponym_and_everyday_surnames_listed_beside_names_are_names() {
    assert!(found("Our founders: Kónya, Becker and Vasquez.", "Becker"));
    assert!(found("Park and Mann were engineers.", "Park"));
    let pair = texts("Muslija and Brown were engineers.");
    assert_eq!(pair, ["Muslija", "Brown"]);
}

#[test]
fn eponyms_and_everyday_words_listed_together_are_not_names() {
    for text in [
        "History of Crohn, Hashimoto and Graves disease.",
        "Rule out Becker and Duchenne dystrophy.",
        "Black and White were the colours.",
        "Dale and White were the colours.",
    ] {
        assert!(texts(text).is_empty(), "{text}");
    }
}

#[test]
fn a_generational_suffix_belongs_to_the_name_before_it() {
    assert!(found(
        "My grandfather was called Kevin Veitonen II, a farmer.",
        "Kevin Veitonen II"
    ));
}

#[test]
fn a_numeral_after_an_ordinary_word_is_not_a_suffix() {
    assert!(texts("After World War II ended, they moved.").is_empty());
}

#[test]
fn a_lower_case_name_field_is_a_name_to_the_end_of_its_line() {
    let names = texts("name:    hyuuma t. maida\naddress: 12 elm st");
    assert_eq!(names.join(" "), "hyuuma t maida");
}

#[test]
fn a_name_field_in_running_lower_case_text_is_left_alone() {
    assert!(texts("what is his name: please tell us.").is_empty());
    assert!(texts("name: the one on the left").is_empty());
}

#[test]
fn a_lower_case_list_of_names_takes_in_its_unlisted_items() {
    assert!(found(
        "they had 6: leonti, terrence, pamela, donna and brian.",
        "leonti"
    ));
}

#[test]
fn a_lower_case_list_with_one_name_is_left_alone() {
    assert!(!found("they had 3: leonti, milk and bread.", "leonti"));
    assert!(!found("we had soup, pamela, donna and bread.", "soup"));
}

#[test]
fn a_name_particle_between_two_capitalised_words_makes_one_name() {
    assert!(found(
        "Willemine ten Pas will be talking at noon.",
        "Willemine ten Pas"
    ));
}

#[test]
fn a_particle_after_an_english_word_makes_no_name() {
    assert!(texts("Our Top ten List was long.").is_empty());
}
