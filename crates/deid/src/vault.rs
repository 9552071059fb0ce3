//! The placeholder ↔ original map of one conversation.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entity::EntityKind;
use crate::error::DeidError;
use crate::fold::fold_value;

/// The form in which spellings of one value compare equal and so share one placeholder: lower
/// case, accents and invisible characters removed, every dash a hyphen, whitespace runs one
/// space, trimmed (`Zoë` and `ZOÉ` are one value). Restoring gives back the first spelling.
pub fn spelling_key(value: &str) -> String {
    fold_value(value)
}

/// Maps placeholders such as `[NAME_1]` to the original values they stand for.
///
/// The same original (compared without regard to case or whitespace) always gets the same
/// placeholder within one vault, so a conversation stays coherent across turns and tool calls.
///
/// Surface forms that differ only in case or spacing (`Hope`, `HOPE`) are one entity and share
/// one placeholder, which restores to the first spelling seen. The vault deliberately keeps no
/// other spellings: a placeholder in model output names the entity, not a spelling, so nothing
/// in the output could choose between them, and each kept spelling would be one more copy of
/// PHI at rest. The egress gate compares values case-folded, so it catches every spelling.
/// Numbers count up per kind. `Debug` prints only the number of entries. The caller encrypts
/// [`Vault::to_bytes`] before storing it.
#[derive(Clone, Default)]
pub struct Vault {
    entries: Vec<Entry>,
    by_original: HashMap<(EntityKind, String), usize>,
    by_placeholder: HashMap<String, usize>,
    counters: HashMap<EntityKind, usize>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    kind: EntityKind,
    number: usize,
    original: String,
}

/// The stored form: versioned so the format can change without misreading old vaults.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    entries: Vec<Entry>,
}

const FORMAT_VERSION: u32 = 1;

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vault {{ entries: {} }}", self.entries.len())
    }
}

