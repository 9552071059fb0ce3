//! The gate's second look, for identifiers that are codes: numbers (SSNs, phone numbers, record
//! numbers, dates) and letter-and-digit ids (licences, passports, UUIDs). A code written with
//! other separators, or none, is the same code: `999 68 5158`, `999–68–5158` (en dashes),
//! `999_68_5158`, `(555) 201-7788` and `4ACB6705 25A7…` are all caught. Outbound text is read as
//! runs of letters and digits, and a code must fill whole groups of a run, so `617-555-0199`
//! is not found inside the different number `1617-555-01999`.

use std::collections::HashSet;

use aho_corasick::AhoCorasick;

use crate::fold::is_dash;

/// At most this many separator characters may stand between two parts of one run
/// (`) ` in `(555) 201`).
const MAX_GAP: usize = 2;

/// Characters that separate the groups of one written code.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || is_dash(c) || matches!(c, '.' | '/' | '(' | ')' | '_' | ':')
}

/// Characters a reader does not see at all; they neither separate nor count.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// A value seen as its letters and digits alone, lower case.
pub(super) struct CodeValue {
    pub code: String,
    pub index: usize,
}

/// The code of `value` when it is one: at least six digits making up three quarters of its
/// letters and digits (`999-68-5158`, `S99989904`), or at least eight letters and digits with
/// at least four digits and a letter (`X38727102X`, a UUID). Names and words are not codes.
pub(super) fn code_value(value: &str, index: usize) -> Option<CodeValue> {
    let code: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let digits = code.bytes().filter(u8::is_ascii_digit).count();
    let numeric = digits >= 6 && digits * 4 >= code.len() * 3;
    let mixed = code.len() >= 8 && digits >= 4 && digits < code.len();
    (numeric || mixed).then_some(CodeValue { code, index })
}

/// A run of letters and digits in the outbound text, where it starts in the original bytes,
/// and where it splits into groups (offsets into `code`): at separators, and where letters
/// meet digits (`ssn999685158` splits after `ssn`).
struct Run {
    code: Vec<u8>,
    start: usize,
    groups: Vec<usize>,
    /// How many of `code`'s bytes are digits.
    digits: usize,
}

/// At most this many codes are compared with a run one by one rather than through an
/// automaton: building one costs more than comparing a handful of codes with the few runs
/// that can hold one (measured on the gateway's 8 KB request).
const FEW_CODES: usize = 16;

/// How the codes are looked for in a run.
enum Search {
    /// Each code compared with each place in the run: every occurrence, as an automaton
    /// reports them.
    Few(Vec<String>),
    /// Every code value in one automaton, so a run is read once whatever the number of values
    /// (comparing each run with each value made the gate quadratic in a crowded request).
    Many(AhoCorasick),
    /// The automaton could not be built: every run fails closed.
    Failed,
}

/// The code values of the gate's list, prepared for reading runs.
pub(super) struct Codes {
    search: Search,
    /// For each code, the index of the first value with that code.
    index: Vec<usize>,
    /// The length of the shortest code: a shorter run cannot hold one.
    shortest: usize,
    /// The fewest digits in any code: a run with fewer cannot hold one (every code has four
    /// or more, so most runs of words are passed over without a search).
    fewest_digits: usize,
}

impl Codes {
    pub(super) fn new(values: impl IntoIterator<Item = CodeValue>) -> Self {
        let mut codes = Vec::new();
        let mut index = Vec::new();
        let mut seen = HashSet::new();
        for value in values {
            if seen.insert(value.code.clone()) {
                codes.push(value.code);
                index.push(value.index);
            }
        }
        let shortest = codes.iter().map(String::len).min().unwrap_or(0);
        let fewest_digits = codes
            .iter()
            .map(|code| code.bytes().filter(u8::is_ascii_digit).count())
            .min()
            .unwrap_or(0);
        let search = if codes.len() <= FEW_CODES {
            Search::Few(codes)
        } else {
            crate::automaton::per_request(&codes).map_or(Search::Failed, Search::Many)
        };
        Codes {
            search,
            index,
            shortest,
            fewest_digits,
        }
    }

    fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether every run, however short, must be taken as holding a code.
    fn fails_closed(&self) -> bool {
        matches!(self.search, Search::Failed)
    }

    /// Whether a run of `len` letters and digits, `digits` of them digits, is too short or has
    /// too few digits to hold any code. Never, when the automaton could not be built: then
    /// every run fails closed, however short.
    fn cannot_hold(&self, len: usize, digits: usize) -> bool {
        !self.fails_closed() && (len < self.shortest || digits < self.fewest_digits)
    }
}

