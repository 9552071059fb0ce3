//! TLS for the gateway: rustls on aws-lc-rs, TLS 1.3 only unless 1.2 is asked for, the
//! certificate and key read from files and re-read when they change, and optional client
//! certificates for service callers (mutual TLS).
//!
//! The certificate is reloaded without a restart: before each handshake the resolver compares
//! the files' size, inode and modification time with what it loaded, and reads them again when
//! any differ. A replacement that does not parse, or whose key does not match its certificate,
//! is refused with a warning and the previous pair stays in service, so a half-written file
//! never takes the gateway down. Replace the files by renaming new ones into place.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Whether and how callers must present a client certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificates are asked for.
    None,
    /// A client certificate is verified if one is presented; callers without one still
    /// authenticate with a token.
    Optional,
    /// Every caller must present a certificate signed by the client CA.
    Required,
}

/// Where the gateway's TLS material is and what it accepts.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// PEM file with the server certificate first, then any intermediates.
    pub cert_file: PathBuf,
    /// PEM file with the private key (PKCS#8, SEC1 or PKCS#1); must be owner-only (0600).
    pub key_file: PathBuf,
    /// PEM file of the CA(s) that sign client certificates; needed unless `client_auth` is
    /// `None`.
    pub client_ca_file: Option<PathBuf>,
    /// Whether client certificates are asked for.
    pub client_auth: ClientAuth,
    /// Accept TLS 1.2 as well as 1.3. Off unless configured explicitly.
    pub allow_tls12: bool,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or CA file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The private key file could not be read or is readable by others.
    #[error("TLS private key")]
    Key(#[source] phigate_crypto::CryptoError),
    /// A file holds no usable PEM of the expected kind.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong (never the content).
        reason: &'static str,
    },
    /// rustls refused the configuration (a key that does not match its certificate, a CA
    /// that cannot be a trust anchor…).
    #[error("TLS configuration refused: {0}")]
    Config(String),
}

/// Builds the server configuration for `settings`.
pub fn server_config(settings: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = Arc::new(ReloadingCert::load(
        &settings.cert_file,
        &settings.key_file,
        &provider,
    )?);
    let versions: &[&rustls::SupportedProtocolVersion] = if settings.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|err| TlsError::Config(err.to_string()))?;
    let builder = match client_verifier(settings, &provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn client_verifier(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    if settings.client_auth == ClientAuth::None {
        return Ok(None);
    }
    let Some(path) = &settings.client_ca_file else {
        return Err(TlsError::Config(
            "client certificates are asked for but no client CA file is set".into(),
        ));
    };
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots
            .add(cert)
            .map_err(|err| TlsError::Config(format!("client CA: {err}")))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if settings.client_auth == ClientAuth::Optional {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    let verifier = builder
        .build()
        .map_err(|err| TlsError::Config(format!("client CA: {err}")))?;
    Ok(Some(verifier))
}

/// What identifies one version of a file on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

struct Loaded {
    key: Arc<CertifiedKey>,
    stamps: (Option<Stamp>, Option<Stamp>),
}

/// A certificate resolver that re-reads its files when they change.
struct ReloadingCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    loaded: Mutex<Loaded>,
}

impl ReloadingCert {
    fn load(
        cert_file: &Path,
        key_file: &Path,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let stamps = (Stamp::of(cert_file), Stamp::of(key_file));
        let key = load_pair(cert_file, key_file, provider)?;
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            provider: provider.clone(),
            loaded: Mutex::new(Loaded { key, stamps }),
        })
    }

    /// The pair in service, reloaded first if either file changed.
    fn current(&self) -> Arc<CertifiedKey> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let stamps = (Stamp::of(&self.cert_file), Stamp::of(&self.key_file));
        if stamps != loaded.stamps {
            match load_pair(&self.cert_file, &self.key_file, &self.provider) {
                Ok(key) => {
                    tracing::info!("tls.certificate reloaded");
                    loaded.key = key;
                    loaded.stamps = stamps;
                }
                // Keep serving the old pair; try again on the next handshake.
                Err(err) => tracing::warn!(error = %err, "tls.certificate reload refused"),
            }
        }
        loaded.key.clone()
    }
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn load_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs = read_certs(cert_file)?;
    let pem = phigate_crypto::secret_file::read_secret_file(key_file).map_err(TlsError::Key)?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::Pem {
        path: key_file.to_owned(),
        reason: "no PEM private key",
    })?;
    let certified = CertifiedKey::from_der(certs, key, provider)
        .map_err(|err| TlsError::Config(err.to_string()))?;
    Ok(Arc::new(certified))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::Pem {
            path: path.to_owned(),
            reason: "a certificate block is not valid PEM",
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            reason: "no PEM certificate",
        });
    }
    Ok(certs)
}
