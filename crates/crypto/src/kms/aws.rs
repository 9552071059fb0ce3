//! AWS KMS as the root of the key hierarchy: the root key never leaves KMS; tenant keys (and the
//! store's index key) are wrapped and unwrapped by KMS `Encrypt` and `Decrypt` calls.
//!
//! The associated data is bound as a KMS encryption context (its SHA-256, in hex), so KMS itself
//! refuses to unwrap a key under any other name. Credentials and region are always given
//! explicitly (from configuration and the standard `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` variables): the SDK's credential chain,
//! which would probe the instance metadata service, is never used.
//!
//! `Kms` is synchronous and the SDK is not, so each call runs on a short-lived thread driving
//! a private single-threaded runtime; this is safe to call from inside another runtime. Calls are
//! rare: unwrapped tenant keys are cached by the keyring.
//!
//! Known limit: the SDK holds the plaintext key it returns in its own buffers, which are not
//! zeroized; the copy this module makes is.

use std::fmt;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Region};
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use zeroize::Zeroizing;

use crate::{CryptoError, KeyMaterial, Kms, sha256_hex};

/// Format byte at the start of every key wrapped by `AwsKms`.
const AWS_WRAP_V1: u8 = 2;
/// The encryption-context key that carries the associated data's digest.
const CONTEXT_KEY: &str = "phigate-aad-sha256";

/// How to reach one AWS KMS key.
#[derive(Clone)]
pub struct AwsKmsConfig {
    /// Key id, key ARN, alias name or alias ARN of a symmetric encryption key.
    pub key_id: String,
    /// The AWS region, such as `eu-west-1`.
    pub region: String,
    /// Another endpoint (a VPC endpoint, or a local test server); `None` for the regional one.
    pub endpoint_url: Option<String>,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// Session token, for temporary credentials.
    pub session_token: Option<Zeroizing<String>>,
}

impl fmt::Debug for AwsKmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsConfig")
            .field("key_id", &self.key_id)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl AwsKmsConfig {
    /// A configuration with credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// (if set) `AWS_SESSION_TOKEN`.
    pub fn with_env_credentials(
        key_id: &str,
        region: &str,
        endpoint_url: Option<&str>,
    ) -> Result<Self, CryptoError> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| CryptoError::Env {
                var: name.to_owned(),
                reason: "not set or not valid UTF-8",
            })
        };
        Ok(Self {
            key_id: key_id.to_owned(),
            region: region.to_owned(),
            endpoint_url: endpoint_url.map(str::to_owned),
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: Zeroizing::new(var("AWS_SECRET_ACCESS_KEY")?),
            session_token: var("AWS_SESSION_TOKEN").ok().map(Zeroizing::new),
        })
    }

    /// An SDK client for this configuration: explicit region, credentials and timeouts.
    pub fn client(&self) -> Client {
        let credentials = Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.as_str(),
            self.session_token.as_ref().map(|t| t.to_string()),
            None,
            "phigate-config",
        );
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(30))
            .build();
        let mut builder = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(credentials)
            .timeout_config(timeouts);
        if let Some(url) = &self.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Client::from_conf(builder.build())
    }
}

/// A KMS whose root key is an AWS KMS key.
pub struct AwsKms {
    id: String,
    key_id: String,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKms")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn kms_err(err: impl std::error::Error + Send + Sync + 'static) -> CryptoError {
    CryptoError::Kms(Box::new(err))
}

impl AwsKms {
    /// A KMS client for `config`. No request is made until the first wrap or unwrap.
    pub fn new(config: &AwsKmsConfig) -> Result<Self, CryptoError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(kms_err)?;
        Ok(Self {
            id: format!("aws:{}", config.key_id),
            key_id: config.key_id.clone(),
            client: config.client(),
            runtime,
        })
    }

    /// Runs `future` to completion on the private runtime, from a thread of its own so that a
    /// caller already inside a runtime is not blocked in it.
    fn run<T: Send>(&self, future: impl Future<Output = T> + Send) -> Result<T, CryptoError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.runtime.block_on(future))
                .join()
                .map_err(|_| CryptoError::Kms("the KMS call panicked".into()))
        })
    }
}

impl Kms for AwsKms {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let request = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(key.expose_secret().to_vec()))
            .encryption_context(CONTEXT_KEY, sha256_hex(aad));
        let output = self.run(request.send())?.map_err(kms_err)?;
        let blob = output
            .ciphertext_blob()
            .ok_or(CryptoError::Malformed("KMS returned no ciphertext"))?;
        let mut wrapped = Vec::with_capacity(1 + blob.as_ref().len());
        wrapped.push(AWS_WRAP_V1);
        wrapped.extend_from_slice(blob.as_ref());
        Ok(wrapped)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
        let blob = match wrapped.split_first() {
            Some((&AWS_WRAP_V1, blob)) if !blob.is_empty() => blob,
            Some((&AWS_WRAP_V1, _)) | None => {
                return Err(CryptoError::Malformed("empty wrapped key"));
            }
            Some((&other, _)) => return Err(CryptoError::UnsupportedFormat(other)),
        };
        let request = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(blob.to_vec()))
            .encryption_context(CONTEXT_KEY, sha256_hex(aad));
        let output = match self.run(request.send())? {
            Ok(output) => output,
            Err(err) => {
                return Err(match err.into_service_error() {
                    // Another context, another key, or altered bytes: KMS cannot tell us which.
                    DecryptError::InvalidCiphertextException(_)
                    | DecryptError::IncorrectKeyException(_) => CryptoError::Decrypt,
                    other => kms_err(other),
                });
            }
        };
        let plaintext = output
            .plaintext()
            .ok_or(CryptoError::Malformed("KMS returned no plaintext"))?;
        let bytes = Zeroizing::new(plaintext.as_ref().to_vec());
        KeyMaterial::from_bytes(&bytes)
    }
}
