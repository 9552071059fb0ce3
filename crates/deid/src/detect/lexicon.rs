//! The word lists behind name detection, embedded in the binary and parsed once.

mod table;

use std::num::NonZeroU32;

use rustc_hash::{FxHashMap, FxHashSet};
use table::WordTable;

// The word lists are looked up once per word of every text, and the keys are fixed, embedded
// lists (nothing an attacker chooses), so a fast non-keyed hash is safe here.
type FastMap<K, V> = FxHashMap<K, V>;
type FastSet<K> = FxHashSet<K>;

const FIRST_NAMES: &str = include_str!("../../data/first-names.txt");
const LAST_NAMES: &str = include_str!("../../data/last-names.txt");
const MEDICAL_WORDS: &str = include_str!("../../data/medical-words.txt");
const DOSE_FORMS: &str = include_str!("../../data/dose-forms.txt");
const FUNCTION_WORDS: &str = include_str!("../../data/function-words.txt");
const AMBIGUOUS_WORDS: &str = include_str!("../../data/ambiguous-words.txt");
const NICKNAMES: &str = include_str!("../../data/nicknames.txt");
const EPONYMS: &str = include_str!("../../data/eponyms.txt");
const ENGLISH_WORDS: &str = include_str!("../../data/english-words.txt");

/// Nouns that turn a preceding surname into a medical eponym ("Graves disease", "Bell palsy").
const EPONYM_HEADS: &[&str] = &[
    "disease",
    "syndrome",
    "sign",
    "signs",
    "test",
    "maneuver",
    "manoeuvre",
    "fracture",
    "palsy",
    "paralysis",
    "phenomenon",
    "reflex",
    "scale",
    "score",
    "stain",
    "body",
    "bodies",
    "catheter",
    "tube",
    "lymphoma",
    "sarcoma",
    "tumor",
    "tumour",
    "node",
    "nodes",
    "criteria",
    "classification",
    "procedure",
    "operation",
    "repair",
    "incision",
    "point",
    "triad",
    "law",
    "ulcer",
    "contracture",
    "deformity",
    "disorder",
    "lesion",
    "diverticulum",
    "esophagus",
    "cyst",
    "gland",
    "glands",
    "duct",
    "canal",
    "membrane",
    "nodule",
    "nodules",
    "respiration",
    "breathing",
    "murmur",
    "position",
    "solution",
    "index",
    "equation",
    "formula",
    "method",
    "technique",
    "anomaly",
    "malformation",
    "dystrophy",
    "ataxia",
    "chorea",
    "dementia",
    "angina",
    "thyroiditis",
    "encephalopathy",
    "neuroma",
    "neuralgia",
    "cell",
    "cells",
    "spots",
    "space",
    "pouch",
    "line",
    "lines",
    "ring",
    "rings",
    "stage",
    "staging",
    "grade",
    "questionnaire",
    "inventory",
    "tear",
    "lift",
    "walk",
    "sarcoma",
    "hernia",
    "block",
    "bursitis",
    "varicella",
];

/// How a word relates to medical eponyms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Eponym {
    /// Not an eponym.
    No,
    /// An eponym only when used as one (followed by a medical head noun).
    Usage,
    /// Practically always an eponym in clinical text.
    Always,
}

/// What the lists say about one lowercase word.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordInfo {
    /// Rank in the census first-name lists (1 = most common), if listed.
    ///
    /// Ranks start at 1, so a rank is a `NonZeroU32`: `None` then costs no room, and the facts
    /// of a word fit in 16 bytes, copied for every word of every text.
    pub(crate) first_rank: Option<NonZeroU32>,
    /// Rank in the census surname list, if listed.
    pub(crate) last_rank: Option<NonZeroU32>,
    /// A closed-class or very common word: never a name by itself.
    pub(crate) function: bool,
    /// A name that is also an everyday word: a name only with other evidence.
    pub(crate) ambiguous: bool,
    /// A word of ICD-10-CM descriptions.
    pub(crate) medical: bool,
    pub(crate) eponym: Eponym,
    /// The parts the name rules give this word (titles, cues…): bits of [`Role`].
    pub(crate) roles: u16,
    /// A word of the English dictionary (SCOWL). Kept with the other lists so that one lookup
    /// per word answers both "which lists" and "is it English".
    pub(crate) english: bool,
}

