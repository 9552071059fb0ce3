//! `phigate keys rotate-signing` against `phigate serve`: a token signed before the rotation
//! still works, new tokens carry the new key id, the JWKS lists both keys, and the rotation is
//! in the audit log as a key rotation. A server already running picks the new key up.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;
mod serve_support;

use std::path::Path;

use common::phigate;
use serde_json::Value;
use serve_support::{http, serve};

fn ok(data: &Path, args: &[&str]) -> String {
    let output = phigate(data, args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn token(data: &Path) -> String {
    ok(data, &["token", "--role", "clinician", "--subject", "dr-1"])
        .trim()
        .to_owned()
}

/// The `kid` in a JWT's header.
fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes = base64_url(header);
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    value["kid"].as_str().unwrap().to_owned()
}

/// Decodes unpadded base64url (the test keeps to the standard library and serde).
fn base64_url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[test]
fn a_rotated_signing_key_signs_new_tokens_while_old_ones_still_verify() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(dir, &["init"]);
    let old = token(dir);
    let rotated = ok(dir, &["keys", "rotate-signing"]);
    let new = token(dir);
    let (old_kid, new_kid) = (kid(&old), kid(&new));
    assert_ne!(old_kid, new_kid, "new tokens use the new key");
    assert!(rotated.contains(&new_kid) && rotated.contains(&old_kid));

    let server = serve(dir, &[]);
    let (status, jwks) = http(&server.addr, "GET", "/.well-known/jwks.json", "", "");
    assert_eq!(status, 200);
    assert!(jwks.contains(&old_kid), "the old key is still published");
    assert!(jwks.contains(&new_kid), "the new key is published");
    for (which, token) in [("old", &old), ("new", &new)] {
        let (status, _) = http(&server.addr, "GET", "/v1/models", token, "");
        assert_eq!(status, 200, "a token signed by the {which} key");
    }
    drop(server);
    let search = ok(dir, &["audit", "search", "--action", "key_rotation"]);
    assert!(search.contains("key_rotation"), "{search}");
}

#[test]
fn a_running_server_picks_up_a_rotated_signing_key() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    ok(dir, &["init"]);
    let server = serve(dir, &[]);
    let old = token(dir);
    assert_eq!(http(&server.addr, "GET", "/v1/models", &old, "").0, 200);

    ok(dir, &["keys", "rotate-signing"]);
    let new = token(dir);
    let new_kid = kid(&new);
    // The server looks for a new key every two seconds; give it ten.
    let mut published = false;
    for _ in 0..50 {
        let (_, jwks) = http(&server.addr, "GET", "/.well-known/jwks.json", "", "");
        if jwks.contains(&new_kid) {
            published = jwks.contains(&kid(&old));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        published,
        "the running server publishes the new key beside the old"
    );
    assert_eq!(
        http(&server.addr, "GET", "/v1/models", &new, "").0,
        200,
        "new token"
    );
    assert_eq!(
        http(&server.addr, "GET", "/v1/models", &old, "").0,
        200,
        "old token"
    );
}
