use super::*;
use crate::testgen::Gen;

fn find(text: &str, values: &[&str]) -> Option<usize> {
    let codes = Codes::new(
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| code_value(v, i)),
    );
    let chars = text.char_indices().map(|(i, c)| (c, i, i + c.len_utf8()));
    first_match(chars, &codes).map(|(_, index)| index)
}

#[test]
fn the_same_digits_with_other_separators_are_the_same_identifier() {
    assert_eq!(find("ssn 999 12 3456 ok", &["999-12-3456"]), Some(0));
    assert_eq!(
        find("ssn 999\u{2013}12\u{2013}3456", &["999-12-3456"]),
        Some(0)
    );
    assert_eq!(find("ssn 999_12_3456", &["999-12-3456"]), Some(0));
    assert_eq!(find("ssn 999-12\u{200B}-3456", &["999-12-3456"]), Some(0));
    assert_eq!(find("ssn999123456", &["999-12-3456"]), Some(0));
    assert_eq!(find("call (555) 201-7788", &["555-201-7788"]), Some(0));
    assert_eq!(find("call +1 555.201.7788", &["555-201-7788"]), Some(0));
    assert_eq!(find("born 1961/03/09", &["1961-03-09"]), Some(0));
}

#[test]
fn letter_and_digit_codes_are_found_in_any_case_and_spacing() {
    let uuid = "4acb6705-25a7-430a-b799-a4ad8d7fbb38";
    assert_eq!(
        find("mrn 4ACB670525A7430AB799A4AD8D7FBB38", &[uuid]),
        Some(0)
    );
    assert_eq!(
        find("mrn 4acb6705 25a7 430a b799 a4ad8d7fbb38.", &[uuid]),
        Some(0)
    );
    assert_eq!(find("passport x 3872 7102 x", &["X38727102X"]), Some(0));
}

#[test]
fn a_code_must_fill_whole_groups() {
    assert_eq!(find("ref 1234567890", &["345678"]), None);
    assert_eq!(find("ref 345-678.", &["345678"]), Some(0));
    assert_eq!(find("ref 1617-555-01999", &["617-555-0199"]), None);
}

#[test]
fn words_and_short_numbers_are_not_codes() {
    assert!(code_value("Gibson Pathway", 0).is_none());
    assert!(code_value("12345", 0).is_none());
    assert!(code_value("Apt 4B", 0).is_none());
}

#[test]
fn unrelated_numbers_pass() {
    assert_eq!(
        find(
            "BP 120/80, HR 72, 2 weeks",
            &["999-12-3456", "555-201-7788"]
        ),
        None
    );
}

/// The codes as they were prepared before `first_match_json`: always one automaton.
struct OldCodes {
    automaton: Option<AhoCorasick>,
    index: Vec<usize>,
    shortest: usize,
}

impl OldCodes {
    fn new(values: impl IntoIterator<Item = CodeValue>) -> Self {
        let mut codes = Vec::new();
        let mut index = Vec::new();
        let mut seen = HashSet::new();
        for value in values {
            if seen.insert(value.code.clone()) {
                codes.push(value.code);
                index.push(value.index);
            }
        }
        let automaton = aho_corasick::AhoCorasickBuilder::new()
            .match_kind(aho_corasick::MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&codes)
            .ok()
            .filter(|_| !codes.is_empty());
        let shortest = codes.iter().map(String::len).min().unwrap_or(0);
        OldCodes {
            automaton,
            index,
            shortest,
        }
    }

    fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// The reader as it was before `first_match_json`: a string per run, every run searched unless
/// too short, every character read. Kept to check that the fast path finds what it found.
fn old_first_match(
    chars: impl Iterator<Item = (char, usize, usize)>,
    codes: &OldCodes,
) -> Option<(usize, usize)> {
    struct OldRun {
        code: String,
        start: usize,
        groups: Vec<usize>,
    }
    let holds = |run: &OldRun| -> Option<usize> {
        let Some(automaton) = &codes.automaton else {
            return codes.index.first().copied();
        };
        let aligned =
            |at: usize| at == 0 || at == run.code.len() || run.groups.binary_search(&at).is_ok();
        automaton
            .find_overlapping_iter(&run.code)
            .filter(|found| aligned(found.start()) && aligned(found.end()))
            .map(|found| codes.index[found.pattern().as_usize()])
            .min()
    };
    if codes.is_empty() {
        return None;
    }
    let mut best: Option<(usize, usize)> = None;
    let mut consider = |run: &OldRun| {
        let too_short = codes.automaton.is_some() && run.code.len() < codes.shortest;
        if too_short || best.is_some_and(|(offset, _)| offset <= run.start) {
            return;
        }
        if let Some(index) = holds(run) {
            best = Some((run.start, index));
        }
    };
    let mut run = OldRun {
        code: String::new(),
        start: 0,
        groups: Vec::new(),
    };
    let mut open = false;
    let mut gap = 0;
    for (c, start, _) in chars {
        if is_invisible(c) {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            let c = c.to_ascii_lowercase();
            if !open {
                run.code.clear();
                run.groups.clear();
                run.start = start;
                open = true;
            }
            let kind_changes = run
                .code
                .as_bytes()
                .last()
                .is_some_and(|p| p.is_ascii_digit() != c.is_ascii_digit());
            if !run.code.is_empty() && (gap > 0 || kind_changes) {
                run.groups.push(run.code.len());
            }
            run.code.push(c);
            gap = 0;
        } else if open && is_separator(c) && gap < MAX_GAP {
            gap += 1;
        } else if open {
            consider(&run);
            open = false;
            gap = 0;
        }
    }
    if open {
        consider(&run);
    }
    best
}

#[test]
fn the_ascii_table_agrees_with_the_character_classes() {
    for byte in 0..128u8 {
        let c = char::from(byte);
        assert!(
            ASCII_CLASS[usize::from(byte)] == class_of(c),
            "byte {byte:#04x}"
        );
    }
}

#[test]
fn reading_json_by_table_finds_what_reading_every_character_found() {
    let values = [
        "999-12-3456",
        "617-555-0199",
        "1961-03-09",
        "X38727102X",
        "4acb6705-25a7-430a-b799-a4ad8d7fbb38",
        "48213377",
        "5550199",
        "12345678",
        "ssn 3872 7102",
        "Gibson Pathway",
    ];
    let mut generator = Gen::new(0x9A7E);
    let mut found = 0;
    for round in 0..3000 {
        // Now and then more codes than are compared one by one, so the automaton is used too.
        let many = if round % 4 == 0 { 2 * FEW_CODES } else { 0 };
        let mut chosen: Vec<String> = (0..1 + generator.below(4))
            .map(|_| generator.pick(&values).to_owned())
            .collect();
        chosen.extend((0..many).map(|i| format!("{}-{:04}", 100 + generator.below(900), i)));
        let values = || {
            chosen
                .iter()
                .enumerate()
                .filter_map(|(i, v)| code_value(v, i))
        };
        let codes = || Codes::new(values());
        let old_codes = OldCodes::new(values());
        let text = generator.text(&chosen, 24);
        let old = old_first_match(super::super::JsonUnescaped::new(&text), &old_codes);
        assert_eq!(first_match_json(&text, &codes()), old, "round {round}");
        assert_eq!(
            first_match(super::super::JsonUnescaped::new(&text), &codes()),
            old,
            "round {round}"
        );
        let plain = text.char_indices().map(|(i, c)| (c, i, i + c.len_utf8()));
        let plain_old = old_first_match(plain.clone(), &old_codes);
        assert_eq!(first_match(plain, &codes()), plain_old, "round {round}");
        found += usize::from(old.is_some());
    }
    // The comparison means something only if codes are found often, and missed often too.
    assert!((300..2700).contains(&found), "{found} of 3000 found");
}
