//! Any signed note or witness line: parsing must not panic; a parsed checkpoint must write back
//! to a note that parses to the same checkpoint; and no fuzzed note verifies under a key that
//! never signed anything.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_audit::Checkpoint;

/// An Ed25519 public key (32 bytes, hex) whose private half nobody holds for this test.
const UNUSED_KEY: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

fuzz_target!(|data: &[u8]| {
    let Ok(note) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(checkpoint) = Checkpoint::from_note(note) else {
        return;
    };
    let written = checkpoint.to_note();
    let parsed = Checkpoint::from_note(&written).expect("a written note parses");
    assert_eq!(parsed, checkpoint, "a checkpoint changed through its note");
    assert!(checkpoint.verify(UNUSED_KEY).is_err(), "a fuzzed note verified");
    // A key given by the input itself must be handled, whatever it is.
    let _ = checkpoint.verify(&checkpoint.origin);
});
