//! The rules, as a pure state machine over audit events: windows, thresholds and what fires.
//! No I/O here; [`crate::service`] stores what fires and sends the alerts.

use std::collections::{HashMap, HashSet, VecDeque};

use phigate_audit::{Action, AuditEvent, Outcome};
use time::UtcOffset;

use crate::model::Rule;

/// Thresholds and windows, from `[incidents]` in the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleConfig {
    /// The sliding window every burst rule counts in, in seconds.
    pub window_secs: i64,
    /// Distinct patients one user may read within the window before an incident opens.
    pub bulk_read_patients: usize,
    /// Refusals of one caller within the window that open an incident.
    pub denial_burst: usize,
    /// Failed sign-ins to one account within the window that open an incident.
    pub failed_sign_ins_per_user: usize,
    /// Failed sign-ins across the tenant within the window that open an incident.
    pub failed_sign_ins_overall: usize,
    /// Whether reads outside working hours open incidents (off unless configured: the hours
    /// are local).
    pub unusual_hours: bool,
    /// The first working hour, local time (0–23).
    pub work_start_hour: u8,
    /// The hour working time ends, local time (1–24).
    pub work_end_hour: u8,
    /// The offset of local time from UTC.
    pub utc_offset: UtcOffset,
}

impl Default for RuleConfig {
    fn default() -> Self {
        Self {
            window_secs: 300,
            bulk_read_patients: 20,
            denial_burst: 10,
            failed_sign_ins_per_user: 5,
            failed_sign_ins_overall: 20,
            unusual_hours: false,
            work_start_hour: 7,
            work_end_hour: 19,
            utc_offset: UtcOffset::UTC,
        }
    }
}

/// A rule firing: what the service records and, when it opens an incident, alerts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firing {
    /// The rule.
    pub rule: Rule,
    /// What it groups by: a staff user id, or `tenant` for tenant-wide rules.
    pub subject: String,
    /// A sentence from fixed phrases, ids and numbers.
    pub summary: String,
    /// Patient references (keyed HMACs) involved.
    pub patient_refs: Vec<String>,
    /// When (Unix seconds, from the event).
    pub at: i64,
}

/// What the engine needs from one append.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The event (its time, actor, action, outcome, patient reference and detail).
    pub event: AuditEvent,
    /// Whether the audit store failed to record it.
    pub store_failed: bool,
}

/// Users tracked per map before idle ones are swept.
const SWEEP_AT: usize = 10_000;

/// The rules' state: one sliding window per rule and subject.
#[derive(Debug)]
pub struct Engine {
    config: RuleConfig,
    reads: HashMap<String, VecDeque<(i64, String)>>,
    denials: HashMap<String, VecDeque<i64>>,
    sign_ins: HashMap<String, VecDeque<i64>>,
    sign_ins_overall: VecDeque<i64>,
}

impl Engine {
    /// An engine with no history.
    pub fn new(config: RuleConfig) -> Self {
        Self {
            config,
            reads: HashMap::new(),
            denials: HashMap::new(),
            sign_ins: HashMap::new(),
            sign_ins_overall: VecDeque::new(),
        }
    }

    /// Feeds one append; returns what fired.
    pub fn observe(&mut self, observed: &Observed) -> Vec<Firing> {
        let event = &observed.event;
        let at = event.time.unix_timestamp();
        let user = event.actor.user_id.as_str();
        let patient: Vec<String> = event.patient_ref.iter().cloned().collect();
        let fire = |rule: Rule, subject: &str, summary: String, patient_refs: Vec<String>| Firing {
            rule,
            subject: subject.to_owned(),
            summary,
            patient_refs,
            at,
        };
        if observed.store_failed {
            let summary = format!(
                "the audit store failed to record a {} event",
                event.action.as_str()
            );
            return vec![fire(Rule::AuditStoreFailure, "audit", summary, Vec::new())];
        }
        let detail = event.detail.as_deref().unwrap_or("");
        let mut fired = Vec::new();
        match event.action {
            // Incidents' own entries never feed the rules.
            Action::Incident => return fired,
            Action::SafetyAlert => fired.push(fire(
                Rule::SafetyAlert,
                user,
                format!("a safety rule fired for a request by {user}"),
                patient.clone(),
            )),
            Action::SignIn if event.outcome != Outcome::Success => {
                fired.extend(self.failed_sign_in(user, at));
            }
            _ => {}
        }
        if let Some(kind) = detail.strip_prefix("egress gate blocked: ") {
            let kind = entity_tag(kind);
            fired.push(fire(
                Rule::LeakGateBlock,
                user,
                format!("the egress gate blocked a request by {user}: a {kind} value was in the outbound bytes"),
                patient.clone(),
            ));
        }
        if detail.contains("prompt injection") {
            let source = if event.action == Action::ToolCall {
                "a tool result"
            } else {
                "the input"
            };
            fired.push(fire(
                Rule::InjectionDetected,
                user,
                format!("{source} of a request by {user} read as a prompt injection"),
                patient.clone(),
            ));
        }
        if event.action == Action::Denial {
            fired.extend(self.denial(user, at));
        }
        if event.outcome == Outcome::Success
            && matches!(
                event.action,
                Action::Read | Action::Disclosure | Action::BreakGlass
            )
        {
            if let Some(patient_ref) = &event.patient_ref
                && event.action == Action::Read
            {
                fired.extend(self.read(user, patient_ref, at));
            }
            if self.outside_hours(event) && event.actor.role != "service" {
                fired.push(fire(
                    Rule::UnusualHours,
                    user,
                    format!(
                        "{user} accessed patient data outside working hours ({}:00-{}:00 local)",
                        self.config.work_start_hour, self.config.work_end_hour
                    ),
                    patient,
                ));
            }
        }
        fired
    }

