//! The gateway over TLS, with a rustls client on loopback: TLS 1.3 by default with HSTS on every
//! response, TLS 1.2 refused unless allowed, a replaced certificate served to the next
//! connection without a restart, and client certificates when mutual TLS is required.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_auth::TokenSigner;
use phigate_crypto::devcert::{DevCa, IssuedCert};
use phigate_crypto::secret_file::create_secret_file;
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::tls::{ClientAuth, TlsError, TlsSettings, server_config};
use phigate_gateway::{Gateway, GatewayConfig, serve_tls};
use phigate_llm::EchoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes a certificate and key where `TlsSettings` will look, the key owner-only. Files are
/// renamed into place, as a deployment replacing its certificate would.
fn install(dir: &Path, cert: &IssuedCert) -> (PathBuf, PathBuf) {
    let (cert_file, key_file) = (dir.join("server.pem"), dir.join("server.key"));
    let staged_key = dir.join("server.key.new");
    let _ = std::fs::remove_file(&staged_key);
    create_secret_file(&staged_key, cert.key_pem.as_bytes()).unwrap();
    std::fs::rename(&staged_key, &key_file).unwrap();
    std::fs::write(dir.join("server.pem.new"), &cert.cert_pem).unwrap();
    std::fs::rename(dir.join("server.pem.new"), &cert_file).unwrap();
    (cert_file, key_file)
}

fn settings(dir: &Path) -> TlsSettings {
    TlsSettings {
        cert_file: dir.join("server.pem"),
        key_file: dir.join("server.key"),
        client_ca_file: None,
        client_auth: ClientAuth::None,
        allow_tls12: false,
    }
}

async fn start(dir: tempfile::TempDir, settings: &TlsSettings) -> Server {
    let tls = server_config(settings).unwrap();
    let checkpoint = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit = AuditLog::open(&dir.path().join("audit.db"), checkpoint, "test/audit").unwrap();
    let signer =
        TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "phigate").unwrap();
    let gateway = Gateway::new(
        GatewayConfig::new("t1"),
        Arc::new(audit),
        Arc::new(Detector::new(DetectorConfig::default()).unwrap()),
        Arc::new(EchoProvider),
        signer.verifier("phigate"),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = serve_tls(listener, Arc::new(gateway), tls, std::future::pending()).await;
    });
    Server {
        addr,
        task,
        _dir: dir,
    }
}

fn client(
    ca: &DevCa,
    versions: &[&'static rustls::SupportedProtocolVersion],
    identity: Option<&IssuedCert>,
) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(cert) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    // Every connection is a full handshake: a resumed session would show the certificate of
    // the session it resumes, not the one now on disk.
    config.resumption = rustls::client::Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

/// What one `GET /healthz` over TLS gave: the response text (or the error), the protocol
/// version and the server's certificate.
struct Exchange {
    response: Result<String, String>,
    version: Option<rustls::ProtocolVersion>,
    peer: Option<Vec<u8>>,
}

async fn get_healthz(connector: &TlsConnector, addr: SocketAddr) -> Exchange {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = match connector.connect(name, tcp).await {
        Ok(tls) => tls,
        Err(err) => {
            return Exchange {
                response: Err(err.to_string()),
                version: None,
                peer: None,
            };
        }
    };
    let (_, session) = tls.get_ref();
    let version = session.protocol_version();
    let peer = session
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec());
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut text = Vec::new();
    let response = match tls.write_all(request).await {
        Err(err) => Err(err.to_string()),
        Ok(()) => match tls.read_to_end(&mut text).await {
            Ok(_) => Ok(String::from_utf8_lossy(&text).into_owned()),
            Err(err) => Err(err.to_string()),
        },
    };
    Exchange {
        response,
        version,
        peer,
    }
}

fn der(cert: &IssuedCert) -> Vec<u8> {
    CertificateDer::from_pem_slice(cert.cert_pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn tls_1_3_is_served_with_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::generate("test CA").unwrap();
    install(dir.path(), &ca.issue_server(&["localhost"]).unwrap());
    let settings = settings(dir.path());
    let server = start(dir, &settings).await;

    let exchange = get_healthz(&client(&ca, &[&rustls::version::TLS13], None), server.addr).await;
    let response = exchange.response.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{response}"
    );
    assert_eq!(exchange.version, Some(rustls::ProtocolVersion::TLSv1_3));
}

