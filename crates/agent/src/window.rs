//! A task's time window: resources dated before it are not projected.

use phigate_fhir::{PatientRecord, strings_at};
use serde_json::Value;
use time::{Date, Duration};

use crate::TaskSpec;

/// A copy of `record` without the resources the task's projection would order by a date older
/// than the task's window. Resources without such a date are kept; the projection's own limits
/// still apply.
pub(crate) fn within(record: &PatientRecord, task: &TaskSpec, today: Date) -> PatientRecord {
    let Some(days) = task.window_days else {
        return PatientRecord {
            patient: record.patient.clone(),
            resources: record.resources.clone(),
        };
    };
    let cutoff = (today - Duration::days(i64::from(days))).to_string();
    let dated = |r: &Value| {
        let kind = r.get("resourceType").and_then(Value::as_str);
        let rule = task
            .projection
            .resources
            .iter()
            .find(|rule| Some(rule.resource_type.as_str()) == kind);
        let date = rule
            .and_then(|rule| rule.newest_by.as_deref())
            .and_then(|path| strings_at(r, path).into_iter().next());
        // ISO 8601 dates compare as text; a date before the cutoff is out of the window.
        date.is_none_or(|d| d.as_str() >= cutoff.as_str())
    };
    PatientRecord {
        patient: record.patient.clone(),
        resources: record
            .resources
            .iter()
            .filter(|r| dated(r))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;
    use crate::Catalog;

    #[test]
    fn resources_dated_before_the_window_are_not_projected() {
        let catalog = Catalog::builtin().unwrap();
        let mut triage = catalog.task("triage").unwrap().clone();
        triage.window_days = Some(365);
        let condition = |id: &str, onset: &str| {
            json!({"resourceType": "Condition", "id": id, "onsetDateTime": onset,
                   "clinicalStatus": {"coding": [{"code": "active"}]},
                   "code": {"coding": [{"display": id}]}})
        };
        let record = PatientRecord {
            patient: json!({"resourceType": "Patient", "id": "p"}),
            resources: vec![
                condition("recent", "2026-06-01"),
                condition("old", "2019-06-01"),
                json!({"resourceType": "AllergyIntolerance", "id": "a"}),
            ],
        };
        let kept = within(&record, &triage, date!(2026 - 12 - 04));
        let ids: Vec<&str> = kept
            .resources
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            ["recent", "a"],
            "undated resources stay; the projection's limits apply"
        );
        triage.window_days = None;
        assert_eq!(
            within(&record, &triage, date!(2026 - 12 - 04))
                .resources
                .len(),
            3
        );
    }
}
