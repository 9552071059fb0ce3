//! Case and whitespace folding with a map back to the original bytes.
//!
//! Known-value matching and the egress gate both compare text after folding: lower case, every
//! run of whitespace reduced to one space. Each folded byte remembers the byte range of the
//! original character it came from, so a match in folded text maps back to an exact span.

/// Folded text plus a map from its bytes back to the original ones.
///
/// Most folded bytes stand for exactly one original byte, one after another: a letter lowered,
/// a digit, a lone space. The map records only where that stops being true (a run of spaces
/// folded to one, an escape, a character beyond ASCII, an invisible one dropped), so folding a
/// request costs a byte written per byte read rather than a range stored per byte.
pub(crate) struct Folded {
    pub(crate) text: String,
    /// The folded bytes that do not map one to one, in order (see [`Piece`]).
    pieces: Vec<Piece>,
}

/// Folded bytes `at..at + len` that all come from the original range `start..end`. The folded
/// bytes after a piece, up to the next one, map one to one onto the original bytes from `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    at: usize,
    len: usize,
    start: usize,
    end: usize,
}

impl Folded {
    /// Folds `input` as written (no escape decoding).
    pub(crate) fn plain(input: &str) -> Self {
        let mut folder = Folder::with_capacity(input.len());
        let bytes = input.as_bytes();
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            // Runs of printable ASCII, nearly all of clinical text, are copied whole.
            let run = simple_run(bytes.get(at..).unwrap_or_default(), None);
            if let Some(simple) = input.get(at..at + run).filter(|_| run > 0) {
                folder.push_run(simple, at);
                at += run;
                continue;
            }
            if byte.is_ascii() {
                folder.push_ascii(byte, at, at + 1);
                at += 1;
                continue;
            }
            let Some(c) = input[at..].chars().next() else {
                break;
            };
            let end = at + c.len_utf8();
            folder.push(c, at, end);
            at = end;
        }
        folder.finish()
    }

    /// Folds a sequence of `(char, original_start, original_end)`, one at a time (what the
    /// faster paths must agree with).
    #[cfg(test)]
    pub(crate) fn from_chars(chars: impl Iterator<Item = (char, usize, usize)>) -> Self {
        let mut folder = Folder::with_capacity(chars.size_hint().0);
        for (c, start, end) in chars {
            if c.is_ascii() {
                folder.push_ascii(c as u8, start, end);
            } else {
                folder.push(c, start, end);
            }
        }
        folder.finish()
    }

    /// The original byte range the folded byte at `at` comes from.
    fn origin(&self, at: usize) -> (usize, usize) {
        // The last piece starting at or before `at` (pieces of no length may share a start
        // with the next one; the last of them is the one that can hold `at`).
        let after = self.pieces.partition_point(|piece| piece.at <= at);
        let Some(piece) = after.checked_sub(1).and_then(|i| self.pieces.get(i)) else {
            return (at, at + 1);
        };
        if at < piece.at + piece.len {
            return (piece.start, piece.end);
        }
        let original = piece.end + (at - piece.at - piece.len);
        (original, original + 1)
    }

    /// The original byte range covered by the folded byte range `start..end`.
    pub(crate) fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        let first = self.origin(start).0;
        let last = match end.checked_sub(1) {
            Some(at) if at >= start => self.origin(at).1,
            _ => first,
        };
        (first, last)
    }

    /// Whether the folded match `start..end` stands as its own token: a value that begins or ends
    /// with a letter or digit must not be glued to another letter or digit on that side.
    pub(crate) fn at_token_boundary(&self, start: usize, end: usize) -> bool {
        is_token_boundary(&self.text, start, end)
    }
}

/// How many bytes at the start of `bytes` fold to themselves, lowered, one to one: printable
/// ASCII other than `stop`, and lone spaces between such bytes.
pub(crate) fn simple_run(bytes: &[u8], stop: Option<u8>) -> usize {
    let simple = |b: u8| b.is_ascii_graphic() && Some(b) != stop;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let lone_space = byte == b' ' && at > 0 && bytes.get(at + 1).is_some_and(|&b| simple(b));
        if !(simple(byte) || lone_space) {
            break;
        }
        at += 1;
    }
    at
}

