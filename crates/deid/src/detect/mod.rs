//! Finding PHI in free text: known values, shaped identifiers, places and names.
//!
//! A [`Detector`] is built once (it parses the embedded word lists and compiles every rule) and
//! then shared: it is `Send + Sync` and `detect` takes `&self`.

mod address_edges;
mod address_tail;
mod dates;
mod known;
mod known_numbers;
pub(crate) mod lexicon;
mod names;
mod patterns;
mod places;
mod prefilter;
mod resolve;
mod rules;
mod tokens;
mod trigger;

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::Deserialize;

use crate::entity::Entity;
use crate::error::DeidError;
use crate::known::KnownPhi;
pub use known::KnownMatcher;
use lexicon::Lexicon;
use rules::RuleTable;

const RESTRICTED_ZIP3: &str = include_str!("../../data/restricted-zip3.json");

/// How a [`Detector`] behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectorConfig {
    /// Detect clinicians' names (as `PROVIDER`). Not a Safe Harbor identifier, but most clinical
    /// de-identification treats them as sensitive. Default `true`.
    pub clinician_names: bool,
    /// Three-digit ZIP prefixes of areas with 20,000 people or fewer, which Safe Harbor reports
    /// as `000`. Default: the union of the 2000 and 2010 census lists.
    pub restricted_zip3: Vec<String>,
}

#[derive(Deserialize)]
struct Zip3Lists {
    union: Vec<String>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        let restricted_zip3 = serde_json::from_str::<Zip3Lists>(RESTRICTED_ZIP3)
            .map(|lists| lists.union)
            .unwrap_or_default();
        DetectorConfig {
            clinician_names: true,
            restricted_zip3,
        }
    }
}

/// The PHI detector. Build once, share everywhere.
pub struct Detector {
    config: DetectorConfig,
    restricted_zip3: HashSet<String>,
    lexicon: Lexicon,
    rules: RuleTable,
}

impl fmt::Debug for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// Builds the detector: parses the word lists and compiles the rules.
    pub fn new(config: DetectorConfig) -> Result<Self, DeidError> {
        for (index, zip3) in config.restricted_zip3.iter().enumerate() {
            if zip3.len() != 3 || !zip3.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DeidError::BadZip3 { index });
            }
        }
        let mut specs = dates::specs();
        specs.extend(patterns::specs());
        specs.extend(places::specs());
        Ok(Detector {
            restricted_zip3: config.restricted_zip3.iter().cloned().collect(),
            config,
            lexicon: Lexicon::new(names::ROLES),
            rules: RuleTable::new("detection rules", &specs)?,
        })
    }

    /// The configuration the detector was built with.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Finds PHI in `text`: sorted by start, non-overlapping, byte offsets.
    pub fn detect(&self, text: &str, known: &KnownPhi) -> Vec<Entity> {
        self.detect_with(text, &self.prepare(known))
    }

    /// Prepares known values once for many calls to [`Detector::detect_with`]. Preparing costs
    /// time in proportion to the values; prepare once per request, not once per text.
    pub fn prepare(&self, known: &KnownPhi) -> KnownMatcher {
        KnownMatcher::new(known, &self.lexicon)
    }

    /// As [`Detector::detect`], with known values prepared by [`Detector::prepare`].
    pub fn detect_with(&self, text: &str, known: &KnownMatcher) -> Vec<Entity> {
        self.finish(&self.analyse(text), known)
    }

    /// Everything detection finds in `text` that does not depend on known values. A caller that
    /// detects the same text twice (first to learn its values, then with them known) analyses
    /// it once and finishes it twice.
    pub fn analyse(&self, text: &str) -> Analysis {
        let mut rules = Vec::new();
        self.rules.find(text, &mut rules);
        address_tail::extend_streets(text, &mut rules);
        places::address_blocks(text, &mut rules);
        let mut addressees = Vec::new();
        address_tail::addressee_lines(text, &rules, &mut addressees);
        let mut lowered = tokens::room::lowered();
        let tokens = tokens::tokenize(text, &mut lowered);
        let mut names = Vec::new();
        names::find_names(
            text,
            &tokens,
            &self.lexicon,
            self.config.clinician_names,
            &mut names,
        );
        tokens::room::keep_tokens(tokens);
        tokens::room::keep_lowered(lowered);
        let mut edges = Vec::new();
        address_edges::add_edges(text, &rules, &self.lexicon, &mut edges);
        address_edges::add_edges(text, &names, &self.lexicon, &mut edges);
        names.append(&mut edges);
        Analysis {
            text: text.to_owned(),
            rules,
            addressees,
            names,
        }
    }

    /// The spans de-identifying the text of `analysis` with `known` replaces (what
    /// [`Deidentifier::analysed`](crate::Deidentifier::analysed) replaces), without writing
    /// the de-identified text: sorted by start, non-overlapping, byte offsets.
    pub fn entities(&self, analysis: &Analysis, known: &KnownMatcher) -> Vec<Entity> {
        self.finish(analysis, known)
    }

    /// Adds the known values to an analysis: sorted by start, non-overlapping, byte offsets.
    /// The candidates are put together in the order a single pass would find them (known
    /// values, rules, addressees of known and of ruled streets, names), so the result is the
    /// same as detecting the text afresh.
    pub(crate) fn finish(&self, analysis: &Analysis, known: &KnownMatcher) -> Vec<Entity> {
        let text = analysis.text.as_str();
        let mut found = Vec::with_capacity(
            analysis.rules.len() + analysis.addressees.len() + analysis.names.len() + 8,
        );
        known.find(text, &mut found);
        let from_known = found.len();
        found.extend_from_slice(&analysis.rules);
        let mut known_addressees = Vec::new();
        address_tail::addressee_lines(text, &found[..from_known], &mut known_addressees);
        found.extend(known_addressees);
        found.extend_from_slice(&analysis.addressees);
        found.extend_from_slice(&analysis.names);
        resolve::resolve(found)
    }

    /// The Safe Harbor form of a ZIP code: its first three digits, or `000` where that area is
    /// restricted. `None` when `zip` does not start with three digits.
    pub fn safe_harbor_zip3(&self, zip: &str) -> Option<String> {
        let prefix = zip.trim().get(..3)?;
        if !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if self.restricted_zip3.contains(prefix) {
            return Some("000".to_owned());
        }
        Some(prefix.to_owned())
    }
}

/// What detection found in one text before known values are added (see [`Detector::analyse`]).
/// Holds the text, so it has no `Debug`; equal and hashed as its text, so a set of analyses
/// can be looked up by text.
#[derive(Clone)]
pub struct Analysis {
    text: String,
    rules: Vec<Entity>,
    addressees: Vec<Entity>,
    names: Vec<Entity>,
}

impl Analysis {
    /// The text analysed.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Analysis {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Analysis {}

impl Hash for Analysis {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Borrow<str> for Analysis {
    fn borrow(&self) -> &str {
        &self.text
    }
}

/// The syntax tree of a rule pattern written in a test (which fails on a bad pattern).
#[cfg(test)]
pub(crate) fn test_hir(pattern: &str) -> regex_syntax::hir::Hir {
    match regex_syntax::parse(pattern) {
        Ok(hir) => hir,
        Err(error) => panic!("test pattern does not parse: {error}"),
    }
}

#[cfg(test)]
mod tests;
