use std::sync::Arc;
use std::thread;

use super::*;
use crate::{LocalKms, MemoryKeyRepository};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    kms: Arc<LocalKms>,
    repo: Arc<MemoryKeyRepository>,
    keyring: Keyring,
}

fn fixture() -> Result<Fixture, CryptoError> {
    let kms = Arc::new(LocalKms::from_key(KeyMaterial::generate()?));
    let repo = Arc::new(MemoryKeyRepository::new());
    let keyring = Keyring::new(kms.clone(), repo.clone());
    Ok(Fixture { kms, repo, keyring })
}

fn alice_note() -> AadContext {
    AadContext::patient("clinic", "patient-alice", "note-1", "body")
}

fn header_version(ciphertext: &[u8]) -> u32 {
    crate::inspect(ciphertext)
        .map(|info| info.version)
        .unwrap_or(0)
}

#[test]
fn a_sealed_value_opens_in_its_own_context() -> TestResult {
    let f = fixture()?;
    for ctx in [
        alice_note(),
        AadContext::tenant("clinic", "settings", "banner"),
    ] {
        let sealed = f.keyring.seal(&ctx, b"BP 120/80, no acute distress")?;
        assert_eq!(
            f.keyring.open(&ctx, &sealed)?.as_slice(),
            b"BP 120/80, no acute distress"
        );
    }
    Ok(())
}

#[test]
fn the_ciphertext_does_not_contain_the_plaintext() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"diagnosis: hypertension")?;
    assert!(!sealed.windows(9).any(|window| window == b"diagnosis"));
    Ok(())
}

#[test]
fn an_empty_value_round_trips() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"")?;
    assert!(f.keyring.open(&alice_note(), &sealed)?.is_empty());
    Ok(())
}

#[test]
fn a_ciphertext_moved_to_another_context_fails_to_open() -> TestResult {
    let f = fixture()?;
    // Bob's key must exist so that the failure comes from the binding, not a missing key.
    f.keyring
        .seal(&AadContext::patient("clinic", "patient-bob", "x", "y"), b"")?;
    let sealed = f.keyring.seal(&alice_note(), b"secret")?;

    let elsewhere = [
        AadContext::patient("clinic", "patient-alice", "note-2", "body"),
        AadContext::patient("clinic", "patient-alice", "note-1", "title"),
        AadContext::patient("clinic", "patient-bob", "note-1", "body"),
        AadContext::patient("other-clinic", "patient-alice", "note-1", "body"),
    ];
    for ctx in elsewhere {
        assert!(f.keyring.open(&ctx, &sealed).is_err(), "opened in {ctx:?}");
    }
    Ok(())
}

#[test]
fn a_patient_ciphertext_is_refused_in_a_tenant_context() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"secret")?;
    let tenant_ctx = AadContext::tenant("clinic", "note-1", "body");
    let err = f.keyring.open(&tenant_ctx, &sealed).err();
    assert!(matches!(
        err,
        Some(CryptoError::ScopeMismatch {
            sealed: "patient",
            ..
        })
    ));
    Ok(())
}

#[test]
fn changing_any_single_byte_makes_open_fail() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"potassium 4.1")?;
    for index in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[index] ^= 0x01;
        assert!(
            f.keyring.open(&alice_note(), &tampered).is_err(),
            "byte {index} unchecked"
        );
    }
    let truncated = &sealed[..sealed.len() - 1];
    assert!(f.keyring.open(&alice_note(), truncated).is_err());
    Ok(())
}

#[test]
fn after_rotation_old_values_open_and_new_values_use_the_new_version() -> TestResult {
    let f = fixture()?;
    let scope = alice_note().scope();
    let before = f.keyring.seal(&alice_note(), b"old")?;
    assert_eq!(header_version(&before), 1);

    assert_eq!(f.keyring.rotate(&scope)?, 2);
    let after = f.keyring.seal(&alice_note(), b"new")?;
    assert_eq!(header_version(&after), 2);
    assert_eq!(f.keyring.open(&alice_note(), &before)?.as_slice(), b"old");
    assert_eq!(f.keyring.open(&alice_note(), &after)?.as_slice(), b"new");
    assert_eq!(
        f.keyring.key_status(&scope)?,
        [(1, KeyState::DecryptOnly), (2, KeyState::Active)]
    );
    Ok(())
}

#[test]
fn rotating_the_tenant_key_keeps_existing_patient_keys_readable() -> TestResult {
    let f = fixture()?;
    let before = f.keyring.seal(&alice_note(), b"old")?;
    let tenant = KeyScope::Tenant {
        tenant: "clinic".into(),
    };
    assert_eq!(f.keyring.rotate(&tenant)?, 2);

    // A fresh keyring has nothing cached, so every key is unwrapped from the repository.
    let fresh = Keyring::new(f.kms.clone(), f.repo.clone());
    assert_eq!(fresh.open(&alice_note(), &before)?.as_slice(), b"old");
    let bob = AadContext::patient("clinic", "patient-bob", "r", "f");
    let sealed = fresh.seal(&bob, b"new patient")?;
    assert_eq!(fresh.open(&bob, &sealed)?.as_slice(), b"new patient");
    Ok(())
}

