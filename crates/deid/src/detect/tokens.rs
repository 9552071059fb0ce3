//! Splitting text into words for the dictionary and context rules.

pub(crate) mod room;

/// The letter case pattern of a word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// First letter upper case, the rest not all upper case: `Martha`, `McDonald`.
    Capitalized,
    /// Every letter upper case: `COLLINS`, or a single capital `J`.
    Upper,
    /// Every letter lower case.
    Lower,
    /// Anything else: `iPhone`.
    Mixed,
}

/// One word: letters with inner apostrophes or hyphens, possessive `'s` split off.
#[derive(Clone, Debug)]
pub(crate) struct Token<'t> {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// The word in lower case: borrowed from the text when it already is, else from the
    /// buffer [`tokenize`] was given.
    pub(crate) lower: &'t str,
    pub(crate) shape: Shape,
    /// The word was followed by `'s` or a bare `'` (`Parkinson's`, `Graves'`).
    pub(crate) possessive: bool,
}

impl Token<'_> {
    /// A single capital letter, e.g. the `M` of `Jane M Roe` or the `Á` of `Agla Á Stef`.
    pub(crate) fn is_initial(&self) -> bool {
        self.shape == Shape::Upper && self.lower.chars().nth(1).is_none()
    }
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | '-')
}

fn shape_of(word: &str) -> Shape {
    let mut chars = word.chars().filter(|c| c.is_alphabetic());
    let Some(first) = chars.next() else {
        return Shape::Mixed;
    };
    let (mut rest_upper, mut rest_lower) = (true, true);
    for c in chars {
        rest_upper &= c.is_uppercase();
        rest_lower &= c.is_lowercase();
    }
    match (first.is_uppercase(), first.is_lowercase()) {
        (true, _) if rest_upper => Shape::Upper,
        (true, _) => Shape::Capitalized,
        (_, true) if rest_lower => Shape::Lower,
        _ => Shape::Mixed,
    }
}

/// Appends `word` (`ascii` when it is all ASCII) in lower case to `buffer` and returns where
/// it lies there, or `None` (leaving the buffer as it was) when the word already is lower case.
fn push_lower(word: &str, ascii: bool, buffer: &mut String) -> Option<(usize, usize)> {
    let from = buffer.len();
    if ascii {
        if !word.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        buffer.push_str(word);
        if let Some(added) = buffer.get_mut(from..) {
            added.make_ascii_lowercase();
        }
    } else {
        buffer.push_str(&word.to_lowercase());
        if buffer[from..] == *word {
            buffer.truncate(from);
            return None;
        }
    }
    Some((from, buffer.len()))
}

/// The character at byte offset `at` of `text` (a char boundary) and its length in bytes,
/// read without decoding when it is ASCII.
fn char_at(text: &str, at: usize) -> Option<(char, usize)> {
    match text.as_bytes().get(at) {
        Some(&byte) if byte.is_ascii() => Some((char::from(byte), 1)),
        Some(_) => text.get(at..)?.chars().next().map(|c| (c, c.len_utf8())),
        None => None,
    }
}

/// Whether the character at byte offset `at` of `text` is a letter; ASCII bytes are answered
/// without decoding.
fn letter_at(text: &str, at: usize) -> bool {
    match text.as_bytes().get(at) {
        Some(byte) if byte.is_ascii() => byte.is_ascii_alphabetic(),
        Some(_) => char_at(text, at).is_some_and(|(c, _)| c.is_alphabetic()),
        None => false,
    }
}

