//! The breach-assessment report of one incident: who may be affected, when the incident was
//! discovered and the notification deadline that follows (45 CFR 164.404(b): without
//! unreasonable delay and no later than 60 calendar days after discovery), with what happened.
//!
//! It is the starting point of the privacy officer's assessment, not its conclusion: whether an
//! incident is a reportable breach depends on the four-factor risk assessment of 45 CFR 164.402,
//! which the report lists for them to complete.

use phigate_store::IncidentRecord;
use serde::Serialize;

use crate::model::rfc3339;

/// Days after discovery by which affected individuals must be notified.
pub const NOTIFICATION_DAYS: i64 = 60;

/// Affected residents of one state from which media notice is also required (164.406).
pub const MEDIA_NOTICE_THRESHOLD: u64 = 500;

/// The report, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct BreachReport {
    /// The incident's id.
    pub incident: String,
    /// The rule that opened it.
    pub rule: String,
    /// Its severity.
    pub severity: String,
    /// Its status.
    pub status: String,
    /// What happened, without PHI.
    pub summary: String,
    /// How many times the rule fired into it.
    pub occurrences: u64,
    /// When the incident was opened: the discovery date, RFC 3339.
    pub discovered_at: String,
    /// When the rule last fired, RFC 3339.
    pub last_seen_at: String,
    /// Discovery plus 60 days, RFC 3339.
    pub notification_deadline: String,
    /// Whole days left until the deadline (negative once passed).
    pub days_remaining: i64,
    /// How many distinct patients may be affected.
    pub patients_affected: u64,
    /// Their keyed references (resolve them inside the organisation, never in the report).
    pub patient_refs: Vec<String>,
    /// Whether the count reaches the media and immediate HHS notice threshold.
    pub media_notice_may_apply: bool,
    /// Who acknowledged the incident, and when.
    pub acknowledged: Option<(String, String)>,
}

impl BreachReport {
    /// The report of `incident`, touching `patient_refs`, as of `now` (Unix seconds).
    pub fn new(incident: &IncidentRecord, patient_refs: Vec<String>, now: i64) -> Self {
        let deadline = incident.opened_at + NOTIFICATION_DAYS * 86_400;
        let affected = patient_refs.len() as u64;
        BreachReport {
            incident: incident.id.clone(),
            rule: incident.rule.clone(),
            severity: incident.severity.clone(),
            status: incident.status.clone(),
            summary: incident.summary.clone(),
            occurrences: incident.count,
            discovered_at: rfc3339(incident.opened_at),
            last_seen_at: rfc3339(incident.last_seen_at),
            notification_deadline: rfc3339(deadline),
            days_remaining: (deadline - now).div_euclid(86_400),
            patients_affected: affected,
            patient_refs,
            media_notice_may_apply: affected >= MEDIA_NOTICE_THRESHOLD,
            acknowledged: incident
                .acknowledged_by
                .clone()
                .zip(incident.acknowledged_at.map(rfc3339)),
        }
    }

    /// The report in Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let mut line = |text: String| {
            md.push_str(&text);
            md.push('\n');
        };
        line(format!("# Breach assessment: incident {}", self.incident));
        line(String::new());
        line("## What happened".into());
        line(String::new());
        line(format!(
            "- Rule: `{}` (severity {})",
            self.rule, self.severity
        ));
        line(format!("- Summary: {}", self.summary));
        line(format!(
            "- Occurrences: {}, last at {}",
            self.occurrences, self.last_seen_at
        ));
        line(format!("- Status: {}", self.status));
        if let Some((by, at)) = &self.acknowledged {
            line(format!("- Acknowledged by `{by}` at {at}"));
        }
        line(String::new());
        line("## Dates".into());
        line(String::new());
        line(format!(
            "- Discovered: {} (when Phigate opened the incident)",
            self.discovered_at
        ));
        line(format!(
            "- Notification deadline: {} ({} days after discovery, 45 CFR 164.404(b)); {} days remain",
            self.notification_deadline, NOTIFICATION_DAYS, self.days_remaining
        ));
        line(String::new());
        line("## Patients possibly affected".into());
        line(String::new());
        line(format!("- Count: {}", self.patients_affected));
        if self.media_notice_may_apply {
            line(format!(
                "- {MEDIA_NOTICE_THRESHOLD} or more: if as many live in one state, notify the \
                 media (164.406) and HHS at the same time (164.408(b))"
            ));
        } else {
            line(format!(
                "- Fewer than {MEDIA_NOTICE_THRESHOLD}: HHS may be notified in the annual log \
                 (164.408(c))"
            ));
        }
        line("- Keyed references (resolve inside the organisation):".into());
        for patient in &self.patient_refs {
            line(format!("  - `{patient}`"));
        }
        line(String::new());
        line("## Risk assessment (45 CFR 164.402(2)), to complete".into());
        line(String::new());
        for factor in [
            "Nature and extent of the PHI involved, and the likelihood of re-identification",
            "The unauthorized person who used the PHI or to whom it was disclosed",
            "Whether the PHI was actually acquired or viewed",
            "The extent to which the risk to the PHI has been mitigated",
        ] {
            line(format!("- [ ] {factor}"));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> IncidentRecord {
        IncidentRecord {
            id: "inc_1".into(),
            tenant: "t".into(),
            rule: "bulk_patient_read".into(),
            subject: "u-1".into(),
            severity: "high".into(),
            status: "open".into(),
            summary: "u-1 read 25 distinct patients within 300 s (threshold 20)".into(),
            // 2026-01-10T12:00:00Z
            opened_at: 1_768_046_400,
            last_seen_at: 1_768_046_500,
            count: 6,
            patients: 2,
            acknowledged_by: None,
            acknowledged_at: None,
        }
    }

    #[test]
    fn the_deadline_is_sixty_days_after_discovery() {
        let refs = vec!["a".repeat(64), "b".repeat(64)];
        let now = 1_768_046_400 + 10 * 86_400;
        let report = BreachReport::new(&incident(), refs, now);
        assert_eq!(report.discovered_at, "2026-01-10T12:00:00Z");
        assert_eq!(report.notification_deadline, "2026-03-11T12:00:00Z");
        assert_eq!(report.days_remaining, 50);
        assert_eq!(report.patients_affected, 2);
        assert!(!report.media_notice_may_apply);
        let md = report.to_markdown();
        assert!(md.contains("Notification deadline: 2026-03-11T12:00:00Z"));
        assert!(md.contains(&format!("`{}`", "a".repeat(64))));
        assert!(md.contains("- [ ] Whether the PHI was actually acquired or viewed"));
    }

    #[test]
    fn five_hundred_patients_raise_the_media_notice() {
        let refs = (0..500).map(|n| format!("{n:064x}")).collect();
        let report = BreachReport::new(&incident(), refs, 1_768_046_400);
        assert!(report.media_notice_may_apply);
        assert!(report.to_markdown().contains("notify the media"));
    }
}
