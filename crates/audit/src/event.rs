//! What one audit entry records, and the canonical bytes that are hashed and stored.
//!
//! The encoding is serde_json over structs with a fixed field order and no maps, so it is
//! deterministic; but verification never re-encodes — it hashes the bytes exactly as stored.

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::AuditError;

/// Format version written into every entry.
const ENTRY_FORMAT: u8 = 1;
/// The longest free-text `detail` accepted, in bytes.
pub const MAX_DETAIL_LEN: usize = 2048;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The authenticated user (or service principal).
    pub user_id: String,
    /// The role the user acted in.
    pub role: String,
    /// The OAuth client the request came through.
    pub client_id: Option<String>,
    /// The network address the request came from.
    pub address: Option<String>,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A user signed in.
    SignIn,
    /// An access token was issued.
    TokenIssued,
    /// PHI was read from the local store.
    Read,
    /// PHI (or de-identified data) was sent to a provider.
    Disclosure,
    /// A provider's response was received.
    Response,
    /// The agent called a tool.
    ToolCall,
    /// A clinical draft was stored.
    DraftStored,
    /// A clinician reviewed a draft.
    DraftReviewed,
    /// A clinician signed a draft.
    DraftSigned,
    /// Data was exported.
    Export,
    /// A key was rotated.
    KeyRotation,
    /// A patient's keys were destroyed.
    PatientForget,
    /// Emergency access was used.
    BreakGlass,
    /// Configuration changed.
    ConfigChange,
    /// A request was refused.
    Denial,
    /// Data was imported.
    Import,
    /// An auditor read, searched or exported the audit log.
    AuditAccess,
    /// Retention pruned the bodies of old entries, or purged expired application data.
    Retention,
    /// A legal hold was placed on or released from a patient's data.
    LegalHold,
    /// The encrypted data set was backed up.
    Backup,
    /// The encrypted data set was restored from a backup.
    Restore,
    /// An incident was opened, acknowledged or closed.
    Incident,
    /// A safety rule fired (a red flag in a patient's or clinician's input) and staff were alerted.
    SafetyAlert,
    /// An incident-response containment step: a provider blocked, a patient's data frozen, or
    /// either undone.
    Containment,
}

impl Action {
    /// The name stored in entries and used in searches (`disclosure`, `sign_in`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::TokenIssued => "token_issued",
            Self::Read => "read",
            Self::Disclosure => "disclosure",
            Self::Response => "response",
            Self::ToolCall => "tool_call",
            Self::DraftStored => "draft_stored",
            Self::DraftReviewed => "draft_reviewed",
            Self::DraftSigned => "draft_signed",
            Self::Export => "export",
            Self::KeyRotation => "key_rotation",
            Self::PatientForget => "patient_forget",
            Self::BreakGlass => "break_glass",
            Self::ConfigChange => "config_change",
            Self::Denial => "denial",
            Self::Import => "import",
            Self::AuditAccess => "audit_access",
            Self::Retention => "retention",
            Self::LegalHold => "legal_hold",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Incident => "incident",
            Self::SafetyAlert => "safety_alert",
            Self::Containment => "containment",
        }
    }

    /// Every action, for parsing and listing.
    pub const ALL: [Action; 24] = [
        Self::SignIn,
        Self::TokenIssued,
        Self::Read,
        Self::Disclosure,
        Self::Response,
        Self::ToolCall,
        Self::DraftStored,
        Self::DraftReviewed,
        Self::DraftSigned,
        Self::Export,
        Self::KeyRotation,
        Self::PatientForget,
        Self::BreakGlass,
        Self::ConfigChange,
        Self::Denial,
        Self::Import,
        Self::AuditAccess,
        Self::Retention,
        Self::LegalHold,
        Self::Backup,
        Self::Restore,
        Self::Incident,
        Self::SafetyAlert,
        Self::Containment,
    ];

    /// The action named `name` (as [`Action::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == name)
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// Policy refused it.
    Denied,
    /// It was attempted and failed.
    Failed,
}

