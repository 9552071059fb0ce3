use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn new_signer() -> Result<(tempfile::TempDir, CheckpointSigner), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let signer = CheckpointSigner::load_or_create(&dir.path().join("audit.key"))?;
    Ok((dir, signer))
}

#[test]
fn a_checkpoint_note_round_trips_and_verifies() -> TestResult {
    let (_dir, signer) = new_signer()?;
    let checkpoint = signer.sign("phigate.example/audit", 42, [7u8; 32], 1_700_000_000);
    let note = checkpoint.to_note();
    let parsed = Checkpoint::from_note(&note)?;
    assert_eq!(parsed, checkpoint);
    parsed.verify(&signer.public_key_hex())?;
    Ok(())
}

#[test]
fn a_note_has_the_signed_note_layout() -> TestResult {
    let (_dir, signer) = new_signer()?;
    let note = signer.sign("log", 3, [0u8; 32], 5).to_note();
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!(
        lines[..5],
        ["log", "3", &STANDARD.encode([0u8; 32]), "time 5", ""]
    );
    assert!(lines[5].starts_with("\u{2014} log "));
    assert!(note.ends_with('\n'));
    Ok(())
}

#[test]
fn a_changed_size_root_or_time_fails_verification() -> TestResult {
    let (_dir, signer) = new_signer()?;
    let checkpoint = signer.sign("log", 3, [1u8; 32], 5);
    let key = signer.public_key_hex();
    let mut changed = [checkpoint.clone(), checkpoint.clone(), checkpoint.clone()];
    changed[0].size = 4;
    changed[1].root[0] ^= 1;
    changed[2].time = 6;
    for bad in changed {
        assert!(matches!(bad.verify(&key), Err(AuditError::BadSignature)));
    }
    Ok(())
}

#[test]
fn a_corrupted_signature_in_a_note_is_rejected() -> TestResult {
    let (_dir, signer) = new_signer()?;
    let mut checkpoint = signer.sign("log", 3, [1u8; 32], 5);
    checkpoint.signature[10] ^= 0x40;
    let parsed = Checkpoint::from_note(&checkpoint.to_note())?;
    assert!(matches!(
        parsed.verify(&signer.public_key_hex()),
        Err(AuditError::BadSignature)
    ));
    Ok(())
}

#[test]
fn another_key_is_rejected_by_its_key_id() -> TestResult {
    let (_dir, signer) = new_signer()?;
    let (_other_dir, other) = new_signer()?;
    let checkpoint = signer.sign("log", 3, [1u8; 32], 5);
    let err = checkpoint.verify(&other.public_key_hex()).err();
    assert!(matches!(err, Some(AuditError::KeyMismatch { .. })));
    Ok(())
}

#[test]
fn malformed_notes_are_refused() {
    let notes = [
        "",
        "log\n3\n",
        "log\nthree\nAAAA\ntime 5\n\n\u{2014} log AAAA\n",
        "log\n3\nnot-base64\ntime 5\n\n\u{2014} log AAAA\n",
        "log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 5\n\n\u{2014} other AAAA\n",
    ];
    for note in notes {
        assert!(Checkpoint::from_note(note).is_err(), "{note:?}");
    }
}

#[test]
fn the_signing_key_is_created_owner_only_and_reloads_as_the_same_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.key");
    let first = CheckpointSigner::load_or_create(&path)?;
    assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    let again = CheckpointSigner::load_or_create(&path)?;
    assert_eq!(first.public_key_hex(), again.public_key_hex());
    assert_eq!(first.key_id(), again.key_id());
    Ok(())
}

#[test]
fn a_world_readable_signing_key_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.key");
    CheckpointSigner::load_or_create(&path)?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    assert!(CheckpointSigner::load_or_create(&path).is_err());
    Ok(())
}

#[test]
fn debug_of_the_signer_shows_only_its_key_id() -> TestResult {
    let (_dir, signer) = new_signer()?;
    let printed = format!("{signer:?}");
    assert!(printed.contains(&signer.key_id()));
    assert!(!printed.contains(&signer.public_key_hex()));
    Ok(())
}

#[test]
fn origins_with_spaces_or_plus_are_refused() {
    for origin in ["", "a b", "a+b", "a\nb"] {
        assert!(check_origin(origin).is_err(), "{origin:?}");
    }
    assert!(check_origin("phigate.example/audit").is_ok());
}
