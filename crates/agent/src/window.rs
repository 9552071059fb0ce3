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