/// Splits `text` into word tokens, whose lower-case forms borrow `lowered`.
///
/// Almost every text of clinical prose is all ASCII: then the whole text is lowered into
/// `lowered` at once (a pass the compiler vectorises) and every token borrows its stretch of
/// it, with no copy per word and no fix-up after the scan (see [`tokenize_ascii`]). Otherwise
/// the lower-case forms of words that are not lower case already are written one after another
/// into `lowered` (one buffer rather than a string per word). Either way letters and the bytes
/// between words are read without decoding; only bytes beyond ASCII are decoded as characters.
pub(crate) fn tokenize<'t>(text: &'t str, lowered: &'t mut String) -> Vec<Token<'t>> {
    if text.is_ascii() {
        let from = lowered.len();
        lowered.push_str(text);
        if let Some(added) = lowered.get_mut(from..) {
            added.make_ascii_lowercase();
        }
        let lowered: &'t String = lowered;
        return tokenize_ascii(text, lowered.get(from..).unwrap_or_default());
    }
    // Clinical prose averages about one word in seven bytes; the guess saves regrowing.
    let mut tokens = room::tokens();
    tokens.reserve(text.len() / 6 + 1);
    // Tokens whose lower-case form is in `lowered`, with where it lies there: sized as
    // `tokens`, since clinical notes capitalise many words (headings, names, drugs) and
    // regrowing from empty cost more than the room.
    let mut owned: Vec<(usize, (usize, usize))> = Vec::with_capacity(tokens.capacity());
    // The lower-case forms never outgrow the text: one allocation instead of regrowing.
    lowered.reserve(text.len());
    let bytes = text.as_bytes();
    let mut at = 0;
    // Most of what lies between words is ASCII: skip it without decoding.
    let word_or_beyond = |b: &u8| CLASS[usize::from(*b)] != 0;
    while let Some(skip) = (bytes.get(at..)).and_then(|rest| rest.iter().position(word_or_beyond)) {
        at += skip;
        let start = at;
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        if byte.is_ascii() {
            at += 1;
        } else {
            let Some((c, len)) = char_at(text, at) else {
                break;
            };
            at += len;
            if !c.is_alphabetic() {
                continue;
            }
        }
        // Whether every byte of the word so far is ASCII, and the letter case of its ASCII
        // letters after the first, read while the word is scanned.
        let mut ascii = byte.is_ascii();
        let mut case = LetterCase::default();
        loop {
            // Most words are ASCII letters: skip them a byte at a time.
            at += case.read_letters(bytes.get(at..).unwrap_or_default());
            let Some(&next) = bytes.get(at) else {
                break;
            };
            if next.is_ascii() {
                // An ASCII joiner stays in the word only when a letter follows it.
                if matches!(next, b'\'' | b'-') && letter_at(text, at + 1) {
                    at += 1;
                    continue;
                }
                break;
            }
            let Some((c, len)) = char_at(text, at) else {
                break;
            };
            if c.is_alphabetic() || (is_joiner(c) && letter_at(text, at + len)) {
                ascii = false;
                at += len;
            } else {
                break;
            }
        }
        let (token, lower) = if ascii {
            make_ascii_token(text, start, at, case.shape(byte), lowered)
        } else {
            make_token(text, start, at, lowered)
        };
        if let Some(range) = lower {
            owned.push((tokens.len(), range));
        }
        tokens.push(token);
    }
    let lowered: &'t String = lowered;
    for (index, (from, to)) in owned {
        if let (Some(token), Some(lower)) = (tokens.get_mut(index), lowered.get(from..to)) {
            token.lower = lower;
        }
    }
    tokens
}

/// [`CLASS`] of a lower-case ASCII letter.
const LOWER: u8 = 1;
/// [`CLASS`] of an upper-case ASCII letter.
const UPPER: u8 = 2;
/// [`CLASS`] of a byte beyond ASCII (part of a character that must be decoded).
const BEYOND: u8 = 4;

/// The class of every byte, so that the tokenizer's inner loops ask one table lookup per byte:
/// 0 for ASCII that is no letter (what lies between words, and joiners).
static CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b'a'..=b'z' => LOWER,
            b'A'..=b'Z' => UPPER,
            0x80.. => BEYOND,
            _ => 0,
        };
        byte += 1;
    }
    table
};

/// The letter case of the ASCII letters of a word after its first, gathered as it is scanned
/// so that its [`Shape`] needs no second pass over it.
#[derive(Clone, Copy, Default)]
struct LetterCase {
    /// Some letter is lower case.
    lower: bool,
    /// Some letter is upper case.
    upper: bool,
}

impl LetterCase {
    /// Reads the ASCII letters at the start of `bytes` and returns how many there are.
    ///
    /// Eight bytes at a time while eight remain (see [`ascii_letters`]): the inner loop of the
    /// tokenizer, run over every letter of a text.
    #[inline]
    fn read_letters(&mut self, bytes: &[u8]) -> usize {
        let mut count = 0;
        while let Some(chunk) = bytes.get(count..count + 8) {
            let word = chunk.try_into().map_or(0, u64::from_le_bytes);
            let letters = ascii_letters(word);
            // The letters before the first byte that is none: their bit 0x20 tells their case.
            let (run, case_bits) = if letters == HIGH_BITS {
                (8, CASE_BITS)
            } else {
                let run = ((!letters & HIGH_BITS).trailing_zeros() / 8) as usize;
                (run, CASE_BITS & ((1u64 << (8 * run)) - 1))
            };
            self.lower |= word & case_bits != 0;
            self.upper |= !word & case_bits != 0;
            count += run;
            if run < 8 {
                return count;
            }
        }
        let mut seen = 0;
        for &byte in bytes.get(count..).unwrap_or_default() {
            let class = CLASS[usize::from(byte)];
            if class & (LOWER | UPPER) == 0 {
                break;
            }
            seen |= class;
            count += 1;
        }
        self.lower |= seen & LOWER != 0;
        self.upper |= seen & UPPER != 0;
        count
    }