/// Builds a [`Folded`] one original character, or one run of simple bytes, at a time.
pub(crate) struct Folder {
    text: String,
    pieces: Vec<Piece>,
    /// The original offset the next folded byte maps to when it maps one to one.
    next_original: usize,
    /// The original range of a whitespace run not yet written: one space, written before the
    /// next character or at the end.
    pending_space: Option<(usize, usize)>,
}

impl Folder {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Folder {
            text: String::with_capacity(capacity),
            pieces: Vec::new(),
            next_original: 0,
            pending_space: None,
        }
    }

    fn space(&mut self, start: usize, end: usize) {
        self.pending_space = Some(match self.pending_space {
            Some((run_start, _)) => (run_start, end),
            None => (start, end),
        });
    }

    fn flush_space(&mut self) {
        if let Some((start, end)) = self.pending_space.take() {
            let at = self.text.len();
            self.text.push(' ');
            self.mapped(at, start, end);
        }
    }

    /// Records that the folded bytes from `at` to the end of the text come from the original
    /// range `start..end`, unless that is the one-to-one continuation.
    fn mapped(&mut self, at: usize, start: usize, end: usize) {
        let len = self.text.len() - at;
        if !(len == 1 && start == self.next_original && end == start + 1) {
            self.pieces.push(Piece {
                at,
                len,
                start,
                end,
            });
        }
        self.next_original = end;
    }

    /// A run of bytes that fold to themselves, lowered (see [`simple_run`]), found at `start`
    /// in the original.
    pub(crate) fn push_run(&mut self, run: &str, start: usize) {
        self.flush_space();
        let at = self.text.len();
        self.text.push_str(run);
        if let Some(added) = self.text.get_mut(at..) {
            added.make_ascii_lowercase();
        }
        // Only the first byte can break the one-to-one map; the rest continue it.
        if start != self.next_original {
            self.pieces.push(Piece {
                at,
                len: 1,
                start,
                end: start + 1,
            });
        }
        self.next_original = start + run.len();
    }

    /// One ASCII character, spelled at `start..end` in the original (one byte, or an escape).
    pub(crate) fn push_ascii(&mut self, byte: u8, start: usize, end: usize) {
        if byte.is_ascii_whitespace() || byte == 0x0B {
            self.space(start, end);
            return;
        }
        self.flush_space();
        let at = self.text.len();
        self.text.push(byte.to_ascii_lowercase() as char);
        // One byte spelled as one byte where the last one ended: nothing to record.
        if start != self.next_original || end != start + 1 {
            self.mapped(at, start, end);
        } else {
            self.next_original = end;
        }
    }

    /// Any character, spelled at `start..end` in the original.
    pub(crate) fn push(&mut self, c: char, start: usize, end: usize) {
        if c.is_whitespace() {
            self.space(start, end);
            return;
        }
        self.flush_space();
        let at = self.text.len();
        fold_char(c, &mut self.text);
        self.mapped(at, start, end);
    }

    pub(crate) fn finish(mut self) -> Folded {
        self.flush_space();
        Folded {
            text: self.text,
            pieces: self.pieces,
        }
    }
}

/// Characters that are invisible in print and so must not separate what a reader sees as one
/// word or number: zero-width spaces and joiners, the word joiner, the byte-order mark and the
/// soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Dashes and hyphens of every kind read as `-`: a number written `999–68–5158` (en dashes)
/// is the same number as `999-68-5158`.
pub(crate) fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// Appends what one character folds to: nothing if invisible, `-` for any dash, otherwise its
/// lower case with accents removed (`Bayamón` and `BAYAMON` compare equal).
fn fold_char(c: char, out: &mut String) {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;

    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if is_dash(c) {
        out.push('-');
    } else if !is_invisible(c) {
        std::iter::once(c)
            .nfd()
            .filter(|m| !is_combining_mark(*m))
            .flat_map(char::to_lowercase)
            .for_each(|lower| out.push(lower));
    }
}

/// Folds a value to compare: lower case, whitespace runs reduced to one space, trimmed.
pub(crate) fn fold_value(value: &str) -> String {
    let folded = Folded::plain(value.trim());
    folded.text
}

