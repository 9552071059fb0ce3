//! Time-based one-time passwords (RFC 6238): HMAC-SHA-1, 30-second steps, six digits, as every
//! authenticator app expects. A code is accepted one step either side of now, and never twice:
//! the caller stores the step of the last accepted code and passes it back.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::AuthError;

/// Length of a time step, seconds.
pub const TOTP_STEP_SECS: i64 = 30;
/// Steps either side of now that are still accepted (clock drift, slow typing).
const WINDOW: i64 = 1;
/// Length of generated secrets: 160 bits, as RFC 4226 recommends for HMAC-SHA-1.
const SECRET_LEN: usize = 20;

/// The HMAC behind the codes. Only SHA-1 is offered to users; the others exist for the RFC's
/// test vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1, what authenticator apps implement.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// A TOTP secret and its parameters. `Debug` shows no secret; the bytes are zeroized on drop.
pub struct Totp {
    secret: Zeroizing<Vec<u8>>,
    algorithm: TotpAlgorithm,
    digits: u32,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Totp(..)")
    }
}

impl Totp {
    /// A fresh random secret with the standard parameters.
    pub fn generate() -> Result<Self, AuthError> {
        let mut secret = Zeroizing::new(vec![0u8; SECRET_LEN]);
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| AuthError::Key("no randomness"))?;
        Ok(Self {
            secret,
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
        })
    }

    /// The standard parameters over stored secret bytes.
    pub fn from_secret(secret: &[u8]) -> Result<Self, AuthError> {
        Self::with_parameters(secret, TotpAlgorithm::Sha1, 6)
    }

    /// Any RFC 6238 parameters (6 to 8 digits).
    pub fn with_parameters(
        secret: &[u8],
        algorithm: TotpAlgorithm,
        digits: u32,
    ) -> Result<Self, AuthError> {
        if secret.len() < 10 || !(6..=8).contains(&digits) {
            return Err(AuthError::Key("TOTP secret too short or bad digit count"));
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_vec()),
            algorithm,
            digits,
        })
    }

    /// The raw secret, for sealing into the store.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The secret in base32 without padding, as authenticator apps take it.
    pub fn secret_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32_encode(&self.secret))
    }

    /// The `otpauth://` enrolment URI. `issuer` and `account` must be URI-safe names
    /// (letters, digits, `.`, `_`, `-`); others are percent-encoded.
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let issuer = percent(issuer);
        Zeroizing::new(format!(
            "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={}&period={TOTP_STEP_SECS}",
            percent(account),
            self.secret_base32().as_str(),
            self.digits
        ))
    }

    /// The code for time step `step` (RFC 4226 dynamic truncation).
    pub fn code_at_step(&self, step: u64) -> String {
        let algorithm = match self.algorithm {
            TotpAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TotpAlgorithm::Sha256 => hmac::HMAC_SHA256,
            TotpAlgorithm::Sha512 => hmac::HMAC_SHA512,
        };
        let key = hmac::Key::new(algorithm, &self.secret);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let value = binary % 10u32.pow(self.digits);
        format!("{value:0width$}", width = self.digits as usize)
    }

    /// The code for Unix time `now`.
    pub fn code_at(&self, now: i64) -> String {
        self.code_at_step(step_of(now))
    }

    /// Checks `code` at time `now`. `last_step` is the step of the last code accepted for this
    /// secret; codes from that step or earlier are refused, so a code works once. Returns the
    /// step to store as the new `last_step`.
    pub fn verify(&self, code: &str, now: i64, last_step: Option<u64>) -> Result<u64, AuthError> {
        let code = code.trim();
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::InvalidCredentials);
        }
        let current = step_of(now) as i64;
        let mut matched = None;
        // Every candidate is computed and compared, so timing does not reveal which matched.
        for delta in -WINDOW..=WINDOW {
            let Ok(step) = u64::try_from(current + delta) else {
                continue;
            };
            let expected = self.code_at_step(step);
            if verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok() {
                matched = Some(step);
            }
        }
        match matched {
            Some(step) if last_step.is_none_or(|last| step > last) => Ok(step),
            Some(_) => Err(AuthError::TotpReplayed),
            None => Err(AuthError::InvalidCredentials),
        }
    }
}

fn step_of(now: i64) -> u64 {
    u64::try_from(now.max(0) / TOTP_STEP_SECS).unwrap_or(0)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer = 0u32;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer = 0u32;
    let mut bits = 0;
    for ch in text.chars().filter(|c| !matches!(c, '=' | ' ')) {
        let upper = ch.to_ascii_uppercase() as u8;
        let value = BASE32
            .iter()
            .position(|b| *b == upper)
            .ok_or(AuthError::Key("not base32"))?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Ok(out)
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B: the seeds are the ASCII strings below, the codes 8 digits.
    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    const VECTORS: &[(i64, &str, &str, &str)] = &[
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let sha1 = Totp::with_parameters(SEED_SHA1, TotpAlgorithm::Sha1, 8).unwrap();
        let sha256 = Totp::with_parameters(SEED_SHA256, TotpAlgorithm::Sha256, 8).unwrap();
        let sha512 = Totp::with_parameters(SEED_SHA512, TotpAlgorithm::Sha512, 8).unwrap();
        for (time, c1, c256, c512) in VECTORS {
            assert_eq!(sha1.code_at(*time), *c1, "SHA-1 at {time}");
            assert_eq!(sha256.code_at(*time), *c256, "SHA-256 at {time}");
            assert_eq!(sha512.code_at(*time), *c512, "SHA-512 at {time}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_of_the_rfc_values() {
        let totp = Totp::from_secret(SEED_SHA1).unwrap();
        assert_eq!(totp.code_at(59), "287082");
        assert_eq!(totp.code_at(1_111_111_109), "081804");
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let totp = Totp::from_secret(SEED_SHA1).unwrap();
        let now = 1_234_567_890;
        let code = totp.code_at(now);
        assert!(totp.verify(&code, now - 30, None).is_ok());
        assert!(totp.verify(&code, now + 30, None).is_ok());
        assert!(totp.verify(&code, now - 61, None).is_err());
        assert!(totp.verify(&code, now + 61, None).is_err());
        assert!(totp.verify("12345", now, None).is_err());
        assert!(totp.verify("abcdef", now, None).is_err());
    }

    #[test]
    fn a_replayed_code_is_refused() {
        let totp = Totp::from_secret(SEED_SHA1).unwrap();
        let now = 1_234_567_890;
        let code = totp.code_at(now);
        let step = totp.verify(&code, now, None).unwrap();
        assert!(matches!(
            totp.verify(&code, now + 5, Some(step)),
            Err(AuthError::TotpReplayed)
        ));
        // An earlier code still inside the window is refused too once a later one was used.
        let earlier = totp.code_at(now - 30);
        assert!(totp.verify(&earlier, now, Some(step)).is_err());
        // The next step's code is fine.
        let next = totp.code_at(now + 30);
        assert_eq!(totp.verify(&next, now + 30, Some(step)).unwrap(), step + 1);
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(base32_decode("MZ1").is_err());
        let totp = Totp::generate().unwrap();
        assert_eq!(
            base32_decode(&totp.secret_base32()).unwrap(),
            totp.secret().to_vec()
        );
        let uri = totp.provisioning_uri("Phigate", "dr.who@north");
        assert!(uri.starts_with("otpauth://totp/Phigate:dr.who%40north?secret="));
        assert_eq!(format!("{totp:?}"), "Totp(..)");
    }
}