    /// The shape of a word that starts with the ASCII letter `first` (as [`ascii_shape`]).
    fn shape(self, first: u8) -> Shape {
        match (first.is_ascii_uppercase(), self.lower, self.upper) {
            (true, false, _) => Shape::Upper,
            (true, true, _) => Shape::Capitalized,
            (false, _, false) => Shape::Lower,
            (false, _, true) => Shape::Mixed,
        }
    }
}

/// [`tokenize`] of an all-ASCII `text`, whose lower-case form is `lower` (byte for byte, so a
/// word's lower-case form lies at the same offsets there).
///
/// One pass, one byte at a time through [`CLASS`]: in ASCII text only letters have a class, so
/// the class both ends a word and gathers the case of its letters. A joiner (`'`, `-`) stays in
/// the word only when a letter follows it, so a word that stops at an apostrophe is followed
/// by a bare one: that is the possessive `Graves'` ([`ascii_word`] asks the same of the byte
/// after the word, with no letter after it, as that is how the word ended).
fn tokenize_ascii<'t>(text: &'t str, lower: &'t str) -> Vec<Token<'t>> {
    // Clinical prose averages about one word in seven bytes; the guess saves regrowing. The
    // room is kept from the text before (see [`room`]).
    let mut tokens = room::tokens();
    tokens.reserve(text.len() / 6 + 1);
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&first) = bytes.get(at) {
        if CLASS[usize::from(first)] == 0 {
            at += 1;
            continue;
        }
        let start = at;
        at += 1;
        // The classes of the letters after the first, or-ed together.
        let mut seen = 0;
        loop {
            // `at` is past a letter or a joiner, so at most the text's length.
            let rest = &bytes[at..];
            at += rest
                .iter()
                .position(|&byte| {
                    let class = CLASS[usize::from(byte)];
                    seen |= class;
                    class == 0
                })
                .unwrap_or(rest.len());
            if matches!(bytes.get(at), Some(b'\'' | b'-'))
                && bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic)
            {
                at += 1;
                continue;
            }
            break;
        }
        // `'s` or `'S` ends a possessive; the word before it keeps at least two bytes. The
        // suffix's letter is no part of the shape: the word is read again without it. The
        // two bytes are read by offset, without slicing the word out first.
        let (end, shape, possessive) =
            if at - start > 3 && matches!(bytes.get(at - 2..at), Some([b'\'', b's' | b'S'])) {
                let end = at - 2;
                (
                    end,
                    ascii_shape(text.get(start..end).unwrap_or_default()),
                    true,
                )
            } else {
                let case = LetterCase {
                    lower: seen & LOWER != 0,
                    upper: seen & UPPER != 0,
                };
                (at, case.shape(first), bytes.get(at) == Some(&b'\''))
            };
        tokens.push(Token {
            start,
            end,
            // `lower` is the text lowered byte for byte, so it is as long as the text and all
            // ASCII: every offset is a char boundary and `end` is within it. Indexing asks
            // that once; `get` asked it again as an `Option` and cost a sixth of the tokenizer.
            lower: &lower[start..end],
            shape,
            possessive,
        });
    }
    tokens
}

/// The high bit of every byte of a `u64`.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
/// Bit 0x20 of every byte: clear in an upper-case ASCII letter, set in a lower-case one.
const CASE_BITS: u64 = 0x2020_2020_2020_2020;
/// One in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `word` (eight bytes, little-endian) that is an ASCII letter,
/// worked out for all eight at once: a letter with bit 0x20 set lies in `a..=z`. No sum
/// carries into the next byte, since every byte is below 0x80 after the high bit is cleared.
#[inline]
fn ascii_letters(word: u64) -> u64 {
    let folded = (word | CASE_BITS) & !HIGH_BITS;
    let from_a = folded.wrapping_add(ONES * (0x80 - u64::from(b'a')));
    let past_z = folded.wrapping_add(ONES * (0x80 - u64::from(b'z') - 1));
    from_a & !past_z & !word & HIGH_BITS
}

