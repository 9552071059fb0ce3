//! Which FHIR elements carry PHI by position, and of what kind.

use phigate_deid::EntityKind;
use serde_json::Value;

use crate::first_string;

pub(super) const GEOLOCATION: &str = "http://hl7.org/fhir/StructureDefinition/geolocation";
pub(super) const MOTHERS_MAIDEN_NAME: &str =
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";

/// What to do with the value of one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    /// Schema: codes, systems, statuses, units. Kept as it is.
    Keep,
    /// A resource or element id: pseudonymized.
    Id,
    /// A reference (`Patient/123`, `urn:uuid:…`, `Practitioner?identifier=…|…`): its ids are
    /// pseudonymized.
    Reference,
    /// `Identifier` or a list of them: the value is replaced by kind.
    Identifier,
    /// `ContactPoint`s: the value is replaced by kind.
    Telecom,
    /// An `Address`: lines, city, district and postal code are replaced.
    Address,
    /// `HumanName`s: given, family and text are replaced.
    HumanName(EntityKind),
    /// A value that is PHI of this kind wherever it appears here.
    Whole(EntityKind),
    /// Base64 attachment data of a text content type: decoded, de-identified, re-encoded.
    Base64Text,
    /// Anything else: walked, and its strings de-identified as free text.
    Walk,
}

/// Elements whose string values are schema rather than data.
const KEPT: &[&str] = &[
    "resourceType",
    "system",
    "code",
    "status",
    "use",
    "unit",
    "gender",
    "language",
    "contentType",
    "profile",
    "intent",
    "currency",
    "outcome",
    "criticality",
    "lifecycleStatus",
    "periodUnit",
    "durationUnit",
    "state",
    "country",
    "method",
    "valueCode",
    "versionId",
    "mode",
    "type",
    "prefix",
    "priority",
    "category",
    "version",
];

/// Device and study identifiers that are identifiers wherever they sit.
const DEVICE_IDS: &[&str] = &[
    "deviceIdentifier",
    "carrierHRF",
    "carrierAIDC",
    "serialNumber",
    "lotNumber",
    "distinctIdentifier",
    "uid",
];

/// Classifies element `key` of an object; `extension_url` is the object's own `url` when the
/// object is an extension, `is_request` says it is a bundle entry's `request`.
pub(super) fn classify(
    key: &str,
    extension_url: Option<&str>,
    is_request: bool,
    is_practitioner: bool,
) -> Field {
    match key {
        "id" => Field::Id,
        "reference" | "fullUrl" => Field::Reference,
        "url" if is_request => Field::Reference,
        "url" if extension_url.is_some() => Field::Keep,
        "valueString" if extension_url == Some(MOTHERS_MAIDEN_NAME) => {
            Field::Whole(EntityKind::Name)
        }
        "identifier" => Field::Identifier,
        "telecom" => Field::Telecom,
        "address" | "valueAddress" | "locationAddress" => Field::Address,
        "subscriberId" => Field::Whole(EntityKind::Account),
        "name" if is_practitioner => Field::HumanName(EntityKind::Provider),
        "name" => Field::HumanName(EntityKind::Name),
        "data" => Field::Base64Text,
        key if DEVICE_IDS.contains(&key) => Field::Whole(EntityKind::Id),
        key if KEPT.contains(&key) => Field::Keep,
        _ => Field::Walk,
    }
}

/// Extensions removed whole: a geolocation is a point smaller than any state.
pub(super) fn is_dropped_extension(extension: &Value) -> bool {
    extension.get("url").and_then(Value::as_str) == Some(GEOLOCATION)
}

/// The kind of an `Identifier`, from its type code or system.
pub(super) fn identifier_kind(identifier: &Value) -> EntityKind {
    let codes = crate::strings_at(identifier, "type.coding.code");
    let system = first_string(identifier, "system").unwrap_or_default();
    if codes.iter().any(|c| c == "SS") || system.ends_with("us-ssn") {
        EntityKind::Ssn
    } else if codes.iter().any(|c| c == "MR") {
        EntityKind::Mrn
    } else if codes.iter().any(|c| c == "MB" || c == "SN" || c == "AN") {
        EntityKind::Account
    } else {
        EntityKind::Id
    }
}

/// The kind of a `ContactPoint`, from its system.
pub(super) fn telecom_kind(telecom: &Value) -> EntityKind {
    match telecom.get("system").and_then(Value::as_str) {
        Some("fax") => EntityKind::Fax,
        Some("email") => EntityKind::Email,
        Some("url") => EntityKind::Url,
        _ => EntityKind::Phone,
    }
}

/// Whether `text` is written as a FHIR `date`, `dateTime` or `instant`.
pub(super) fn is_fhir_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    match b.len() {
        4 => digits(0..4),
        7 => digits(0..4) && b[4] == b'-' && digits(5..7),
        10 => digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10),
        n if n > 10 => {
            digits(0..4)
                && b[4] == b'-'
                && digits(5..7)
                && b[7] == b'-'
                && digits(8..10)
                && b[10] == b'T'
                && text[11..]
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b':' | b'.' | b'+' | b'-' | b'Z'))
        }
        _ => false,
    }
}
