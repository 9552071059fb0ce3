//! Any stored entry bytes: decoding must not panic; bytes that decode must encode back to a
//! canonical form that decodes to the same entry and encodes to itself; and the fields
//! verification reads without decoding the whole event must agree with the full decoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_audit::{decode_stored_entry, encode_stored_entry, indexed_fields};

fuzz_target!(|data: &[u8]| {
    let indexed = indexed_fields(data);
    let Ok((seq, event)) = decode_stored_entry(data) else {
        return;
    };
    let indexed = indexed.expect("bytes that decode whole also decode for verification");
    assert_eq!(indexed.seq, seq);
    assert_eq!(indexed.time, event.time.unix_timestamp());
    assert_eq!(indexed.user_id, event.actor.user_id);
    assert_eq!(indexed.action, event.action);
    assert_eq!(indexed.patient_ref, event.patient_ref);

    // An event that fails validation is refused by the encoder, never written.
    let Ok(canonical) = encode_stored_entry(seq, event.clone()) else {
        return;
    };
    let (seq_again, event_again) =
        decode_stored_entry(&canonical).expect("an encoded entry decodes");
    assert_eq!(seq_again, seq);
    assert_eq!(event_again, event, "an entry changed through encode and decode");
    let again = encode_stored_entry(seq, event_again).expect("a decoded entry encodes again");
    assert!(again == canonical, "the encoding is not canonical");
});