/// [`make_token`] for a word of ASCII letters and joiners, read as bytes; `shape` is the
/// word's shape, possessive suffix included.
fn make_ascii_token<'t>(
    text: &'t str,
    start: usize,
    end: usize,
    shape: Shape,
    lowered: &mut String,
) -> (Token<'t>, Option<(usize, usize)>) {
    let (word_end, shape, possessive) = ascii_word(text, start, end, shape);
    let word = &text[start..word_end];
    // An ASCII word holds an upper-case letter exactly when it is not all lower case.
    let lower = if shape == Shape::Lower {
        None
    } else {
        let from = lowered.len();
        lowered.push_str(word);
        if let Some(added) = lowered.get_mut(from..) {
            added.make_ascii_lowercase();
        }
        Some((from, lowered.len()))
    };
    let token = Token {
        start,
        end: word_end,
        lower: word,
        shape,
        possessive,
    };
    (token, lower)
}

/// Where the ASCII word from `start` to `end` ends once a possessive suffix is split off, its
/// shape without the suffix (`shape` is the shape with it) and whether it is possessive.
fn ascii_word(text: &str, start: usize, end: usize, shape: Shape) -> (usize, Shape, bool) {
    let bytes = text.as_bytes();
    let word = bytes.get(start..end).unwrap_or_default();
    // `'s` or `'S` ends a possessive; the word before it keeps at least two bytes.
    let suffixed = word.len() > 3 && matches!(&word[word.len() - 2..], [b'\'', b's' | b'S']);
    let (word_end, possessive) = if suffixed {
        (end - 2, true)
    } else {
        // A bare apostrophe after the word (`Graves'`) when no letter follows it.
        let quote_len = match bytes.get(end..) {
            Some([b'\'', ..]) => 1,
            Some([0xE2, 0x80, 0x99, ..]) => 3,
            _ => 0,
        };
        (end, quote_len > 0 && !letter_at(text, end + quote_len))
    };
    // The suffix's letter is no part of the shape: read it again without it.
    let shape = if suffixed {
        ascii_shape(text.get(start..word_end).unwrap_or_default())
    } else {
        shape
    };
    (word_end, shape, possessive)
}

/// The token from `start` to `end`; its lower-case form is the word itself, or, when the
/// second value says where, a stretch of `lowered`.
fn make_token<'t>(
    text: &'t str,
    start: usize,
    end: usize,
    lowered: &mut String,
) -> (Token<'t>, Option<(usize, usize)>) {
    let word = &text[start..end];
    let mut word_end = end;
    let mut possessive = false;
    // Every possessive suffix ends in `s` or `S`.
    let suffixes = if word.ends_with(['s', 'S']) {
        &["'s", "’s", "'S"][..]
    } else {
        &[]
    };
    for suffix in suffixes {
        if word.len() > suffix.len() + 1 && word.ends_with(suffix) {
            word_end = end - suffix.len();
            possessive = true;
            break;
        }
    }
    if !possessive && text[end..].starts_with(['\'', '’']) {
        possessive = !text[end..].chars().nth(1).is_some_and(char::is_alphabetic);
    }
    let word = &text[start..word_end];
    let ascii = word.is_ascii();
    let shape = if ascii {
        ascii_shape(word)
    } else {
        shape_of(word)
    };
    let token = Token {
        start,
        end: word_end,
        lower: word,
        shape,
        possessive,
    };
    (token, push_lower(word, ascii, lowered))
}

/// [`shape_of`] of an ASCII word.
fn ascii_shape(word: &str) -> Shape {
    let mut letters = word.bytes().filter(u8::is_ascii_alphabetic);
    let Some(first) = letters.next() else {
        return Shape::Mixed;
    };
    let (mut rest_upper, mut rest_lower) = (true, true);
    for letter in letters {
        rest_upper &= letter.is_ascii_uppercase();
        rest_lower &= letter.is_ascii_lowercase();
    }
    match (first.is_ascii_uppercase(), rest_upper, rest_lower) {
        (true, true, _) => Shape::Upper,
        (true, false, _) => Shape::Capitalized,
        (false, _, true) => Shape::Lower,
        (false, _, false) => Shape::Mixed,
    }
}

