//! SHA-256 and HMAC-SHA-256 for callers that need a digest or a keyed reference.
//!
//! A keyed HMAC is how the rest of Phigate names a patient in logs and in the audit trail
//! without writing the identifier itself.

use aws_lc_rs::{digest, hmac};

use crate::KeyMaterial;

/// The SHA-256 digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// The SHA-256 digest of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

/// The SHA-256 digest of everything `reader` yields, as lowercase hex, read in blocks so a
/// large file need not fit in memory.
pub fn sha256_hex_reader(mut reader: impl std::io::Read) -> std::io::Result<String> {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut block = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut block)? {
            0 => break,
            n => context.update(&block[..n]),
        }
    }
    Ok(hex::encode(context.finish().as_ref()))
}

/// HMAC-SHA-256 of `msg` under `key`.
pub fn hmac_sha256(key: &KeyMaterial, msg: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose_secret());
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(&key, msg).as_ref());
    out
}

/// HMAC-SHA-256 of `msg` under `key`, as lowercase hex.
pub fn hmac_sha256_hex(key: &KeyMaterial, msg: &[u8]) -> String {
    hex::encode(hmac_sha256(key, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_matches_the_fips_180_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_streamed_digest_matches_the_one_shot_digest() {
        let data = vec![7u8; 200_000];
        assert_eq!(sha256_hex_reader(&data[..]).unwrap(), sha256_hex(&data));
    }

    #[test]
    fn hmac_sha256_matches_an_independent_implementation() -> Result<(), crate::CryptoError> {
        // Computed with Python's hmac module: key = 32 bytes of 0x01, message = "x".
        let key = KeyMaterial::from_bytes(&[1u8; 32])?;
        assert_eq!(
            hmac_sha256_hex(&key, b"x"),
            "9a6525695460ebcfaee4b950ffa6c3c733d87c4af567a4bdfd2ae664147b7fc0"
        );
        Ok(())
    }
}
