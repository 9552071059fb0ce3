//! Keyed pseudonyms for record ids: the same id always maps to the same pseudonym under one key,
//! so references between de-identified resources still resolve, while the original cannot be
//! recovered or recomputed without the key.

use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::{hmac, rand};

use crate::error::DeidError;

const CONTEXT: &[u8] = b"phigate/id-pseudonym/v1\0";

/// Maps ids to UUID-shaped pseudonyms (valid FHIR ids and valid `urn:uuid:` values).
///
/// Holds the key and the originals it has seen, so `Debug` shows only a count.
pub struct Pseudonyms {
    key: hmac::Key,
    seen: HashMap<String, String>,
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonyms {{ n: {} }}", self.seen.len())
    }
}

impl Pseudonyms {
    /// Pseudonyms under `key`: stable across runs that share it.
    pub fn keyed(key: &[u8]) -> Self {
        Pseudonyms {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            seen: HashMap::new(),
        }
    }

    /// Pseudonyms under a fresh random key: consistent within this value's life only.
    pub fn ephemeral() -> Result<Self, DeidError> {
        Ok(Self::keyed(&random_key()?))
    }

    /// The pseudonym of `id`.
    pub fn of(&mut self, id: &str) -> String {
        if let Some(known) = self.seen.get(id) {
            return known.clone();
        }
        let mut context = hmac::Context::with_key(&self.key);
        context.update(CONTEXT);
        context.update(id.as_bytes());
        let tag = context.sign();
        let b = tag.as_ref();
        let hex: String = b[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        let pseudonym = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        self.seen.insert(id.to_owned(), pseudonym.clone());
        pseudonym
    }

    /// How many distinct ids have been pseudonymized.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id has been pseudonymized yet.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A fresh random 256-bit key, for pseudonyms or date shifts that need only be consistent
/// within one run.
pub fn random_key() -> Result<[u8; 32], DeidError> {
    let mut key = [0u8; 32];
    rand::fill(&mut key).map_err(|_| DeidError::Build { what: "random key" })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_id_gets_the_same_pseudonym_under_one_key() {
        let mut a = Pseudonyms::keyed(b"k");
        let mut b = Pseudonyms::keyed(b"k");
        let first = a.of("3d195286-ce77");
        assert_eq!(first, a.of("3d195286-ce77"));
        assert_eq!(first, b.of("3d195286-ce77"));
        assert_ne!(first, a.of("3d195286-ce78"));
        assert_ne!(first, Pseudonyms::keyed(b"other").of("3d195286-ce77"));
        assert_eq!(first.len(), 36);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn debug_shows_only_the_count() {
        let mut p = Pseudonyms::keyed(b"k");
        p.of("patient-77");
        assert_eq!(format!("{p:?}"), "Pseudonyms { n: 1 }");
    }
}
