//! The root of the key hierarchy: the `Kms` trait and the local key-file backend.
//!
//! A KMS only ever wraps and unwraps tenant keys; it never sees data or data keys. `LocalKms`
//! keeps its root key in an owner-only file (or an environment variable for containers); with the
//! `aws` feature, `AwsKms` implements the same trait and keeps the root key in AWS KMS, out of
//! this process entirely.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::key::{self, SEALED_KEY_LEN};
use crate::secret_file::{create_secret_file, read_secret_file};
use crate::{CryptoError, KeyMaterial, digest};

#[cfg(feature = "aws")]
pub(crate) mod aws;

/// Format byte at the start of every key wrapped by `LocalKms`.
const LOCAL_WRAP_V1: u8 = 1;

/// A key-management service that wraps and unwraps keys under a root key it holds.
pub trait Kms: Send + Sync {
    /// A stable, non-secret name for the root key, for status output and logs.
    fn id(&self) -> &str;

    /// Wraps `key`, binding `aad`: unwrapping with any other `aad` fails.
    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Unwraps a key produced by [`Kms::wrap`] with the same `aad`.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<KeyMaterial, CryptoError>;
}

/// A KMS whose root key is a local 32-byte secret.
pub struct LocalKms {
    id: String,
    root: KeyMaterial,
}

impl LocalKms {
    /// Generates a new root key and writes it to `path` (mode 0600), refusing to overwrite.
    pub fn create(path: &Path) -> Result<Self, CryptoError> {
        let root = KeyMaterial::generate()?;
        create_secret_file(path, root.expose_secret())?;
        Ok(Self::with_root(root))
    }

    /// Loads the root key from `path`, refusing the file if group or others can access it.
    pub fn open(path: &Path) -> Result<Self, CryptoError> {
        let bytes = read_secret_file(path)?;
        let root = KeyMaterial::from_bytes(&bytes).map_err(|_| CryptoError::KeyFileContent {
            path: path.to_path_buf(),
            reason: "a root key file must hold exactly 32 bytes",
        })?;
        Ok(Self::with_root(root))
    }

    /// Loads the root key from the environment variable `var`, holding 32 bytes in base64.
    pub fn from_env(var: &str) -> Result<Self, CryptoError> {
        let env_err = |reason| CryptoError::Env {
            var: var.to_owned(),
            reason,
        };
        let value = Zeroizing::new(std::env::var(var).map_err(|err| match err {
            std::env::VarError::NotPresent => env_err("not set"),
            std::env::VarError::NotUnicode(_) => env_err("not valid UTF-8"),
        })?);
        Self::from_base64(&value).map_err(|_| env_err("must hold 32 bytes in base64"))
    }

    /// Uses a root key given as 32 bytes in standard base64 (surrounding whitespace ignored).
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| CryptoError::Malformed("root key is not valid base64"))?,
        );
        Ok(Self::with_root(KeyMaterial::from_bytes(&bytes)?))
    }

    /// Uses `root` directly; for tests and for callers that obtained the key some other way.
    pub fn from_key(root: KeyMaterial) -> Self {
        Self::with_root(root)
    }

    fn with_root(root: KeyMaterial) -> Self {
        // A keyed fingerprint names the root key without revealing anything about it.
        let tag = digest::hmac_sha256(&root, b"phigate/kms/local/key-id");
        let id = format!("local:{}", hex::encode(&tag[..8]));
        Self { id, root }
    }
}

impl fmt::Debug for LocalKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKms")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Kms for LocalKms {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sealed = key::wrap_key(&self.root, aad, key)?;
        let mut out = Vec::with_capacity(1 + sealed.len());
        out.push(LOCAL_WRAP_V1);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
        match wrapped.split_first() {
            Some((&LOCAL_WRAP_V1, sealed)) if sealed.len() == SEALED_KEY_LEN => {
                key::unwrap_key(&self.root, aad, sealed)
            }
            Some((&LOCAL_WRAP_V1, _)) => {
                Err(CryptoError::Malformed("wrapped key has the wrong length"))
            }
            Some((&other, _)) => Err(CryptoError::UnsupportedFormat(other)),
            None => Err(CryptoError::Malformed("empty wrapped key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn local_kms_refuses_a_0644_key_file() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("root.key");
        LocalKms::create(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        let err = LocalKms::open(&path)
            .err()
            .ok_or("a 0644 key file was accepted")?;
        assert!(matches!(
            err,
            CryptoError::InsecurePermissions { mode: 0o644, .. }
        ));
        assert!(err.to_string().contains("0644"));
        Ok(())
    }

    #[test]
    fn a_created_root_key_reopens_with_the_same_id_and_unwraps_its_keys() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("root.key");
        let created = LocalKms::create(&path)?;
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);

        let key = KeyMaterial::generate()?;
        let wrapped = created.wrap(&key, b"tenant a v1")?;
        let reopened = LocalKms::open(&path)?;
        assert_eq!(reopened.id(), created.id());
        let back = reopened.unwrap(&wrapped, b"tenant a v1")?;
        assert_eq!(back.expose_secret(), key.expose_secret());
        Ok(())
    }

    #[test]
    fn creating_a_root_key_over_an_existing_file_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("root.key");
        LocalKms::create(&path)?;
        assert!(matches!(
            LocalKms::create(&path),
            Err(CryptoError::KeyFileExists { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_wrapped_key_does_not_unwrap_under_other_associated_data() -> TestResult {
        let kms = LocalKms::from_key(KeyMaterial::generate()?);
        let wrapped = kms.wrap(&KeyMaterial::generate()?, b"tenant a v1")?;
        assert!(matches!(
            kms.unwrap(&wrapped, b"tenant a v2"),
            Err(CryptoError::Decrypt)
        ));
        Ok(())
    }

    #[test]
    fn a_root_key_file_of_the_wrong_length_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("root.key");
        create_secret_file(&path, b"too short")?;
        assert!(matches!(
            LocalKms::open(&path),
            Err(CryptoError::KeyFileContent { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_base64_root_key_is_accepted_and_anything_else_refused() -> TestResult {
        let encoded = STANDARD.encode([9u8; 32]);
        let a = LocalKms::from_base64(&format!(" {encoded}\n"))?;
        let b = LocalKms::from_key(KeyMaterial::from_bytes(&[9u8; 32])?);
        assert_eq!(a.id(), b.id());
        assert!(LocalKms::from_base64("not base64!").is_err());
        assert!(LocalKms::from_base64(&STANDARD.encode([9u8; 16])).is_err());
        Ok(())
    }

    #[test]
    fn a_missing_environment_variable_is_named_in_the_error() {
        let var = "PHIGATE_TEST_ROOT_KEY_THAT_IS_NEVER_SET";
        let err = LocalKms::from_env(var)
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(err.contains(var) && err.contains("not set"), "{err}");
    }

    #[test]
    fn debug_of_local_kms_shows_only_its_id() -> TestResult {
        let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[7u8; 32])?);
        let printed = format!("{kms:?}");
        assert!(printed.contains(kms.id()));
        assert!(!printed.contains("KeyMaterial") && !printed.contains("7, 7"));
        Ok(())
    }
}
