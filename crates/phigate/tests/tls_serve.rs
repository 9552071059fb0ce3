//! `phigate init` makes a development CA and server certificate with owner-only keys, and
//! `phigate serve` with `server.tls.enabled` answers over TLS 1.3 with HSTS, trusted through that
//! CA, while refusing TLS 1.2.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_tls(dir: &Path) -> (Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phigate"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PHIGATE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PHIGATE_SERVER_TLS_ENABLED", "true")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("https://"))
        .expect("serve prints an https address")
        .to_owned();
    (Server(child), addr)
}

fn connector(ca_pem: &[u8], version: &'static rustls::SupportedProtocolVersion) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn healthz(connector: &TlsConnector, addr: &str) -> Result<String, String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    tls.read_to_string(&mut text)
        .await
        .map_err(|e| e.to_string())?;
    Ok(text)
}

#[test]
fn init_makes_a_development_certificate_that_serve_uses_for_tls_1_3_only() {
    let dir = tempfile::tempdir().unwrap();
    assert!(common::phigate(dir.path(), &["init"]).status.success());
    let keys = dir.path().join("keys");
    for key in ["tls-ca.key", "tls-server.key"] {
        let mode = std::fs::metadata(keys.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let ca = std::fs::read(keys.join("tls-ca.pem")).unwrap();

    let (_server, addr) = serve_tls(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime
        .block_on(healthz(&connector(&ca, &rustls::version::TLS13), &addr))
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_lowercase()
            .contains("strict-transport-security: max-age=")
    );
    let refused = runtime.block_on(healthz(&connector(&ca, &rustls::version::TLS12), &addr));
    assert!(refused.is_err(), "TLS 1.2 was accepted by default");
}