impl Run {
    /// The smallest index of a value that fills whole groups of this run.
    fn holds(&self, codes: &Codes) -> Option<usize> {
        let aligned =
            |at: usize| at == 0 || at == self.code.len() || self.groups.binary_search(&at).is_ok();
        match &codes.search {
            Search::Failed => codes.index.first().copied(),
            Search::Many(automaton) => automaton
                .find_overlapping_iter(&self.code)
                .filter(|found| aligned(found.start()) && aligned(found.end()))
                .map(|found| codes.index[found.pattern().as_usize()])
                .min(),
            // An aligned occurrence starts where the run or one of its groups starts, so only
            // those places are compared.
            Search::Few(list) => list
                .iter()
                .zip(&codes.index)
                .filter(|(code, _)| {
                    std::iter::once(0)
                        .chain(self.groups.iter().copied())
                        .any(|at| {
                            self.code
                                .get(at..)
                                .is_some_and(|rest| rest.starts_with(code.as_bytes()))
                                && aligned(at + code.len())
                        })
                })
                .map(|(_, &index)| index)
                .min(),
        }
    }
}

/// What one outbound character is to the reader of runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// An ASCII letter or digit: part of a run.
    Code,
    /// Stands between two groups of one run, if not too many in a row.
    Separator,
    /// Neither seen nor counted.
    Invisible,
    /// Ends a run.
    Other,
}

/// The class of `c`: by table when it is ASCII, as it nearly always is.
fn class(c: char) -> Class {
    if let Some(&class) = ASCII_CLASS.get(c as usize) {
        class
    } else {
        class_of(c)
    }
}

/// What [`ASCII_CLASS`] holds for ASCII, worked out for any character.
fn class_of(c: char) -> Class {
    if is_invisible(c) {
        Class::Invisible
    } else if c.is_ascii_alphanumeric() {
        Class::Code
    } else if is_separator(c) {
        Class::Separator
    } else {
        Class::Other
    }
}

/// `c` lowered when it is ASCII (only ASCII letters and digits are read into runs).
fn lowered(c: char) -> u8 {
    u8::try_from(c).map_or(0, |b| b.to_ascii_lowercase())
}

/// The class of every ASCII byte, looked up rather than worked out for each byte of a request.
static ASCII_CLASS: [Class; 128] = {
    let mut table = [Class::Other; 128];
    let mut byte = 0;
    while byte < 128 {
        let b = byte as u8;
        table[byte] = if b.is_ascii_alphanumeric() {
            Class::Code
        } else if b.is_ascii_whitespace()
            || matches!(b, 0x0B | b'-' | b'.' | b'/' | b'(' | b')' | b'_' | b':')
        {
            Class::Separator
        } else {
            Class::Other
        };
        byte += 1;
    }
    table
};

/// What one character does to the run being read, for the measuring pass and the reader alike.
enum Step {
    /// A letter or digit: it extends the run, or opens one.
    Code,
    /// Neither extends nor ends the run: invisible, or one of the few separators a run allows.
    Skip,
    /// Ends the open run.
    Close,
}

/// The step a character of class `class` takes, given whether a run is `open` and how many
/// separators followed its last letter or digit (`gap`, counted up here for a separator the
/// run allows; the caller resets it on a letter or digit and when the run closes).
fn step(class: Class, open: bool, gap: &mut usize) -> Step {
    match class {
        Class::Code => Step::Code,
        Class::Invisible => Step::Skip,
        Class::Separator if open && *gap < MAX_GAP => {
            *gap += 1;
            Step::Skip
        }
        Class::Separator | Class::Other if open => Step::Close,
        Class::Separator | Class::Other => Step::Skip,
    }
}

/// Reads characters into runs and keeps the first run that holds a code.
struct Reader<'c> {
    codes: &'c Codes,
    run: Run,
    /// Whether `run` holds a run now (one buffer serves every run).
    open: bool,
    /// Separators since the last letter or digit of the open run.
    gap: usize,
    found: Option<(usize, usize)>,
}

impl<'c> Reader<'c> {
    fn new(codes: &'c Codes) -> Self {
        Reader {
            codes,
            run: Run {
                code: Vec::new(),
                start: 0,
                groups: Vec::new(),
                digits: 0,
            },
            open: false,
            gap: 0,
            found: None,
        }
    }

    /// One character of class `class`, starting at `start` in the original bytes; `lower` is
    /// the character lowered when it is a letter or digit. Returns whether a code was found
    /// (runs come in order of their start, so the first found is the earliest).
    #[inline]
    fn read(&mut self, class: Class, lower: u8, start: usize) -> bool {
        match step(class, self.open, &mut self.gap) {
            Step::Code => {
                if !self.open {
                    self.run.code.clear();
                    self.run.groups.clear();
                    self.run.digits = 0;
                    self.run.start = start;
                    self.open = true;
                }
                let digit = lower.is_ascii_digit();
                if let Some(last) = self.run.code.last()
                    && (self.gap > 0 || last.is_ascii_digit() != digit)
                {
                    self.run.groups.push(self.run.code.len());
                }
                self.run.code.push(lower);
                self.run.digits += usize::from(digit);
                self.gap = 0;
                false
            }
            Step::Skip => false,
            Step::Close => self.close(),
        }
    }

