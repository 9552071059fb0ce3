//! Where the bytes that count towards a window's budget (`trigger::costs`) are in one text,
//! kept so that a window's budget is found without reading the text again.
//!
//! One entry per eight bytes: their bits (one per byte, set when it counts) and how many counted
//! bytes come before them, packed in one word, so that how many counted bytes precede an offset
//! is one look-up, a mask and a look-up in a table of counts. The offsets of the counted bytes
//! are listed too, read off the bits, for the windows' budget look-ups in the other direction.
//! The bits are worked out eight bytes at a time; this replaced a count per byte and a list of
//! `usize` offsets, built a byte at a time. The list is written eight bytes at a time too (see
//! `list_eight`).
//!
//! (The build targets baseline x86-64, which has no population count instruction: `count_ones`
//! is a dozen instructions. Entries of 64 bytes needed one per look-up and one per 64 bytes to
//! build; entries of eight bytes need none, and the count before each entry is the length of
//! the offset list when it is written, which the build knows anyway.)
//!
//! (A select over the bits, finding the counted byte numbered `n` from the counts before each
//! word, replaced the list once and was undone: the windows ask about once every eight bytes
//! of text, and each answer cost some 75 instructions against the list's one look-up.)

use crate::detect::trigger;

/// Bytes per entry of the map.
const BLOCK: usize = 8;

const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HIGH: u64 = 0x8080_8080_8080_8080;

#[derive(Default)]
pub(super) struct Costs {
    /// For each block of eight bytes, how many counted bytes come before it, shifted up eight
    /// bits, and below them the block's bits: bit `i` set when byte `i` of the block counts.
    /// One more block than the text fills, so that the offset just past the end has one too.
    blocks: Vec<u64>,
    /// The offset of each counted byte, in order.
    at: Vec<u32>,
    /// The text's length in bytes.
    len: usize,
}

/// Bit `i` is set when byte `i` of `eight` (little-endian) counts, as `trigger::costs` says:
/// an ASCII byte other than a space, tab, line feed, vertical tab, form feed or return.
///
/// Each test leaves its answer in the top bit of each byte and never carries into the next
/// byte: `free_space` adds at most 0x7F to at most 0x7F; `controls` subtracts 9 from bytes
/// that are at least 0x80, and adds at most 0x7B to at most 0x7F. For an ASCII byte `b`,
/// `(b | 0x80) - 9` lies in `0x80..=0x84` exactly when `b` is 9 to 13. The multiply gathers
/// the eight top bits into the top byte, in order.
fn eight_costs(eight: u64) -> u64 {
    let beyond_ascii = eight & HIGH;
    let spaces = eight ^ 0x2020_2020_2020_2020;
    let not_space = (((spaces & LOW7) + LOW7) | spaces) & HIGH;
    let shifted = (eight | HIGH) - 0x0909_0909_0909_0909;
    let controls = shifted & HIGH & !((shifted & LOW7) + 0x7B7B_7B7B_7B7B_7B7B);
    let counted = !(beyond_ascii | (!not_space & HIGH) | controls) & HIGH;
    (counted >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The bits of a block shorter than eight bytes: bit `i` is set when `chunk[i]` counts.
fn block_of(chunk: &[u8]) -> u8 {
    chunk.iter().enumerate().fold(0, |bits, (i, &byte)| {
        bits | u8::from(trigger::costs(byte)) << i
    })
}

/// Appends to `at` the offsets of the counted bytes among the eight from `base` on, whose bits
/// are `eight`: all eight offsets the table lists for `eight` are written, with no branch per
/// bit, and those past its set bits cut off again. An offset stays below the text's length,
/// which fits in 32 bits, so the additions of the offsets kept never wrap.
#[inline(always)]
fn list_eight(eight: u8, base: u32, at: &mut Vec<u32>) {
    let row = &SET_BITS[usize::from(eight)];
    let offsets: [u32; 8] = std::array::from_fn(|i| base.wrapping_add(row[i]));
    let kept = at.len() + usize::from(COUNTS[usize::from(eight)]);
    at.extend_from_slice(&offsets);
    at.truncate(kept);
}

/// For each byte, the indices of its set bits, lowest first, then eights.
static SET_BITS: [[u32; 8]; 256] = set_bits();

/// For each byte, how many bits it has set: a look-up instead of a software `count_ones`.
static COUNTS: [u8; 256] = counts();

const fn counts() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        // `count_ones` of a byte is at most eight: it fits.
        table[byte] = (byte as u8).count_ones() as u8;
        byte += 1;
    }
    table
}

const fn set_bits() -> [[u32; 8]; 256] {
    let mut table = [[8u32; 8]; 256];
    let mut byte = 0;
    while byte < 256 {
        let (mut bit, mut n) = (0, 0);
        while bit < 8 {
            if byte & (1 << bit) != 0 {
                table[byte][n] = bit;
                n += 1;
            }
            bit += 1;
        }
        byte += 1;
    }
    table
}

impl Costs {
    /// Reads `bytes` once into fresh room (for tests; the scan refills kept room).
    #[cfg(test)]
    pub(super) fn new(bytes: &[u8]) -> Self {
        let mut costs = Costs::default();
        costs.refill(bytes);
        costs
    }

