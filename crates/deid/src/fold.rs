//! Case and whitespace folding with a map back to the original bytes.
//!
//! Known-value matching and the egress gate both compare text after folding: lower case, every
//! run of whitespace reduced to one space. Each folded byte remembers the byte range of the
//! original character it came from, so a match in folded text maps back to an exact span.

/// Folded text plus, for each of its bytes, the original byte range it came from.
pub(crate) struct Folded {
    pub(crate) text: String,
    origin: Vec<(usize, usize)>,
}

impl Folded {
    /// Folds `input` as written (no escape decoding).
    pub(crate) fn plain(input: &str) -> Self {
        let mut folder = Folder::with_capacity(input.len());
        let bytes = input.as_bytes();
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            // ASCII, nearly all of clinical text, skips decoding a char.
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

    /// Folds a sequence of `(char, original_start, original_end)`.
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

    /// The original byte range covered by the folded byte range `start..end`.
    pub(crate) fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        let first = self.origin.get(start).map_or(0, |r| r.0);
        let last = end
            .checked_sub(1)
            .and_then(|i| self.origin.get(i))
            .map_or(first, |r| r.1);
        (first, last)
    }

    /// Whether the folded match `start..end` stands as its own token: a value that begins or ends
    /// with a letter or digit must not be glued to another letter or digit on that side.
    pub(crate) fn at_token_boundary(&self, start: usize, end: usize) -> bool {
        is_token_boundary(&self.text, start, end)
    }
}

/// Builds a [`Folded`] one original character at a time.
struct Folder {
    text: String,
    origin: Vec<(usize, usize)>,
    /// The original range of a whitespace run not yet written: one space, written before the
    /// next character or at the end.
    pending_space: Option<(usize, usize)>,
}

impl Folder {
    fn with_capacity(capacity: usize) -> Self {
        Folder {
            text: String::with_capacity(capacity),
            origin: Vec::with_capacity(capacity),
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
        if let Some(range) = self.pending_space.take() {
            self.text.push(' ');
            self.origin.push(range);
        }
    }

    /// One ASCII character, spelled at `start..end` in the original (one byte, or an escape).
    fn push_ascii(&mut self, byte: u8, start: usize, end: usize) {
        if (byte as char).is_whitespace() {
            self.space(start, end);
            return;
        }
        self.flush_space();
        self.text.push(byte.to_ascii_lowercase() as char);
        self.origin.push((start, end));
    }

    /// Any character, spelled at `start..end` in the original.
    fn push(&mut self, c: char, start: usize, end: usize) {
        if c.is_whitespace() {
            self.space(start, end);
            return;
        }
        self.flush_space();
        let before = self.text.len();
        fold_char(c, &mut self.text);
        let added = self.text.len() - before;
        self.origin.extend(std::iter::repeat_n((start, end), added));
    }

    fn finish(mut self) -> Folded {
        self.flush_space();
        Folded {
            text: self.text,
            origin: self.origin,
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

    #[test]
    fn values_are_trimmed_when_folded() {
        assert_eq!(fold_value("  Jane\u{a0}Roe "), "jane roe");
    }
}
