//! Evidence from words no dictionary knows: a capitalised word that is neither English, nor
//! medical, nor in any of our lists is most likely a proper noun, and names from outside the US
//! census lists (`Weronika Martinsen`, `Järvilehto`, `Usamov and Bowers`) are such words.
//!
//! Being unknown is not enough on its own: drug and brand names (`Tylenol`, `Aetna`) are unknown
//! too, so each rule here asks for a second piece of evidence: a name-shaped neighbour, letters
//! beyond ASCII, or a place in a list of names.

use super::NameFinder;
use crate::detect::lexicon::{Eponym, WordInfo};
use crate::detect::tokens::{Shape, Token};
use crate::entity::{EntityKind, Source};

/// Verbs after which a single unknown word is taken as a person: being, having, beginning.
/// `was` is left out on purpose: it is what clinical notes say of drugs (`Lasix was stopped`).
const SUBJECT_VERBS: &[&str] = &["is", "has", "had", "began", "begins", "just"];

/// Words that follow `Name,` when a sentence opens by addressing someone (`Kuba, can I…`).
const ADDRESS_FOLLOWERS: &[&str] = &[
    "can", "could", "would", "will", "please", "i", "you", "we", "do", "are", "is",
];

/// Endings of generic drug names (INN stems) and of their salts (`Hydrochloride`): an unknown
/// word with one of them is a drug.
#[rustfmt::skip]
const DRUG_ENDINGS: &[&str] = &[
    "pril", "sartan", "olol", "alol", "statin", "azole", "mycin", "micin", "cillin", "oxacin",
    "cycline", "tidine", "prazole", "dipine", "afil", "mab", "tinib", "vir", "caine", "azepam",
    "azolam", "oxetine", "triptan", "gliptin", "glitazone", "formin", "semide", "thiazide",
    "sone", "olone", "parin", "profen", "oxaban", "gatran", "terol", "tropium", "lukast",
    "setron", "tadine", "pam", "zine", "pine", "done", "dol", "phen", "xacin", "cort", "azem",
    "mide", "chloride", "bromide", "ylate", "hydrate", "sulfate", "phosphate",
];

/// `DRUG_LAST_BYTES[b]`: some drug ending ends in byte `b`. Most words end in none of these
/// few letters and are answered without comparing endings.
static DRUG_LAST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < DRUG_ENDINGS.len() {
        let ending = DRUG_ENDINGS[i].as_bytes();
        if let Some(&last) = ending.last() {
            table[last as usize] = true;
        }
        i += 1;
    }
    table
};

/// Whether an unknown lower-case word is shaped like a drug name.
pub(super) fn drug_like(lower: &str) -> bool {
    let Some(&last) = lower.as_bytes().last() else {
        return false;
    };
    DRUG_LAST_BYTES[usize::from(last)] && DRUG_ENDINGS.iter().any(|ending| lower.ends_with(ending))
}

/// Whether a word is on no list that would make it something other than a name: not a
/// function word, an everyday word that is also a name, a medical word, an eponym or a role.
pub(super) fn in_no_word_list(info: WordInfo) -> bool {
    !info.function
        && !info.ambiguous
        && !info.medical
        && info.eponym == Eponym::No
        && info.roles == 0
}

/// Whether `token` is a word of letters only, capitalised (or lower case with letters beyond
/// ASCII), that the English dictionary does not have (read from its `info`, looked up already).
pub(super) fn unknown_word(token: &Token<'_>, info: &WordInfo) -> bool {
    // Most words are in the dictionary: answered before reading any letter.
    if info.english {
        return false;
    }
    let lower = token.lower;
    let shaped = match token.shape {
        Shape::Capitalized => true,
        Shape::Lower => !lower.is_ascii() && lower.chars().count() >= 4,
        Shape::Upper | Shape::Mixed => false,
    };
    if !shaped {
        return false;
    }
    // An ASCII word is read as bytes: one per character.
    if lower.is_ascii() {
        lower.len() >= 2 && lower.bytes().all(|b| b.is_ascii_alphabetic())
    } else {
        lower.chars().count() >= 2 && lower.chars().all(char::is_alphabetic)
    }
}

