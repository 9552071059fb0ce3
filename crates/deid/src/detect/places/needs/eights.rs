//! The byte classes of `needs`, read eight bytes at a time: one `u64` holds eight bytes, and a
//! class test leaves its answer in the top bit of each. The tests read most window bytes, and
//! a byte at a time they cost as much as a few of the windows' searches.

use super::{BLANK, DIGIT, LETTER, SPACE, UPPER};

const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The bytes of `bytes`, eight to a `u64` (little-endian: byte `i` of an eight is bits
/// `8 * i..8 * i + 8`), the last eight padded with zero bytes, which have no class.
pub(in crate::detect::places) fn eights(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let chunks = bytes.chunks_exact(8);
    let tail = (chunks.remainder().iter().rev()).fold(0, |eight, &b| eight << 8 | u64::from(b));
    let whole = chunks.map(|chunk| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        u64::from_le_bytes(eight)
    });
    whole.chain(std::iter::once(tail))
}

/// The top bit of each byte of `eight` that `byte` (an ASCII byte) is. No byte's test carries
/// into the next: its low seven bits plus 0x7F are at most 0xFE.
pub(in crate::detect::places) fn equal(eight: u64, byte: u8) -> u64 {
    let differs = eight ^ (u64::from(byte) * ONES);
    !(((differs & LOW7) + LOW7) | differs) & HIGH
}

/// The top bit of each ASCII byte of `eight` from `low` to `high` (both below 0x80). On the low
/// seven bits, adding `0x80 - low` sets the top bit from `low` on and adding `0x7F - high` from
/// past `high`, neither carrying into the next byte.
fn within(eight: u64, low: u8, high: u8) -> u64 {
    let bits = eight & LOW7;
    let from_low = bits + u64::from(0x80 - low) * ONES;
    let past_high = bits + u64::from(0x7F - high) * ONES;
    from_low & !past_high & !eight & HIGH
}

/// The top bit of each byte of `eight` that has any class of `classes`, as `CLASSES` says.
/// `classes` is a constant where this is called, so all but its own tests fold away.
#[inline(always)]
pub(super) fn class_bits(eight: u64, classes: u8) -> u64 {
    let mut bits = 0;
    if classes & (SPACE | DIGIT | UPPER | LETTER) != 0 {
        bits |= eight & HIGH;
    }
    if classes & (SPACE | BLANK) != 0 {
        bits |= equal(eight, b' ') | equal(eight, b'\t');
    }
    if classes & SPACE != 0 {
        bits |= within(eight, 0x0A, 0x0D);
    }
    if classes & DIGIT != 0 {
        bits |= within(eight, b'0', b'9');
    }
    if classes & (UPPER | LETTER) != 0 {
        bits |= within(eight, b'A', b'Z');
    }
    if classes & LETTER != 0 {
        bits |= within(eight, b'a', b'z');
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::super::{BLANK, CLASSES, DIGIT, LETTER, SPACE, UPPER};
    use super::{class_bits, eights};

    #[test]
    fn every_byte_has_the_classes_of_the_table() {
        for class in [
            SPACE,
            BLANK,
            DIGIT,
            UPPER,
            LETTER,
            SPACE | DIGIT,
            BLANK | UPPER,
        ] {
            for byte in 0..=255u8 {
                // The byte at each of the eight places, among bytes of other kinds.
                for place in 0..8 {
                    let mut bytes = *b"a 0Z\t\xffq.";
                    bytes[place] = byte;
                    let eight = eights(&bytes).next().unwrap_or(0);
                    let got = class_bits(eight, class) >> (8 * place + 7) & 1 == 1;
                    let want = CLASSES[usize::from(byte)] & class != 0;
                    assert_eq!(got, want, "byte {byte:#x} class {class} at {place}");
                }
            }
        }
    }
}