/// One thing that happened. Holds no PHI: patients appear only as keyed HMAC references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened; stored in UTC as RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: Action,
    /// The patient, as a keyed HMAC-SHA-256 in lowercase hex; never an identifier in clear.
    pub patient_ref: Option<String>,
    /// The agent task, if any.
    pub task: Option<String>,
    /// The provider data went to, if any.
    pub provider: Option<String>,
    /// The stated purpose of use (treatment, payment, operations, break-glass reason code…).
    pub purpose: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The request this belongs to.
    pub request_id: Option<String>,
    /// SHA-256 (hex) of the bytes sent to the provider.
    pub sent_sha256: Option<String>,
    /// SHA-256 (hex) of the bytes received from the provider.
    pub received_sha256: Option<String>,
    /// A short non-PHI note.
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event happening now, with every optional field empty.
    pub fn new(actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            time: OffsetDateTime::now_utc(),
            actor,
            action,
            patient_ref: None,
            task: None,
            provider: None,
            purpose: None,
            outcome,
            request_id: None,
            sent_sha256: None,
            received_sha256: None,
            detail: None,
        }
    }

    /// Refuses fields that cannot be what they claim: a patient reference or digest that is
    /// not 64 lowercase hex characters (and so might be an identifier in clear), or an
    /// oversized detail.
    fn validate(&self) -> Result<(), AuditError> {
        let hex_fields = [
            (
                &self.patient_ref,
                "patient_ref must be a keyed HMAC-SHA-256 in lowercase hex",
            ),
            (
                &self.sent_sha256,
                "sent_sha256 must be a SHA-256 in lowercase hex",
            ),
            (
                &self.received_sha256,
                "received_sha256 must be a SHA-256 in lowercase hex",
            ),
        ];
        for (value, problem) in hex_fields {
            if value.as_deref().is_some_and(|value| !is_digest_hex(value)) {
                return Err(AuditError::InvalidEvent(problem));
            }
        }
        if self
            .detail
            .as_ref()
            .is_some_and(|detail| detail.len() > MAX_DETAIL_LEN)
        {
            return Err(AuditError::InvalidEvent("detail is longer than 2048 bytes"));
        }
        Ok(())
    }
}

fn is_digest_hex(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The stored form of an entry: the event with its position, so that moving an entry changes
/// its leaf hash.
#[derive(Serialize, Deserialize)]
struct Record<T> {
    v: u8,
    seq: u64,
    event: T,
}

/// Validates `event`, normalises its time to UTC, and encodes it as entry `seq`.
#[cfg(test)]
pub(crate) fn encode_entry(seq: u64, event: AuditEvent) -> Result<Vec<u8>, AuditError> {
    Ok(Encoded::new(event)?.body(seq))
}

/// The stored bytes of `event` as entry `seq`, exactly as an append writes them (validated,
/// time in UTC). Public so that the codec can be fuzzed and checked from outside the crate.
pub fn encode_stored_entry(seq: u64, event: AuditEvent) -> Result<Vec<u8>, AuditError> {
    Ok(Encoded::new(event)?.body(seq))
}

/// Decodes stored entry bytes as reading the log does: the sequence number they record and
/// the event. Errors name no value.
pub fn decode_stored_entry(bytes: &[u8]) -> Result<(u64, AuditEvent), AuditError> {
    decode_entry(bytes).map_err(|_| AuditError::InvalidEvent("stored entry bytes do not decode"))
}

/// The fields verification compares with an entry's search columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFields {
    /// The recorded sequence number.
    pub seq: u64,
    /// The event time in Unix seconds.
    pub time: i64,
    /// The actor's user id.
    pub user_id: String,
    /// The action.
    pub action: Action,
    /// The keyed patient reference, if any.
    pub patient_ref: Option<String>,
}

/// Reads stored entry bytes the way verification does, without decoding the whole event.
pub fn indexed_fields(bytes: &[u8]) -> Result<IndexedFields, AuditError> {
    let indexed = decode_indexed(bytes)
        .map_err(|_| AuditError::InvalidEvent("stored entry bytes do not decode"))?;
    Ok(IndexedFields {
        seq: indexed.seq,
        time: indexed.event.time.unix_timestamp(),
        user_id: indexed.event.actor.user_id.into_owned(),
        action: indexed.event.action,
        patient_ref: indexed.event.patient_ref.map(std::borrow::Cow::into_owned),
    })
}

/// A validated event encoded by its appender, waiting for a sequence number; with the fields
/// searches use.
pub(crate) struct Encoded {
    event_json: Vec<u8>,
    pub time: i64,
    pub user_id: String,
    pub action: &'static str,
    pub patient_ref: Option<String>,
}

impl Encoded {
    /// Validates `event`, normalises its time to UTC, and encodes it.
    pub(crate) fn new(mut event: AuditEvent) -> Result<Self, AuditError> {
        event.validate()?;
        // A time near the end of year 9999 with a western offset has no UTC form in range;
        // `to_offset` would panic on it.
        event.time = event
            .time
            .checked_to_offset(UtcOffset::UTC)
            .ok_or(AuditError::InvalidEvent("the event time has no UTC form"))?;
        Ok(Self {
            event_json: serde_json::to_vec(&event)?,
            time: event.time.unix_timestamp(),
            action: event.action.as_str(),
            user_id: event.actor.user_id,
            patient_ref: event.patient_ref,
        })
    }