#[test]
fn forgetting_a_patient_makes_only_their_data_unreadable() -> TestResult {
    let f = fixture()?;
    let bob = AadContext::patient("clinic", "patient-bob", "note-9", "body");
    let alice_sealed = f.keyring.seal(&alice_note(), b"alice")?;
    f.keyring.rotate(&alice_note().scope())?;
    let alice_newer = f.keyring.seal(&alice_note(), b"alice again")?;
    let bob_sealed = f.keyring.seal(&bob, b"bob")?;

    assert_eq!(f.keyring.forget_patient("clinic", "patient-alice")?, 2);

    for sealed in [&alice_sealed, &alice_newer] {
        let err = f.keyring.open(&alice_note(), sealed).err();
        assert!(matches!(
            err,
            Some(CryptoError::KeyDestroyed { kind: "patient" })
        ));
    }
    assert_eq!(f.keyring.open(&bob, &bob_sealed)?.as_slice(), b"bob");
    let fresh = Keyring::new(f.kms.clone(), f.repo.clone());
    assert!(fresh.open(&alice_note(), &alice_sealed).is_err());
    Ok(())
}

#[test]
fn a_patient_forgotten_by_another_keyring_stops_opening_at_once_in_this_one() -> TestResult {
    // Two keyrings on one repository: a running server, and the CLI forgetting a patient.
    let f = fixture()?;
    let server = &f.keyring;
    let cli = Keyring::new(f.kms.clone(), f.repo.clone());
    let bob = AadContext::patient("clinic", "patient-bob", "note-9", "body");
    let alice_sealed = server.seal(&alice_note(), b"alice")?;
    let bob_sealed = server.seal(&bob, b"bob")?;
    // Both patient keys are now in the server's cache.
    assert_eq!(
        server.open(&alice_note(), &alice_sealed)?.as_slice(),
        b"alice"
    );
    assert_eq!(server.open(&bob, &bob_sealed)?.as_slice(), b"bob");

    assert_eq!(cli.forget_patient("clinic", "patient-alice")?, 1);

    let err = server.open(&alice_note(), &alice_sealed).err();
    assert!(
        matches!(err, Some(CryptoError::KeyDestroyed { kind: "patient" })),
        "the server's cached key still opened the forgotten patient's data: {err:?}"
    );
    assert_eq!(server.open(&bob, &bob_sealed)?.as_slice(), b"bob");
    assert!(server.open(&alice_note(), &alice_sealed).is_err());
    Ok(())
}

#[test]
fn nothing_new_can_be_sealed_for_a_forgotten_patient() -> TestResult {
    let f = fixture()?;
    f.keyring.seal(&alice_note(), b"alice")?;
    f.keyring.forget_patient("clinic", "patient-alice")?;
    let err = f.keyring.seal(&alice_note(), b"again").err();
    assert!(matches!(err, Some(CryptoError::KeyDestroyed { .. })));
    assert!(f.keyring.rotate(&alice_note().scope()).is_err());
    Ok(())
}

#[test]
fn another_root_key_cannot_open_what_this_one_sealed() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"secret")?;
    let other_kms = Arc::new(LocalKms::from_key(KeyMaterial::generate()?));
    let other = Keyring::new(other_kms, f.repo.clone());
    // The other root key cannot unwrap the tenant key that wraps the patient key.
    assert!(matches!(
        other.open(&alice_note(), &sealed),
        Err(CryptoError::Decrypt)
    ));
    Ok(())
}

#[test]
fn concurrent_first_writes_create_a_single_key_version() -> TestResult {
    let f = fixture()?;
    let keyring = Arc::new(f.keyring);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let keyring = Arc::clone(&keyring);
            thread::spawn(move || keyring.seal(&alice_note(), b"x").map(|_| ()))
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "a sealing thread panicked")??;
    }
    assert_eq!(
        keyring.key_status(&alice_note().scope())?,
        [(1, KeyState::Active)]
    );
    Ok(())
}

#[test]
fn errors_never_name_the_patient() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"secret")?;
    f.keyring.forget_patient("clinic", "patient-alice")?;
    let message = f
        .keyring
        .open(&alice_note(), &sealed)
        .err()
        .map(|e| e.to_string());
    assert!(!message.unwrap_or_default().contains("alice"));
    Ok(())
}

#[test]
fn a_keyring_without_a_cache_still_works() -> TestResult {
    let f = fixture()?;
    let keyring = Keyring::with_cache_policy(f.kms.clone(), f.repo.clone(), Duration::ZERO, 0);
    let sealed = keyring.seal(&alice_note(), b"uncached")?;
    assert_eq!(
        keyring.open(&alice_note(), &sealed)?.as_slice(),
        b"uncached"
    );
    Ok(())
}