impl Default for WordInfo {
    fn default() -> Self {
        WordInfo {
            first_rank: None,
            last_rank: None,
            function: false,
            ambiguous: false,
            medical: false,
            eponym: Eponym::No,
            roles: 0,
            english: false,
        }
    }
}

/// The parts a word can play for the name rules, one bit each, so that each word of a text is
/// looked up once instead of being compared with every list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u16)]
pub(crate) enum Role {
    /// `Mr.`, `Mrs.`: announces a person.
    Title = 1,
    /// `Dr.`, `Professor`: announces a clinician.
    ClinicianTitle = 1 << 1,
    /// A word after which a name is likely (`wife`, `hi`, `named`).
    Cue = 1 << 2,
    /// A cue that announces a clinician (`attending`, `pcp`).
    ClinicianCue = 1 << 3,
    /// The second word of a two-word cue (`name is`, `call me`).
    CueEnd = 1 << 4,
    /// A verb that takes a person as subject (`said`, `lives`).
    PersonVerb = 1 << 5,
    /// A verb that attributes a quotation (`says`, `replied`).
    SayingVerb = 1 << 6,
    /// A particle inside a name (`van`, `de`).
    Particle = 1 << 7,
    /// A word that makes a capitalised run an organisation or a place.
    Institution = 1 << 8,
    /// A word before `name` that makes it a strong cue (`last`, `maiden`).
    NameQualifier = 1 << 9,
    /// A relative (`son`, `wife`): a capitalised owner right before one is a person.
    Relative = 1 << 10,
}

impl WordInfo {
    /// Whether the word plays `role`.
    pub(crate) fn is(&self, role: Role) -> bool {
        self.roles & role as u16 != 0
    }
}

impl WordInfo {
    /// Listed as a first or last name at all.
    pub(crate) fn is_listed_name(&self) -> bool {
        self.first_rank.is_some() || self.last_rank.is_some()
    }

    /// A first name that may stand alone as evidence of a person.
    pub(crate) fn is_clear_first_name(&self) -> bool {
        self.first_rank.is_some()
            && !self.function
            && !self.ambiguous
            && self.eponym != Eponym::Always
    }
}

/// The lower-case English words of SCOWL.
fn english_words() -> impl Iterator<Item = &'static str> {
    ENGLISH_WORDS
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::trim)
        .filter(|word| !word.is_empty())
}

/// Parsed word lists.
pub(crate) struct Lexicon {
    first: FastMap<&'static str, NonZeroU32>,
    last: FastMap<&'static str, NonZeroU32>,
    medical: FastSet<&'static str>,
    function: FastSet<&'static str>,
    ambiguous: FastSet<&'static str>,
    eponym_always: FastSet<&'static str>,
    eponym_usage: FastSet<&'static str>,
    heads: FastSet<&'static str>,
    nicknames: FastMap<&'static str, Vec<&'static str>>,
    /// Every word of every list with all the lists say about it: one lookup per word of a text,
    /// in a table made for it (see [`table`]).
    words: WordTable,
}

fn ranked(list: &'static str) -> FastMap<&'static str, NonZeroU32> {
    let mut map = FastMap::default();
    for (rank, word) in list
        .lines()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let rank = u32::try_from(rank + 1).unwrap_or(u32::MAX);
        map.entry(word)
            .or_insert(NonZeroU32::new(rank).unwrap_or(NonZeroU32::MAX));
    }
    map
}

fn words(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
}

