//! The self-describing layout of a sealed value.
//!
//! ```text
//! format (1) | scope kind (1) | key version (4, big-endian) | nonce (12)
//!   | wrapped data key (60: nonce, key, tag) | ciphertext | tag (16)
//! ```
//!
//! The first six bytes (the header) are also part of the associated data of both the data key
//! and the value, so no header field can be changed without the value failing to open.

use aws_lc_rs::aead::NONCE_LEN;

use crate::CryptoError;
use crate::key::{SEALED_KEY_LEN, TAG_LEN};

/// The only ciphertext format this build writes and reads.
pub(crate) const FORMAT_V1: u8 = 1;
/// Length of the header: format, scope kind and key version.
pub(crate) const HEADER_LEN: usize = 6;

const SCOPE_TENANT: u8 = 1;
const SCOPE_PATIENT: u8 = 2;

/// The header of a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Whether a patient key (true) or the tenant key sealed the data key.
    pub(crate) patient: bool,
    /// The version of that key.
    pub(crate) version: u32,
}

impl Header {
    pub(crate) fn kind(self) -> &'static str {
        if self.patient { "patient" } else { "tenant" }
    }

    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = FORMAT_V1;
        out[1] = if self.patient {
            SCOPE_PATIENT
        } else {
            SCOPE_TENANT
        };
        out[2..].copy_from_slice(&self.version.to_be_bytes());
        out
    }
}

/// A sealed value split into its parts, borrowing from the input.
pub(crate) struct Envelope<'a> {
    pub(crate) header: Header,
    pub(crate) header_bytes: &'a [u8],
    pub(crate) nonce: &'a [u8],
    pub(crate) wrapped_key: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits `bytes`, checking the format byte, the scope kind and the lengths.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, CryptoError> {
        let (&format, _) = bytes
            .split_first()
            .ok_or(CryptoError::Malformed("empty ciphertext"))?;
        if format != FORMAT_V1 {
            return Err(CryptoError::UnsupportedFormat(format));
        }
        if bytes.len() < HEADER_LEN + NONCE_LEN + SEALED_KEY_LEN + TAG_LEN {
            return Err(CryptoError::Malformed("ciphertext is too short"));
        }

        let (header_bytes, rest) = bytes.split_at(HEADER_LEN);
        let patient = match header_bytes[1] {
            SCOPE_TENANT => false,
            SCOPE_PATIENT => true,
            _ => return Err(CryptoError::Malformed("unknown scope kind")),
        };
        let mut version = [0u8; 4];
        version.copy_from_slice(&header_bytes[2..]);
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (wrapped_key, ciphertext) = rest.split_at(SEALED_KEY_LEN);

        Ok(Self {
            header: Header {
                patient,
                version: u32::from_be_bytes(version),
            },
            header_bytes,
            nonce,
            wrapped_key,
            ciphertext,
        })
    }

    /// Lays the parts out in the documented order.
    pub(crate) fn encode(
        header: Header,
        nonce: &[u8; NONCE_LEN],
        wrapped_key: &[u8],
        ciphertext: &[u8],
    ) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(HEADER_LEN + NONCE_LEN + wrapped_key.len() + ciphertext.len());
        out.extend_from_slice(&header.to_bytes());
        out.extend_from_slice(nonce);
        out.extend_from_slice(wrapped_key);
        out.extend_from_slice(ciphertext);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_envelope_parses_back_into_its_parts() -> Result<(), CryptoError> {
        let header = Header {
            patient: true,
            version: 7,
        };
        let bytes = Envelope::encode(header, &[1; NONCE_LEN], &[2; SEALED_KEY_LEN], &[3; 20]);
        let parsed = Envelope::parse(&bytes)?;
        assert_eq!(parsed.header, header);
        assert_eq!(parsed.header_bytes, header.to_bytes());
        assert_eq!(parsed.nonce, [1; NONCE_LEN]);
        assert_eq!(parsed.wrapped_key, [2; SEALED_KEY_LEN]);
        assert_eq!(parsed.ciphertext, [3; 20]);
        Ok(())
    }

    #[test]
    fn an_unknown_format_or_short_input_is_refused() {
        assert!(matches!(
            Envelope::parse(&[]),
            Err(CryptoError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::parse(&[9, 1, 0]),
            Err(CryptoError::UnsupportedFormat(9))
        ));
        assert!(matches!(
            Envelope::parse(&[FORMAT_V1; 40]),
            Err(CryptoError::Malformed(_))
        ));
    }
}
