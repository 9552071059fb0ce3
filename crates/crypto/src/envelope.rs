//! The self-describing layout of a sealed value.
//!
//! Format 2, written by this build:
//!
//! ```text
//! format (1) = 2 | scope kind (1) | key version (4) | key id (8) | body length (4)
//!   | nonce (12) | wrapped data key (60: nonce, key, tag) | ciphertext (body length) | tag (16)
//! ```
//!
//! The key id is a keyed fingerprint of the tenant or patient key that wrapped the data key, so a
//! ciphertext names exactly which key it needs without revealing anything about it. The body
//! length makes a cut-off ciphertext recognisable as such before any key is touched.
//!
//! The whole header is associated data of the wrapped data key; the value itself binds the
//! format, the scope kind and the body length but not the key version or id, so that rewrapping
//! (moving a value to a newer key version) replaces the wrapped data key without re-encrypting.
//!
//! Format 1 (format, scope kind, version; no key id or length; the whole header bound to the
//! value) is still read, so stores written before format 2 open and can be rewrapped.

use aws_lc_rs::aead::NONCE_LEN;

use crate::CryptoError;
use crate::key::{SEALED_KEY_LEN, TAG_LEN};

/// The first ciphertext format: read, never written.
pub(crate) const FORMAT_V1: u8 = 1;
/// The format this build writes.
pub(crate) const FORMAT_V2: u8 = 2;
/// Length of a format 1 header: format, scope kind and key version.
const HEADER_V1_LEN: usize = 6;
/// Length of a format 2 header: format, scope kind, key version, key id and body length.
pub(crate) const HEADER_V2_LEN: usize = 18;
/// Length of a key id.
pub const KEY_ID_LEN: usize = 8;

const SCOPE_TENANT: u8 = 1;
const SCOPE_PATIENT: u8 = 2;

/// The header of a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The format the value was written in.
    pub(crate) format: u8,
    /// Whether a patient key (true) or the tenant key sealed the data key.
    pub(crate) patient: bool,
    /// The version of that key.
    pub(crate) version: u32,
    /// The fingerprint of that key (format 2 only; zero in format 1).
    pub(crate) key_id: [u8; KEY_ID_LEN],
    /// Length of the encrypted body without its tag (format 2 only).
    pub(crate) body_len: u32,
}

impl Header {
    /// A format 2 header.
    pub(crate) fn v2(patient: bool, version: u32, key_id: [u8; KEY_ID_LEN], body_len: u32) -> Self {
        Self {
            format: FORMAT_V2,
            patient,
            version,
            key_id,
            body_len,
        }
    }

    pub(crate) fn kind(self) -> &'static str {
        if self.patient { "patient" } else { "tenant" }
    }

    fn scope_byte(self) -> u8 {
        if self.patient {
            SCOPE_PATIENT
        } else {
            SCOPE_TENANT
        }
    }

    /// The encoded header: the associated data of the wrapped data key.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_V2_LEN);
        out.push(self.format);
        out.push(self.scope_byte());
        out.extend_from_slice(&self.version.to_be_bytes());
        if self.format != FORMAT_V1 {
            out.extend_from_slice(&self.key_id);
            out.extend_from_slice(&self.body_len.to_be_bytes());
        }
        out
    }

    /// What the value itself is bound to: in format 2 everything but the key version and id.
    pub(crate) fn body_binding(self) -> Vec<u8> {
        if self.format == FORMAT_V1 {
            return self.to_bytes();
        }
        let mut out = Vec::with_capacity(6);
        out.push(self.format);
        out.push(self.scope_byte());
        out.extend_from_slice(&self.body_len.to_be_bytes());
        out
    }
}

