//! Appointment slots: the organisation's own schedule, which FHIR bundles do not carry. A free
//! slot names no patient and is not PHI; booking one writes the patient's `Appointment` into
//! their sealed record and marks the slot busy in the same transaction.

use crate::db::{Row, Sql, now};
use crate::{PatientRef, Store, StoreError, params};
use phigate_crypto::AadContext;

/// Whether a slot can still be booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotStatus {
    /// Open for booking.
    Free,
    /// Booked.
    Busy,
}

impl SlotStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Busy => "busy",
        }
    }
}

/// One bookable period of a service (FHIR `Slot`, reduced to what scheduling needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Logical id.
    pub id: String,
    /// Start, RFC 3339.
    pub start: String,
    /// End, RFC 3339.
    pub end: String,
    /// The service offered, such as `primary-care` or `cardiology`.
    pub service: String,
    /// Free or busy.
    pub status: SlotStatus,
}

fn free_slot_from_row(row: &Row) -> Result<Slot, StoreError> {
    Ok(Slot {
        id: row.get(0)?,
        start: row.get(1)?,
        end: row.get(2)?,
        service: row.get(3)?,
        status: SlotStatus::Free,
    })
}

impl Store {
    /// Adds slots (or replaces slots with the same id that are still free).
    pub fn put_slots(&self, tenant: &str, slots: &[Slot]) -> Result<(), StoreError> {
        self.db.transaction(|tx| {
            for slot in slots {
                tx.execute(
                    "INSERT INTO slots (tenant, id, start, \"end\", service, status)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (tenant, id) DO UPDATE SET start = excluded.start,
                       \"end\" = excluded.\"end\", service = excluded.service
                     WHERE slots.status = 'free'",
                    params![
                        tenant,
                        slot.id,
                        slot.start,
                        slot.end,
                        slot.service,
                        slot.status.as_str()
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Free slots starting in `[from, to)` (RFC 3339 strings compared as text), optionally of one
    /// service, earliest first, at most `limit`.
    pub fn free_slots(
        &self,
        tenant: &str,
        service: Option<&str>,
        from: &str,
        to: &str,
        limit: usize,
    ) -> Result<Vec<Slot>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .query_all(
                "SELECT id, start, \"end\", service FROM slots
                 WHERE tenant = $1 AND status = 'free' AND start >= $2 AND start < $3
                   AND (CAST($4 AS TEXT) IS NULL OR service = $4)
                 ORDER BY start, id LIMIT $5",
                params![tenant, from, to, service, limit],
            )?
            .iter()
            .map(free_slot_from_row)
            .collect()
    }

    /// One free slot by id, if it is free.
    pub fn free_slot(&self, tenant: &str, id: &str) -> Result<Option<Slot>, StoreError> {
        self.db
            .query_opt(
                "SELECT id, start, \"end\", service FROM slots
                 WHERE tenant = $1 AND id = $2 AND status = 'free'",
                params![tenant, id],
            )?
            .as_ref()
            .map(free_slot_from_row)
            .transpose()
    }

    /// Books a free slot for a patient: the slot turns busy and `appointment` (FHIR JSON) is
    /// sealed into the patient's record, both or neither. A slot that is not free is a conflict.
    pub fn book_slot(
        &self,
        tenant: &str,
        slot_id: &str,
        patient: &PatientRef,
        appointment_id: &str,
        appointment: &[u8],
    ) -> Result<Slot, StoreError> {
        let rref = self.resource_ref(tenant, "Appointment", appointment_id);
        let ctx = AadContext::patient(
            tenant,
            patient.as_str(),
            &format!("Appointment/{rref}"),
            "body",
        );
        let sealed = self.keyring.seal(&ctx, appointment)?;
        let at = now();
        self.db.transaction(|tx| {
            // The guarded update is the claim: of two bookings racing for the slot, one
            // changes the row and the other finds it busy.
            let claimed = tx.query_opt(
                "UPDATE slots SET status = 'busy', patient_ref = $3
                 WHERE tenant = $1 AND id = $2 AND status = 'free'
                 RETURNING id, start, \"end\", service",
                params![tenant, slot_id, patient.as_str()],
            )?;
            let mut slot =
                free_slot_from_row(&claimed.ok_or(StoreError::Conflict("slot is not free"))?)?;
            slot.status = SlotStatus::Busy;
            tx.execute(
                "INSERT INTO resources
                 (tenant, patient_ref, resource_type, resource_ref, body, updated_at)
                 VALUES ($1, $2, 'Appointment', $3, $4, $5)",
                params![tenant, patient.as_str(), rref, sealed, at],
            )?;
            Ok(slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phigate_crypto::{KeyMaterial, LocalKms};

    use super::*;

    fn slot(id: &str, start: &str, service: &str) -> Slot {
        Slot {
            id: id.into(),
            start: start.into(),
            end: start.replace("T09", "T10"),
            service: service.into(),
            status: SlotStatus::Free,
        }
    }

    #[test]
    fn a_slot_is_booked_once_and_the_appointment_lands_in_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let kms = LocalKms::from_key(KeyMaterial::from_bytes(&[3u8; 32]).unwrap());
        let store = Store::open(&dir.path().join("app.db"), Arc::new(kms)).unwrap();
        store
            .put_slots(
                "t1",
                &[
                    slot("s1", "2030-01-02T09:00:00Z", "cardiology"),
                    slot("s2", "2030-01-03T09:00:00Z", "primary-care"),
                ],
            )
            .unwrap();
        let free = store
            .free_slots("t1", Some("cardiology"), "2030-01-01", "2030-02-01", 10)
            .unwrap();
        assert_eq!(
            free.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["s1"]
        );

        let patient = store.patient_ref("t1", "p1");
        store
            .book_slot(
                "t1",
                "s1",
                &patient,
                "a1",
                b"{\"resourceType\":\"Appointment\"}",
            )
            .unwrap();
        let again = store.book_slot("t1", "s1", &patient, "a2", b"{}");
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        assert!(
            store
                .free_slots("t1", None, "2030", "2031", 10)
                .unwrap()
                .len()
                == 1
        );
        assert_eq!(
            store.load_patient("t1", &patient).unwrap()[0].resource_type,
            "Appointment"
        );
    }
}