impl Lexicon {
    /// Parses the lists; `roles` are the name rules' own word lists, each with its role.
    pub(crate) fn new(roles: &[(Role, &[&'static str])]) -> Self {
        let mut eponym_always = FastSet::default();
        let mut eponym_usage = FastSet::default();
        for line in EPONYMS.lines() {
            let (always, rest) = if let Some(rest) = line.strip_prefix("always:") {
                (true, rest)
            } else if let Some(rest) = line.strip_prefix("usage:") {
                (false, rest)
            } else {
                continue;
            };
            for word in rest.split_whitespace() {
                // A possessive entry ("bell's") marks the bare name as an eponym by usage.
                match word.strip_suffix("'s") {
                    Some(bare) => eponym_usage.insert(bare),
                    None if always => eponym_always.insert(word),
                    None => eponym_usage.insert(word),
                };
            }
        }
        let mut lexicon = Lexicon {
            first: ranked(FIRST_NAMES),
            last: ranked(LAST_NAMES),
            medical: words(MEDICAL_WORDS).chain(words(DOSE_FORMS)).collect(),
            function: words(FUNCTION_WORDS).collect(),
            ambiguous: words(AMBIGUOUS_WORDS).collect(),
            eponym_always,
            eponym_usage,
            heads: EPONYM_HEADS.iter().copied().collect(),
            nicknames: NICKNAMES
                .lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| line.split_once(':'))
                .map(|(full, short)| (full.trim(), short.split_whitespace().collect()))
                .collect(),
            words: WordTable::new(Vec::new()),
        };
        let listed: Vec<&'static str> = (lexicon.first.keys())
            .chain(lexicon.last.keys())
            .chain(&lexicon.medical)
            .chain(&lexicon.function)
            .chain(&lexicon.ambiguous)
            .chain(&lexicon.eponym_always)
            .chain(&lexicon.eponym_usage)
            .copied()
            .collect();
        let mut words = FastMap::default();
        for word in listed {
            words.insert(word, lexicon.look_up(word));
        }
        for (role, list) in roles {
            for &word in *list {
                let info = words.entry(word).or_insert_with(|| lexicon.look_up(word));
                info.roles |= *role as u16;
            }
        }
        for word in english_words() {
            // An English word on no other list gets what `info` would have worked out for it.
            let info = words.entry(word).or_insert_with(|| lexicon.look_up(word));
            info.english = true;
        }
        lexicon.words = WordTable::new(words.into_iter().collect());
        lexicon
    }

    /// What the lists say about a lowercase word (or each part of a hyphenated one).
    ///
    /// Always inlined: the name rules call it once for every word of a text.
    #[inline(always)]
    pub(crate) fn info(&self, lower: &str) -> WordInfo {
        match self.words.get(lower) {
            Some(info) => *info,
            // Only hyphenated words are judged by their parts; any other unlisted word is
            // nothing the lists know.
            None if lower.bytes().any(|b| b == b'-') => self.look_up_parts(lower),
            None => WordInfo::default(),
        }
    }

    /// [`Lexicon::look_up`] of a hyphenated word that is in no list as a whole (every word of
    /// every list is in `words`), so only its parts can make it anything: one `words` lookup
    /// per part answers what [`Lexicon::look_up`] asks of the parts (a part has no hyphen, so
    /// its entry says exactly whether the census lists have it and whether it is always an
    /// eponym), instead of asking every list about the whole word again.
    fn look_up_parts(&self, lower: &str) -> WordInfo {
        // Split as bytes: `-` is ASCII, so the parts are those `str::split` gives, without
        // decoding characters.
        let (mut always, mut listed) = (false, true);
        let mut first = None;
        for (index, part) in lower.as_bytes().split(|&b| b == b'-').enumerate() {
            let info = self.words.get_bytes(part);
            always |= info.is_some_and(|info| info.eponym == Eponym::Always);
            listed &= info.is_some_and(WordInfo::is_listed_name);
            if index == 0 {
                first = info;
            }
        }
        let (first_rank, last_rank) = match first {
            Some(first) if listed => (first.first_rank, first.last_rank),
            _ => (None, None),
        };
        WordInfo {
            first_rank,
            last_rank,
            eponym: if always { Eponym::Always } else { Eponym::No },
            ..WordInfo::default()
        }
    }

    /// Asks every list about `lower` (the roles are added by [`Lexicon::new`]).
    fn look_up(&self, lower: &str) -> WordInfo {
        let hyphenated = lower.bytes().any(|b| b == b'-');
        let eponym = if self.eponym_always.contains(lower)
            || hyphenated
                && lower
                    .split('-')
                    .any(|part| self.eponym_always.contains(part))
        {
            Eponym::Always
        } else if self.eponym_usage.contains(lower) {
            Eponym::Usage
        } else {
            Eponym::No
        };
        // A hyphenated word counts as a name when every part is a listed name (`mary-ann`,
        // `smith-jones`): asked once here for both lists.
        let parts_listed = hyphenated
            && lower
                .split('-')
                .all(|part| self.first.contains_key(part) || self.last.contains_key(part));
        let first_part = lower.split('-').next().unwrap_or(lower);
        WordInfo {
            first_rank: Self::rank(&self.first, lower, parts_listed, first_part),
            last_rank: Self::rank(&self.last, lower, parts_listed, first_part),
            function: self.function.contains(lower),
            ambiguous: self.ambiguous.contains(lower),
            medical: self.medical.contains(lower),
            eponym,
            roles: 0,
            english: false,
        }
    }

    /// The rank of `lower` in `list`; a hyphenated word whose parts are all listed names
    /// (`parts_listed`) takes the rank of its first part.
    fn rank(
        list: &FastMap<&'static str, NonZeroU32>,
        lower: &str,
        parts_listed: bool,
        first_part: &str,
    ) -> Option<NonZeroU32> {
        match list.get(lower) {
            Some(rank) => Some(*rank),
            None if parts_listed => list.get(first_part).copied(),
            None => None,
        }
    }

    /// The short forms of the lowercase given name `lower` (`robert` → `bob`, `bobby`…).
    pub(crate) fn nicknames(&self, lower: &str) -> &[&'static str] {
        self.nicknames.get(lower).map_or(&[], Vec::as_slice)
    }

    /// Whether `lower` is a noun that makes a preceding surname an eponym.
    pub(crate) fn is_eponym_head(&self, lower: &str) -> bool {
        self.heads.contains(lower)
    }

    /// Whether `lower` is a closed-class or very common word.
    pub(crate) fn is_function_word(&self, lower: &str) -> bool {
        self.function.contains(lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn census_names_are_ranked_by_frequency() {
        let lexicon = Lexicon::new(&[]);
        let james = lexicon.info("james");
        assert!(james.first_rank.is_some_and(|rank| rank.get() < 5));
        assert!(
            lexicon
                .info("smith")
                .last_rank
                .is_some_and(|rank| rank.get() == 1)
        );
        assert!(james.is_clear_first_name());
    }

    #[test]
    fn everyday_words_that_are_names_are_marked_ambiguous() {
        let lexicon = Lexicon::new(&[]);
        for word in ["will", "may", "mark", "bill", "rose", "hope", "grace"] {
            let info = lexicon.info(word);
            assert!(info.first_rank.is_some(), "{word}");
            assert!(!info.is_clear_first_name(), "{word}");
        }
    }

    #[test]
    fn hyphenated_words_read_by_their_parts_as_by_every_list() {
        let lexicon = Lexicon::new(crate::detect::names::ROLES);
        let words = [
            "mary-ann",
            "smith-jones",
            "parkinson-jones",
            "jones-parkinson",
            "follow-up",
            "x-ray",
            "mary-",
            "-ann",
            "ann-marie-louise",
            "zzqx-mary",
        ];
        for word in words.into_iter().filter(|w| !lexicon.words.contains_key(w)) {
            let (parts, every) = (lexicon.look_up_parts(word), lexicon.look_up(word));
            assert_eq!(format!("{parts:?}"), format!("{every:?}"), "{word}");
        }
    }

    #[test]
    fn eponyms_are_classified() {
        let lexicon = Lexicon::new(&[]);
        assert_eq!(lexicon.info("parkinson").eponym, Eponym::Always);
        assert_eq!(lexicon.info("creutzfeldt-jakob").eponym, Eponym::Always);
        assert_eq!(lexicon.info("graves").eponym, Eponym::Usage);
        assert_eq!(lexicon.info("martha").eponym, Eponym::No);
        assert!(lexicon.is_eponym_head("disease"));
    }
}
