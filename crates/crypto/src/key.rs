//! Raw key material and the AES-256-GCM primitive every layer of the keyring uses.
//!
//! `KeyMaterial` is the only type in the crate that holds secret bytes in the clear. It is wiped
//! when dropped, has no `Clone`, and its `Debug` prints a marker instead of bytes.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

/// Length of every key in the hierarchy (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of an AES-GCM authentication tag.
pub(crate) const TAG_LEN: usize = 16;
/// Length of `nonce || ciphertext || tag` for a sealed 32-byte key.
pub(crate) const SEALED_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

/// 16 fresh random bytes from the system generator: a marker that names nothing, for values
/// that only need to differ from every earlier one.
pub fn random_token() -> Result<[u8; 16], CryptoError> {
    let mut token = [0u8; 16];
    aws_lc_rs::rand::fill(&mut token).map_err(|_| CryptoError::Random)?;
    Ok(token)
}

/// 32 bytes of secret key material, wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial {
    bytes: [u8; KEY_LEN],
}

impl KeyMaterial {
    /// Fresh random key material from the system generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = Self {
            bytes: [0u8; KEY_LEN],
        };
        aws_lc_rs::rand::fill(&mut key.bytes).map_err(|_| CryptoError::Random)?;
        Ok(key)
    }

    /// Copies exactly 32 bytes of key material; any other length is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::KeyLength {
            expected: KEY_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self { bytes })
    }

    /// The raw key bytes. Named so that every use stands out in review.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial(..)")
    }
}

/// The output of sealing: a fresh random nonce and `ciphertext || tag`.
pub(crate) struct Sealed {
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) ciphertext: Vec<u8>,
}

impl Sealed {
    /// `nonce || ciphertext || tag`, the layout used for wrapped keys.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(NONCE_LEN + self.ciphertext.len());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }
}

/// Seals `plaintext` under `key` with AES-256-GCM and a random 96-bit nonce.
pub(crate) fn seal(key: &KeyMaterial, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, CryptoError> {
    let sealing = RandomizedNonceKey::new(&AES_256_GCM, key.expose_secret())
        .map_err(|_| CryptoError::Encrypt)?;

    // Sized once so that the plaintext copy is never reallocated and left behind unwiped.
    let mut buffer = Zeroizing::new(vec![0u8; plaintext.len() + TAG_LEN]);
    let (body, tag_slot) = buffer.split_at_mut(plaintext.len());
    body.copy_from_slice(plaintext);
    let (nonce, tag) = sealing
        .seal_in_place_separate_tag(Aad::from(aad), body)
        .map_err(|_| CryptoError::Encrypt)?;
    tag_slot.copy_from_slice(tag.as_ref());

    Ok(Sealed {
        nonce: *nonce.as_ref(),
        ciphertext: std::mem::take(&mut *buffer),
    })
}

/// Opens `ciphertext || tag` sealed by [`seal`] under the same key, nonce and associated data.
pub(crate) fn open(
    key: &KeyMaterial,
    aad: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if ciphertext.len() < TAG_LEN {
        return Err(CryptoError::Malformed("shorter than an authentication tag"));
    }
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| CryptoError::Malformed("nonce has the wrong length"))?;
    let opening = RandomizedNonceKey::new(&AES_256_GCM, key.expose_secret())
        .map_err(|_| CryptoError::Decrypt)?;

    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let len = opening
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}

/// Wraps a key: `nonce || sealed key || tag`, bound to `aad`.
pub(crate) fn wrap_key(
    wrapping: &KeyMaterial,
    aad: &[u8],
    key: &KeyMaterial,
) -> Result<Vec<u8>, CryptoError> {
    Ok(seal(wrapping, aad, key.expose_secret())?.into_bytes())
}

/// Unwraps a key produced by [`wrap_key`] with the same wrapping key and associated data.
pub(crate) fn unwrap_key(
    wrapping: &KeyMaterial,
    aad: &[u8],
    wrapped: &[u8],
) -> Result<KeyMaterial, CryptoError> {
    if wrapped.len() != SEALED_KEY_LEN {
        return Err(CryptoError::Malformed("wrapped key has the wrong length"));
    }
    let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
    let plain = open(wrapping, aad, nonce, sealed)?;
    KeyMaterial::from_bytes(&plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_key_material_prints_no_bytes() -> Result<(), CryptoError> {
        let key = KeyMaterial::from_bytes(&[0xAB; KEY_LEN])?;
        let printed = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "KeyMaterial(..)");
        assert!(!printed.contains("171") && !printed.to_lowercase().contains("ab"));
        Ok(())
    }

    #[test]
    fn key_material_of_the_wrong_length_is_refused() {
        let err = KeyMaterial::from_bytes(&[0u8; 31]).err();
        assert!(matches!(
            err,
            Some(CryptoError::KeyLength {
                expected: 32,
                actual: 31
            })
        ));
    }

    #[test]
    fn generated_keys_differ() -> Result<(), CryptoError> {
        let a = KeyMaterial::generate()?;
        let b = KeyMaterial::generate()?;
        assert_ne!(a.expose_secret(), b.expose_secret());
        Ok(())
    }

    #[test]
    fn sealed_bytes_open_only_with_the_same_associated_data() -> Result<(), CryptoError> {
        let key = KeyMaterial::generate()?;
        let sealed = seal(&key, b"context a", b"hello")?;
        let opened = open(&key, b"context a", &sealed.nonce, &sealed.ciphertext)?;
        assert_eq!(opened.as_slice(), b"hello");
        let wrong = open(&key, b"context b", &sealed.nonce, &sealed.ciphertext);
        assert!(matches!(wrong, Err(CryptoError::Decrypt)));
        Ok(())
    }

    #[test]
    fn a_wrapped_key_unwraps_to_the_same_bytes() -> Result<(), CryptoError> {
        let outer = KeyMaterial::generate()?;
        let inner = KeyMaterial::generate()?;
        let wrapped = wrap_key(&outer, b"aad", &inner)?;
        assert_eq!(wrapped.len(), SEALED_KEY_LEN);
        let back = unwrap_key(&outer, b"aad", &wrapped)?;
        assert_eq!(back.expose_secret(), inner.expose_secret());
        Ok(())
    }
}
