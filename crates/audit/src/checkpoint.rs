//! Signed tree heads: the Ed25519 signer and the checkpoint in signed-note form.
//!
//! A checkpoint commits to the log's size and Merkle root at a moment. Its text follows the
//! C2SP `tlog-checkpoint` and `signed-note` formats, so it can be published to witnesses or
//! checked with standard tools:
//!
//! ```text
//! <origin>
//! <size>
//! <base64 root>
//! time <unix seconds>
//!
//! — <origin> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>
//! ```
//!
//! The key hash is the first four bytes of `SHA-256(origin || "\n" || 0x01 || public key)`.

use std::fmt;
use std::io::ErrorKind;
use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use phigate_crypto::secret_file::{create_secret_file, read_secret_file};
use phigate_crypto::{CryptoError, sha256};

use crate::AuditError;
use crate::merkle::Hash;

/// The signed-note algorithm byte for Ed25519.
const ED25519_ALGORITHM: u8 = 0x01;
const SIGNATURE_PREFIX: &str = "\u{2014} ";
const ED25519_SIGNATURE_LEN: usize = 64;

/// The Ed25519 key that signs checkpoints. Its `Debug` shows only the key id.
pub struct CheckpointSigner {
    key_pair: Ed25519KeyPair,
}

impl CheckpointSigner {
    /// Loads the PKCS#8 key at `path`, or creates one there (mode 0600) if nothing exists.
    /// A key file readable by group or others is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, AuditError> {
        match read_secret_file(path) {
            Ok(pkcs8) => Self::from_pkcs8(&pkcs8),
            Err(CryptoError::KeyFile { source, .. }) if source.kind() == ErrorKind::NotFound => {
                Self::create(path)
            }
            Err(err) => Err(err.into()),
        }
    }

    fn create(path: &Path) -> Result<Self, AuditError> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| AuditError::Signing)?;
        match create_secret_file(path, pkcs8.as_ref()) {
            Ok(()) => Self::from_pkcs8(pkcs8.as_ref()),
            // Another process created it first; use theirs.
            Err(CryptoError::KeyFileExists { .. }) => Self::from_pkcs8(&read_secret_file(path)?),
            Err(err) => Err(err.into()),
        }
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, AuditError> {
        let key_pair =
            Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| AuditError::InvalidSigningKey)?;
        Ok(Self { key_pair })
    }

    /// The raw 32-byte public key, hex encoded; give this to whoever verifies checkpoints.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// A fingerprint of the public key (the first 8 bytes of its SHA-256, hex), for operators.
    /// Checkpoints carry the signed-note key hash instead, which also depends on the origin.
    pub fn key_id(&self) -> String {
        hex::encode(&sha256(self.public_key())[..8])
    }

    fn public_key(&self) -> &[u8] {
        self.key_pair.public_key().as_ref()
    }

    /// Signs the tree head `(size, root)` of the log named `origin` at `time`.
    pub(crate) fn sign(&self, origin: &str, size: u64, root: Hash, time: i64) -> Checkpoint {
        let key_id = hex::encode(note_key_hash(origin, self.public_key()));
        let mut checkpoint = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            time,
            signature: Vec::new(),
            key_id,
        };
        checkpoint.signature = self
            .key_pair
            .sign(checkpoint.body().as_bytes())
            .as_ref()
            .to_vec();
        checkpoint
    }
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// The signed-note key hash binding a key to the name it signs under.
fn note_key_hash(origin: &str, public_key: &[u8]) -> [u8; 4] {
    let mut input = Vec::with_capacity(origin.len() + 2 + public_key.len());
    input.extend_from_slice(origin.as_bytes());
    input.push(b'\n');
    input.push(ED25519_ALGORITHM);
    input.extend_from_slice(public_key);
    let digest = sha256(&input);
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A log origin must be usable as a signed-note key name.
pub(crate) fn check_origin(origin: &str) -> Result<(), AuditError> {
    let valid = !origin.is_empty() && !origin.contains(|c: char| c.is_whitespace() || c == '+');
    if valid {
        Ok(())
    } else {
        Err(AuditError::InvalidOrigin)
    }
}

/// A signed statement that the log named `origin` had `size` entries with Merkle root `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name.
    pub origin: String,
    /// How many entries the tree had.
    pub size: u64,
    /// The RFC 6962 root of those entries.
    pub root: Hash,
    /// When it was signed, in Unix seconds.
    pub time: i64,
    /// The Ed25519 signature over the note body.
    pub signature: Vec<u8>,
    /// The signed-note key hash (4 bytes, hex) of the signing key under `origin`.
    pub key_id: String,
}

