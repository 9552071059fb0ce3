//! The store end to end, on SQLite and on PostgreSQL: what goes in sealed comes out whole, and
//! nothing readable is left on disk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test"
)]

use phigate_store::{Draft, DraftStatus, StoreError, UserRecord};

mod common;
use common::{each_backend, each_backend_stored};

const ROOT: [u8; 32] = [7u8; 32];

fn condition(id: &str, text: &str) -> (String, String, Vec<u8>) {
    let json = format!(r#"{{"resourceType":"Condition","id":"{id}","code":{{"text":"{text}"}}}}"#);
    ("Condition".into(), id.into(), json.into_bytes())
}

#[test]
fn a_patient_round_trips_and_reimporting_replaces_rather_than_duplicates() {
    each_backend(&ROOT, |store| {
        let patient = store.patient_ref("t1", "patient-42");
        store
            .put_patient("t1", &patient, &[condition("c1", "Asthma")])
            .unwrap();
        store
            .put_patient(
                "t1",
                &patient,
                &[condition("c1", "Asthma"), condition("c2", "Gout")],
            )
            .unwrap();
        let loaded = store.load_patient("t1", &patient).unwrap();
        assert_eq!(loaded.len(), 2);
        assert!(String::from_utf8_lossy(&loaded[0].json).contains("Asthma"));
        assert_eq!(store.patient_count("t1").unwrap(), 1);
    });
}

#[test]
fn nothing_readable_is_left_in_the_database_file() {
    each_backend_stored(&ROOT, |store, stored| {
        let patient = store.patient_ref("t1", "MRN-SENTINEL-991");
        store
            .put_patient("t1", &patient, &[condition("c1", "Zebra-Sentinel-Disease")])
            .unwrap();
        store
            .save_vault("t1", &patient, "conv-1", b"[NAME_1]=Sentinel Person")
            .unwrap();
        drop(store);
        let bytes = stored.bytes();
        let text = String::from_utf8_lossy(&bytes);
        // The row keys are stored in clear: seeing one shows the scan reads the rows.
        assert!(text.contains(patient.as_str()), "the scan read nothing");
        for secret in [
            "Zebra-Sentinel-Disease",
            "MRN-SENTINEL-991",
            "Sentinel Person",
        ] {
            assert!(!text.contains(secret), "a stored value is readable at rest");
        }
    });
}

#[test]
fn another_tenant_cannot_read_the_patient() {
    each_backend(&ROOT, |store| {
        let patient = store.patient_ref("t1", "p");
        store
            .put_patient("t1", &patient, &[condition("c1", "Asthma")])
            .unwrap();
        assert!(matches!(
            store.load_patient("t2", &patient),
            Err(StoreError::NotFound(_))
        ));
        assert_ne!(store.patient_ref("t2", "p"), patient);
    });
}

#[test]
fn forgetting_a_patient_makes_their_record_and_vaults_unreadable() {
    each_backend(&ROOT, |store| {
        let gone = store.patient_ref("t1", "gone");
        let kept = store.patient_ref("t1", "kept");
        store
            .put_patient("t1", &gone, &[condition("c1", "Asthma")])
            .unwrap();
        store
            .put_patient("t1", &kept, &[condition("c1", "Gout")])
            .unwrap();
        store.save_vault("t1", &gone, "conv", b"map").unwrap();

        store.keyring().forget_patient("t1", gone.as_str()).unwrap();

        assert!(matches!(
            store.load_patient("t1", &gone),
            Err(StoreError::Crypto(_))
        ));
        assert!(store.load_vault("t1", &gone, "conv").is_err());
        assert_eq!(store.load_patient("t1", &kept).unwrap().len(), 1);
    });
}

#[test]
fn a_draft_is_reviewed_once() {
    each_backend(&ROOT, |store| {
        let draft = Draft {
            id: "d1".into(),
            tenant: "t1".into(),
            patient: store.patient_ref("t1", "p"),
            task: "clinical-note".into(),
            status: DraftStatus::AwaitingReview,
            created_by: "u1".into(),
            created_at: 1,
            reviewed_by: None,
            reviewed_at: None,
        };
        store.create_draft(&draft, b"SOAP body").unwrap();
        assert_eq!(
            store
                .drafts_by_status("t1", DraftStatus::AwaitingReview)
                .unwrap(),
            vec![draft.clone()]
        );
        let (_, body) = store.draft("t1", "d1").unwrap();
        assert_eq!(&body[..], b"SOAP body");
        store
            .update_draft_body(&draft, b"SOAP body, edited")
            .unwrap();
        let (_, body) = store.draft("t1", "d1").unwrap();
        assert_eq!(&body[..], b"SOAP body, edited");
        assert_eq!(store.drafts("t1").unwrap().len(), 1);

        store
            .review_draft("t1", "d1", DraftStatus::Signed, "dr-1")
            .unwrap();
        let again = store.review_draft("t1", "d1", DraftStatus::Rejected, "dr-2");
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        let (reviewed, _) = store.draft("t1", "d1").unwrap();
        assert_eq!(reviewed.status, DraftStatus::Signed);
        assert_eq!(reviewed.reviewed_by.as_deref(), Some("dr-1"));
        assert!(
            reviewed.reviewed_at.is_some(),
            "the review time is recorded"
        );
        assert!(
            matches!(
                store.update_draft_body(&draft, b"late"),
                Err(StoreError::Conflict(_))
            ),
            "a reviewed draft is never rewritten"
        );
    });
}

#[test]
fn users_are_found_by_name_and_their_debug_hides_the_hash() {
    each_backend(&ROOT, |store| {
        let user = UserRecord {
            id: "u1".into(),
            tenant: "t1".into(),
            username: "alice".into(),
            role: "clinician".into(),
            password_hash: "$argon2id$secret".into(),
            disabled: false,
        };
        store.upsert_user(&user).unwrap();
        assert_eq!(
            store.user_by_name("t1", "alice").unwrap(),
            Some(user.clone())
        );
        assert!(store.user_by_name("t1", "bob").unwrap().is_none());
        assert!(!format!("{user:?}").contains("argon2id"));
        assert_eq!(store.count_users_with_role("t1", "clinician").unwrap(), 1);
    });
}