    /// Reads `bytes` once, in the room this map already has (see `room`): whatever it held
    /// before is cleared first, so the map is the one fresh room would give. Inlined into the
    /// scan, its one caller: made a call of its own, the map cost about one instruction a byte
    /// more to build.
    #[inline]
    pub(super) fn refill(&mut self, bytes: &[u8]) {
        self.clear();
        let Costs { blocks, at, len } = self;
        blocks.reserve(bytes.len() / BLOCK + 1);
        // Eight more than the counted bytes can be: `list_eight` writes eight at a time.
        at.reserve(bytes.len() + 8);
        let mut base = 0u32;
        let mut eights = bytes.chunks_exact(BLOCK);
        for eight in &mut eights {
            let mut word = [0u8; 8];
            word.copy_from_slice(eight);
            // `eight_costs` leaves its bits in the low byte.
            let bits = eight_costs(u64::from_le_bytes(word)) as u8;
            // Below the text's length, which the caller checked fits in 32 bits.
            blocks.push((at.len() as u64) << 8 | u64::from(bits));
            list_eight(bits, base, at);
            base = base.wrapping_add(8);
        }
        // The last, partial block, or the empty one just past a text that fills its blocks.
        let bits = block_of(eights.remainder());
        blocks.push((at.len() as u64) << 8 | u64::from(bits));
        list_eight(bits, base, at);
        *len = bytes.len();
    }

    /// Forgets the text, keeping the room.
    pub(super) fn clear(&mut self) {
        self.blocks.clear();
        self.at.clear();
        self.len = 0;
    }

    /// How many offsets of counted bytes the map has room for without growing.
    pub(super) fn room(&self) -> usize {
        self.at.capacity()
    }

    /// How many counted bytes come before offset `at` (at most the text's length).
    pub(super) fn before(&self, at: usize) -> u32 {
        let (block, bit) = (at / BLOCK, at % BLOCK);
        match self.blocks.get(block) {
            // The count fits in 32 bits: it is at most the text's length.
            Some(&entry) => {
                let below = (entry as u8) & ((1u8 << bit) - 1);
                (entry >> 8) as u32 + u32::from(COUNTS[usize::from(below)])
            }
            None => u32::MAX,
        }
    }

    /// The first offset with at least `floor` counted bytes before it.
    pub(super) fn first_with(&self, floor: u32) -> usize {
        match floor.checked_sub(1) {
            None => 0,
            Some(index) => self.nth(index).map_or(self.len + 1, |at| at + 1),
        }
    }

    /// The last offset with at most `ceiling` counted bytes before it.
    pub(super) fn last_with(&self, ceiling: u32) -> usize {
        self.nth(ceiling).map_or(self.len, |at| at.min(self.len))
    }

    /// The offset of the counted byte numbered `index` (from zero), if there is one.
    fn nth(&self, index: u32) -> Option<usize> {
        let index = usize::try_from(index).ok()?;
        self.at.get(index).and_then(|&at| usize::try_from(at).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::Costs;
    use crate::detect::trigger;
    use crate::testgen::Gen;

    /// The two lists the map replaced, worked out the plain way.
    fn plain(bytes: &[u8]) -> (Vec<u32>, Vec<usize>) {
        let mut before = vec![0u32];
        let mut sum = 0;
        for &byte in bytes {
            sum += u32::from(trigger::costs(byte));
            before.push(sum);
        }
        let at = (0..bytes.len())
            .filter(|&i| trigger::costs(bytes[i]))
            .collect();
        (before, at)
    }

    fn check(bytes: &[u8]) {
        let costs = Costs::new(bytes);
        let (before, at) = plain(bytes);
        for (offset, &count) in before.iter().enumerate() {
            assert_eq!(costs.before(offset), count, "before {offset}");
        }
        let total = u32::try_from(at.len()).unwrap_or(u32::MAX);
        for index in 0..=total + 2 {
            let nth = usize::try_from(index).ok().and_then(|i| at.get(i).copied());
            assert_eq!(costs.nth(index), nth, "nth {index}");
            let first = match index.checked_sub(1) {
                None => 0,
                Some(i) => nth_of(&at, i).map_or(before.len(), |a| a + 1),
            };
            assert_eq!(costs.first_with(index), first, "first_with {index}");
            let last = nth.map_or(bytes.len(), |a| a.min(bytes.len()));
            assert_eq!(costs.last_with(index), last, "last_with {index}");
        }
    }

    fn nth_of(at: &[usize], index: u32) -> Option<usize> {
        usize::try_from(index).ok().and_then(|i| at.get(i).copied())
    }

    #[test]
    fn the_map_answers_as_the_lists_did() {
        check(b"");
        check(b" ");
        check(b"x");
        // Lengths around word edges, with spaces, controls and bytes beyond ASCII mixed in.
        let mut generator = Gen::new(0x9E37_79B9_7F4A_7C15);
        let alphabet: &[u8] = b"ab1 \t\n\r\x0b\x0c\x01~\x7f\xc3\xa9\xe2";
        for len in (0..200).chain([255, 256, 257, 1000, 4097]) {
            let text = generator.bytes(alphabet, len);
            check(&text);
        }
        check(&[b' '; 130]);
        check(&[b'x'; 130]);
    }
}
