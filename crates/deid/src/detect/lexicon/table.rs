//! The table behind [`super::Lexicon::info`]: every listed word with what the lists say about
//! it, looked up once for every word of every text.
//!
//! A general hash map hashes the whole word, then compares it byte by byte through a call. Here
//! a word is read as its length and at most two 8-byte loads (its first and last eight bytes,
//! which overlap for short words): for a word of up to 16 bytes (nearly every word) those equal
//! another word's exactly when the words are equal, so a look-up hashes and compares three
//! integers, and only longer words are compared as bytes. Open addressing with linear probing
//! in a table at most half full keeps probes short.

use super::WordInfo;

/// A word read as integers: see [`Key::of`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    len: usize,
    head: u64,
    tail: u64,
}

impl Key {
    /// Reads `word` as its length, and its first and last eight bytes (fewer when it is
    /// shorter, gathered so that the key still covers every byte). Two words of up to 16 bytes
    /// have the same key exactly when they are equal.
    #[inline(always)]
    fn of(word: &[u8]) -> Key {
        let len = word.len();
        let (head, tail) = match len {
            8.. => (read8(word, 0), read8(word, len - 8)),
            4..8 => (read4(word, 0) | read4(word, len - 4) << 32, 0),
            1..4 => {
                let byte = |at: usize| u64::from(word.get(at).copied().unwrap_or(0));
                (byte(0) | byte(len / 2) << 8 | byte(len - 1) << 16, 0)
            }
            0 => (0, 0),
        };
        Key { len, head, tail }
    }

    /// Where the probe for this key starts in a table of `1 << bits` slots.
    #[inline(always)]
    fn home(self, bits: u32) -> usize {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mixed = (self.head ^ self.len as u64).wrapping_mul(K);
        let mixed = (mixed.rotate_left(29) ^ self.tail).wrapping_mul(K);
        // The top bits are the best mixed; `bits` is below 64.
        (mixed >> (64 - bits)) as usize
    }
}

/// The eight bytes of `word` from `at` as a little-endian integer (0 when out of range,
/// which callers rule out).
#[inline]
fn read8(word: &[u8], at: usize) -> u64 {
    word.get(at..at + 8)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// [`read8`] of four bytes.
#[inline]
fn read4(word: &[u8], at: usize) -> u64 {
    word.get(at..at + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, |bytes| u64::from(u32::from_le_bytes(bytes)))
}

/// One listed word: its key, its facts, and where its text is in [`WordTable::entries`].
///
/// The facts are kept in the slot, not only in `entries`, so that a look-up of a word of up
/// to 16 bytes (whose key is the word) reads one slot and nothing else.
#[derive(Clone, Copy)]
struct Slot {
    key: Key,
    /// Index into `entries`, plus one; 0 marks an empty slot.
    entry: u32,
    info: WordInfo,
}

/// Listed words and their [`WordInfo`], built once by [`super::Lexicon::new`].
pub(super) struct WordTable {
    slots: Vec<Slot>,
    bits: u32,
    entries: Vec<(&'static str, WordInfo)>,
}

impl WordTable {
    /// The table of `entries` (each word once).
    pub(super) fn new(entries: Vec<(&'static str, WordInfo)>) -> Self {
        // At most half full, and at least two slots so that `bits` is never 0.
        let mut bits = 1;
        while (1usize << bits) < entries.len() * 2 {
            bits += 1;
        }
        let empty = Slot {
            key: Key::of(&[]),
            entry: 0,
            info: WordInfo::default(),
        };
        let mut slots = vec![empty; 1 << bits];
        let mask = slots.len() - 1;
        for (index, (word, info)) in entries.iter().enumerate() {
            let key = Key::of(word.as_bytes());
            let mut at = key.home(bits);
            while slots.get(at).is_some_and(|slot| slot.entry != 0) {
                at = (at + 1) & mask;
            }
            if let Some(slot) = slots.get_mut(at) {
                *slot = Slot {
                    key,
                    entry: u32::try_from(index + 1).unwrap_or(u32::MAX),
                    info: *info,
                };
            }
        }
        WordTable {
            slots,
            bits,
            entries,
        }
    }

    /// What the lists say about `word`, if it is listed.
    ///
    /// Always inlined into [`super::Lexicon::info`], which the name rules call once for every
    /// word of a text: the call cost as much as the look-up. Words longer than 16 bytes, whose
    /// keys do not cover every byte, are looked up out of line.
    #[inline(always)]
    pub(super) fn get(&self, word: &str) -> Option<&WordInfo> {
        self.get_bytes(word.as_bytes())
    }

    /// [`WordTable::get`] of a word given as its bytes (a part of a word split at an ASCII
    /// byte, which is as much a word as the whole).
    #[inline(always)]
    pub(super) fn get_bytes(&self, bytes: &[u8]) -> Option<&WordInfo> {
        let key = Key::of(bytes);
        if key.len > 16 {
            return self.get_long(key, bytes);
        }
        // The key covers every byte: equal keys are equal words.
        self.probe(key, |_| true)
    }

    /// The listed word of `slot`.
    fn word(&self, slot: &Slot) -> &'static str {
        let at = (slot.entry as usize).wrapping_sub(1);
        self.entries.get(at).map_or("", |&(word, _)| word)
    }

    /// [`WordTable::get`] of a word longer than 16 bytes, with key `key`: equal keys are
    /// confirmed by comparing the words.
    #[cold]
    #[inline(never)]
    fn get_long(&self, key: Key, bytes: &[u8]) -> Option<&WordInfo> {
        self.probe(key, |slot| self.word(slot).as_bytes() == bytes)
    }

    /// Walks the slots from `key`'s home to the entry with that key which `same` confirms, or
    /// to the first empty slot.
    #[inline(always)]
    fn probe(&self, key: Key, same: impl Fn(&Slot) -> bool) -> Option<&WordInfo> {
        let mask = self.slots.len() - 1;
        let mut at = key.home(self.bits);
        loop {
            let slot = self.slots.get(at)?;
            if slot.entry == 0 {
                return None;
            }
            if slot.key == key && same(slot) {
                return Some(&slot.info);
            }
            at = (at + 1) & mask;
        }
    }

    /// Whether `word` is listed.
    #[cfg(test)]
    pub(super) fn contains_key(&self, word: &str) -> bool {
        self.get(word).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_words_apart_exactly_up_to_sixteen_bytes() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "acb",
            "abcd",
            "abdc",
            "abcde",
            "abcdf",
            "abcdefg",
            "abcdefgh",
            "abcdefgi",
            "abcdefghi",
            "bbcdefghi",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "abcdefghXjklmnop",
        ];
        for (i, a) in words.iter().enumerate() {
            for (j, b) in words.iter().enumerate() {
                assert_eq!(
                    Key::of(a.as_bytes()) == Key::of(b.as_bytes()),
                    i == j,
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn long_words_with_the_same_key_are_compared_in_full() {
        // Same length, first and last eight bytes: only the middle differs.
        let entries = vec![("aaaaaaaaXbbbbbbbbb", WordInfo::default())];
        let table = WordTable::new(entries);
        assert!(table.contains_key("aaaaaaaaXbbbbbbbbb"));
        assert!(!table.contains_key("aaaaaaaaYbbbbbbbbb"));
        assert!(!table.contains_key("aaaaaaaaX"));
        assert!(!table.contains_key(""));
    }
}