#[tokio::test]
async fn tls_1_2_is_refused_unless_configured() {
    let ca = DevCa::generate("test CA").unwrap();
    let server_cert = ca.issue_server(&["localhost"]).unwrap();
    let tls12_only = client(&ca, &[&rustls::version::TLS12], None);

    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), &server_cert);
    let default = settings(dir.path());
    let server = start(dir, &default).await;
    let refused = get_healthz(&tls12_only, server.addr).await;
    assert!(refused.response.is_err(), "a TLS 1.2 client got an answer");
    assert_eq!(refused.version, None);

    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), &server_cert);
    let mut allowed = settings(dir.path());
    allowed.allow_tls12 = true;
    let server = start(dir, &allowed).await;
    let exchange = get_healthz(&tls12_only, server.addr).await;
    assert!(exchange.response.unwrap().starts_with("HTTP/1.1 200"));
    assert_eq!(exchange.version, Some(rustls::ProtocolVersion::TLSv1_2));
}

#[tokio::test]
async fn a_replaced_certificate_is_served_to_the_next_connection_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let ca = DevCa::generate("test CA").unwrap();
    let first = ca.issue_server(&["localhost"]).unwrap();
    install(&path, &first);
    let settings = settings(&path);
    let server = start(dir, &settings).await;
    let connector = client(&ca, &[&rustls::version::TLS13], None);
    assert_eq!(
        get_healthz(&connector, server.addr).await.peer,
        Some(der(&first))
    );

    let second = ca.issue_server(&["localhost"]).unwrap();
    install(&path, &second);
    let exchange = get_healthz(&connector, server.addr).await;
    assert_eq!(exchange.peer, Some(der(&second)));
    assert!(exchange.response.unwrap().starts_with("HTTP/1.1 200"));

    // A broken replacement is refused and the last good pair stays in service.
    std::fs::write(path.join("server.pem"), "not a certificate").unwrap();
    assert_eq!(
        get_healthz(&connector, server.addr).await.peer,
        Some(der(&second))
    );
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_a_certificate_when_required() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::generate("server CA").unwrap();
    let clients_ca = DevCa::generate("service clients CA").unwrap();
    install(dir.path(), &ca.issue_server(&["localhost"]).unwrap());
    std::fs::write(dir.path().join("clients-ca.pem"), clients_ca.cert_pem()).unwrap();
    let mut required = settings(dir.path());
    required.client_ca_file = Some(dir.path().join("clients-ca.pem"));
    required.client_auth = ClientAuth::Required;
    let server = start(dir, &required).await;
    let tls13 = [&rustls::version::TLS13];

    let anonymous = get_healthz(&client(&ca, &tls13, None), server.addr).await;
    let refused = anonymous.response.map(|r| r.starts_with("HTTP/1.1"));
    assert!(
        !matches!(refused, Ok(true)),
        "a client without a certificate got an answer"
    );

    let stranger_ca = DevCa::generate("someone else").unwrap();
    let stranger = stranger_ca.issue_client("stranger").unwrap();
    let wrong = get_healthz(&client(&ca, &tls13, Some(&stranger)), server.addr).await;
    assert!(!matches!(
        wrong.response.map(|r| r.starts_with("HTTP/1.1")),
        Ok(true)
    ));

    let service = clients_ca.issue_client("billing-service").unwrap();
    let exchange = get_healthz(&client(&ca, &tls13, Some(&service)), server.addr).await;
    assert!(exchange.response.unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::generate("test CA").unwrap();
    let (_, key_file) = install(dir.path(), &ca.issue_server(&["localhost"]).unwrap());
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = server_config(&settings(dir.path())).err();
    assert!(matches!(err, Some(TlsError::Key(_))));
}

#[test]
fn a_client_certificate_requirement_without_a_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = DevCa::generate("test CA").unwrap();
    install(dir.path(), &ca.issue_server(&["localhost"]).unwrap());
    let mut settings = settings(dir.path());
    settings.client_auth = ClientAuth::Required;
    assert!(matches!(server_config(&settings), Err(TlsError::Config(_))));
}
