//! The access-token signing key on disk, and its rotation (`phigate keys rotate-signing`).
//!
//! Rotation writes a new private key to `keys/token-signing.pk8`, so new tokens carry the new
//! `kid`, and records the old key's public half with the time its last token expires in
//! `keys/token-signing-retired.json`. Servers started afterwards publish (and trust) the retired
//! key until then and drop it after; entries past their time are pruned at the next rotation.
//!
//! A running `phigate serve` watches the key file and reloads the key set within seconds of a
//! rotation (see `cmd::serve::jobs`); its gateway asks the OAuth server for the verifier on
//! every request, so both follow together. Replicas on other machines with their own data
//! directory need the same key files.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use phigate_auth::{TokenKeys, TokenSigner};
use phigate_crypto::secret_file::read_secret_file;
use serde::{Deserialize, Serialize};

use crate::datadir::Layout;

/// A key that no longer signs, published until `until`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredKey {
    /// Its key id.
    pub kid: String,
    /// Its Ed25519 public key, hex.
    pub public_key: String,
    /// When its last token has expired (Unix seconds).
    pub until: i64,
}

#[derive(Default, Serialize, Deserialize)]
struct RetiredFile {
    keys: Vec<RetiredKey>,
}

/// What a rotation did.
pub struct Rotation {
    /// The key id that signed until now.
    pub old_kid: String,
    /// The key id that signs from now on.
    pub new_kid: String,
    /// When the old key leaves the JWKS.
    pub old_until: i64,
}

fn retired_path(layout: &Layout) -> PathBuf {
    layout
        .token_key()
        .with_file_name("token-signing-retired.json")
}

/// The retired keys still published at `now`.
pub fn retired(layout: &Layout, now: i64) -> Result<Vec<RetiredKey>> {
    let path = retired_path(layout);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = fs::read(&path).context("cannot read the retired token keys")?;
    let file: RetiredFile =
        serde_json::from_slice(&text).context("the retired token keys file is not valid")?;
    Ok(file.keys.into_iter().filter(|k| k.until > now).collect())
}

/// The key set a server publishes at `now`: the current signer and the retired keys.
pub fn token_keys(layout: &Layout, current: TokenSigner, now: i64) -> Result<TokenKeys> {
    let mut keys = TokenKeys::new(current);
    for key in retired(layout, now)? {
        let public = hex::decode(&key.public_key).context("a retired token key is not hex")?;
        keys.publish_retired(&key.kid, &public, key.until);
    }
    Ok(keys)
}

/// Makes a new signing key current at `now` and retires the old one.
pub fn rotate(layout: &Layout, issuer: &str, now: i64) -> Result<Rotation> {
    let key_path = layout.token_key();
    let pkcs8 = read_secret_file(&key_path).context("cannot read the token key")?;
    let old = TokenSigner::from_pkcs8(&pkcs8, issuer).context("bad token key")?;
    let next_pkcs8 = TokenSigner::generate_pkcs8().context("cannot create a token key")?;
    let next = TokenSigner::from_pkcs8(&next_pkcs8, issuer).context("bad new token key")?;
    if next.kid() == old.kid() {
        bail!("the new token key has the old key's id");
    }
    let old_until = TokenKeys::retirement_end(now);
    let mut keys = retired(layout, now)?;
    keys.push(RetiredKey {
        kid: old.kid().to_owned(),
        public_key: hex::encode(old.public_key()),
        until: old_until,
    });
    // The old key is recorded as retired before the new one replaces it: a crash in between
    // leaves the old key signing and also listed, never a token without its public key.
    let json = serde_json::to_vec_pretty(&RetiredFile { keys })?;
    replace(&retired_path(layout), &json, 0o644)?;
    replace(&key_path, &next_pkcs8, 0o600)?;
    Ok(Rotation {
        old_kid: old.kid().to_owned(),
        new_kid: next.kid().to_owned(),
        old_until,
    })
}

/// Replaces `path` atomically: a temporary file with `mode`, synced, renamed over it.
fn replace(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let temp = path.with_extension("tmp");
    let _ = fs::remove_file(&temp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use phigate_auth::{Principal, Role};

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn layout_with_key(dir: &Path) -> Layout {
        let layout = Layout::new(dir);
        fs::create_dir_all(layout.token_key().parent().unwrap()).unwrap();
        let pkcs8 = TokenSigner::generate_pkcs8().unwrap();
        phigate_crypto::secret_file::create_secret_file(&layout.token_key(), &pkcs8).unwrap();
        layout
    }

    fn signer(layout: &Layout) -> TokenSigner {
        let pkcs8 = read_secret_file(&layout.token_key()).unwrap();
        TokenSigner::from_pkcs8(&pkcs8, "https://phigate.example").unwrap()
    }

    #[test]
    fn a_rotated_key_signs_anew_while_the_old_tokens_verify_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout_with_key(dir.path());
        let principal = Principal::with_role("dr-1", "t1", Role::Clinician);
        let before = signer(&layout);
        let old_token = before
            .issue(&principal, "gw", Duration::from_secs(900), NOW)
            .unwrap();

        let rotation = rotate(&layout, "https://phigate.example", NOW).unwrap();
        assert_eq!(rotation.old_kid, before.kid());
        let after = signer(&layout);
        assert_eq!(after.kid(), rotation.new_kid, "new tokens use the new kid");
        assert_ne!(after.kid(), before.kid());
        let new_token = after
            .issue(&principal, "gw", Duration::from_secs(60), NOW + 5)
            .unwrap();

        let keys = token_keys(&layout, signer(&layout), NOW + 60).unwrap();
        let jwks = keys.jwks(NOW + 60).to_string();
        assert!(
            jwks.contains(before.kid()) && jwks.contains(after.kid()),
            "both listed"
        );
        let verifier = keys.verifier("gw", NOW + 60);
        assert!(
            verifier.verify(&old_token, NOW + 60).is_ok(),
            "old token still good"
        );
        assert!(verifier.verify(&new_token, NOW + 60).is_ok());

        let later = rotation.old_until;
        let keys = token_keys(&layout, signer(&layout), later).unwrap();
        assert!(
            !keys.jwks(later).to_string().contains(before.kid()),
            "old key gone"
        );
        assert!(retired(&layout, later).unwrap().is_empty());
    }

    #[test]
    fn a_second_rotation_prunes_expired_keys_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout_with_key(dir.path());
        let first = rotate(&layout, "iss", NOW).unwrap();
        let second = rotate(&layout, "iss", NOW + 10).unwrap();
        let live: Vec<String> = retired(&layout, NOW + 20)
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(live, [first.old_kid.clone(), second.old_kid.clone()]);
        let third = rotate(&layout, "iss", first.old_until).unwrap();
        let live: Vec<String> = retired(&layout, first.old_until)
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(
            live,
            [second.old_kid, third.old_kid],
            "the first one was pruned"
        );
        let mode = fs::metadata(layout.token_key()).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0);
    }
}