/// Formats the placeholder for the `number`th value of `kind`.
///
/// Spelled out rather than with `format!`: every replaced span of every request asks for one,
/// and the formatting machinery cost several times the rest of the lookup.
pub fn placeholder(kind: EntityKind, number: usize) -> String {
    let tag = kind.tag();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = number;
    loop {
        at -= 1;
        // `rest % 10` is a single decimal digit.
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let digits = &digits[at..];
    let mut out = String::with_capacity(tag.len() + digits.len() + 3);
    out.push('[');
    out.push_str(tag);
    out.push('_');
    // ASCII digits only.
    digits.iter().for_each(|&d| out.push(char::from(d)));
    out.push(']');
    out
}

impl Vault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    /// The placeholder for `original`, allocating the next number for `kind` on first sight.
    pub fn placeholder_for(&mut self, kind: EntityKind, original: &str) -> String {
        let key = (kind, fold_value(original));
        if let Some(&index) = self.by_original.get(&key) {
            return placeholder(kind, self.entries[index].number);
        }
        let counter = self.counters.entry(kind).or_insert(0);
        *counter += 1;
        let number = *counter;
        self.insert(
            Entry {
                kind,
                number,
                original: original.to_owned(),
            },
            Some(key),
        );
        placeholder(kind, number)
    }

    fn insert(&mut self, entry: Entry, key: Option<(EntityKind, String)>) {
        let index = self.entries.len();
        let key = key.unwrap_or_else(|| (entry.kind, fold_value(&entry.original)));
        self.by_original.entry(key).or_insert(index);
        self.by_placeholder
            .insert(placeholder(entry.kind, entry.number), index);
        self.entries.push(entry);
    }

    /// The original value behind `placeholder` (e.g. `"[NAME_1]"`), if this vault issued it.
    pub fn original(&self, placeholder: &str) -> Option<&str> {
        let index = *self.by_placeholder.get(placeholder)?;
        Some(self.entries[index].original.as_str())
    }

    /// Every original with its kind, in the order first seen. Feed these to the egress gate.
    pub fn originals(&self) -> impl Iterator<Item = (EntityKind, &str)> {
        self.entries
            .iter()
            .map(|entry| (entry.kind, entry.original.as_str()))
    }

    /// How many placeholders have been issued.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no placeholder has been issued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Serializes the vault. The bytes contain PHI in clear: the caller must encrypt them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let stored = Stored {
            version: FORMAT_VERSION,
            entries: self.entries.clone(),
        };
        // Serializing plain strings and enums to JSON cannot fail.
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// Reads back bytes made by [`Vault::to_bytes`], checking that they are consistent.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DeidError> {
        let stored: Stored = serde_json::from_slice(bytes).map_err(|_| DeidError::VaultFormat)?;
        if stored.version != FORMAT_VERSION {
            return Err(DeidError::VaultFormat);
        }
        let mut vault = Vault::new();
        for entry in stored.entries {
            let expected = vault.counters.get(&entry.kind).copied().unwrap_or(0) + 1;
            if entry.number != expected {
                return Err(DeidError::VaultFormat);
            }
            vault.counters.insert(entry.kind, expected);
            vault.insert(entry, None);
        }
        Ok(vault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_spelled_as_the_format_says() {
        let numbers = (0..2000).chain([9_999, 10_000, 123_456_789, usize::MAX]);
        for number in numbers {
            for kind in [EntityKind::Name, EntityKind::Date, EntityKind::Zip] {
                let expected = format!("[{}_{}]", kind.tag(), number);
                assert_eq!(placeholder(kind, number), expected);
            }
        }
    }

    #[test]
    fn spellings_that_differ_in_case_accents_or_spacing_have_one_key() {
        assert_eq!(spelling_key("Zo\u{eb}  "), spelling_key("ZO\u{c9}"));
        assert_eq!(spelling_key("Jamal \n Whitfield"), "jamal whitfield");
        assert_ne!(spelling_key("Zoe"), spelling_key("Zoey"));
    }

    #[test]
    fn the_same_original_gets_the_same_placeholder_whatever_its_case_or_spacing() {
        let mut vault = Vault::new();
        let first = vault.placeholder_for(EntityKind::Name, "Martha Collins");
        assert_eq!(first, "[NAME_1]");
        assert_eq!(
            vault.placeholder_for(EntityKind::Name, "martha  COLLINS"),
            first
        );
        assert_eq!(
            vault.placeholder_for(EntityKind::Name, " Martha\nCollins "),
            first
        );
        assert_eq!(vault.len(), 1);
    }

    #[test]
    fn numbers_count_up_per_kind() {
        let mut vault = Vault::new();
        assert_eq!(vault.placeholder_for(EntityKind::Name, "Ann"), "[NAME_1]");
        assert_eq!(
            vault.placeholder_for(EntityKind::Date, "3/4/26"),
            "[DATE_1]"
        );
        assert_eq!(vault.placeholder_for(EntityKind::Name, "Bo"), "[NAME_2]");
        assert_eq!(vault.original("[NAME_2]"), Some("Bo"));
        assert_eq!(vault.original("[NAME_3]"), None);
    }

    #[test]
    fn the_first_spelling_seen_is_the_one_restored() {
        let mut vault = Vault::new();
        vault.placeholder_for(EntityKind::Name, "Martha");
        vault.placeholder_for(EntityKind::Name, "MARTHA");
        assert_eq!(vault.original("[NAME_1]"), Some("Martha"));
    }

    #[test]
    fn bytes_round_trip() {
        let mut vault = Vault::new();
        vault.placeholder_for(EntityKind::Name, "Martha");
        vault.placeholder_for(EntityKind::Mrn, "12345678");
        vault.placeholder_for(EntityKind::Name, "Collins");
        let back = Vault::from_bytes(&vault.to_bytes());
        let Ok(mut back) = back else {
            panic!("round trip failed")
        };
        assert_eq!(back.len(), 3);
        assert_eq!(back.original("[NAME_2]"), Some("Collins"));
        assert_eq!(
            back.placeholder_for(EntityKind::Name, "collins"),
            "[NAME_2]"
        );
        assert_eq!(back.placeholder_for(EntityKind::Name, "Roe"), "[NAME_3]");
    }

    #[test]
    fn malformed_or_inconsistent_bytes_are_refused() {
        assert!(Vault::from_bytes(b"not json").is_err());
        assert!(Vault::from_bytes(br#"{"version":9,"entries":[]}"#).is_err());
        let skipped = br#"{"version":1,"entries":[{"kind":"NAME","number":2,"original":"x"}]}"#;
        assert!(Vault::from_bytes(skipped).is_err());
    }

    #[test]
    fn debug_shows_only_the_count() {
        let mut vault = Vault::new();
        vault.placeholder_for(EntityKind::Name, "Martha Collins");
        assert_eq!(format!("{vault:?}"), "Vault { entries: 1 }");
    }
}