impl Checkpoint {
    /// The signed part of the note.
    fn body(&self) -> String {
        let root = STANDARD.encode(self.root);
        format!(
            "{}\n{}\n{root}\ntime {}\n",
            self.origin, self.size, self.time
        )
    }

    /// The checkpoint as a signed note.
    pub fn to_note(&self) -> String {
        let mut key_hash = [0u8; 4];
        // A key id that is not 4 bytes of hex cannot come from `sign` or `from_note`.
        let _ = hex::decode_to_slice(&self.key_id, &mut key_hash);
        let mut blob = key_hash.to_vec();
        blob.extend_from_slice(&self.signature);
        let origin = &self.origin;
        format!(
            "{}\n{SIGNATURE_PREFIX}{origin} {}\n",
            self.body(),
            STANDARD.encode(blob)
        )
    }

    /// Parses a signed note written by [`Checkpoint::to_note`]. Does not verify it.
    pub fn from_note(note: &str) -> Result<Self, AuditError> {
        let malformed = AuditError::MalformedNote;
        let (body, signatures) = note.split_once("\n\n").ok_or(malformed("no blank line"))?;
        let mut lines = body.split('\n');
        let mut next = |what| lines.next().ok_or(malformed(what));
        let origin = next("missing origin")?;
        let size = next("missing size")?
            .parse()
            .map_err(|_| malformed("bad size"))?;
        let root_b64 = next("missing root")?;
        let time = next("missing time")?
            .strip_prefix("time ")
            .and_then(|time| time.parse().ok())
            .ok_or(malformed("bad time line"))?;
        if lines.next().is_some() {
            return Err(malformed("unexpected extra line in the body"));
        }
        check_origin(origin)?;
        let root: Hash = STANDARD
            .decode(root_b64)
            .ok()
            .and_then(|root| root.try_into().ok())
            .ok_or(malformed("root is not 32 bytes of base64"))?;

        let prefix = format!("{SIGNATURE_PREFIX}{origin} ");
        let blob = signatures
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .ok_or(malformed("no signature line for the origin"))?;
        let blob = STANDARD
            .decode(blob)
            .map_err(|_| malformed("signature is not base64"))?;
        if blob.len() != 4 + ED25519_SIGNATURE_LEN {
            return Err(malformed("signature has the wrong length"));
        }
        let (key_hash, signature) = blob.split_at(4);

        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            time,
            signature: signature.to_vec(),
            key_id: hex::encode(key_hash),
        })
    }

    /// Checks that the checkpoint was signed by the Ed25519 key `public_key_hex` under its
    /// origin.
    pub fn verify(&self, public_key_hex: &str) -> Result<(), AuditError> {
        let mut public_key = [0u8; 32];
        hex::decode_to_slice(public_key_hex.trim(), &mut public_key)
            .map_err(|_| AuditError::InvalidPublicKey)?;
        let expected = hex::encode(note_key_hash(&self.origin, &public_key));
        if expected != self.key_id {
            return Err(AuditError::KeyMismatch {
                expected,
                found: self.key_id.clone(),
            });
        }
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(self.body().as_bytes(), &self.signature)
            .map_err(|_| AuditError::BadSignature)
    }
}

#[cfg(test)]
mod tests;