impl NameFinder<'_> {
    /// Whether token `i` is unknown to every list: no English, medical, census or role word.
    fn unknown(&self, i: usize) -> bool {
        let info = self.info[i];
        self.unknown[i] && in_no_word_list(info)
    }

    /// Whether token `i` is spelled with letters beyond ASCII and is unknown (`Kónya`).
    fn foreign(&self, i: usize) -> bool {
        self.unknown(i) && !self.tokens[i].lower.is_ascii() && !self.info[i].is_listed_name()
    }

    /// Whether token `i` is a capitalised listed first name that is no function word, medical
    /// term or eponym: a given name as soon as the construction around it says "person".
    pub(super) fn plain_given_name(&self, i: usize) -> bool {
        let info = self.info[i];
        self.tokens[i].shape == Shape::Capitalized
            && info.first_rank.is_some()
            && !info.function
            && !info.medical
            && info.eponym == Eponym::No
    }

    /// Whether token `i` can sit beside an unknown word in a two-word name.
    ///
    /// The tests are ordered cheapest first: most capitalised words fail the lists, and only
    /// the few left are read letter by letter and against the drug endings.
    fn pair_part(&self, i: usize) -> bool {
        (self.unknown(i) || self.info[i].is_listed_name())
            && self.unlisted_part(i)
            && self.tokens[i].lower.chars().all(char::is_alphabetic)
            && !drug_like(self.tokens[i].lower)
    }

    /// Runs the rules of this file, after the dictionary rules.
    pub(super) fn proper_nouns(&mut self) {
        self.unknown_pairs();
        self.foreign_words();
        self.unknown_singles();
        self.eponym_neighbours();
        self.given_names_before_foreign();
        self.coordinated_names();
    }

    /// `Parker Suknović`, `Grace Jiráňová`: a first name that is also an everyday word is a
    /// person right before a surname spelled beyond ASCII that a rule here already found.
    ///
    /// The surname must be marked, and marks are few: the rule walks the marked tokens (see
    /// [`NameFinder::next_mark`]), not every capitalised word. A token this rule marks is a
    /// listed first name, never a foreign word, so it cannot be the surname of another pair:
    /// what the walk finds does not depend on its order.
    pub(super) fn given_names_before_foreign(&mut self) {
        if self.ascii {
            return;
        }
        let mut from = 1;
        while let Some(surname) = self.next_mark(from, |_| true) {
            from = surname + 1;
            self.given_name_before(surname - 1);
        }
    }

    /// [`NameFinder::given_names_before_foreign`] for the pair of token `i` and the next.
    pub(super) fn given_name_before(&mut self, i: usize) {
        let given = self.plain_given_name(i);
        let surname = self.marks[i + 1].is_some() && self.foreign(i + 1);
        if given && surname && self.adjacent(i) && !self.is_institution(i) {
            self.mark(i, EntityKind::Name, Source::Dictionary, 0.5);
        }
    }

    /// `Petr Kloz`, `Weronika Martinsen`: two capitalised words side by side, one of them
    /// unknown and the other unknown or a census name, are a name. Brands and drugs rarely
    /// come in such pairs; the few that do pair with an English word (`Benzoyl Peroxide`).
    pub(super) fn unknown_pairs(&mut self) {
        let capitals = std::mem::take(&mut self.capitals);
        let n = self.tokens.len();
        // A pair part is unknown or a listed name: most capitalised words are neither, and
        // are passed over before the rest of the test is called.
        let candidate = |f: &Self, j: usize| f.unknown(j) || f.info[j].is_listed_name();
        for &i in capitals.iter().take_while(|&&i| i + 1 < n) {
            if !(candidate(self, i)
                && candidate(self, i + 1)
                && self.adjacent(i)
                && self.pair_part(i)
                && self.pair_part(i + 1))
            {
                continue;
            }
            if self.unknown(i) || self.unknown(i + 1) {
                self.mark(i, EntityKind::Name, Source::Dictionary, 0.5);
                self.mark(i + 1, EntityKind::Name, Source::Dictionary, 0.5);
            }
        }
        self.capitals = capitals;
    }

    /// `Järvilehto`, `Šušulić`: in English text, a word no dictionary knows that is spelled
    /// with letters beyond ASCII is a foreign proper noun, and most of those are names (a
    /// foreign place is PHI too when it is part of an address).
    pub(super) fn foreign_words(&mut self) {
        if self.ascii {
            return;
        }
        let unknowns = std::mem::take(&mut self.unknowns);
        for &i in &unknowns {
            if self.foreign(i) && !self.is_institution(i) {
                self.mark(i, EntityKind::Name, Source::Dictionary, 0.45);
            }
        }
        self.unknowns = unknowns;
    }

    /// `Kastner is`, `Hakuba had given`, `Matej's address`, `Kuba, can I`: a single unknown
    /// word used the way a person is, as the subject of a verb of being or having, as an owner,
    /// or called by name at the start of a sentence. Words shaped like drug names are left out,
    /// as drugs are the unknown words clinical text is full of (`Lisinopril is helping`).
    pub(super) fn unknown_singles(&mut self) {
        let unknowns = std::mem::take(&mut self.unknowns);
        for &i in &unknowns {
            if !self.unknown(i)
                || self.marks[i].is_some()
                || self.is_institution(i)
                || drug_like(self.tokens[i].lower)
            {
                continue;
            }
            let next = self.tokens.get(i + 1).map(|t| t.lower);
            let tight = self.adjacent(i);
            let subject = tight && next.is_some_and(|w| SUBJECT_VERBS.contains(&w));
            let owner = self.tokens[i].possessive && self.tokens[i].lower.is_ascii();
            let called = self.sentence_start(i)
                && self.gap_before(i + 1).trim() == ","
                && next.is_some_and(|w| ADDRESS_FOLLOWERS.contains(&w));
            if subject || owner || called {
                self.mark(i, EntityKind::Name, Source::Context, 0.45);
            }
        }
        self.unknowns = unknowns;
    }

    /// `Tünde Hoffmann`, `Marie Langrová`: a census name that is also a medical eponym is
    /// still a person beside a name this file found, unless a head noun makes it the eponym
    /// (`Hoffmann sign`).
    ///
    /// The other word of a pair must already be marked, and marks are few: the rule walks the
    /// marked tokens (see [`NameFinder::next_mark`]) and asks of the word either side of each.
    /// A token this rule marks is an eponym, never unknown (see [`in_no_word_list`]), so it
    /// cannot vouch for another: what the walk finds does not depend on its order.
    pub(super) fn eponym_neighbours(&mut self) {
        let n = self.tokens.len();
        let mut from = 0;
        while let Some(other) = self.next_mark(from, |_| true) {
            from = other + 1;
            if other > 0 && self.adjacent(other - 1) {
                self.eponym_beside(other - 1, other);
            }
            if other + 1 < n && self.adjacent(other) {
                self.eponym_beside(other + 1, other);
            }
        }
    }

    /// [`NameFinder::eponym_neighbours`] for token `this` beside the marked token `other`.
    pub(super) fn eponym_beside(&mut self, this: usize, other: usize) {
        let info = self.info[this];
        let eponym_name = self.tokens[this].shape == Shape::Capitalized
            && info.is_listed_name()
            && info.eponym != Eponym::No
            && !info.function
            && !info.ambiguous;
        let head_after =
            || (self.tokens.get(this + 1)).is_some_and(|t| self.lexicon.is_eponym_head(t.lower));
        let proper = self.unknown(other);
        if eponym_name && proper && !head_after() {
            self.mark(this, EntityKind::Name, Source::Dictionary, 0.5);
        }
    }

    /// `benjamin a seiler`, `eva kleist`: in lower-cased text, after a clear first name, an
    /// initial and a word no dictionary knows are the rest of the name.
    pub(super) fn lowercase_surnames(&mut self) {
        let given = std::mem::take(&mut self.given);
        let n = self.tokens.len();
        for &i in given.iter().take_while(|&&i| i + 1 < n) {
            let first = self.tokens[i].shape == Shape::Lower && self.info[i].is_clear_first_name();
            if !first || self.marks[i].is_none() || !self.adjacent(i) {
                continue;
            }
            let mut next = i + 1;
            let initial = self.tokens[next].lower.chars().count() == 1
                && self.tokens[next].shape == Shape::Lower
                && matches!(self.gap_before(next + 1).trim(), "" | ".")
                && !self.gap_before(next + 1).contains('\n');
            if initial && next + 1 < self.tokens.len() {
                next += 1;
            }
            if self.marks[next].is_some() || !self.lowercase_surname(next) {
                continue;
            }
            for j in i + 1..=next {
                self.mark(j, EntityKind::Name, Source::Dictionary, 0.5);
            }
        }
        self.given = given;
    }

    /// Whether lower-case token `i` can be a surname no list has: letters only, not English,
    /// medical, a drug or a word of the name rules.
    pub(super) fn lowercase_surname(&self, i: usize) -> bool {
        let (token, info) = (&self.tokens[i], self.info[i]);
        let listed = info.last_rank.is_some_and(|rank| rank.get() <= 10_000);
        let unknown = token.lower.chars().count() >= 3
            && token.lower.chars().all(char::is_alphabetic)
            && !info.english
            && !drug_like(token.lower);
        token.shape == Shape::Lower && (listed || unknown) && in_no_word_list(info)
    }

    /// Whether token `i` may be an item of a list of names: a capitalised word standing alone
    /// (no capitalised neighbour) that is not a common, medical or institution word.
    fn name_item(&self, i: usize) -> bool {
        let info = self.info[i];
        let after_name = i > 0 && self.adjacent(i - 1) && self.name_shaped(i - 1);
        let before_capital = self.adjacent(i)
            && (self.tokens.get(i + 1)).is_some_and(|t| t.shape == Shape::Capitalized);
        let alone = !after_name && !before_capital;
        self.tokens[i].shape == Shape::Capitalized
            && alone
            && !info.function
            && (!info.medical || info.is_listed_name())
            && !self.eponym_use(i)
            && !self.is_institution(i)
            && (self.unknown(i) || info.is_listed_name())
    }

    /// Whether list item `i` is itself good evidence of a person. A census surname that also
    /// names a disease (`Wilson`, `Jones`) counts here: `name_item` has already ruled out its
    /// use as an eponym.
    fn named_item(&self, i: usize) -> bool {
        let info = self.info[i];
        let census = info.is_listed_name() && !info.ambiguous && info.eponym != Eponym::Always;
        self.marks[i].is_some() || census || self.foreign(i)
    }

    /// `Usamov and Bowers`, `Monjeau, Graves and Reed`: single capitalised words joined by
    /// commas and `and`, where every item could be a name and one is good evidence of a person
    /// (already marked, a census name that is not an everyday word, or a foreign spelling).
    /// A list of drugs or brands has no such item and is left alone.
    fn coordinated_names(&mut self) {
        self.each_list(|finder, items| {
            let possible: Vec<usize> = items
                .iter()
                .copied()
                .filter(|&k| finder.name_item(k))
                .collect();
            let unknown = possible.iter().any(|&k| finder.unknown(k));
            let named = possible.iter().filter(|&&k| finder.named_item(k)).count();
            // Two census names in a row (`Smith and Jones`) are evidence enough; otherwise one
            // named item must stand beside an unknown word, so that two ordinary words do not
            // vouch for each other.
            if possible.len() < 2 || named == 0 || !(unknown || named >= 2) {
                return;
            }
            for k in possible {
                finder.mark(k, EntityKind::Name, Source::Context, 0.5);
            }
        });
    }
}
