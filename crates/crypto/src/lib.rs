//! Envelope encryption for everything Phigate stores.
//!
//! This crate owns the key hierarchy — a root key held by a [`Kms`], versioned tenant keys,
//! versioned per-patient keys, and a fresh data key for every sealed value — and the
//! self-describing AES-256-GCM ciphertexts that bind each value to its tenant, patient, record
//! and field. It rotates keys, destroys a patient's keys on request (crypto-shredding), and keeps
//! secret files owner-only.
//!
//! It refuses to store data (that is the store crate's job, through [`KeyRepository`]), to print
//! key bytes, plaintext or patient identifiers in `Debug` output or errors, and to read a key
//! file that anyone but its owner can access. All primitives come from `aws-lc-rs`.
//!
//! ```
//! use std::sync::Arc;
//!
//! use phigate_crypto::{AadContext, KeyMaterial, Keyring, LocalKms, MemoryKeyRepository};
//!
//! # fn main() -> Result<(), phigate_crypto::CryptoError> {
//! let kms = Arc::new(LocalKms::from_key(KeyMaterial::generate()?));
//! let keyring = Keyring::new(kms, Arc::new(MemoryKeyRepository::new()));
//!
//! let ctx = AadContext::patient("clinic", "patient-17", "observation-3", "value");
//! let sealed = keyring.seal(&ctx, b"HbA1c 6.1%")?;
//! assert_eq!(keyring.open(&ctx, &sealed)?.as_slice(), b"HbA1c 6.1%");
//!
//! let elsewhere = AadContext::patient("clinic", "patient-17", "observation-4", "value");
//! assert!(keyring.open(&elsewhere, &sealed).is_err());
//! # Ok(())
//! # }
//! ```

mod aad;
mod cache;
pub mod devcert;
mod digest;
mod envelope;
mod error;
mod key;
mod keyring;
mod kms;
mod repository;
pub mod secret_file;

pub use aad::AadContext;
pub use digest::{hmac_sha256, hmac_sha256_hex, sha256, sha256_hex, sha256_hex_reader};
pub use envelope::{CiphertextInfo, KEY_ID_LEN, inspect};
pub use error::CryptoError;
pub use key::{KEY_LEN, KeyMaterial, random_token};
pub use keyring::{DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, Keyring, RewrapOutcome};
#[cfg(feature = "aws")]
pub use kms::aws::{AwsKms, AwsKmsConfig};
pub use kms::{Kms, LocalKms};
pub use repository::{KeyRepository, KeyScope, KeyState, MemoryKeyRepository, StoredKey};
