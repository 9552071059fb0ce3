use super::*;
use crate::entity::{EntityKind, Source};

fn entity(kind: EntityKind, start: usize, end: usize) -> Entity {
    Entity {
        kind,
        start,
        end,
        source: Source::Pattern,
        score: 1.0,
    }
}

fn one(line: &str) -> GoldRecord {
    match parse_corpus(line) {
        Ok(mut records) if records.len() == 1 => records.remove(0),
        _ => panic!("the test record did not parse"),
    }
}

#[test]
fn character_offsets_become_byte_offsets() {
    let record =
        one(r#"{"id":"a","text":"Zoë Roe 1/2/20","spans":[{"start":8,"end":14,"type":"DATE"}]}"#);
    assert_eq!(
        &record.text[record.spans[0].start..record.spans[0].end],
        "1/2/20"
    );
    assert!(record.spans[0].required);
}

#[test]
fn a_bad_line_is_refused_with_its_number_and_no_value() {
    let corpus = "{\"id\":\"a\",\"text\":\"x\",\"spans\":[]}\n\nnot json Jane Roe\n";
    let Err(error) = parse_corpus(corpus) else {
        panic!("a bad line was accepted")
    };
    let message = error.to_string();
    assert!(message.contains("line 3"));
    assert!(!message.contains("Jane"));
}

#[test]
fn a_span_past_the_end_of_its_text_is_refused() {
    let corpus = r#"{"id":"a","text":"abc","spans":[{"start":1,"end":9,"type":"NAME"}]}"#;
    assert!(parse_corpus(corpus).is_err());
}

#[test]
fn token_recall_counts_covered_words_whatever_type_was_given() {
    let record = one(
        r#"{"id":"a","text":"Seen Jane Q Roe today","spans":[{"start":5,"end":15,"type":"NAME"}]}"#,
    );
    let mut card = Scorecard::new();
    // "Jane Q" detected as a location: two of three words hidden, and the span was touched.
    let findings = card.add(&record, &[entity(EntityKind::Location, 5, 11)]);
    assert!(findings.is_empty());
    let name = card.get("NAME").copied().unwrap_or_default();
    assert_eq!((name.gold_tokens, name.found_tokens), (3, 2));
    assert_eq!((name.strict, name.lenient), (0, 1));
    let location = card.get("LOCATION").copied().unwrap_or_default();
    assert_eq!((location.predicted_tokens, location.correct_tokens), (2, 2));
}

#[test]
fn an_exact_match_is_strict_even_with_trailing_punctuation() {
    let record =
        one(r#"{"id":"a","text":"Call Jane Roe.","spans":[{"start":5,"end":13,"type":"NAME"}]}"#);
    let mut card = Scorecard::new();
    card.add(&record, &[entity(EntityKind::Name, 5, 14)]);
    assert_eq!(card.overall().strict, 1);
}

#[test]
fn detections_of_unannotated_types_and_on_optional_spans_are_not_false_positives() {
    let record = one(concat!(
        r#"{"id":"a","text":"Jane Roe of Acme on 1/2/20","spans":["#,
        r#"{"start":0,"end":8,"type":"NAME"},"#,
        r#"{"start":12,"end":16,"type":"ORGANIZATION","required":false}],"#,
        r#""annotated_types":["NAME","ORGANIZATION"]}"#
    ));
    let mut card = Scorecard::new();
    let detected = [
        entity(EntityKind::Name, 0, 8),
        entity(EntityKind::Employer, 12, 16),
        entity(EntityKind::Date, 20, 26),
    ];
    let findings = card.add(&record, &detected);
    // EMPLOYER is not annotated here, so neither it nor the date is scored.
    assert!(findings.is_empty());
    assert_eq!(card.overall().predicted_tokens, 2);
    assert_eq!(card.summary(), "recall=1.0000 precision=1.0000");
}

#[test]
fn misses_and_false_positives_are_reported_by_offsets() {
    let record =
        one(r#"{"id":"a","text":"Jane Roe, Boston","spans":[{"start":0,"end":8,"type":"NAME"}]}"#);
    let mut card = Scorecard::new();
    let findings = card.add(&record, &[entity(EntityKind::Location, 10, 16)]);
    assert_eq!(
        findings,
        [
            Finding::Miss {
                kind: "NAME".into(),
                start: 0,
                end: 8
            },
            Finding::FalsePositive {
                kind: "LOCATION",
                start: 10,
                end: 16
            },
        ]
    );
    let all = card.overall();
    assert_eq!((all.token_recall(), all.token_precision()), (0.0, 0.0));
    assert!(card.table().contains("required"));
}
