//! The egress leak check: the last look at outbound bytes before they leave the building.
//!
//! The gate is deliberately independent of detection. It knows only the list of values that are
//! PHI for this request and looks for each of them in the bytes about to be sent, after folding
//! case, runs of whitespace and JSON string escapes. It fails closed: bytes that are not UTF-8
//! count as a leak, because they cannot be checked.

use std::fmt;

use aho_corasick::AhoCorasick;

use crate::fold::{Folded, Folder, fold_value, simple_run};

/// A found leak: where in the outbound bytes, and which value (by its index in the list given to
/// [`EgressGate::new`]). Carries no part of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leak {
    /// Byte offset in the outbound bytes where the value starts (for non-UTF-8 input: the offset
    /// of the first invalid byte).
    pub offset: usize,
    /// Index of the leaked value in the list the gate was built from; `usize::MAX` when the
    /// outbound bytes could not be checked at all.
    pub value_index: usize,
}

impl Leak {
    /// Whether this "leak" means the bytes were not UTF-8 and so could not be checked.
    pub fn is_unreadable(&self) -> bool {
        self.value_index == usize::MAX
    }
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unreadable() {
            write!(
                f,
                "outbound bytes are not UTF-8 (at byte {}); refusing to send",
                self.offset
            )
        } else {
            write!(
                f,
                "known PHI value #{} found in outbound bytes at byte {}",
                self.value_index, self.offset
            )
        }
    }
}

impl std::error::Error for Leak {}

mod numbers;

/// Checks outbound bytes for any of a fixed list of known PHI values.
pub struct EgressGate {
    matcher: Option<AhoCorasick>,
    /// Values that are codes (numbers, letter-and-digit ids), compared character for character.
    numbers: numbers::Codes,
    /// For each automaton pattern, the index of the value it came from.
    pattern_value: Vec<usize>,
}

impl fmt::Debug for EgressGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressGate")
            .field("values", &self.pattern_value.len())
            .finish()
    }
}

impl EgressGate {
    /// Builds the gate for `values`. Values that are empty after trimming are skipped (they can
    /// never match) but keep their index, so `Leak::value_index` points into the caller's list.
    pub fn new<'v>(values: impl IntoIterator<Item = &'v str>) -> Self {
        let mut patterns = Vec::new();
        let mut pattern_value = Vec::new();
        let mut digit_values = Vec::new();
        for (index, value) in values.into_iter().enumerate() {
            digit_values.extend(numbers::code_value(value, index));
            let folded = fold_value(value);
            if !folded.is_empty() {
                patterns.push(folded);
                pattern_value.push(index);
            }
        }
        // Building only fails on absurd pattern sizes; the gate then refuses everything below.
        let matcher = crate::automaton::per_request(&patterns);
        EgressGate {
            matcher,
            numbers: numbers::Codes::new(digit_values),
            pattern_value,
        }
    }

    /// How many non-empty values the gate looks for.
    pub fn len(&self) -> usize {
        self.pattern_value.len()
    }

    /// Whether the gate has no value to look for (every check then passes if the bytes are UTF-8).
    pub fn is_empty(&self) -> bool {
        self.pattern_value.is_empty()
    }

    /// Returns the first leak found in `outbound`, or `Ok(())` when none of the values is there.
    pub fn check(&self, outbound: &[u8]) -> Result<(), Leak> {
        let text = std::str::from_utf8(outbound).map_err(|error| Leak {
            offset: error.valid_up_to(),
            value_index: usize::MAX,
        })?;
        if self.pattern_value.is_empty() {
            return Ok(());
        }
        let Some(matcher) = &self.matcher else {
            return Err(Leak {
                offset: 0,
                value_index: usize::MAX,
            });
        };

        let folded = fold_json(text);
        let mut first: Option<Leak> = None;
        for found in matcher.find_overlapping_iter(&folded.text) {
            if !folded.at_token_boundary(found.start(), found.end()) {
                continue;
            }
            let (offset, _) = folded.original_range(found.start(), found.end());
            let value_index = self.pattern_value[found.pattern().as_usize()];
            if first.is_none_or(|leak| offset < leak.offset) {
                first = Some(Leak {
                    offset,
                    value_index,
                });
            }
        }
        if let Some((offset, value_index)) = numbers::first_match_json(text, &self.numbers)
            && first.is_none_or(|leak| offset < leak.offset)
        {
            first = Some(Leak {
                offset,
                value_index,
            });
        }
        first.map_or(Ok(()), Err)
    }
}

/// Folds `text` with its JSON string escapes decoded, copying runs of simple bytes whole.
fn fold_json(text: &str) -> Folded {
    let mut folder = Folder::with_capacity(text.len());
    let mut chars = JsonUnescaped::new(text);
    loop {
        let at = chars.pos;
        let run = simple_run(text.as_bytes().get(at..).unwrap_or_default(), Some(b'\\'));
        if let Some(simple) = text.get(at..at + run).filter(|_| run > 0) {
            folder.push_run(simple, at);
            chars.pos += run;
            continue;
        }
        match chars.next() {
            Some((c, start, end)) if c.is_ascii() => folder.push_ascii(c as u8, start, end),
            Some((c, start, end)) => folder.push(c, start, end),
            None => break,
        }
    }
    folder.finish()
}

/// Iterates over the characters of `text` with JSON string escapes (`\n`, `\"`, `\u00e9`,
/// surrogate pairs) decoded, each with the byte range of its original spelling.
struct JsonUnescaped<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> JsonUnescaped<'t> {
    fn new(text: &'t str) -> Self {
        JsonUnescaped { text, pos: 0 }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    /// Decodes the escape starting at `self.pos` (a backslash); returns the char and its length.
    fn escape(&self) -> Option<(char, usize)> {
        let next = *self.text.as_bytes().get(self.pos + 1)?;
        let simple = match next {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            b'/' => Some('/'),
            _ => None,
        };
        if let Some(c) = simple {
            return Some((c, 2));
        }
        if next != b'u' {
            return None;
        }
        let high = self.hex4(self.pos + 2)?;
        if (0xD800..0xDC00).contains(&high) {
            let rest = self.text.get(self.pos + 6..self.pos + 8)?;
            let low = if rest == "\\u" {
                self.hex4(self.pos + 8)?
            } else {
                return None;
            };
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            return char::from_u32(code).map(|c| (c, 12));
        }
        char::from_u32(high).map(|c| (c, 6))
    }
}

impl JsonUnescaped<'_> {
    /// The character at `start` when it is a backslash or beyond ASCII: kept out of `next` so
    /// that the common case inlines into its callers.
    #[inline(never)]
    fn decode(&mut self, start: usize) -> Option<(char, usize, usize)> {
        let c = self.text.get(start..)?.chars().next()?;
        if c == '\\'
            && let Some((decoded, len)) = self.escape()
        {
            self.pos += len;
            return Some((decoded, start, start + len));
        }
        self.pos += c.len_utf8();
        Some((c, start, self.pos))
    }
}

impl Iterator for JsonUnescaped<'_> {
    type Item = (char, usize, usize);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let byte = *self.text.as_bytes().get(start)?;
        // ASCII other than a backslash, nearly every byte of a request, needs no decoding.
        if byte.is_ascii() && byte != b'\\' {
            self.pos += 1;
            return Some((byte as char, start, self.pos));
        }
        self.decode(start)
    }
}

#[cfg(test)]
mod tests;
