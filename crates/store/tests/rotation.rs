//! Rotation, the rewrap job and crypto-shredding over a real store (SQLite and PostgreSQL),
//! including rotation while other threads keep reading and writing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use phigate_crypto::{CryptoError, KeyMaterial, KeyState, LocalKms, inspect};
use phigate_store::db::{BackendKind, Sql};
use phigate_store::{
    Draft, DraftStatus, NewBreakGlass, PatientRef, Store, StoreError, UserRecord, params,
};

mod common;
use common::{each_backend, each_backend_stored};

const ROOT: [u8; 32] = [3u8; 32];

fn open(dir: &tempfile::TempDir) -> Store {
    let kms = LocalKms::from_key(KeyMaterial::from_bytes(&ROOT).unwrap());
    Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap()
}

fn resource(id: &str, text: &str) -> (String, String, Vec<u8>) {
    let json = format!(r#"{{"resourceType":"Observation","id":"{id}","note":"{text}"}}"#);
    ("Observation".into(), id.into(), json.into_bytes())
}

fn put(store: &Store, patient: &PatientRef, n: usize) {
    let rows: Vec<_> = (0..n)
        .map(|i| resource(&format!("o{i}"), &format!("value {i}")))
        .collect();
    store.put_patient("t", patient, &rows).unwrap();
}

fn draft(store: &Store, patient: &PatientRef, id: &str) {
    let draft = Draft {
        id: id.into(),
        tenant: "t".into(),
        patient: patient.clone(),
        task: "clinical-note".into(),
        status: DraftStatus::AwaitingReview,
        created_by: "u1".into(),
        created_at: 0,
        reviewed_by: None,
        reviewed_at: None,
    };
    store
        .create_draft(&draft, b"S: cough. O: afebrile.")
        .unwrap();
}

#[test]
fn rotate_then_rewrap_moves_every_value_and_retires_the_old_versions() {
    each_backend_stored(&ROOT, |store, stored| {
        let (a, b) = (store.patient_ref("t", "a"), store.patient_ref("t", "b"));
        put(&store, &a, 5);
        put(&store, &b, 3);
        draft(&store, &a, "d1");
        store.save_vault("t", &b, "conv", b"[NAME_1]=x").unwrap();

        let rotated = store.rotate_tenant("t", false).unwrap();
        assert_eq!(rotated.tenant_version, 2);
        assert_eq!(rotated.patient_keys_rotated, 2);
        let before = store.key_status("t").unwrap();
        assert_eq!(before.ciphertexts.get(&("patient", 1)), Some(&10));
        assert_eq!(before.patient.get(&(1, KeyState::DecryptOnly)), Some(&2));
        assert_eq!(before.patient.get(&(2, KeyState::Active)), Some(&2));

        let report = store.rewrap("t", Duration::ZERO).unwrap();
        assert_eq!(report.values_rewrapped, 10);
        // The patient keys' new versions were made under the new tenant version already.
        assert_eq!(report.patient_keys_rewrapped, 2);
        assert_eq!(report.values_failed, 0);
        assert_eq!(report.retired, [("patient", 1, 2), ("tenant", 1, 1)]);

        let after = store.key_status("t").unwrap();
        assert_eq!(after.ciphertexts.get(&("patient", 1)), None);
        assert_eq!(after.ciphertexts.get(&("patient", 2)), Some(&10));
        assert_eq!(after.formats.get(&2), Some(&10));
        assert_eq!(
            after.tenant,
            [(1, KeyState::Retired, 0), (2, KeyState::Active, 4)]
        );
        assert_eq!(after.patient.get(&(1, KeyState::Retired)), Some(&2));

        // A second run finds nothing to do.
        let again = store.rewrap("t", Duration::ZERO).unwrap();
        assert_eq!((again.values_rewrapped, again.values_current), (0, 10));

        // A fresh process (nothing cached) reads everything through the new versions only.
        drop(store);
        let store = stored.reopen(&ROOT);
        assert_eq!(store.load_patient("t", &a).unwrap().len(), 5);
        assert_eq!(store.load_patient("t", &b).unwrap().len(), 3);
        assert_eq!(
            store.draft("t", "d1").unwrap().1.as_slice(),
            b"S: cough. O: afebrile."
        );
        assert!(store.load_vault("t", &b, "conv").unwrap().is_some());
    });
}

/// Stores one value in every sealed column the schema has: resources, drafts, vaults, a
/// break-glass reason, a legal-hold reason and a TOTP secret.
fn fill_every_sealed_column(store: &Store, patient: &PatientRef) {
    put(store, patient, 2);
    draft(store, patient, "d1");
    store
        .save_vault("t", patient, "conv", b"[NAME_1]=x")
        .unwrap();
    store
        .insert_break_glass(&NewBreakGlass {
            id: "bg1",
            tenant: "t",
            user_id: "u1",
            role: "clinician",
            patient,
            reason: "emergency department, unconscious",
            created_at: 0,
            expires_at: 60,
        })
        .unwrap();
    store
        .place_hold("t", patient, "litigation notice 7", "u1")
        .unwrap();
    let user = UserRecord {
        id: "u1".into(),
        tenant: "t".into(),
        username: "clinician1".into(),
        role: "clinician".into(),
        password_hash: "$argon2id$placeholder".into(),
        disabled: false,
    };
    store.upsert_user(&user).unwrap();
    store
        .set_totp_secret(&user, Some(b"12345678901234567890"))
        .unwrap();
}

/// Every (table, column) of the database holding bytes, outside the key table itself.
fn byte_columns(store: &Store) -> Vec<(String, String)> {
    let sql = match store.database().kind() {
        BackendKind::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.type = 'BLOB' AND m.name NOT IN ('keys', 'meta')"
        }
        _ => {
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND data_type = 'bytea'
               AND table_name NOT IN ('keys', 'meta')"
        }
    };
    let rows = store.database().query_all(sql, params![]).unwrap();
    rows.iter()
        .map(|row| (row.get(0).unwrap(), row.get(1).unwrap()))
        .collect()
}

