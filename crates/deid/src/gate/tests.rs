use super::*;

fn gate() -> EgressGate {
    EgressGate::new(["Martha Collins", "617-555-0199", "an", "José"])
}

#[test]
fn clean_bytes_pass() {
    assert_eq!(gate().check(b"{\"text\":\"[NAME_1] has a plan\"}"), Ok(()));
}

#[test]
fn a_value_is_caught_whatever_its_case() {
    let leak = gate().check(b"seen: MARTHA collins").err();
    assert_eq!(
        leak,
        Some(Leak {
            offset: 6,
            value_index: 0
        })
    );
}

#[test]
fn a_value_is_caught_across_whitespace_runs_and_newlines() {
    assert!(gate().check(b"Martha \n\t Collins").is_err());
}

#[test]
fn a_value_is_caught_through_json_escapes() {
    assert!(gate().check(br#"{"t":"Martha\nCollins"}"#).is_err());
    assert!(gate().check(br#"{"t":"Martha\u0020Collins"}"#).is_err());
    assert!(gate().check(br#"{"t":"Jos\u00e9 said"}"#).is_err());
    assert!(gate().check(br#"{"t":"Jos\u00C9"}"#).is_err());
}

#[test]
fn an_escaped_quote_inside_a_value_is_decoded() {
    let gate = EgressGate::new(["O\"Brien"]);
    assert!(gate.check(br#"{"t":"Mr O\"Brien"}"#).is_err());
}

#[test]
fn surrogate_pairs_are_decoded() {
    let gate = EgressGate::new(["a😀b"]);
    assert!(gate.check(br#""a\ud83d\ude00b""#).is_err());
}

#[test]
fn a_short_value_does_not_fire_inside_a_longer_word() {
    assert_eq!(gate().check(b"the plan and the banana"), Ok(()));
    assert!(gate().check(b"not an option").is_err());
}

#[test]
fn a_number_does_not_fire_inside_a_longer_number() {
    assert_eq!(gate().check(b"ref 1617-555-01999"), Ok(()));
    assert!(gate().check(b"call (617-555-0199)").is_err());
}

#[test]
fn a_value_glued_to_letters_through_an_escape_is_still_a_token() {
    assert!(gate().check(br#"x\nMartha Collins\ty"#).is_err());
}

#[test]
fn the_earliest_leak_is_reported() {
    let leak = gate().check(b"an, then Martha Collins").err();
    assert_eq!(
        leak,
        Some(Leak {
            offset: 0,
            value_index: 2
        })
    );
}

#[test]
fn non_utf8_bytes_fail_closed() {
    let leak = gate().check(b"ok \xff\xfe").err();
    assert!(leak.is_some_and(|leak| leak.is_unreadable() && leak.offset == 3));
}

#[test]
fn empty_values_keep_their_index_but_never_match() {
    let gate = EgressGate::new(["", "  ", "Roe"]);
    assert_eq!(gate.len(), 1);
    assert_eq!(gate.check(b"Ms ROE").err().map(|l| l.value_index), Some(2));
}

#[test]
fn leak_and_gate_output_never_contains_the_value() {
    let gate = gate();
    let leak = gate.check(b"Martha Collins").err().unwrap_or(Leak {
        offset: 0,
        value_index: 0,
    });
    for shown in [format!("{leak}"), format!("{leak:?}"), format!("{gate:?}")] {
        assert!(!shown.to_lowercase().contains("martha"), "{shown}");
        assert!(!shown.contains("617"), "{shown}");
    }
}

#[test]
fn folding_json_in_runs_agrees_with_folding_it_char_by_char() {
    let texts = [
        r#"{"content":"Martha  Collins\n\tcalled (617) 555-0199 \u00e9 \"ok\""}"#,
        r#"a\\b \ud83d\ude00 x\u200bY  Z \/ end "#,
        "  Zo\u{eb} Ä\u{2013}b \\n\\n\\nc\\",
        "",
        r#"\q\u12"#,
    ];
    for text in texts {
        let fast = fold_json(text);
        let slow = Folded::from_chars(JsonUnescaped::new(text));
        assert_eq!(fast.text, slow.text);
        for at in 0..fast.text.len() {
            assert_eq!(
                fast.original_range(at, at + 1),
                slow.original_range(at, at + 1)
            );
        }
    }
}
