//! The vocabulary of detection: what kind of identifier a span is, and where it came from.

use serde::{Deserialize, Serialize};

/// A category of protected health information, after the 18 Safe Harbor identifiers.
///
/// Each kind has a stable upper-case tag used in placeholders (`[NAME_1]`) and in audit records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    /// A patient's, relative's or household member's name.
    Name,
    /// A clinician's name (not a Safe Harbor identifier, but treated as sensitive by default).
    Provider,
    /// Any element of a date more specific than the year.
    Date,
    /// An age over 89.
    Age,
    /// A street address, city, county or other unit smaller than a state.
    Location,
    /// A ZIP code.
    Zip,
    /// A telephone number.
    Phone,
    /// A fax number.
    Fax,
    /// An e-mail address.
    Email,
    /// A social security number.
    Ssn,
    /// A medical record number.
    Mrn,
    /// Any other identifying number: licence, plan, device, vehicle, passport.
    Id,
    /// An account number: bank, card, billing.
    Account,
    /// A web address.
    Url,
    /// An IP address.
    Ip,
    /// The name of a patient's or relative's employer.
    Employer,
}

impl EntityKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntityKind; 16] = [
        EntityKind::Name,
        EntityKind::Provider,
        EntityKind::Date,
        EntityKind::Age,
        EntityKind::Location,
        EntityKind::Zip,
        EntityKind::Phone,
        EntityKind::Fax,
        EntityKind::Email,
        EntityKind::Ssn,
        EntityKind::Mrn,
        EntityKind::Id,
        EntityKind::Account,
        EntityKind::Url,
        EntityKind::Ip,
        EntityKind::Employer,
    ];

    /// The upper-case tag used in placeholders, e.g. `"NAME"`.
    pub fn tag(&self) -> &'static str {
        match self {
            EntityKind::Name => "NAME",
            EntityKind::Provider => "PROVIDER",
            EntityKind::Date => "DATE",
            EntityKind::Age => "AGE",
            EntityKind::Location => "LOCATION",
            EntityKind::Zip => "ZIP",
            EntityKind::Phone => "PHONE",
            EntityKind::Fax => "FAX",
            EntityKind::Email => "EMAIL",
            EntityKind::Ssn => "SSN",
            EntityKind::Mrn => "MRN",
            EntityKind::Id => "ID",
            EntityKind::Account => "ACCOUNT",
            EntityKind::Url => "URL",
            EntityKind::Ip => "IP",
            EntityKind::Employer => "EMPLOYER",
        }
    }

    /// The kind whose tag is exactly `tag` (upper case), if any.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.tag() == tag)
    }

    /// Whether values of this kind are personal names, whose parts are matched on their own.
    pub fn is_person(&self) -> bool {
        matches!(self, EntityKind::Name | EntityKind::Provider)
    }
}

/// Which detector found a span. Ordered from weakest to strongest evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A dictionary hit (a census first or last name) supported by its surroundings.
    Dictionary,
    /// A cue in the surrounding words ("lives in", "my wife", a title) or a repeat of a name
    /// found elsewhere in the same text.
    Context,
    /// A shape that identifies on its own: a date, a phone number, an e-mail address.
    Pattern,
    /// A value the caller knows to be PHI for this request.
    Known,
}

/// One detected span of PHI. Holds byte offsets into the input, never the text itself.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// What kind of identifier the span is.
    pub kind: EntityKind,
    /// Byte offset of the first byte of the span.
    pub start: usize,
    /// Byte offset one past the last byte of the span.
    pub end: usize,
    /// Which detector found it.
    pub source: Source,
    /// Confidence in `0.0..=1.0`.
    pub score: f32,
}

impl Entity {
    /// The span's length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span is empty (never true for a detected entity).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether this span shares at least one byte with `other`.
    pub fn overlaps(&self, other: &Entity) -> bool {
        self.start < other.end && other.start < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_round_trips_to_its_kind() {
        for kind in EntityKind::ALL {
            assert_eq!(EntityKind::from_tag(kind.tag()), Some(kind));
        }
        assert_eq!(EntityKind::from_tag("name"), None);
        assert_eq!(EntityKind::from_tag("PATIENT"), None);
    }

    #[test]
    fn kinds_serialize_as_their_tags() {
        for kind in EntityKind::ALL {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.tag()));
        }
    }
}
