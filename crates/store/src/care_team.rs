//! Care relationships: which staff member cares for which patient. A tenant that turns them on
//! confines every staff role to its own patients; reaching anyone else takes a live break-glass
//! grant. A tenant that leaves them off reaches every patient of the tenant, as before, and
//! break-glass there only adds a flagged audit entry.

use crate::db::Sql;
use crate::{PatientRef, Store, StoreError, params};

/// Why a staff member may reach a patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatientAccess {
    /// The tenant does not confine staff to care relationships.
    Tenant,
    /// The caller is on the patient's care team.
    CareTeam,
    /// The caller holds an unexpired break-glass grant for the patient.
    BreakGlass,
    /// None of the above: the patient is outside the caller's scope.
    Outside,
}

impl PatientAccess {
    /// Whether the access is allowed at all.
    pub fn allowed(self) -> bool {
        self != Self::Outside
    }
}

impl Store {
    /// Turns care-relationship confinement on or off for `tenant`.
    pub fn set_care_team_required(
        &self,
        tenant: &str,
        required: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM care_team_tenants WHERE tenant = $1",
            params![tenant],
        )?;
        if required {
            self.db.execute(
                "INSERT INTO care_team_tenants (tenant, since) VALUES ($1, $2)",
                params![tenant, now],
            )?;
        }
        Ok(())
    }

    /// Whether `tenant` confines staff to their care relationships.
    pub fn care_team_required(&self, tenant: &str) -> Result<bool, StoreError> {
        let count: i64 = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM care_team_tenants WHERE tenant = $1",
                params![tenant],
            )?
            .get(0)?;
        Ok(count > 0)
    }

    /// Puts `user_id` on `patient`'s care team (idempotent).
    pub fn assign_care(
        &self,
        tenant: &str,
        user_id: &str,
        patient: &PatientRef,
        now: i64,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM care_team WHERE tenant = $1 AND user_id = $2 AND patient_ref = $3",
            params![tenant, user_id, patient.as_str()],
        )?;
        self.db.execute(
            "INSERT INTO care_team (tenant, user_id, patient_ref, assigned_at)
             VALUES ($1, $2, $3, $4)",
            params![tenant, user_id, patient.as_str(), now],
        )?;
        Ok(())
    }

    /// Takes `user_id` off `patient`'s care team; returns whether they were on it.
    pub fn unassign_care(
        &self,
        tenant: &str,
        user_id: &str,
        patient: &PatientRef,
    ) -> Result<bool, StoreError> {
        let removed = self.db.execute(
            "DELETE FROM care_team WHERE tenant = $1 AND user_id = $2 AND patient_ref = $3",
            params![tenant, user_id, patient.as_str()],
        )?;
        Ok(removed > 0)
    }

    /// Why (and whether) `user_id` may reach `patient` at `now`. Read on every request, so an
    /// assignment, a grant or its expiry takes effect on the next one.
    pub fn patient_access(
        &self,
        tenant: &str,
        user_id: &str,
        patient: &PatientRef,
        now: i64,
    ) -> Result<PatientAccess, StoreError> {
        if !self.care_team_required(tenant)? {
            return Ok(PatientAccess::Tenant);
        }
        let on_team: i64 = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM care_team WHERE tenant = $1 AND user_id = $2
                 AND patient_ref = $3",
                params![tenant, user_id, patient.as_str()],
            )?
            .get(0)?;
        if on_team > 0 {
            return Ok(PatientAccess::CareTeam);
        }
        if self.has_break_glass(tenant, user_id, patient, now)? {
            return Ok(PatientAccess::BreakGlass);
        }
        Ok(PatientAccess::Outside)
    }
}
