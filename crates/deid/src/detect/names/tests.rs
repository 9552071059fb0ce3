use super::*;
use crate::detect::tokens::tokenize;

fn names(text: &str) -> Vec<(EntityKind, String)> {
    let lexicon = Lexicon::new();
    let mut out = Vec::new();
    find_names(text, &tokenize(text), &lexicon, true, &mut out);
    out.iter()
        .map(|e| (e.kind, text[e.start..e.end].to_owned()))
        .collect()
}

fn texts(text: &str) -> Vec<String> {
    names(text).into_iter().map(|(_, t)| t).collect()
}

#[test]
fn a_clear_first_name_pulls_in_an_unlisted_surname() {
    assert_eq!(
        texts("Yesterday Marta Szollosyova called."),
        ["Marta Szollosyova"]
    );
}

#[test]
fn a_surname_found_once_is_found_again_alone() {
    assert_eq!(
        texts("Eugene Walker came. Walker said no."),
        ["Eugene Walker", "Walker"]
    );
}

#[test]
fn relatives_named_after_a_cue_are_found() {
    assert_eq!(
        texts("She lives with her husband Bartholomew."),
        ["Bartholomew"]
    );
}

#[test]
fn a_name_before_a_credential_is_a_clinician() {
    assert_eq!(
        names("Signed, Jane Roe, MD"),
        [(EntityKind::Provider, "Jane Roe".to_owned())]
    );
}

#[test]
fn possessive_names_keep_their_apostrophe_outside_the_span() {
    assert_eq!(texts("I'm Jennifer's daughter."), ["Jennifer"]);
}

#[test]
fn lowercase_first_name_and_surname_are_joined() {
    assert_eq!(
        texts("[doctor] this is christine hernandez , okay ?"),
        ["christine hernandez"]
    );
}

#[test]
fn sentence_initial_everyday_words_are_not_names() {
    assert!(texts("Will you sign? Grace period ends. May is warm.").is_empty());
}

#[test]
fn synthea_numeric_suffixes_stay_inside_the_name_and_do_not_break_it() {
    assert_eq!(
        texts("An125 Suanne858\n is a 28 year-old female."),
        ["An125 Suanne858"]
    );
    assert_eq!(texts("Assunta351\n is a newborn."), ["Assunta351"]);
}