    /// Ends the open run; returns whether it holds a code.
    fn close(&mut self) -> bool {
        self.open = false;
        self.gap = 0;
        if self.codes.cannot_hold(self.run.code.len(), self.run.digits) {
            return false;
        }
        self.found = self
            .run
            .holds(self.codes)
            .map(|index| (self.run.start, index));
        self.found.is_some()
    }

    #[cfg(test)]
    fn finish(mut self) -> Option<(usize, usize)> {
        if self.found.is_none() && self.open {
            self.close();
        }
        self.found
    }
}

/// Finds the first code present in `chars` (decoded characters with their original byte
/// offsets); returns its offset and the index of the value. The plain form of
/// [`first_match_json`], which must agree with it.
#[cfg(test)]
pub(super) fn first_match(
    chars: impl Iterator<Item = (char, usize, usize)>,
    codes: &Codes,
) -> Option<(usize, usize)> {
    if codes.is_empty() {
        return None;
    }
    let mut reader = Reader::new(codes);
    for (c, start, _) in chars {
        if reader.read(class(c), lowered(c), start) {
            break;
        }
    }
    reader.finish()
}

/// As [`first_match`] over `text` with its JSON string escapes decoded.
///
/// Most runs of an outbound request are words, too short or with too few digits to hold a
/// code, so a run is first only measured (its length and its digits, ASCII bytes other than a
/// backslash read by table); only a run that could hold a code is read again, from its start,
/// into a [`Reader`], which then searches it exactly as [`first_match`] would.
pub(super) fn first_match_json(text: &str, codes: &Codes) -> Option<(usize, usize)> {
    if codes.is_empty() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut reader = Reader::new(codes);
    let mut measure = Measure::default();
    let mut pos = 0;
    loop {
        // ASCII other than a backslash, nearly every byte, in a tight loop by table.
        while let Some(&byte) = bytes.get(pos) {
            if byte == b'\\' || !byte.is_ascii() {
                break;
            }
            let class = ASCII_CLASS[usize::from(byte & 0x7F)];
            if let Some(run) = measure.step(class, byte.is_ascii_digit(), pos)
                && let Some(found) = reader.reread(text, run, pos)
            {
                return Some(found);
            }
            pos += 1;
        }
        // An escape or a character beyond ASCII, decoded.
        let mut chars = super::JsonUnescaped::new(text);
        chars.pos = pos;
        let Some((c, at, _)) = chars.next() else {
            break;
        };
        pos = chars.pos;
        if let Some(run) = measure.step(class(c), c.is_ascii_digit(), at)
            && let Some(found) = reader.reread(text, run, at)
        {
            return Some(found);
        }
    }
    if measure.open {
        return reader.reread(text, measure.run(), text.len());
    }
    None
}

/// The run being measured by [`first_match_json`]: whether one is open, and its start, letters
/// and digits, digits, and separators since its last letter or digit.
#[derive(Default)]
struct Measure {
    open: bool,
    start: usize,
    len: usize,
    digits: usize,
    gap: usize,
}

/// A measured run: where it starts, its letters and digits, and its digits.
#[derive(Clone, Copy)]
struct Measured {
    start: usize,
    len: usize,
    digits: usize,
}

impl Measure {
    /// One character of class `class` at `at`; returns the run it ends, if it ends one.
    #[inline]
    fn step(&mut self, class: Class, digit: bool, at: usize) -> Option<Measured> {
        match step(class, self.open, &mut self.gap) {
            Step::Code => {
                if !self.open {
                    *self = Measure {
                        open: true,
                        start: at,
                        ..Measure::default()
                    };
                }
                self.len += 1;
                self.digits += usize::from(digit);
                self.gap = 0;
                None
            }
            Step::Skip => None,
            Step::Close => {
                self.open = false;
                self.gap = 0;
                Some(self.run())
            }
        }
    }

    fn run(&self) -> Measured {
        Measured {
            start: self.start,
            len: self.len,
            digits: self.digits,
        }
    }
}

impl Reader<'_> {
    /// Reads the run `run` of `text`, which ends before `end`, when it could hold a code;
    /// returns its offset and the value's index if it does.
    #[inline(never)]
    fn reread(&mut self, text: &str, run: Measured, end: usize) -> Option<(usize, usize)> {
        if self.codes.cannot_hold(run.len, run.digits) {
            return None;
        }
        let mut chars = super::JsonUnescaped::new(text);
        chars.pos = run.start;
        while chars.pos < end {
            let Some((c, at, _)) = chars.next() else {
                break;
            };
            self.read(class(c), lowered(c), at);
        }
        if self.open {
            self.close();
        }
        self.found
    }
}

#[cfg(test)]
mod tests;
