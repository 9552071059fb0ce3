//! Values the system already knows to be PHI for one request, taken from the patient record.

use std::collections::HashSet;
use std::fmt;

use crate::entity::EntityKind;

/// The PHI values known for a request: the patient's name, birth date, MRN, address…
///
/// Detection always finds these (case-insensitively, as whole tokens) and the egress gate checks
/// for them in outbound bytes. `Debug` prints only how many there are.
#[derive(Clone, Default)]
pub struct KnownPhi {
    values: Vec<(EntityKind, String)>,
    /// The same pairs, for the duplicate check: a scan of `values` would make adding n values
    /// cost n², and a request can carry tens of thousands.
    present: HashSet<(EntityKind, String)>,
}

impl fmt::Debug for KnownPhi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnownPhi {{ n: {} }}", self.values.len())
    }
}

impl KnownPhi {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value. Values that are empty, whitespace or shorter than two characters after
    /// trimming are ignored: they would match everywhere. Exact duplicates are kept once.
    pub fn add(&mut self, kind: EntityKind, value: &str) {
        let value = value.trim();
        if value.chars().count() < 2 {
            return;
        }
        if !self.present.insert((kind, value.to_owned())) {
            return;
        }
        self.values.push((kind, value.to_owned()));
    }

    /// Every value with its kind, in the order added.
    pub fn values(&self) -> impl Iterator<Item = (EntityKind, &str)> {
        self.values
            .iter()
            .map(|(kind, value)| (*kind, value.as_str()))
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_one_character_values_are_ignored() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Name, "");
        known.add(EntityKind::Name, "   ");
        known.add(EntityKind::Name, " J ");
        known.add(EntityKind::Name, "Jo");
        assert_eq!(known.len(), 1);
        assert_eq!(known.values().next(), Some((EntityKind::Name, "Jo")));
    }

    #[test]
    fn duplicates_are_kept_once() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Mrn, "12345678");
        known.add(EntityKind::Mrn, " 12345678");
        assert_eq!(known.len(), 1);
    }

    #[test]
    fn debug_shows_only_the_count() {
        let mut known = KnownPhi::new();
        known.add(EntityKind::Name, "Martha Collins");
        assert_eq!(format!("{known:?}"), "KnownPhi { n: 1 }");
    }
}
