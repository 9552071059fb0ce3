//! Finding people's names: titles, cue words, census dictionaries, and repeats.
//!
//! The rules build evidence per word and then join marked neighbours into spans:
//!
//! 1. a title (`Mr.`, `Dr.`…) marks the words after it (`Dr.` marks a clinician);
//! 2. a cue (`my wife`, `name is`, `hi ,`) marks the name-shaped words after it;
//! 3. `LAST, FIRST` with both parts in the census lists;
//! 4. runs of capitalised words where one is a clear first name or a common surname, extended to
//!    its neighbours (so foreign surnames next to a known first name are caught);
//! 5. in lower-cased transcripts, clear first names and the surname after them;
//! 6. every later occurrence of a word marked by 1–5 (recall across a document).
//!
//! Words that are everyday English or medical eponyms (`Parkinson's`, `Foley`, `Graves
//! disease`) need stronger evidence than a dictionary hit.

mod cues;
mod dictionary;
mod phrasing;
mod proper;
mod scratch;
mod speakers;

use crate::detect::lexicon::{Eponym, Lexicon, Role, WordInfo};
use crate::detect::tokens::{Shape, Token, gap, starts_sentence};
use crate::entity::{Entity, EntityKind, Source};
use scratch::Scratch;

/// What the rules decided about one word.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mark {
    /// Part of a person's name.
    Person {
        kind: EntityKind,
        source: Source,
        score: f32,
    },
    /// A clinician's name while clinician names are not redacted: leave it alone.
    Reserved,
}

/// Lowercase particles that may sit inside a name (`Ludwig van Beethoven`).
pub(crate) const PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "del", "della", "da", "di", "du", "la", "le", "st", "bin",
    "ibn", "dos", "das",
];

/// Words that make a capitalised run an organisation or a place rather than a person.
pub(crate) const INSTITUTION_WORDS: &[&str] = &[
    "hospital",
    "clinic",
    "center",
    "centre",
    "medical",
    "university",
    "health",
    "group",
    "inc",
    "llc",
    "ltd",
    "department",
    "school",
    "college",
    "institute",
    "pharmacy",
    "street",
    "avenue",
    "road",
    "county",
    "city",
    "state",
    "company",
    "corporation",
    "bank",
    "church",
    "park",
    "river",
    "lake",
    "mount",
    "fort",
    "port",
    "north",
    "south",
    "east",
    "west",
    "syndrome",
    "disease",
];

/// The name rules' own word lists with the role each gives its words, for the lexicon.
pub(crate) const ROLES: &[(Role, &[&str])] = &[
    (Role::Title, cues::TITLES),
    (Role::ClinicianTitle, cues::CLINICIAN_TITLES),
    (Role::Cue, cues::CUES),
    (Role::Cue, cues::RELATIVE_CUES),
    (Role::Relative, cues::RELATIVE_CUES),
    (Role::Relative, cues::OTHER_RELATIVES),
    (Role::ClinicianCue, cues::CLINICIAN_CUES),
    (Role::CueEnd, cues::CUE_ENDS),
    (Role::PersonVerb, cues::PERSON_VERBS),
    (Role::SayingVerb, speakers::SAYING_VERBS),
    (Role::Particle, PARTICLES),
    (Role::Institution, INSTITUTION_WORDS),
    (Role::NameQualifier, cues::NAME_QUALIFIERS),
];

/// Finds names in `text` and appends them to `out`.
pub(crate) fn find_names(
    text: &str,
    tokens: &[Token<'_>],
    lexicon: &Lexicon,
    clinician_names: bool,
    out: &mut Vec<Entity>,
) {
    if tokens.is_empty() {
        return;
    }
    let mut finder = NameFinder::new(text, tokens, lexicon, clinician_names, scratch::take());
    finder.run_rules();
    finder.emit(out);
    scratch::keep(finder.into_scratch());
}

impl NameFinder<'_> {
    /// Runs every rule, in order, marking the words of names.
    fn run_rules(&mut self) {
        self.titles();
        self.cues();
        self.named_in_lowercase();
        self.quotation_speakers();
        self.speaker_labels();
        self.last_comma_first();
        if self.lowercase {
            self.lowercase_dictionary();
            self.lowercase_surnames();
            self.unknown_singles();
        } else {
            self.capitalized_runs();
            self.proper_nouns();
            self.suffixed_neighbours();
        }
        self.phrasing();
        self.propagate();
    }
}

