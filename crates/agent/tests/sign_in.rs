//! Local sign-in applies the same lockout as the OAuth sign-in page, and refuses roles that
//! need a second factor.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;

use phigate_agent::{set_user, sign_in};
use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_auth::{Role, TokenSigner};
use phigate_crypto::{KeyMaterial, LocalKms};
use phigate_store::Store;

#[test]
fn local_sign_in_applies_backoff_and_lockout_and_refuses_an_admin_without_a_second_factor() {
    let dir = tempfile::tempdir().unwrap();
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[6u8; 32]).unwrap());
    let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit = AuditLog::open(&dir.path().join("audit.db"), signer, "t").unwrap();
    let tokens =
        TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "phigate").unwrap();
    let attempt = |user: &str, password: &str| {
        sign_in(&store, &audit, &tokens, "phigate", "t1", user, password)
    };

    set_user(&store, "t1", "dr.a", Role::Clinician, "right-password").unwrap();
    assert!(attempt("dr.a", "right-password").is_ok());
    // Three failures are free; the fourth is counted, and the next attempt falls in its
    // backoff window, right password or not.
    for _ in 0..3 {
        assert!(attempt("dr.a", "wrong").is_err());
    }
    assert_eq!(
        store
            .user_security(&store.user_by_name("t1", "dr.a").unwrap().unwrap().id)
            .unwrap()
            .failures,
        3
    );
    assert!(attempt("dr.a", "wrong").is_err());
    assert!(
        attempt("dr.a", "right-password").is_err(),
        "the backoff applies to everyone"
    );
    // Reaching the lock threshold takes minutes of backoff in real time; set the counter where
    // ten consecutive failures leave it.
    let id = store.user_by_name("t1", "dr.a").unwrap().unwrap().id;
    store.record_sign_in_failure(&id, 10, 0, true).unwrap();
    assert!(attempt("dr.a", "right-password").is_err(), "locked");
    store.set_user_disabled("t1", "dr.a", false).unwrap();
    assert!(attempt("dr.a", "right-password").is_ok(), "enabled again");

    set_user(&store, "t1", "root", Role::Admin, "admin-password").unwrap();
    assert!(attempt("root", "admin-password").is_err());
}