/// A sealed value split into its parts, borrowing from the input.
pub(crate) struct Envelope<'a> {
    pub(crate) header: Header,
    pub(crate) nonce: &'a [u8],
    pub(crate) wrapped_key: &'a [u8],
    /// The encrypted body followed by its tag.
    pub(crate) ciphertext: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits `bytes`, checking the format byte, the scope kind and the lengths.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, CryptoError> {
        let (&format, _) = bytes.split_first().ok_or(CryptoError::Truncated {
            expected: 1,
            actual: 0,
        })?;
        let header_len = match format {
            FORMAT_V1 => HEADER_V1_LEN,
            FORMAT_V2 => HEADER_V2_LEN,
            other => return Err(CryptoError::UnsupportedFormat(other)),
        };
        let fixed = header_len + NONCE_LEN + SEALED_KEY_LEN + TAG_LEN;
        if bytes.len() < fixed {
            return Err(CryptoError::Truncated {
                expected: fixed,
                actual: bytes.len(),
            });
        }

        let (header_bytes, rest) = bytes.split_at(header_len);
        let patient = match header_bytes[1] {
            SCOPE_TENANT => false,
            SCOPE_PATIENT => true,
            _ => return Err(CryptoError::Malformed("unknown scope kind")),
        };
        let version = u32::from_be_bytes(array(&header_bytes[2..6]));
        let mut header = Header {
            format,
            patient,
            version,
            key_id: [0; KEY_ID_LEN],
            body_len: 0,
        };
        if format == FORMAT_V2 {
            header.key_id = array(&header_bytes[6..14]);
            header.body_len = u32::from_be_bytes(array(&header_bytes[14..18]));
            let expected = usize::try_from(header.body_len)
                .ok()
                .and_then(|len| fixed.checked_add(len))
                .ok_or(CryptoError::Malformed("body length"))?;
            if bytes.len() < expected {
                return Err(CryptoError::Truncated {
                    expected,
                    actual: bytes.len(),
                });
            }
            if bytes.len() > expected {
                return Err(CryptoError::Malformed("bytes after the authentication tag"));
            }
        }
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (wrapped_key, ciphertext) = rest.split_at(SEALED_KEY_LEN);

        Ok(Self {
            header,
            nonce,
            wrapped_key,
            ciphertext,
        })
    }

    /// Lays the parts out in the documented order.
    pub(crate) fn encode(
        header: Header,
        nonce: &[u8],
        wrapped_key: &[u8],
        ciphertext: &[u8],
    ) -> Vec<u8> {
        let header = header.to_bytes();
        let mut out =
            Vec::with_capacity(header.len() + nonce.len() + wrapped_key.len() + ciphertext.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(nonce);
        out.extend_from_slice(wrapped_key);
        out.extend_from_slice(ciphertext);
        out
    }
}

/// The non-secret facts a ciphertext's header states, readable without any key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiphertextInfo {
    /// The format the value was written in (2 for everything this build writes).
    pub format: u8,
    /// `"tenant"` or `"patient"`: the kind of key that wrapped the data key.
    pub kind: &'static str,
    /// The version of that key.
    pub version: u32,
    /// The key's fingerprint (all zero for format 1, which had none).
    pub key_id: [u8; KEY_ID_LEN],
}

/// Reads the header of a sealed value, checking its layout but not its authenticity.
pub fn inspect(ciphertext: &[u8]) -> Result<CiphertextInfo, CryptoError> {
    let header = Envelope::parse(ciphertext)?.header;
    Ok(CiphertextInfo {
        format: header.format,
        kind: header.kind(),
        version: header.version,
        key_id: header.key_id,
    })
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_envelope_parses_back_into_its_parts() -> Result<(), CryptoError> {
        let header = Header::v2(true, 7, [9; KEY_ID_LEN], 20);
        let bytes = Envelope::encode(
            header,
            &[1; NONCE_LEN],
            &[2; SEALED_KEY_LEN],
            &[3; 20 + TAG_LEN],
        );
        let parsed = Envelope::parse(&bytes)?;
        assert_eq!(parsed.header, header);
        assert_eq!(parsed.nonce, [1; NONCE_LEN]);
        assert_eq!(parsed.wrapped_key, [2; SEALED_KEY_LEN]);
        assert_eq!(parsed.ciphertext, [3; 20 + TAG_LEN]);
        let info = inspect(&bytes)?;
        assert_eq!((info.format, info.kind, info.version), (2, "patient", 7));
        assert_eq!(info.key_id, [9; KEY_ID_LEN]);
        Ok(())
    }

    #[test]
    fn an_unknown_format_or_short_input_is_refused() {
        assert!(matches!(
            Envelope::parse(&[]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            Envelope::parse(&[9, 1, 0]),
            Err(CryptoError::UnsupportedFormat(9))
        ));
        assert!(matches!(
            Envelope::parse(&[FORMAT_V2; 40]),
            Err(CryptoError::Truncated { .. })
        ));
    }

    #[test]
    fn a_body_shorter_or_longer_than_its_stated_length_is_refused() {
        let header = Header::v2(false, 1, [0; KEY_ID_LEN], 10);
        let good = Envelope::encode(
            header,
            &[1; NONCE_LEN],
            &[2; SEALED_KEY_LEN],
            &[3; 10 + TAG_LEN],
        );
        let short = &good[..good.len() - 1];
        assert!(matches!(
            Envelope::parse(short),
            Err(CryptoError::Truncated { expected, actual }) if expected == good.len() && actual == short.len()
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            Envelope::parse(&long),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn a_format_1_header_still_parses() -> Result<(), CryptoError> {
        let mut bytes = vec![FORMAT_V1, SCOPE_PATIENT, 0, 0, 0, 3];
        bytes.extend_from_slice(&[0; NONCE_LEN + SEALED_KEY_LEN + TAG_LEN + 5]);
        let parsed = Envelope::parse(&bytes)?;
        assert_eq!(parsed.header.format, FORMAT_V1);
        assert_eq!(parsed.header.version, 3);
        assert_eq!(parsed.header.body_binding(), bytes[..6]);
        Ok(())
    }
}