struct NameFinder<'a> {
    text: &'a str,
    tokens: &'a [Token<'a>],
    info: Vec<WordInfo>,
    /// `unknown[i]`: token `i` is a word the English dictionary does not have.
    unknown: Vec<bool>,
    lexicon: &'a Lexicon,
    /// The text is (almost) all lower case, like the ACI-Bench transcripts.
    lowercase: bool,
    /// The text is all ASCII, and so is every token's lower-case form: the rules that need a
    /// letter beyond ASCII (`Šárka Ottová`, `Järvilehto`) have nothing to find, and most texts
    /// are passed over by them without reading a word.
    ascii: bool,
    clinician_names: bool,
    marks: Vec<Option<Mark>>,
    /// A bit per token, set when its mark is some (bit `i % 64` of word `i / 64`): the rules
    /// that go through every marked token find them here 64 tokens at a time. Marks are only
    /// ever added, all through [`NameFinder::set_mark`], which keeps this in step.
    marked: Vec<u64>,
    /// `joined[i]`: tokens `i` and `i + 1` are one name despite the punctuation between them.
    joined: Vec<bool>,
    /// `adjacent[i]`: what [`NameFinder::adjacent`] answers, worked out once per token since
    /// the rules ask it many times.
    adjacent: Vec<bool>,
    /// `next_items[j]`: the next list item after token `j` (see `next_list_item`), filled in
    /// by the rules that read lists; empty until then.
    next_items: Vec<Option<usize>>,
    /// The tokens where a list starts (`next_items[j]` is some), in order; filled with
    /// `next_items`.
    list_starts: Vec<usize>,
    /// The tokens written with a capital first letter (capitalised or upper case), in order.
    /// Most rules can only start at such a word, so they walk this list, not every token.
    capitals: Vec<usize>,
    /// The tokens that play a part for the name rules (a role in the lexicon), in order.
    roled: Vec<usize>,
    /// The tokens listed as a first name, in order: where the lower-case rules start.
    given: Vec<usize>,
    /// The tokens for which [`NameFinder::unknown`] holds, in order.
    unknowns: Vec<usize>,
    /// The tokens that are capitalised or unknown to the dictionary (`unknown[i]`), in order:
    /// where the phrasing rules of mixed-case text start.
    phrased: Vec<usize>,
    /// The tokens of mixed case (`iPhone`), in order: few, so this is mostly left empty.
    mixed: Vec<usize>,
}