    fn read(&mut self, user: &str, patient_ref: &str, at: i64) -> Option<Firing> {
        let window = self.config.window_secs;
        sweep(&mut self.reads, at, window, |(t, _)| *t);
        let reads = self.reads.entry(user.to_owned()).or_default();
        reads.push_back((at, patient_ref.to_owned()));
        evict(reads, at, window, |(t, _)| *t);
        let distinct: HashSet<&str> = reads.iter().map(|(_, p)| p.as_str()).collect();
        if distinct.len() < self.config.bulk_read_patients {
            return None;
        }
        let mut refs: Vec<String> = distinct.into_iter().map(str::to_owned).collect();
        refs.sort();
        Some(Firing {
            rule: Rule::BulkPatientRead,
            subject: user.to_owned(),
            summary: format!(
                "{user} read {} distinct patients within {window} s (threshold {})",
                refs.len(),
                self.config.bulk_read_patients
            ),
            patient_refs: refs,
            at,
        })
    }

    fn denial(&mut self, user: &str, at: i64) -> Option<Firing> {
        let (window, threshold) = (self.config.window_secs, self.config.denial_burst);
        sweep(&mut self.denials, at, window, |t| *t);
        let times = self.denials.entry(user.to_owned()).or_default();
        burst(times, at, window, threshold).then(|| Firing {
            rule: Rule::DenialBurst,
            subject: user.to_owned(),
            summary: format!("{threshold} requests by {user} were refused within {window} s"),
            patient_refs: Vec::new(),
            at,
        })
    }

    fn failed_sign_in(&mut self, user: &str, at: i64) -> Vec<Firing> {
        let window = self.config.window_secs;
        let mut fired = Vec::new();
        let overall = self.config.failed_sign_ins_overall;
        if burst(&mut self.sign_ins_overall, at, window, overall) {
            fired.push(Firing {
                rule: Rule::FailedSignInsOverall,
                subject: "tenant".into(),
                summary: format!("{overall} failed sign-ins across the tenant within {window} s"),
                patient_refs: Vec::new(),
                at,
            });
        }
        // Attempts on accounts that do not exist share one subject, which the overall rule
        // covers as well.
        let per_user = self.config.failed_sign_ins_per_user;
        sweep(&mut self.sign_ins, at, window, |t| *t);
        let times = self.sign_ins.entry(user.to_owned()).or_default();
        if burst(times, at, window, per_user) {
            fired.push(Firing {
                rule: Rule::FailedSignIns,
                subject: user.to_owned(),
                summary: format!("{per_user} failed sign-ins for account {user} within {window} s"),
                patient_refs: Vec::new(),
                at,
            });
        }
        fired
    }

    fn outside_hours(&self, event: &AuditEvent) -> bool {
        let config = &self.config;
        if !config.unusual_hours {
            return false;
        }
        let hour = event.time.to_offset(config.utc_offset).hour();
        !(config.work_start_hour..config.work_end_hour).contains(&hour)
    }
}

/// Adds `at` to `times`; true (and the window restarts) once `threshold` fall within it.
fn burst(times: &mut VecDeque<i64>, at: i64, window: i64, threshold: usize) -> bool {
    times.push_back(at);
    evict(times, at, window, |t| *t);
    if times.len() >= threshold.max(1) {
        times.clear();
        return true;
    }
    false
}

/// Drops what fell out of the window ending at `at`.
fn evict<T>(items: &mut VecDeque<T>, at: i64, window: i64, time: impl Fn(&T) -> i64) {
    while items.front().is_some_and(|item| time(item) <= at - window) {
        items.pop_front();
    }
}

/// Bounds memory: once a map tracks many subjects, forgets those with nothing in the window.
fn sweep<T>(
    map: &mut HashMap<String, VecDeque<T>>,
    at: i64,
    window: i64,
    time: impl Fn(&T) -> i64 + Copy,
) {
    if map.len() < SWEEP_AT {
        return;
    }
    map.retain(|_, items| {
        evict(items, at, window, time);
        !items.is_empty()
    });
}

/// The entity tag named in a leak-gate refusal, or `UNKNOWN` if it is not one.
fn entity_tag(text: &str) -> &str {
    let ok = !text.is_empty()
        && text.len() <= 24
        && text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    if ok { text } else { "UNKNOWN" }
}

#[cfg(test)]
mod tests;