/// Whether `text[start..end]` is not glued to letters or digits on either side.
pub(crate) fn is_token_boundary(text: &str, start: usize, end: usize) -> bool {
    let inner = &text[start..end];
    let first_is_word = inner.chars().next().is_some_and(char::is_alphanumeric);
    let last_is_word = inner.chars().next_back().is_some_and(char::is_alphanumeric);
    let before_is_word = text[..start]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric);
    let after_is_word = text[end..]
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric);
    !(first_is_word && before_is_word || last_is_word && after_is_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_lowercases_and_collapses_whitespace_runs() {
        let folded = Folded::plain("Jane \n\t ROE");
        assert_eq!(folded.text, "jane roe");
        assert_eq!(folded.original_range(5, 8), (8, 11));
        assert_eq!(folded.original_range(0, 8), (0, 11));
    }

    #[test]
    fn a_folded_space_maps_back_to_the_whole_whitespace_run() {
        let folded = Folded::plain("a  \n b");
        assert_eq!(folded.original_range(1, 2), (1, 5));
    }

    #[test]
    fn multibyte_characters_map_back_to_their_full_width() {
        let folded = Folded::plain("Émile Zoë");
        assert_eq!(folded.text, "emile zoe");
        let start = folded.text.find("zoe").unwrap_or_default();
        assert_eq!(folded.original_range(start, folded.text.len()), (7, 11));
    }

    #[test]
    fn token_boundaries_refuse_values_glued_to_letters_or_digits() {
        assert!(!is_token_boundary("plan", 2, 4));
        assert!(is_token_boundary("an apple", 0, 2));
        assert!(!is_token_boundary("x12345", 1, 6));
        assert!(is_token_boundary("(12345)", 1, 6));
    }

    #[test]
    fn dashes_accents_and_invisible_characters_fold_away() {
        assert_eq!(fold_value("999\u{2013}68\u{2011}5158"), "999-68-5158");
        assert_eq!(fold_value("Bayam\u{00F3}n"), "bayamon");
        assert_eq!(fold_value("Ro\u{200B}sa"), "rosa");
    }

    /// The map as the folder once stored it: the original range of every folded byte.
    fn origins_one_by_one(chars: &[(char, usize, usize)]) -> Vec<(usize, usize)> {
        let mut origins = Vec::new();
        let mut pending: Option<(usize, usize)> = None;
        for &(c, start, end) in chars {
            if c.is_whitespace() {
                pending = Some(pending.map_or((start, end), |(run, _)| (run, end)));
                continue;
            }
            origins.extend(pending.take());
            let mut folded = String::new();
            fold_char(c, &mut folded);
            origins.extend(std::iter::repeat_n((start, end), folded.len()));
        }
        origins.extend(pending);
        origins
    }

    fn chars_of(text: &str) -> Vec<(char, usize, usize)> {
        text.char_indices()
            .map(|(at, c)| (c, at, at + c.len_utf8()))
            .collect()
    }

    #[test]
    fn the_sparse_map_gives_every_byte_the_range_it_came_from() {
        let texts = [
            "Jane Roe",
            "  lead and trail \t ",
            "a\u{200B}b  \n\t c\u{00AD}",
            "Ærøskøbing STRAßE 5 İzmir Ǆ ﬁ",
            "",
            "\u{FEFF}",
            "x \u{a0}\u{2003} y\u{2013}z",
        ];
        for text in texts {
            let chars = chars_of(text);
            let expected = origins_one_by_one(&chars);
            for folded in [
                Folded::plain(text),
                Folded::from_chars(chars.iter().copied()),
            ] {
                assert_eq!(folded.text.len(), expected.len());
                for (at, &range) in expected.iter().enumerate() {
                    assert_eq!(folded.origin(at), range, "byte {at} of a fixture");
                }
            }
        }
        // Escapes: one folded byte from several original ones, then one to one again.
        let escaped = [
            ('a', 0, 1),
            ('\n', 1, 3),
            ('b', 3, 4),
            ('"', 4, 6),
            ('c', 6, 7),
        ];
        let folded = Folded::from_chars(escaped.iter().copied());
        assert_eq!(folded.text, "a b\"c");
        let expected = origins_one_by_one(&escaped);
        for (at, &range) in expected.iter().enumerate() {
            assert_eq!(folded.origin(at), range);
        }
        assert_eq!(folded.original_range(2, 5), (3, 7));
    }

    #[test]
    fn values_are_trimmed_when_folded() {
        assert_eq!(fold_value("  Jane\u{a0}Roe "), "jane roe");
    }
}