impl<'a> NameFinder<'a> {
    fn new(
        text: &'a str,
        tokens: &'a [Token<'a>],
        lexicon: &'a Lexicon,
        clinician_names: bool,
        scratch: Scratch,
    ) -> Self {
        let n = tokens.len();
        // One walk looks every word up and sorts the tokens into the short lists the rules
        // start from. Room for every token up front (in tables kept from earlier texts, see
        // [`scratch`]): no regrowing while the walk fills them.
        let Scratch {
            mut info,
            mut unknown,
            mut marks,
            mut marked,
            mut joined,
            mut adjacent,
            next_items,
            list_starts,
            mut capitals,
            mut roled,
            mut given,
            mut unknowns,
            mut phrased,
            mut mixed,
        } = scratch;
        for list in [
            &mut capitals,
            &mut roled,
            &mut given,
            &mut unknowns,
            &mut phrased,
        ] {
            list.reserve(n);
        }
        info.reserve(n);
        unknown.reserve(n);
        marks.resize(n, None);
        marked.resize(n.div_ceil(64), 0);
        joined.resize(n, false);
        for (i, token) in tokens.iter().enumerate() {
            let word = lexicon.info(token.lower);
            let is_unknown = proper::unknown_word(token, &word);
            if matches!(token.shape, Shape::Capitalized | Shape::Upper) {
                capitals.push(i);
            }
            if word.roles != 0 {
                roled.push(i);
            }
            if word.first_rank.is_some() {
                given.push(i);
            }
            if is_unknown && proper::in_no_word_list(word) {
                unknowns.push(i);
            }
            if token.shape == Shape::Capitalized || is_unknown {
                phrased.push(i);
            }
            if token.shape == Shape::Mixed {
                mixed.push(i);
            }
            info.push(word);
            unknown.push(is_unknown);
        }
        let mut finder = NameFinder {
            text,
            tokens,
            info,
            unknown,
            lexicon,
            lowercase: mostly_lower_case(text),
            ascii: text.is_ascii(),
            clinician_names,
            marks,
            marked,
            joined,
            adjacent: Vec::new(),
            next_items,
            list_starts,
            capitals,
            roled,
            given,
            unknowns,
            phrased,
            mixed,
        };
        let bytes = text.as_bytes();
        adjacent.reserve(n);
        // Each token with the one after it; the last token has none, and is adjacent to none.
        adjacent.extend(tokens.windows(2).enumerate().map(|(i, pair)| {
            // Most words are followed by a single space, and most others by punctuation
            // that keeps words apart (`, `, `) `): both answered here without a call.
            let [this, next] = pair else {
                return false;
            };
            let gap = next.start > this.end;
            // A word followed by another ends before the text does: the byte after it is
            // read by index.
            match bytes[this.end] {
                b' ' if next.start == this.end + 1 => !this.possessive,
                // A wider gap that starts with a space runs on only through more blanks (spaces,
                // tabs, one line break): one with anything else second (` (`, ` . `, ` 10 `)
                // keeps the words apart.
                b' ' if !matches!(bytes.get(this.end + 1), Some(b' ' | b'\t' | b'\n')) => false,
                b if gap && apart(b) => false,
                // After a dot only an initial (`J. Roe`) runs on, and across a line break
                // only a capitalised word into another (see `broken_across_lines`).
                b'.' if gap && this.shape != Shape::Upper => false,
                b'\n' if gap && (this.shape, next.shape) != CAPITALS => false,
                // Two capitalised words across a line break are mostly a heading and the line
                // after it. A gap that starts with a line break is no single space, not blanks
                // only and no initial's dot, so `written_adjacent` can answer yes for it only
                // through `broken_across_lines`, which needs these facts of the two words: when
                // they fail, the answer is no without reading the gap.
                b'\n' if gap && !finder.wrapped_name_words(i) => false,
                _ => finder.written_adjacent(i),
            }
        }));
        adjacent.push(false);
        finder.adjacent = adjacent;
        finder
    }

    /// The finder's per-token tables, to be kept for the next text (see [`scratch`]).
    fn into_scratch(self) -> Scratch {
        Scratch {
            info: self.info,
            unknown: self.unknown,
            marks: self.marks,
            marked: self.marked,
            joined: self.joined,
            adjacent: self.adjacent,
            next_items: self.next_items,
            list_starts: self.list_starts,
            capitals: self.capitals,
            roled: self.roled,
            given: self.given,
            unknowns: self.unknowns,
            phrased: self.phrased,
            mixed: self.mixed,
        }
    }

    /// Whether token `i` has the shape a name has in this text.
    fn name_shaped(&self, i: usize) -> bool {
        let token = &self.tokens[i];
        match token.shape {
            Shape::Capitalized => true,
            Shape::Upper => token.is_initial(),
            Shape::Lower => self.lowercase,
            Shape::Mixed => false,
        }
    }

    /// Whether tokens `i` and `i + 1` are written next to each other as parts of one name.
    fn adjacent(&self, i: usize) -> bool {
        self.adjacent.get(i).copied().unwrap_or(false)
    }

    /// Works out [`NameFinder::adjacent`] from the text.
    fn written_adjacent(&self, i: usize) -> bool {
        let Some(next) = self.tokens.get(i + 1) else {
            return false;
        };
        // Synthea writes names with numeric suffixes (`An125 Suanne858`): digits glued to the
        // end of a word belong to it.
        if self.tokens[i].possessive {
            return false;
        }
        // The usual case, a single space, answers without slicing the text.
        let end = self.tokens[i].end;
        let gap = self
            .text
            .as_bytes()
            .get(end..next.start)
            .unwrap_or_default();
        if gap == b" " {
            return true;
        }
        // Every answer below needs a gap of digits first, then only dots and white space:
        // any other ASCII byte (`, `, `) (`) answers no at once.
        let digits = gap.iter().take_while(|b| b.is_ascii_digit()).count();
        if gap
            .get(digits..)
            .unwrap_or_default()
            .iter()
            .any(|&b| b.is_ascii_digit() || apart(b))
        {
            return false;
        }
        let between = self.text[self.tokens[i].end..next.start]
            .trim_start_matches(|c: char| c.is_ascii_digit());
        // The usual case, a single space, answers at once.
        if between == " " {
            return true;
        }
        let tight = between.chars().all(|c| c == ' ' || c == '\t') && !between.is_empty();
        tight
            || self.broken_across_lines(i, between)
            || (self.tokens[i].is_initial()
                && between.trim_start_matches('.').trim() == ""
                && between.starts_with('.'))
    }

    /// `Martha\nCollins`: a name wrapped onto the next line. Only a capitalised word followed,
    /// across one bare line break, by a listed surname that is not an everyday or medical word.
    fn broken_across_lines(&self, i: usize, between: &str) -> bool {
        let (this, next) = (&self.tokens[i], &self.tokens[i + 1]);
        this.shape == Shape::Capitalized
            && next.shape == Shape::Capitalized
            && between.trim_matches([' ', '\t']) == "\n"
            && self.wrapped_name_words(i)
    }

    /// What [`NameFinder::broken_across_lines`] asks of the words `i` and `i + 1` themselves:
    /// a listed name, then a listed surname that is not an everyday or medical word.
    fn wrapped_name_words(&self, i: usize) -> bool {
        let (Some(this), Some(info)) = (self.info.get(i), self.info.get(i + 1)) else {
            return false;
        };
        this.is_listed_name()
            && info.last_rank.is_some()
            && !info.function
            && !info.ambiguous
            && !info.medical
            && info.eponym == crate::detect::lexicon::Eponym::No
    }

    /// Whether token `i` is used as a medical eponym here.
    fn eponym_use(&self, i: usize) -> bool {
        match self.info[i].eponym {
            Eponym::Always => true,
            Eponym::Usage => self
                .tokens
                .get(i + 1)
                .is_some_and(|next| self.lexicon.is_eponym_head(next.lower)),
            Eponym::No => false,
        }
    }

    fn is_particle(&self, i: usize) -> bool {
        self.tokens[i].shape == Shape::Lower && self.info[i].is(Role::Particle)
    }

    fn is_institution(&self, i: usize) -> bool {
        self.info[i].is(Role::Institution)
    }

    /// `mira- miralax`: in speech, a word broken off at a hyphen and started again as the next
    /// word is a false start of that word, not a name.
    fn false_start(&self, i: usize) -> bool {
        let (this, Some(next)) = (&self.tokens[i], self.tokens.get(i + 1)) else {
            return false;
        };
        let between = &self.text[this.end..next.start];
        let broken_off = between.starts_with('-')
            && between.len() > 1
            && between[1..].chars().all(char::is_whitespace);
        broken_off && next.lower.len() > this.lower.len() && next.lower.starts_with(this.lower)
    }

    fn mark(&mut self, i: usize, kind: EntityKind, source: Source, score: f32) {
        if self.marks[i].is_none() && !self.false_start(i) {
            let mark = if kind == EntityKind::Provider && !self.clinician_names {
                Mark::Reserved
            } else {
                Mark::Person {
                    kind,
                    source,
                    score,
                }
            };
            self.set_mark(i, mark);
        }
    }

    /// Gives token `i` its mark: the one place marks are written, so that
    /// [`NameFinder::marked`] stays in step with them.
    fn set_mark(&mut self, i: usize, mark: Mark) {
        if let (Some(slot), Some(bits)) = (self.marks.get_mut(i), self.marked.get_mut(i / 64)) {
            *slot = Some(mark);
            *bits |= 1 << (i % 64);
        }
    }

    fn sentence_start(&self, i: usize) -> bool {
        starts_sentence(self.text, self.tokens, i)
    }

    fn gap_before(&self, i: usize) -> &'a str {
        gap(self.text, self.tokens, i)
    }

    /// Joins adjacent marked tokens into entities.
    fn emit(&self, out: &mut Vec<Entity>) {
        let person = |mark: &Mark| matches!(mark, Mark::Person { .. });
        let mut from = 0;
        while let Some(i) = self.next_mark(from, person) {
            let Some(Mark::Person {
                kind,
                source,
                score,
            }) = self.marks[i]
            else {
                break;
            };
            let mut j = i;
            while (self.adjacent(j) || self.joined[j])
                && matches!(self.marks[j + 1], Some(Mark::Person { kind: k, .. }) if k == kind)
            {
                j += 1;
            }
            let kind = if self.followed_by_credential(j) {
                EntityKind::Provider
            } else {
                kind
            };
            out.push(Entity {
                kind,
                start: self.tokens[i].start,
                end: self.end_with_suffix(j),
                source,
                score,
            });
            from = j + 1;
        }
    }

    /// The first token from `from` on that has a mark `wanted` accepts.
    ///
    /// Most tokens are unmarked: the rules that go through every marked token read the bits of
    /// [`NameFinder::marked`], 64 tokens at a time, rather than every mark.
    fn next_mark(&self, from: usize, wanted: impl Fn(&Mark) -> bool) -> Option<usize> {
        let mut word = from / 64;
        let mut bits = self.marked.get(word)? & (u64::MAX << (from % 64));
        loop {
            while bits == 0 {
                word += 1;
                bits = *self.marked.get(word)?;
            }
            let i = word * 64 + bits.trailing_zeros() as usize;
            if self
                .marks
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(&wanted)
            {
                return Some(i);
            }
            bits &= bits - 1;
        }
    }

    /// Whether token `i` is a capitalised word with digits glued to it, the way Synthea writes
    /// every name part (`An125`).
    fn suffixed(&self, i: usize) -> bool {
        let token = &self.tokens[i];
        if token.shape != Shape::Capitalized {
            return false;
        }
        let digits = self.end_with_suffix(i) - token.end;
        (1..=4).contains(&digits)
            && !self.text[token.end + digits..].starts_with(|c: char| c.is_alphanumeric())
    }

    /// Extends a suffixed name to the suffixed words next to it, even short or common ones
    /// (`An125 Suanne858`): two suffixed words side by side are one generated name.
    fn suffixed_neighbours(&mut self) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        // A suffixed word has a digit right after it: most words do not, and are passed over
        // before the rest of the test is called.
        let bytes = self.text.as_bytes();
        let digit_after = |j: usize| {
            bytes
                .get(self.tokens[j].end)
                .is_some_and(u8::is_ascii_digit)
        };
        for &i in capitals.iter().take_while(|&&i| i + 1 < n) {
            if !(digit_after(i)
                && digit_after(i + 1)
                && self.adjacent(i)
                && self.suffixed(i)
                && self.suffixed(i + 1))
            {
                continue;
            }
            match (self.marks[i], self.marks[i + 1]) {
                (Some(mark), None) => self.set_mark(i + 1, mark),
                (None, Some(mark)) => self.set_mark(i, mark),
                _ => {}
            }
        }
        self.capitals = capitals;
    }

    /// Where the name ending at token `j` ends, counting digits glued to it (`Assunta351`).
    fn end_with_suffix(&self, j: usize) -> usize {
        let end = self.tokens[j].end;
        let digits = self.text[end..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        end + digits
    }

    /// Whether the name ending at token `j` is followed by a clinical credential (`, MD`).
    fn followed_by_credential(&self, j: usize) -> bool {
        let after = self.text[self.tokens[j].end..].trim_start_matches([',', ' ']);
        const CREDENTIALS: &[&str] = &[
            "MD", "M.D.", "DO", "D.O.", "RN", "NP", "PA-C", "DNP", "FNP", "MBBS",
        ];
        CREDENTIALS.iter().any(|c| {
            after.starts_with(c) && !after[c.len()..].starts_with(|ch: char| ch.is_alphanumeric())
        })
    }
}

