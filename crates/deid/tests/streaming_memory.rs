//! Streaming restoration keeps memory flat in the size of the stream: 100 MB of model output,
//! cut into chunks at awkward places (inside placeholders, between `[` and the tag), leaves the
//! restorer holding no more than one placeholder's worth of bytes between pushes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use phigate_deid::{EntityKind, StreamRestorer, Vault};

/// One stretch of output with restorable and invented placeholders and lookalikes.
const PIECE: &str = "Seen [NAME_1] on [DATE_1]; call [PHONE_1] or [NAME_2]. Not a [placeholder] \
                     nor [NAME_ nor [[DATE_1]]. Plain prose follows for a while, as models write. ";

/// Streams `total` bytes through a restorer in chunks of varying size; returns the largest
/// retained size seen between pushes and the number of bytes produced.
fn stream(total: usize) -> (usize, usize) {
    let mut vault = Vault::new();
    vault.placeholder_for(EntityKind::Name, "Martha Collins");
    vault.placeholder_for(EntityKind::Date, "March 3, 2026");
    vault.placeholder_for(EntityKind::Phone, "617-555-0199");
    let mut restorer = StreamRestorer::new(&vault);

    let block = PIECE.repeat(64);
    let (mut sent, mut produced, mut retained_max, mut cut) = (0, 0, 0, 0usize);
    while sent < total {
        // Chunk sizes cycle through 1..=4099 bytes, so cuts fall everywhere in the piece.
        let size = 1 + (cut * 7919) % 4099;
        cut += 1;
        let start = sent % PIECE.len();
        let chunk = &block[start..start + size.min(block.len() - start)];
        produced += restorer.push(chunk).len();
        retained_max = retained_max.max(restorer.retained_bytes());
        sent += chunk.len();
    }
    produced += restorer.finish().text.len();
    (retained_max, produced)
}

#[test]
fn streaming_100_mb_retains_no_more_than_one_placeholder() {
    let (small, small_out) = stream(1_000_000);
    let (large, large_out) = stream(100_000_000);
    assert!(
        small_out > 1_000_000 && large_out > 100_000_000,
        "everything came out"
    );
    assert!(
        large <= StreamRestorer::MAX_RETAINED,
        "retained {large} bytes, more than one placeholder"
    );
    assert_eq!(small, large, "retention does not grow with the stream");
}