/// (key kind, version) of every sealed value in every byte column, with its table.
fn every_ciphertext(store: &Store) -> Vec<(String, &'static str, u32)> {
    let mut found = Vec::new();
    for (table, column) in byte_columns(store) {
        let sql = format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL");
        for row in store.database().query_all(&sql, params![]).unwrap() {
            let bytes: Vec<u8> = row.get(0).unwrap();
            let info = inspect(&bytes)
                .unwrap_or_else(|_| panic!("a value in {table}.{column} has no header"));
            found.push((table.clone(), info.kind, info.version));
        }
    }
    found
}

#[test]
fn after_rotate_and_rewrap_no_table_holds_a_ciphertext_of_an_old_key_version() {
    each_backend(&ROOT, |store| {
        let a = store.patient_ref("t", "a");
        fill_every_sealed_column(&store, &a);
        let before = every_ciphertext(&store);
        let tables: std::collections::BTreeSet<_> = before.iter().map(|c| c.0.as_str()).collect();
        for table in [
            "resources",
            "drafts",
            "vaults",
            "break_glass",
            "legal_holds",
            "user_security",
        ] {
            assert!(tables.contains(table), "{table} holds no sealed value");
        }
        let status = store.key_status("t").unwrap();
        let counted: u64 = status.ciphertexts.values().sum();
        assert_eq!(
            counted as usize,
            before.len(),
            "status counts every sealed value"
        );

        store.rotate_tenant("t", false).unwrap();
        let report = store.rewrap("t", Duration::ZERO).unwrap();
        assert_eq!(report.values_rewrapped as usize, before.len());
        assert_eq!(report.values_failed, 0);

        for (table, kind, version) in every_ciphertext(&store) {
            assert_eq!(
                version, 2,
                "{table} still holds a {kind} key version {version} value"
            );
        }
        assert!(report.retired.contains(&("tenant", 1, 1)));
        // Every value still opens under the new versions.
        assert_eq!(store.load_patient("t", &a).unwrap().len(), 2);
        let report = store.break_glass_report("t", 0).unwrap();
        assert_eq!(report[0].reason, "emergency department, unconscious");
        assert_eq!(store.hold_reason("t", &a).unwrap(), "litigation notice 7");
        let user = store.user_by_id("u1").unwrap().unwrap();
        assert_eq!(
            store.totp_secret(&user).unwrap().unwrap().as_slice(),
            b"12345678901234567890"
        );
    });
}

#[test]
fn a_recently_superseded_version_is_kept_until_its_grace_period_ends() {
    each_backend(&ROOT, |store| {
        let a = store.patient_ref("t", "a");
        put(&store, &a, 2);
        store.rotate_tenant("t", false).unwrap();
        let report = store.rewrap("t", Duration::from_secs(3600)).unwrap();
        assert_eq!(report.values_rewrapped, 2);
        assert!(report.retired.is_empty());
    });
}

#[test]
fn rotation_and_rewrap_while_other_threads_read_and_write_lose_nothing() {
    each_backend(&ROOT, |store| {
        let patients: Vec<PatientRef> = (0..4)
            .map(|i| store.patient_ref("t", &format!("p{i}")))
            .collect();
        for patient in &patients {
            put(&store, patient, 8);
        }

        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = patients
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, patient)| {
                let store = store.clone();
                let stop = Arc::clone(&stop);
                thread::spawn(move || -> Result<u64, StoreError> {
                    let mut operations = 0;
                    while !stop.load(Ordering::Relaxed) {
                        // Eight resources, plus the extra one once it has been written.
                        let rows = store.load_patient("t", &patient)?;
                        assert!(matches!(rows.len(), 8 | 9), "worker {i} lost a resource");
                        store.put_patient("t", &patient, &[resource("extra", &format!("{i}"))])?;
                        operations += 1;
                    }
                    Ok(operations)
                })
            })
            .collect();

        let mut retired_while_running = 0;
        for round in 0..3 {
            store.rotate_tenant("t", false).unwrap();
            // A grace period longer than any write keeps a just-superseded version readable;
            // after it, the next round's rewrap retires the version while the workers run on.
            let report = store.rewrap("t", Duration::from_secs(1)).unwrap();
            assert_eq!(report.values_failed, 0, "round {round}");
            retired_while_running += report.retired.len();
            thread::sleep(Duration::from_millis(2100));
        }
        assert!(
            retired_while_running > 0,
            "nothing retired while requests ran"
        );
        stop.store(true, Ordering::Relaxed);
        let mut total = 0;
        for worker in workers {
            total += worker.join().expect("a worker panicked").unwrap();
        }
        assert!(total > 0, "the workers did nothing while keys rotated");

        let report = store.rewrap("t", Duration::ZERO).unwrap();
        assert_eq!(report.values_failed, 0);
        let status = store.key_status("t").unwrap();
        assert_eq!(
            status.tenant.last().map(|t| (t.0, t.1)),
            Some((4, KeyState::Active))
        );
        assert!(status.ciphertexts.keys().all(|(_, version)| *version == 4));
        for patient in &patients {
            assert!(store.load_patient("t", patient).unwrap().len() >= 8);
        }
    });
}