/// Two capitalised words, the only pair a line break may join.
const CAPITALS: (Shape, Shape) = (Shape::Capitalized, Shape::Capitalized);

/// Whether `byte` in the gap after a word keeps it apart from the next word whatever else the
/// gap holds: an ASCII byte that is no digit, dot or white space (`,`, `)`, `(`).
fn apart(byte: u8) -> bool {
    byte.is_ascii()
        && !byte.is_ascii_digit()
        && !matches!(byte, b'.' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Whether `text` is (almost) all lower case: fewer than one capital in a hundred letters, as
/// [`letters_and_capitals`] counts them.
///
/// Most texts are not, and show it early: no text has more letters than bytes, so once the
/// capitals counted so far reach a hundredth of its length the answer is no whatever the rest
/// holds, and the rest is not read.
fn mostly_lower_case(text: &str) -> bool {
    let (mut letters, mut upper) = (0, 0);
    for block in text.as_bytes().chunks(255) {
        let (block_letters, block_upper) = ascii_letters_and_capitals(block);
        letters += block_letters;
        upper += block_upper;
        if upper * 100 >= text.len() {
            return false;
        }
    }
    let (beyond_letters, beyond_upper) = letters_and_capitals_beyond_ascii(text);
    (upper + beyond_upper) * 100 < letters + beyond_letters
}

/// How many letters, and how many capitals, `text` holds (`char::is_alphabetic` and
/// `char::is_uppercase`).
///
/// The ASCII letters are counted by one branch-free pass over all the bytes, which the
/// compiler vectorises (bytes beyond ASCII are counted as neither there); only characters
/// beyond ASCII, rare in clinical prose, are then decoded one by one.
#[cfg(test)]
fn letters_and_capitals(text: &str) -> (usize, usize) {
    let (letters, upper) = ascii_letters_and_capitals(text.as_bytes());
    let (beyond_letters, beyond_upper) = letters_and_capitals_beyond_ascii(text);
    (letters + beyond_letters, upper + beyond_upper)
}

/// How many letters, and how many capitals, `text` holds among its characters beyond ASCII.
fn letters_and_capitals_beyond_ascii(text: &str) -> (usize, usize) {
    let (mut letters, mut upper) = (0, 0);
    if text.is_ascii() {
        return (letters, upper);
    }
    let mut rest = text;
    while let Some(at) = rest.bytes().position(|b| !b.is_ascii()) {
        // `at` is the first byte of a character: every byte before it is ASCII.
        let mut chars = rest.get(at..).unwrap_or_default().chars();
        if let Some(c) = chars.next() {
            letters += usize::from(c.is_alphabetic());
            upper += usize::from(c.is_uppercase());
        }
        rest = chars.as_str();
    }
    (letters, upper)
}

/// How many ASCII letters, and how many ASCII capitals, `bytes` holds. Counted in blocks of
/// 255 bytes into byte-wide sums, so that the inner loop works on many bytes at once.
fn ascii_letters_and_capitals(bytes: &[u8]) -> (usize, usize) {
    let (mut letters, mut upper) = (0, 0);
    for block in bytes.chunks(255) {
        let (mut block_letters, mut block_upper) = (0u8, 0u8);
        for &byte in block {
            // Setting bit 5 folds `A..=Z` onto `a..=z` and sends no other byte there.
            block_letters += u8::from((byte | 0x20).wrapping_sub(b'a') < 26);
            block_upper += u8::from(byte.wrapping_sub(b'A') < 26);
        }
        letters += usize::from(block_letters);
        upper += usize::from(block_upper);
    }
    (letters, upper)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod walk_tests;