#[test]
fn a_tampered_tag_is_reported_as_tampering() -> TestResult {
    let f = fixture()?;
    let mut sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    let last = sealed.len() - 1;
    sealed[last] ^= 0x80;
    assert!(matches!(
        f.keyring.open(&alice_note(), &sealed),
        Err(CryptoError::Tampered)
    ));
    Ok(())
}

#[test]
fn a_tampered_body_is_reported_as_tampering() -> TestResult {
    let f = fixture()?;
    let mut sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    let body = sealed.len() - 16 - 3;
    sealed[body] ^= 0x01;
    assert!(matches!(
        f.keyring.open(&alice_note(), &sealed),
        Err(CryptoError::Tampered)
    ));
    Ok(())
}

#[test]
fn wrong_associated_data_is_reported_as_the_wrong_context() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    let other_field = AadContext::patient("clinic", "patient-alice", "note-1", "title");
    assert!(matches!(
        f.keyring.open(&other_field, &sealed),
        Err(CryptoError::WrongContext)
    ));
    Ok(())
}

#[test]
fn a_truncated_ciphertext_is_reported_with_both_lengths() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    for cut in [1, 16, sealed.len() - 20, sealed.len() - 1] {
        let short = &sealed[..sealed.len() - cut];
        let err = f.keyring.open(&alice_note(), short).err();
        assert!(
            matches!(err, Some(CryptoError::Truncated { actual, .. }) if actual == short.len()),
            "cut {cut}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn an_unknown_key_version_is_reported_by_number() -> TestResult {
    let f = fixture()?;
    let mut sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    sealed[2..6].copy_from_slice(&9u32.to_be_bytes());
    assert!(matches!(
        f.keyring.open(&alice_note(), &sealed),
        Err(CryptoError::KeyNotFound {
            kind: "patient",
            version: 9
        })
    ));
    Ok(())
}

#[test]
fn a_retired_key_version_is_reported_as_retired() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    f.keyring.rotate(&alice_note().scope())?;
    f.keyring
        .retire_unused(&alice_note().scope(), &Default::default(), Duration::ZERO)?;
    // A keyring with an empty cache reads the state from the repository.
    let fresh = Keyring::new(f.kms.clone(), f.repo.clone());
    for keyring in [&f.keyring, &fresh] {
        assert!(matches!(
            keyring.open(&alice_note(), &sealed),
            Err(CryptoError::KeyRetired {
                kind: "patient",
                version: 1
            })
        ));
    }
    Ok(())
}

#[test]
fn a_ciphertext_naming_another_key_id_is_a_key_mismatch() -> TestResult {
    let f = fixture()?;
    let mut sealed = f.keyring.seal(&alice_note(), b"glucose 5.4")?;
    sealed[6] ^= 0xFF;
    assert!(matches!(
        f.keyring.open(&alice_note(), &sealed),
        Err(CryptoError::KeyMismatch {
            kind: "patient",
            version: 1
        })
    ));
    Ok(())
}

#[test]
fn the_failure_errors_are_all_different() -> TestResult {
    let f = fixture()?;
    let sealed = f.keyring.seal(&alice_note(), b"x")?;
    let mut tag = sealed.clone();
    let last = tag.len() - 1;
    tag[last] ^= 1;
    let mut version = sealed.clone();
    version[5] = 7;
    let wrong = AadContext::patient("clinic", "patient-alice", "note-2", "body");
    let messages: std::collections::BTreeSet<String> = [
        f.keyring.open(&alice_note(), &tag).err(),
        f.keyring.open(&wrong, &sealed).err(),
        f.keyring.open(&alice_note(), &sealed[..10]).err(),
        f.keyring.open(&alice_note(), &version).err(),
    ]
    .into_iter()
    .map(|err| {
        err.map(|e| std::mem::discriminant(&e))
            .map(|d| format!("{d:?}"))
            .unwrap_or_default()
    })
    .collect();
    assert_eq!(messages.len(), 4);
    assert!(!messages.contains(""));
    Ok(())
}

#[test]
fn debug_of_a_keyring_in_use_shows_no_key_bytes() -> TestResult {
    let root = [0x5Au8; 32];
    let kms = Arc::new(LocalKms::from_key(KeyMaterial::from_bytes(&root)?));
    let keyring = Keyring::new(kms, Arc::new(MemoryKeyRepository::new()));
    keyring.seal(&alice_note(), b"x")?;
    let printed = format!("{keyring:?} {keyring:#?}");
    assert!(printed.contains("cached_keys"));
    assert!(!printed.contains("5a5a") && !printed.contains("90, 90"));
    Ok(())
}

#[test]
fn key_material_is_wiped_on_drop() {
    // A compile-time check: the types holding clear keys implement `ZeroizeOnDrop`.
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<KeyMaterial>();
}
