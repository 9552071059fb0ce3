//! `AwsKms` against the `moto` KMS server from PyPI, on loopback: a key is created, tenant keys
//! are wrapped and unwrapped through it, other associated data is refused by KMS itself, and a
//! keyring rooted in it seals and opens values.
//!
//! moto is installed into a virtual environment under the target directory, once; later runs
//! reuse it. Without `python3` the test says so loudly and skips; a failed install fails the
//! test. The server gets dummy credentials in its own environment only, and the client is given
//! static credentials, a region and the loopback endpoint, so nothing else is ever contacted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a failing step fails the test, and a skip must be visible"
)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phigate_crypto::{
    AadContext, AwsKms, AwsKmsConfig, CryptoError, KeyMaterial, Keyring, Kms, MemoryKeyRepository,
};
use zeroize::Zeroizing;

/// What is installed; changing it rebuilds the environment.
const MOTO_REQUIREMENT: &str = "moto[server]>=5,<6";

fn moto_venv() -> Option<PathBuf> {
    let found = Command::new("python3").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "\n*** SKIPPED the AWS KMS test: python3 is not on PATH. Install Python 3 to run \
             it. ***\n"
        );
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("phigate-moto-venv");
    let stamp = dir.join("phigate-moto-ready");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == MOTO_REQUIREMENT) {
        return Some(dir);
    }
    eprintln!(
        "creating {} and installing {MOTO_REQUIREMENT} from PyPI",
        dir.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(dir.join("bin/pip"))
        .args([
            "install",
            "--disable-pip-version-check",
            "-q",
            MOTO_REQUIREMENT,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "pip install {MOTO_REQUIREMENT} failed");
    std::fs::write(&stamp, MOTO_REQUIREMENT).unwrap();
    Some(dir)
}

/// `moto_server` on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto(venv: &Path) -> Moto {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(venv.join("bin/moto_server"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("AWS_")) {
        command.env_remove(name);
    }
    let child = command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    moto
}

fn config(moto: &Moto, key_id: &str) -> AwsKmsConfig {
    AwsKmsConfig {
        key_id: key_id.to_owned(),
        region: "us-east-1".into(),
        endpoint_url: Some(moto.url.clone()),
        access_key_id: "testing".into(),
        secret_access_key: Zeroizing::new("testing".into()),
        session_token: None,
    }
}

#[test]
fn aws_kms_wraps_and_unwraps_keys_bound_to_their_associated_data_on_moto() {
    let Some(venv) = moto_venv() else { return };
    let moto = start_moto(&venv);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key_id = runtime.block_on(async {
        let created = config(&moto, "")
            .client()
            .create_key()
            .description("phigate test root key")
            .send()
            .await
            .unwrap();
        created.key_metadata().unwrap().key_id().to_owned()
    });

    let kms = AwsKms::new(&config(&moto, &key_id)).unwrap();
    assert_eq!(kms.id(), format!("aws:{key_id}"));
    assert!(!format!("{kms:?}").contains("testing"));

    let key = KeyMaterial::generate().unwrap();
    let wrapped = kms.wrap(&key, b"tenant clinic v1").unwrap();
    assert!(!wrapped.windows(32).any(|w| w == key.expose_secret()));
    let back = kms.unwrap(&wrapped, b"tenant clinic v1").unwrap();
    assert_eq!(back.expose_secret(), key.expose_secret());

    assert!(matches!(
        kms.unwrap(&wrapped, b"tenant clinic v2"),
        Err(CryptoError::Decrypt)
    ));
    let mut altered = wrapped.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(kms.unwrap(&altered, b"tenant clinic v1").is_err());

    // A keyring rooted in KMS, called from inside another runtime as a server would.
    let keyring = Keyring::new(Arc::new(kms), Arc::new(MemoryKeyRepository::new()));
    let ctx = AadContext::patient("clinic", "patient-1", "Observation/1", "body");
    let opened = runtime.block_on(async {
        let sealed = keyring.seal(&ctx, b"creatinine 0.9").unwrap();
        keyring.open(&ctx, &sealed).unwrap()
    });
    assert_eq!(opened.as_slice(), b"creatinine 0.9");

    // A key that does not exist is an error from KMS, not a panic.
    let missing = AwsKms::new(&config(&moto, "00000000-0000-0000-0000-000000000000")).unwrap();
    assert!(matches!(
        missing.wrap(&KeyMaterial::generate().unwrap(), b"x"),
        Err(CryptoError::Kms(_))
    ));
}