    /// The stored bytes of this event as entry `seq`: exactly what serde writes for a
    /// [`Record`], built without encoding the event again.
    pub(crate) fn body(&self, seq: u64) -> Vec<u8> {
        let head = format!("{{\"v\":{ENTRY_FORMAT},\"seq\":{seq},\"event\":");
        let mut body = Vec::with_capacity(head.len() + self.event_json.len() + 1);
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(&self.event_json);
        body.push(b'}');
        body
    }
}

/// The fields verification compares with an entry's search columns, read without decoding the
/// rest of the event.
#[derive(Deserialize)]
pub(crate) struct Indexed<'a> {
    pub seq: u64,
    #[serde(borrow)]
    pub event: IndexedEvent<'a>,
}

/// See [`Indexed`].
#[derive(Deserialize)]
pub(crate) struct IndexedEvent<'a> {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    #[serde(borrow)]
    pub actor: IndexedActor<'a>,
    pub action: Action,
    #[serde(borrow)]
    pub patient_ref: Option<std::borrow::Cow<'a, str>>,
}

/// See [`Indexed`].
#[derive(Deserialize)]
pub(crate) struct IndexedActor<'a> {
    #[serde(borrow)]
    pub user_id: std::borrow::Cow<'a, str>,
}

/// Reads the indexed fields of stored entry bytes.
pub(crate) fn decode_indexed(bytes: &[u8]) -> Result<Indexed<'_>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Decodes stored entry bytes, returning the sequence number they record and the event.
pub(crate) fn decode_entry(bytes: &[u8]) -> Result<(u64, AuditEvent), serde_json::Error> {
    let record: Record<AuditEvent> = serde_json::from_slice(bytes)?;
    Ok((record.seq, record.event))
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    pub(crate) fn sample() -> AuditEvent {
        let actor = Actor {
            user_id: "u-1".into(),
            role: "clinician".into(),
            client_id: Some("ehr".into()),
            address: None,
        };
        let mut event = AuditEvent::new(actor, Action::Disclosure, Outcome::Success);
        event.time = datetime!(2025-03-01 10:00:00 +02:00);
        event
    }

    #[test]
    fn an_entry_encodes_as_stable_json_in_utc() -> Result<(), AuditError> {
        let bytes = encode_entry(7, sample())?;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with(r#"{"v":1,"seq":7,"event":{"time":"2025-03-01T08:00:00Z""#));
        assert!(
            text.contains(r#""action":"disclosure""#) && text.contains(r#""outcome":"success""#)
        );
        assert_eq!(encode_entry(7, sample())?, bytes);
        Ok(())
    }

    #[test]
    fn the_appender_encoding_is_byte_for_byte_what_serde_writes_for_the_record() -> TestResult {
        let mut event = sample();
        event.patient_ref = Some("ab".repeat(32));
        event.detail = Some("quote \" and \\ and \u{e9}".into());
        let expected = serde_json::to_vec(&Record {
            v: ENTRY_FORMAT,
            seq: 42,
            event: {
                let mut utc = event.clone();
                utc.time = utc.time.to_offset(UtcOffset::UTC);
                utc
            },
        })?;
        assert_eq!(Encoded::new(event)?.body(42), expected);
        let indexed = decode_indexed(&expected)?;
        assert_eq!(indexed.seq, 42);
        assert_eq!(indexed.event.actor.user_id, "u-1");
        assert_eq!(indexed.event.action, Action::Disclosure);
        Ok(())
    }

    #[test]
    fn every_action_parses_from_its_wire_name() -> TestResult {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert_eq!(
                serde_json::to_value(action)?,
                serde_json::Value::String(action.as_str().to_owned())
            );
        }
        assert_eq!(Action::parse("nonsense"), None);
        Ok(())
    }

    #[test]
    fn an_entry_decodes_to_its_sequence_number_and_event() -> Result<(), AuditError> {
        let (seq, event) = decode_entry(&encode_entry(3, sample())?)?;
        assert_eq!(seq, 3);
        assert_eq!(event.time, sample().time);
        assert_eq!(event.action, Action::Disclosure);
        Ok(())
    }

    #[test]
    fn a_patient_reference_that_is_not_an_hmac_is_refused() {
        let mut event = sample();
        event.patient_ref = Some("MRN-0012345".into());
        assert!(matches!(
            encode_entry(0, event),
            Err(AuditError::InvalidEvent(_))
        ));
    }

    #[test]
    fn a_hex_patient_reference_is_accepted() -> Result<(), AuditError> {
        let mut event = sample();
        event.patient_ref = Some("ab".repeat(32));
        encode_entry(0, event)?;
        Ok(())
    }

    #[test]
    fn an_oversized_detail_is_refused() {
        let mut event = sample();
        event.detail = Some("x".repeat(MAX_DETAIL_LEN + 1));
        assert!(matches!(
            encode_entry(0, event),
            Err(AuditError::InvalidEvent(_))
        ));
    }
}
