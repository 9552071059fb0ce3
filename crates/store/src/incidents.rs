//! Security incidents opened by the rule engine: what fired, how bad, how often, and which
//! patients it touched (as keyed references only). Nothing here is PHI, so nothing is sealed.

use crate::db::{Row, Sql};
use crate::{Store, StoreError, params};

/// One stored incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    /// Random id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// The rule that opened it.
    pub rule: String,
    /// What the rule grouped by: a staff user id, `tenant` for tenant-wide rules.
    pub subject: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    /// A PHI-free sentence saying what happened.
    pub summary: String,
    /// When it was opened (Unix seconds): the discovery date of a breach assessment.
    pub opened_at: i64,
    /// When the rule last fired for it (Unix seconds).
    pub last_seen_at: i64,
    /// How many times the rule fired into it.
    pub count: u64,
    /// How many distinct patients it touched.
    pub patients: u64,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When (Unix seconds).
    pub acknowledged_at: Option<i64>,
}

/// A rule firing, to be recorded as a new incident or merged into an open one.
#[derive(Clone, Debug)]
pub struct NewIncident<'a> {
    /// The id to use if a new incident is opened.
    pub id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// The rule.
    pub rule: &'a str,
    /// What the rule groups by.
    pub subject: &'a str,
    /// Severity.
    pub severity: &'a str,
    /// PHI-free summary; replaces the stored one when merged.
    pub summary: &'a str,
    /// When it fired (Unix seconds).
    pub at: i64,
    /// Patient references (keyed HMACs) it touched.
    pub patient_refs: &'a [String],
}

const COLUMNS: &str = "i.id, i.tenant, i.rule, i.subject, i.severity, i.status, i.summary,
    i.opened_at, i.last_seen_at, i.count, i.acknowledged_by, i.acknowledged_at,
    (SELECT COUNT(*) FROM incident_patients p WHERE p.incident_id = i.id)";

impl Store {
    /// Records a firing: merged into the open incident of the same rule and subject last seen
    /// at most `merge_within` seconds earlier, or else opened as a new incident. Returns the
    /// incident and whether it was newly opened.
    pub fn record_incident(
        &self,
        new: &NewIncident<'_>,
        merge_within: i64,
    ) -> Result<(IncidentRecord, bool), StoreError> {
        let (id, opened) = self.db.transaction(|tx| {
            let open = tx.query_opt(
                "SELECT id FROM incidents
                 WHERE tenant = $1 AND rule = $2 AND subject = $3 AND status = 'open'
                   AND last_seen_at >= $4
                 ORDER BY last_seen_at DESC LIMIT 1",
                params![
                    new.tenant,
                    new.rule,
                    new.subject,
                    new.at.saturating_sub(merge_within)
                ],
            )?;
            let (id, opened) = match open {
                Some(row) => {
                    let id: String = row.get(0)?;
                    tx.execute(
                        "UPDATE incidents SET count = count + 1, summary = $2,
                             last_seen_at = CASE WHEN last_seen_at > $3 THEN last_seen_at
                                                 ELSE $3 END
                         WHERE id = $1",
                        params![id, new.summary, new.at],
                    )?;
                    (id, false)
                }
                None => {
                    tx.execute(
                        "INSERT INTO incidents (id, tenant, rule, subject, severity, status,
                             summary, opened_at, last_seen_at, count)
                         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $7, 1)",
                        params![
                            new.id,
                            new.tenant,
                            new.rule,
                            new.subject,
                            new.severity,
                            new.summary,
                            new.at
                        ],
                    )?;
                    (new.id.to_owned(), true)
                }
            };
            for patient in new.patient_refs {
                tx.execute(
                    "INSERT INTO incident_patients (incident_id, patient_ref) VALUES ($1, $2)
                     ON CONFLICT (incident_id, patient_ref) DO NOTHING",
                    params![id, patient],
                )?;
            }
            Ok((id, opened))
        })?;
        let record = self.incident(new.tenant, &id)?;
        Ok((record.ok_or(StoreError::NotFound("incident"))?, opened))
    }

    /// A tenant's incidents, newest first, optionally only those in `status`, at most `limit`.
    pub fn incidents(
        &self,
        tenant: &str,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let rows = match status {
            Some(status) => self.db.query_all(
                &format!(
                    "SELECT {COLUMNS} FROM incidents i WHERE i.tenant = $1 AND i.status = $2
                     ORDER BY i.opened_at DESC, i.id LIMIT $3"
                ),
                params![tenant, status, limit],
            )?,
            None => self.db.query_all(
                &format!(
                    "SELECT {COLUMNS} FROM incidents i WHERE i.tenant = $1
                     ORDER BY i.opened_at DESC, i.id LIMIT $2"
                ),
                params![tenant, limit],
            )?,
        };
        rows.iter().map(from_row).collect()
    }

    /// One incident, if the tenant has it.
    pub fn incident(&self, tenant: &str, id: &str) -> Result<Option<IncidentRecord>, StoreError> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM incidents i WHERE i.tenant = $1 AND i.id = $2"),
                params![tenant, id],
            )?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// The patient references an incident touched, in stored order.
    pub fn incident_patients(&self, tenant: &str, id: &str) -> Result<Vec<String>, StoreError> {
        self.db
            .query_all(
                "SELECT p.patient_ref FROM incident_patients p
                 JOIN incidents i ON i.id = p.incident_id
                 WHERE i.tenant = $1 AND i.id = $2 ORDER BY p.patient_ref",
                params![tenant, id],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// Moves an open incident to `acknowledged`, recording who and when. An incident already
    /// acknowledged or closed is returned unchanged. `None` if the tenant has no such incident.
    pub fn acknowledge_incident(
        &self,
        tenant: &str,
        id: &str,
        by: &str,
        at: i64,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        self.db.execute(
            "UPDATE incidents SET status = 'acknowledged', acknowledged_by = $3,
                 acknowledged_at = $4
             WHERE tenant = $1 AND id = $2 AND status = 'open'",
            params![tenant, id, by, at],
        )?;
        self.incident(tenant, id)
    }
}

fn from_row(row: &Row) -> Result<IncidentRecord, StoreError> {
    Ok(IncidentRecord {
        id: row.get(0)?,
        tenant: row.get(1)?,
        rule: row.get(2)?,
        subject: row.get(3)?,
        severity: row.get(4)?,
        status: row.get(5)?,
        summary: row.get(6)?,
        opened_at: row.get(7)?,
        last_seen_at: row.get(8)?,
        count: row.get(9)?,
        patients: row.get(12)?,
        acknowledged_by: row.get(10)?,
        acknowledged_at: row.get(11)?,
    })
}
