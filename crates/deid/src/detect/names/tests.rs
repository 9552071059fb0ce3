use super::*;
use crate::detect::tokens::tokenize;

fn names(text: &str) -> Vec<(EntityKind, String)> {
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let mut out = Vec::new();
    let mut lowered = String::new();
    find_names(
        text,
        &tokenize(text, &mut lowered),
        &lexicon,
        true,
        &mut out,
    );
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

#[test]
fn speakers_of_a_dialogue_are_names_when_one_of_them_is_a_listed_first_name() {
    assert_eq!(
        texts("Ubul: What a week.\nNicole: Remember me?"),
        ["Ubul", "Nicole"]
    );
}

#[test]
fn note_headings_with_colons_are_not_speakers() {
    assert!(texts("Assessment: stable.\nPlan: follow up.").is_empty());
}

#[test]
fn the_speaker_after_a_quotation_is_a_name() {
    assert_eq!(
        texts("\"We are moving on,\" says Hartvigsson."),
        ["Hartvigsson"]
    );
}

#[test]
fn a_verb_of_saying_without_a_quotation_does_not_make_a_name() {
    assert!(texts("Patient says Tylenol helps.").is_empty());
}

#[test]
fn a_name_given_outright_in_lower_case_speech_is_found_even_if_unlisted() {
    assert_eq!(texts("hi , my name is vitoria"), ["vitoria"]);
}

#[test]
fn a_last_name_asked_for_is_a_name() {
    assert_eq!(texts("What's your last name? Matthiasson"), ["Matthiasson"]);
}

#[test]
fn a_word_broken_off_and_started_again_is_a_false_start_not_a_name() {
    // `mira` is a census first name; here it is the start of `miralax`, said twice.
    assert!(texts("[doctor] all right . mira- miralax will help with that .").is_empty());
    assert_eq!(
        texts("[doctor] all right . mira , miralax will help ."),
        ["mira"]
    );
}

#[test]
fn every_second_word_of_a_two_word_cue_carries_the_cue_end_role() {
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    for (_, second) in super::cues::CUE_PAIRS {
        assert!(lexicon.info(second).is(Role::CueEnd), "{second}");
    }
}

#[test]
fn two_words_no_dictionary_knows_are_a_name() {
    assert_eq!(
        texts("Please add Weronika Martinsen to the chart."),
        ["Weronika Martinsen"]
    );
}

#[test]
fn a_word_spelled_beyond_ascii_is_a_foreign_name() {
    assert_eq!(
        texts("Everyone thought Järvilehto would come."),
        ["Järvilehto"]
    );
}

#[test]
fn unknown_words_coordinated_with_a_census_surname_are_names() {
    assert_eq!(
        texts("The founders were Usamov and Bowers, who met in school."),
        ["Usamov", "Bowers"]
    );
}

#[test]
fn coordinated_drugs_are_not_names() {
    assert!(texts("She takes Tylenol and Motrin for the pain.").is_empty());
}

#[test]
fn an_unknown_subject_or_owner_is_a_person() {
    assert_eq!(texts("I think Shovda is very reliable."), ["Shovda"]);
    assert_eq!(texts("Here is Matej's address."), ["Matej"]);
    assert_eq!(texts("Kuba, can I speak to you?"), ["Kuba"]);
}

#[test]
fn a_drug_as_subject_is_not_a_person() {
    assert!(texts("Since then Lisinopril is helping and Lasix was stopped.").is_empty());
}

#[test]
fn an_eponym_beside_a_foreign_name_is_part_of_it_but_not_before_a_head_noun() {
    assert_eq!(texts("We met Tünde Hoffmann today."), ["Tünde Hoffmann"]);
    assert!(texts("Hoffmann sign was negative.").is_empty());
}

#[test]
fn lowercase_first_name_initial_and_unlisted_surname_are_joined() {
    assert_eq!(
        texts("send it to benjamin a seiler at the office"),
        ["benjamin a seiler"]
    );
}

#[test]
fn letters_and_capitals_count_as_char_methods_do() {
    for text in [
        "Seen by Dr. ROE on 2026-01-17.",
        "Šárka Ottová, Järvilehto; ǅemal ΣΟΦΙΑ ⅫⒶ 12",
        "",
    ] {
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let upper = text.chars().filter(|c| c.is_uppercase()).count();
        assert_eq!(
            super::letters_and_capitals(text),
            (letters, upper),
            "{text}"
        );
    }
}

#[test]
fn lower_case_texts_are_told_as_by_counting_every_letter() {
    let lower = "hi , martha . ".repeat(60);
    let texts = [
        lower.clone(),
        format!("{lower}A"),
        format!("A{lower}"),
        format!("{lower}{}", "ABC ".repeat(30)),
        format!("{}{lower}", "x".repeat(300)),
        "Šárka Ottová ΣΟΦΙΑ".to_owned(),
        "šárka ottová σοφια".to_owned(),
        String::new(),
    ];
    for text in texts {
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let upper = text.chars().filter(|c| c.is_uppercase()).count();
        assert_eq!(
            super::mostly_lower_case(&text),
            upper * 100 < letters,
            "{text}"
        );
    }
}

#[test]
fn an_owner_before_a_relative_is_a_person() {
    assert!(texts("I'm Hope's daughter, she said.").contains(&"Hope".to_owned()));
    for text in [
        "The patient's daughter called.",
        "Patient's son at bedside.",
        "Parkinson's disease is stable.",
    ] {
        assert!(texts(text).is_empty(), "{text}");
    }
}

#[test]
fn call_me_names_only_a_name_in_lower_case_text() {
    assert!(texts("people call me radoslavč at work").contains(&"radoslavč".to_owned()));
    assert!(texts("please call me tomorrow about the labs").is_empty());
}

#[test]
fn a_foreign_surname_after_a_stated_first_name_in_lower_case_is_a_name() {
    let names = texts("my name is marta dvořáková and i have a cough");
    assert!(names.iter().any(|n| n.contains("dvořáková")), "{names:?}");
}

#[test]
fn an_unknown_subject_in_lower_case_text_is_a_name() {
    let names = texts("jiráňová began the program last year");
    assert!(names.contains(&"jiráňová".to_owned()), "{names:?}");
    assert!(texts("metformin began to help last year").is_empty());
}

#[test]
fn an_initial_beyond_ascii_joins_the_name() {
    let names = texts("Signed by Sigrún Ó Haldórsdóttir yesterday.");
    assert!(
        names.contains(&"Sigrún Ó Haldórsdóttir".to_owned()),
        "{names:?}"
    );
}

#[test]
fn an_everyday_first_name_before_a_foreign_surname_is_a_name() {
    let names = texts("Yesterday Grace Jiráňová came in.");
    assert!(names.contains(&"Grace Jiráňová".to_owned()), "{names:?}");
    assert!(texts("Amazing Grace was sung.").is_empty());
}

#[test]
fn a_text_after_a_longer_one_on_the_same_thread_finds_what_it_finds_alone() {
    // The finder's tables are kept on the thread from one text to the next (see `scratch`):
    // nothing the first text put in them may reach the second.
    let first = "Eugene Walker, Marta Szollosyova and Jane Roe came with Dr. Smith today.";
    let second = "yes we saw it and it is fine now";
    let alone = std::thread::spawn(move || names(second)).join().ok();
    let after = std::thread::spawn(move || {
        names(first);
        names(second)
    })
    .join()
    .ok();
    assert_eq!(alone, Some(Vec::new()));
    assert_eq!(after, alone);
}

#[test]
fn adjacency_answered_from_the_first_bytes_of_a_gap_is_what_the_whole_gap_says() {
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let text = "Jane Roe  Ann ( Bo , Cy . Di ? Ed 10 Fay / Gus \tHal  \nIvy \r\nJo \u{a0}Kay\n\
                Martha\nCollins Martha \nCollins J. Roe An125 Suanne858 Graves' Lee's  Mo  \n  Ned.";
    let mut lowered = String::new();
    let tokens = tokenize(text, &mut lowered);
    let finder = NameFinder::new(text, &tokens, &lexicon, true, scratch::take());
    for i in 0..tokens.len() {
        let word = &text[tokens[i].start..tokens[i].end];
        assert_eq!(finder.adjacent(i), finder.written_adjacent(i), "{word}");
    }
}

#[test]
fn adjacency_across_line_breaks_answered_from_the_words_is_what_the_whole_gap_says() {
    // Words and gaps that reach every arm of the adjacency table, above all a line break
    // between two capitalised words: a heading and its line, or a name wrapped onto the next.
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let words = [
        "Martha",
        "Collins",
        "Smith",
        "Jane",
        "Roe",
        "Graves",
        "Chief",
        "Complaint",
        "Plan",
        "History",
        "Mary",
        "Rose",
        "Bell",
        "J",
        "HPI",
        "An125",
        "Lee's",
        "said",
        "Kónya",
        "Parker",
    ];
    let gaps = [
        " ", "\n", " \n", "\n ", "\t\n", "\n\n", "\n# ", "\n\t", "  ", ". ", ".\n", "12\n", "\r\n",
        ", ", "\u{a0}", "-\n", " \n \n",
    ];
    let mut generator = crate::testgen::Gen::new(23);
    let mut wrapped = 0;
    for _ in 0..400 {
        let mut text = String::new();
        for _ in 0..generator.below(40) {
            text.push_str(generator.pick(&words));
            text.push_str(generator.pick(&gaps));
        }
        let mut lowered = String::new();
        let tokens = tokenize(&text, &mut lowered);
        let finder = NameFinder::new(&text, &tokens, &lexicon, true, scratch::take());
        for (i, token) in tokens.iter().enumerate() {
            let written = finder.written_adjacent(i);
            assert_eq!(finder.adjacent(i), written, "{text:?} at {i}");
            let gap = text.get(token.end..).unwrap_or_default();
            wrapped += usize::from(written && gap.starts_with('\n'));
        }
    }
    // The generated texts do hold names wrapped across a line break.
    assert!(wrapped > 10, "{wrapped}");
}

#[test]
fn list_items_found_from_the_capitalised_words_are_what_every_token_says() {
    // `list_items` asks only some tokens before each capitalised word, and reads most gaps as
    // bytes: its table must hold, for every token, what `written_next_item` works out.
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let words = [
        "Usamov", "Bowers", "Reed", "and", "And", "AND", "the", "Graves", "J", "HPI", "or", "Kónya",
    ];
    let gaps = [
        " ", ", ", " , ", ",", " & ", "&", "\n", ",\n", ". ", ": ", "  ", ", and ", " ,\t",
        "\u{a0}",
    ];
    let mut generator = crate::testgen::Gen::new(31);
    let mut items = 0;
    for _ in 0..400 {
        let mut text = String::new();
        for _ in 0..generator.below(40) {
            text.push_str(generator.pick(&words));
            text.push_str(generator.pick(&gaps));
        }
        let mut lowered = String::new();
        let tokens = tokenize(&text, &mut lowered);
        let mut finder = NameFinder::new(&text, &tokens, &lexicon, true, scratch::take());
        finder.list_items();
        for j in 0..tokens.len() {
            let written = finder.written_next_item(j);
            assert_eq!(finder.next_list_item(j), written, "{text:?} at {j}");
            items += usize::from(written.is_some());
        }
    }
    // The generated texts do hold lists.
    assert!(items > 100, "{items}");
}

#[test]
fn the_bits_of_marked_tokens_are_the_tokens_with_a_mark() {
    // `next_mark` reads `marked`, not the marks: after every rule has run, a bit is set
    // exactly where a mark is, and each walk finds the marks a plain walk finds.
    let lexicon = Lexicon::new(crate::detect::names::ROLES);
    let names = [
        "Eugene Walker",
        "Marta Szollosyova",
        "Dr. Smith",
        "Jane M Roe",
        "my wife Mary",
        "An125 Suanne858",
        "Kevin Roe II",
        "mrs. walker",
        "john smith jr",
        "name is Bo Li",
    ];
    let extra: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut generator = crate::testgen::Gen::new(11);
    let mut marked_somewhere = 0;
    for _ in 0..600 {
        // Long texts, so that the marks spread over several words of bits.
        let text = generator.text(&extra, 400);
        let mut lowered = String::new();
        let tokens = tokenize(&text, &mut lowered);
        if tokens.is_empty() {
            continue;
        }
        let mut finder = NameFinder::new(&text, &tokens, &lexicon, false, scratch::take());
        finder.run_rules();
        let plain: Vec<usize> = (0..tokens.len())
            .filter(|&i| finder.marks[i].is_some())
            .collect();
        let from_bits: Vec<usize> = (0..tokens.len())
            .filter(|&i| finder.marked[i / 64] >> (i % 64) & 1 != 0)
            .collect();
        assert_eq!(from_bits, plain, "{text:?}");
        let mut walked = Vec::new();
        let mut from = 0;
        while let Some(i) = finder.next_mark(from, |_| true) {
            walked.push(i);
            from = i + 1;
        }
        assert_eq!(walked, plain, "{text:?}");
        let person = |i: &&usize| matches!(finder.marks[**i], Some(Mark::Person { .. }));
        let people: Vec<usize> = plain.iter().filter(person).copied().collect();
        let mut walked = Vec::new();
        let mut from = 0;
        while let Some(i) = finder.next_mark(from, |m| matches!(m, Mark::Person { .. })) {
            walked.push(i);
            from = i + 1;
        }
        assert_eq!(walked, people, "{text:?}");
        marked_somewhere += usize::from(plain.iter().any(|&i| i >= 64));
    }
    // The generated texts do reach past the first word of bits.
    assert!(marked_somewhere > 10, "{marked_somewhere}");
}
