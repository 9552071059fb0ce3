//! The stored-entry codec from outside the crate, with inputs the fuzz targets found or are
//! seeded with kept as regressions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

use phigate_audit::{decode_stored_entry, encode_stored_entry, indexed_fields};

const ENTRY: &[u8] = br#"{"v":1,"seq":3,"event":{"time":"2026-01-17T09:00:00+02:00","actor":{"user_id":"clinician-1","role":"clinician"},"action":"disclosure","outcome":"success"}}"#;

#[test]
fn a_stored_entry_decodes_encodes_canonically_and_agrees_with_its_indexed_fields() {
    let (seq, event) = decode_stored_entry(ENTRY).unwrap();
    let indexed = indexed_fields(ENTRY).unwrap();
    assert_eq!(
        (indexed.seq, indexed.time),
        (seq, event.time.unix_timestamp())
    );
    assert_eq!(indexed.user_id, event.actor.user_id);
    let canonical = encode_stored_entry(seq, event.clone()).unwrap();
    let (seq_again, again) = decode_stored_entry(&canonical).unwrap();
    assert_eq!((seq_again, &again), (seq, &event));
    assert_eq!(encode_stored_entry(seq, again).unwrap(), canonical);
}

#[test]
fn an_event_time_that_would_leave_the_calendar_in_utc_is_refused_not_a_panic() {
    // Year 9999 at 23:00 five hours west of UTC is year 10000 in UTC, which has no RFC 3339
    // form; the encoder panicked converting it (found writing the audit_entry fuzz target).
    let entry = br#"{"v":1,"seq":0,"event":{"time":"9999-12-31T23:00:00-05:00","actor":{"user_id":"u","role":"admin"},"action":"config_change","outcome":"success"}}"#;
    let (seq, event) = decode_stored_entry(entry).unwrap();
    assert!(encode_stored_entry(seq, event).is_err());
}