/// The text between two tokens (or from the start of text), used to read punctuation.
pub(crate) fn gap<'t>(text: &'t str, tokens: &[Token<'_>], index: usize) -> &'t str {
    let from = index.checked_sub(1).map_or(0, |prev| tokens[prev].end);
    let to = tokens.get(index).map_or(text.len(), |t| t.start);
    text.get(from..to).unwrap_or("")
}

/// Whether the token at `index` starts a sentence, a line or the text.
pub(crate) fn starts_sentence(text: &str, tokens: &[Token<'_>], index: usize) -> bool {
    if index == 0 {
        return true;
    }
    let between = gap(text, tokens, index);
    between.contains(['.', '!', '?', '\n', ':', ';', '"', '>', '|', '(', '['])
        && !(between.trim() == "." && tokens[index - 1].is_initial())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut lowered = String::new();
        tokenize(text, &mut lowered)
            .into_iter()
            .map(|t| text[t.start..t.end].to_owned())
            .collect()
    }

    #[test]
    fn possessives_are_split_off_and_remembered() {
        let mut lowered = String::new();
        let tokens = tokenize("Parkinson's and Graves' disease", &mut lowered);
        assert_eq!(tokens[0].lower, "parkinson");
        assert!(tokens[0].possessive);
        assert_eq!(tokens[2].lower, "graves");
        assert!(tokens[2].possessive);
    }

    #[test]
    fn inner_apostrophes_and_hyphens_stay_in_the_word() {
        assert_eq!(
            words("O'Brien met Creutzfeldt-Jakob - no"),
            ["O'Brien", "met", "Creutzfeldt-Jakob", "no"]
        );
    }

    #[test]
    fn shapes_are_read_from_letter_case() {
        let mut lowered = String::new();
        let tokens = tokenize("Martha COLLINS hi iPhone J McDonald", &mut lowered);
        let shapes: Vec<Shape> = tokens.iter().map(|t| t.shape).collect();
        assert_eq!(
            shapes,
            [
                Shape::Capitalized,
                Shape::Upper,
                Shape::Lower,
                Shape::Mixed,
                Shape::Upper,
                Shape::Capitalized
            ]
        );
        assert!(tokens[4].is_initial());
    }

    #[test]
    fn sentence_starts_follow_stops_and_line_breaks_but_not_initials() {
        let text = "Seen. Then\nNow J. Roe";
        let mut lowered = String::new();
        let tokens = tokenize(text, &mut lowered);
        let starts: Vec<bool> = (0..tokens.len())
            .map(|i| starts_sentence(text, &tokens, i))
            .collect();
        assert_eq!(starts, [true, true, true, false, false]);
    }

    /// A small deterministic generator of test texts.
    fn random_texts(alphabet: &[&str], count: usize) -> Vec<String> {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let len = (state >> 58) as usize;
                (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1);
                        alphabet[(state >> 33) as usize % alphabet.len()]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn letters_read_eight_at_a_time_as_one_at_a_time() {
        let alphabet = [
            "a", "z", "A", "Z", "m", "Q", "@", "[", "`", "{", "'", "-", " ", "\n", "0", "é",
            "\u{7f}",
        ];
        for text in random_texts(&alphabet, 20_000) {
            let bytes = text.as_bytes();
            let mut fast = LetterCase::default();
            let count = fast.read_letters(bytes);
            let slow_count = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let letters = &bytes[..slow_count];
            assert_eq!(count, slow_count, "{text:?}");
            assert_eq!(
                fast.lower,
                letters.iter().any(u8::is_ascii_lowercase),
                "{text:?}"
            );
            assert_eq!(
                fast.upper,
                letters.iter().any(u8::is_ascii_uppercase),
                "{text:?}"
            );
        }
    }

    #[test]
    fn ascii_texts_tokenize_as_texts_beyond_ascii() {
        let alphabet = [
            "a", "b", "S", "s", "Mc", "ONE", "x", "'", "'s", "'S", "-", " ", ". ", "\n", "3",
        ];
        for text in random_texts(&alphabet, 5_000) {
            let (mut lowered, mut wide_lowered) = (String::new(), String::new());
            let tokens = tokenize(&text, &mut lowered);
            // A word beyond ASCII at the end sends the whole text down the general path.
            let wide = format!("{text} \u{e9}");
            let mut wide_tokens = tokenize(&wide, &mut wide_lowered);
            assert_eq!(wide_tokens.pop().map(|t| t.start), Some(text.len() + 1));
            let facts =
                |t: &Token<'_>| (t.start, t.end, t.lower.to_string(), t.shape, t.possessive);
            assert_eq!(
                tokens.iter().map(facts).collect::<Vec<_>>(),
                wide_tokens.iter().map(facts).collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }
}