#[test]
fn a_forgotten_patient_keeps_rows_that_no_longer_open_while_others_still_do() {
    each_backend(&ROOT, |store| {
        let (a, b) = (store.patient_ref("t", "a"), store.patient_ref("t", "b"));
        put(&store, &a, 4);
        put(&store, &b, 4);
        draft(&store, &a, "da");
        store
            .save_vault("t", &a, "conv-a", b"[NAME_1]=Ann")
            .unwrap();
        store.rotate_tenant("t", false).unwrap();
        put(&store, &a, 4);

        let report = store.forget_patient("t", &a).unwrap();
        assert_eq!(report.key_versions_destroyed, 2);
        assert_eq!(report.vaults_deleted, 1);
        assert_eq!(report.rows_kept, 5);

        let err = store.load_patient("t", &a).err();
        assert!(matches!(
            err,
            Some(StoreError::Crypto(CryptoError::KeyDestroyed {
                kind: "patient"
            }))
        ));
        assert!(store.draft("t", "da").is_err());
        assert!(store.load_vault("t", &a, "conv-a").unwrap().is_none());
        assert_eq!(store.load_patient("t", &b).unwrap().len(), 4);

        // The rows are still there, every one of them still a well-formed ciphertext.
        let status = store.key_status("t").unwrap();
        let sealed: u64 = status.ciphertexts.values().sum();
        assert_eq!(sealed, 4 + 4 + 1);
        assert_eq!(status.unreadable, 0);
        // Forgetting again destroys nothing more; an unknown patient is refused.
        assert_eq!(
            store
                .forget_patient("t", &a)
                .unwrap()
                .key_versions_destroyed,
            0
        );
        let stranger = store.patient_ref("t", "nobody");
        assert!(matches!(
            store.forget_patient("t", &stranger),
            Err(StoreError::NotFound("patient"))
        ));
        // Nothing can be sealed for them again.
        assert!(store.put_patient("t", &a, &[resource("n", "x")]).is_err());
    });
}

#[test]
fn a_patient_forgotten_by_another_process_stops_opening_at_once_in_a_running_one() {
    each_backend_stored(&ROOT, |server, stored| {
        let (a, b) = (server.patient_ref("t", "a"), server.patient_ref("t", "b"));
        put(&server, &a, 3);
        put(&server, &b, 3);
        // The running process has both patients' keys cached.
        assert_eq!(server.load_patient("t", &a).unwrap().len(), 3);
        assert_eq!(server.load_patient("t", &b).unwrap().len(), 3);

        // Another process (the CLI) with its own keyring forgets patient a.
        let cli = stored.reopen(&ROOT);
        cli.forget_patient("t", &a).unwrap();

        let err = server.load_patient("t", &a).err();
        assert!(
            matches!(
                err,
                Some(StoreError::Crypto(CryptoError::KeyDestroyed {
                    kind: "patient"
                }))
            ),
            "the running store still opened the forgotten patient: {err:?}"
        );
        assert_eq!(server.load_patient("t", &b).unwrap().len(), 3);
        assert!(server.put_patient("t", &a, &[resource("n", "x")]).is_err());
    });
}

#[test]
fn the_destroyed_wrapped_keys_are_gone_from_every_file_of_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = store.patient_ref("t", "a");
    put(&store, &a, 2);
    let wrapped: Vec<Vec<u8>> = {
        let conn = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT wrapped FROM keys WHERE kind = 'patient'")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(wrapped.len(), 1);
    store.forget_patient("t", &a).unwrap();

    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    // The 60 bytes of sealed key after the format byte and tenant version.
    let sealed_key = &wrapped[0][5..];
    assert!(
        !bytes.windows(sealed_key.len()).any(|w| w == sealed_key),
        "a destroyed wrapped key is still on disk"
    );
    // And the rows it protected are still there, as ciphertexts naming a patient key.
    let conn = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM resources LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(inspect(&body).unwrap().kind, "patient");
}
