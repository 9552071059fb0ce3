//! Changing a booked appointment: cancelling frees its slot again, rescheduling moves it to
//! another free slot. The appointment (sealed FHIR JSON in the patient's record) and the slots
//! change in one transaction, and only an appointment of the patient named can be touched:
//! another patient's appointment is "not found", exactly like one that does not exist.

use phigate_crypto::AadContext;

use crate::db::{Sql, now};
use crate::{PatientRef, Slot, SlotStatus, Store, StoreError, params};

impl Store {
    /// Replaces the patient's appointment `appointment_id` with `cancelled` (its FHIR JSON with
    /// status `cancelled`) and frees `slot_id`, if the patient holds it.
    pub fn cancel_appointment(
        &self,
        tenant: &str,
        patient: &PatientRef,
        appointment_id: &str,
        slot_id: Option<&str>,
        cancelled: &[u8],
    ) -> Result<(), StoreError> {
        let (rref, sealed) = self.seal_appointment(tenant, patient, appointment_id, cancelled)?;
        let at = now();
        self.db.transaction(|tx| {
            replace_appointment(tx, tenant, patient, &rref, &sealed, at)?;
            if let Some(slot_id) = slot_id {
                free_slot(tx, tenant, patient, slot_id)?;
            }
            Ok(())
        })
    }

    /// Moves the patient's appointment `appointment_id` from `old_slot` to the free slot
    /// `new_slot`, storing `updated` as its FHIR JSON. A new slot that is not free is a
    /// conflict, and then nothing changes.
    pub fn reschedule_appointment(
        &self,
        tenant: &str,
        patient: &PatientRef,
        appointment_id: &str,
        old_slot: Option<&str>,
        new_slot: &str,
        updated: &[u8],
    ) -> Result<Slot, StoreError> {
        let (rref, sealed) = self.seal_appointment(tenant, patient, appointment_id, updated)?;
        let at = now();
        self.db.transaction(|tx| {
            replace_appointment(tx, tenant, patient, &rref, &sealed, at)?;
            // The guarded update is the claim, as in booking: of two racing for the slot, one
            // changes the row and the other finds it busy.
            let claimed = tx
                .query_opt(
                    "UPDATE slots SET status = 'busy', patient_ref = $3
                     WHERE tenant = $1 AND id = $2 AND status = 'free'
                     RETURNING id, start, \"end\", service",
                    params![tenant, new_slot, patient.as_str()],
                )?
                .ok_or(StoreError::Conflict("slot is not free"))?;
            let slot = Slot {
                id: claimed.get(0)?,
                start: claimed.get(1)?,
                end: claimed.get(2)?,
                service: claimed.get(3)?,
                status: SlotStatus::Busy,
            };
            if let Some(old_slot) = old_slot {
                free_slot(tx, tenant, patient, old_slot)?;
            }
            Ok(slot)
        })
    }

    fn seal_appointment(
        &self,
        tenant: &str,
        patient: &PatientRef,
        appointment_id: &str,
        body: &[u8],
    ) -> Result<(String, Vec<u8>), StoreError> {
        let rref = self.resource_ref(tenant, "Appointment", appointment_id);
        let ctx = AadContext::patient(
            tenant,
            patient.as_str(),
            &format!("Appointment/{rref}"),
            "body",
        );
        let sealed = self.keyring.seal(&ctx, body)?;
        Ok((rref, sealed))
    }
}

/// Overwrites an appointment the patient already has; anything else is "not found".
fn replace_appointment(
    tx: &dyn Sql,
    tenant: &str,
    patient: &PatientRef,
    rref: &str,
    sealed: &[u8],
    at: i64,
) -> Result<(), StoreError> {
    let changed = tx.execute(
        "UPDATE resources SET body = $4, updated_at = $5
         WHERE tenant = $1 AND patient_ref = $2 AND resource_type = 'Appointment'
           AND resource_ref = $3",
        params![tenant, patient.as_str(), rref, sealed.to_vec(), at],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound("appointment"));
    }
    Ok(())
}

/// Frees a slot this patient holds; a slot held by someone else is left alone.
fn free_slot(
    tx: &dyn Sql,
    tenant: &str,
    patient: &PatientRef,
    slot_id: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE slots SET status = 'free', patient_ref = NULL
         WHERE tenant = $1 AND id = $2 AND patient_ref = $3",
        params![tenant, slot_id, patient.as_str()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::{KeyMaterial, LocalKms};

    use super::*;

    fn slot(id: &str, start: &str) -> Slot {
        Slot {
            id: id.into(),
            start: start.into(),
            end: start.replace("T09", "T10"),
            service: "primary-care".into(),
            status: SlotStatus::Free,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[6u8; 32]).unwrap());
        let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
        store
            .put_slots(
                "t1",
                &[
                    slot("s1", "2030-01-02T09:00:00Z"),
                    slot("s2", "2030-01-03T09:00:00Z"),
                ],
            )
            .unwrap();
        (dir, store)
    }

    fn free_ids(store: &Store) -> Vec<String> {
        store
            .free_slots("t1", None, "2030", "2031", 10)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    }

    #[test]
    fn a_cancelled_appointment_frees_its_slot_and_a_rescheduled_one_moves() {
        let (_dir, store) = store();
        let me = store.patient_ref("t1", "p1");
        store.book_slot("t1", "s1", &me, "a1", b"{}").unwrap();
        assert_eq!(free_ids(&store), ["s2"]);

        let moved = store
            .reschedule_appointment("t1", &me, "a1", Some("s1"), "s2", b"{\"v\":2}")
            .unwrap();
        assert_eq!(moved.id, "s2");
        assert_eq!(free_ids(&store), ["s1"]);
        let again = store.reschedule_appointment("t1", &me, "a1", Some("s2"), "s2", b"{}");
        assert!(matches!(again, Err(StoreError::Conflict(_))), "s2 is taken");
        assert_eq!(free_ids(&store), ["s1"], "a refused move changes nothing");

        store
            .cancel_appointment("t1", &me, "a1", Some("s2"), b"{\"v\":3}")
            .unwrap();
        assert_eq!(free_ids(&store), ["s1", "s2"]);
        let record = store.load_patient("t1", &me).unwrap();
        assert_eq!(record.len(), 1);
        assert_eq!(&record[0].json[..], b"{\"v\":3}");
    }

    #[test]
    fn another_patients_appointment_is_not_found_and_their_slot_stays_booked() {
        let (_dir, store) = store();
        let me = store.patient_ref("t1", "p1");
        let other = store.patient_ref("t1", "p2");
        store
            .book_slot("t1", "s1", &other, "theirs", b"{}")
            .unwrap();
        let cancel = store.cancel_appointment("t1", &me, "theirs", Some("s1"), b"{}");
        assert!(matches!(cancel, Err(StoreError::NotFound("appointment"))));
        let moved = store.reschedule_appointment("t1", &me, "theirs", Some("s1"), "s2", b"{}");
        assert!(matches!(moved, Err(StoreError::NotFound("appointment"))));
        assert_eq!(free_ids(&store), ["s2"], "their slot is still booked");

        // Even with an appointment of one's own, a slot someone else holds is never freed.
        store.book_slot("t1", "s2", &me, "mine", b"{}").unwrap();
        store
            .cancel_appointment("t1", &me, "mine", Some("s1"), b"{}")
            .unwrap();
        assert_eq!(free_ids(&store), Vec::<String>::new());
    }
}
