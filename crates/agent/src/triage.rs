//! Deterministic triage safety rules. They read the complaint and vitals as the caller sent
//! them (never the model's answer), and each one that fires sets a ceiling on the ESI level:
//! the final level is the more urgent of the model's and the rules'. A rule can only raise
//! urgency, never lower it, and every rule that fired is listed in the output.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};

use crate::pattern::re;

/// The label every triage output carries.
pub const DECISION_SUPPORT_LABEL: &str =
    "Decision support only: a clinician must confirm the acuity level before it is acted on.";

/// One rule that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// Stable id, such as `spo2-below-90`.
    pub rule: &'static str,
    /// What the rule looks for.
    pub description: &'static str,
    /// The least urgent ESI level the rule allows.
    pub max_esi: u8,
}

/// Vitals read from the complaint text.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Vitals {
    /// Systolic blood pressure, mmHg.
    pub systolic: Option<f64>,
    /// Oxygen saturation, percent.
    pub spo2: Option<f64>,
    /// Heart rate, beats per minute.
    pub heart_rate: Option<f64>,
    /// Respiratory rate, breaths per minute.
    pub resp_rate: Option<f64>,
}

static BP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:bp|blood pressure)\s*(?:of|is|was|:)?\s*(\d{2,3})\s*/\s*\d{2,3}")
});
static SPO2: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:spo2|sp02|o2 sat(?:uration)?|oxygen saturation|sats?|pulse ox)\s*(?:of|is|was|:)?\s*(\d{2,3})\s*%?",
    )
});
static HR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:hr|heart rate|pulse)\s*(?:of|is|was|:)?\s*(\d{2,3})\b"));
static RR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:rr|resp(?:iratory)? rate)\s*(?:of|is|was|:)?\s*(\d{1,2})\b"));

fn number(re: &Regex, text: &str) -> Option<f64> {
    re.captures(text)?.get(1)?.as_str().parse().ok()
}

impl Vitals {
    /// Reads the vitals written in `text` (`BP 84/50`, `SpO2 88%`, `HR 132`, `RR 28`).
    pub fn parse(text: &str) -> Self {
        Self {
            systolic: number(&BP, text),
            spo2: number(&SPO2, text),
            heart_rate: number(&HR, text),
            resp_rate: number(&RR, text),
        }
    }
}

/// A finding named in the complaint, unless a negation ("denies", "no") comes just before it.
fn mentions(text: &str, phrases: &[&str]) -> bool {
    let lower = text.to_lowercase();
    phrases.iter().any(|phrase| {
        lower.match_indices(phrase).any(|(at, _)| {
            let before: Vec<&str> = lower[..at].split_whitespace().rev().take(3).collect();
            !before.iter().any(|w| {
                matches!(
                    *w,
                    "no" | "denies" | "denied" | "without" | "not" | "negative"
                )
            })
        })
    })
}

const CHEST_PAIN: &[&str] = &[
    "chest pain",
    "pain in my chest",
    "chest hurts",
    "chest is tight",
    "chest pressure",
    "chest tightness",
    "crushing chest",
];
const STROKE: &[&str] = &[
    "facial droop",
    "face drooping",
    "face is drooping",
    "face droops",
    "drooping face",
    "speech is slurred",
    "slurring my words",
    "can't lift my arm",
    "cannot lift my arm",
    "slurred speech",
    "trouble speaking",
    "aphasia",
    "one-sided weakness",
    "one sided weakness",
    "weakness on one side",
    "arm weakness",
    "hemiparesis",
    "sudden numbness",
    "sudden vision loss",
];
const UNRESPONSIVE: &[&str] = &[
    "unresponsive",
    "not breathing",
    "apneic",
    "pulseless",
    "no pulse",
];
const ANAPHYLAXIS: &[&str] = &[
    "throat swelling",
    "tongue swelling",
    "anaphylaxis",
    "lips swelling",
];
const SUICIDAL: &[&str] = &[
    "suicidal",
    "suicide",
    "wants to kill",
    "plan to kill",
    "overdose",
    "kill myself",
    "end my life",
    "take my own life",
    "want to die",
    "hurt myself",
    "harm myself",
];

/// Every rule that fires for this complaint.
pub fn rules(complaint: &str) -> Vec<RuleHit> {
    let v = Vitals::parse(complaint);
    let below = |x: Option<f64>, limit: f64| x.is_some_and(|x| x < limit);
    let above = |x: Option<f64>, limit: f64| x.is_some_and(|x| x > limit);
    let hypotension = below(v.systolic, 90.0);
    let checks: [(bool, &str, &str, u8); 10] = [
        (
            mentions(complaint, UNRESPONSIVE),
            "unresponsive",
            "unresponsive, apneic or pulseless",
            1,
        ),
        (
            mentions(complaint, ANAPHYLAXIS),
            "anaphylaxis",
            "airway swelling or anaphylaxis",
            1,
        ),
        (
            below(v.spo2, 85.0),
            "spo2-below-85",
            "oxygen saturation below 85%",
            1,
        ),
        (
            mentions(complaint, CHEST_PAIN) && hypotension,
            "chest-pain-hypotension",
            "chest pain with systolic pressure below 90 mmHg",
            1,
        ),
        (
            below(v.spo2, 90.0),
            "spo2-below-90",
            "oxygen saturation below 90%",
            2,
        ),
        (
            hypotension,
            "hypotension",
            "systolic pressure below 90 mmHg",
            2,
        ),
        (
            mentions(complaint, STROKE),
            "stroke-signs",
            "signs of stroke (face, arm, speech)",
            2,
        ),
        (
            mentions(complaint, CHEST_PAIN),
            "chest-pain",
            "chest pain",
            2,
        ),
        (
            above(v.heart_rate, 150.0)
                || below(v.heart_rate, 40.0)
                || above(v.resp_rate, 30.0)
                || below(v.resp_rate, 8.0),
            "danger-zone-vitals",
            "heart rate over 150 or under 40, or respiratory rate over 30 or under 8",
            2,
        ),
        (
            mentions(complaint, SUICIDAL),
            "self-harm",
            "suicidal ideation or overdose",
            2,
        ),
    ];
    checks
        .into_iter()
        .filter(|(fired, ..)| *fired)
        .map(|(_, rule, description, max_esi)| RuleHit {
            rule,
            description,
            max_esi,
        })
        .collect()
}

/// Applies the rules to a validated model answer: `esi` becomes the more urgent of the two,
/// `model_esi` keeps what the model said, `safety_rules` lists what fired, and the answer is
/// labelled as decision support needing confirmation. Returns the rules that fired.
pub fn apply(output: &mut Value, complaint: &str) -> Vec<RuleHit> {
    let hits = rules(complaint);
    let model_esi = output.get("esi").and_then(Value::as_u64).unwrap_or(5);
    let ceiling = hits.iter().map(|h| u64::from(h.max_esi)).min().unwrap_or(5);
    if let Some(obj) = output.as_object_mut() {
        obj.insert("model_esi".into(), json!(model_esi));
        obj.insert("esi".into(), json!(model_esi.min(ceiling)));
        obj.insert("raised_by_rules".into(), json!(ceiling < model_esi));
        obj.insert("safety_rules".into(), json!(hits));
        obj.insert("label".into(), json!(DECISION_SUPPORT_LABEL));
        obj.insert("needs_confirmation".into(), json!(true));
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vitals_are_read_from_the_complaint() {
        let v = Vitals::parse("BP 84/50, HR 132, SpO2 of 88%, RR 28");
        assert_eq!(v.systolic, Some(84.0));
        assert_eq!(v.spo2, Some(88.0));
        assert_eq!(v.heart_rate, Some(132.0));
        assert_eq!(v.resp_rate, Some(28.0));
    }

    #[test]
    fn rules_raise_a_low_answer_and_never_lower_a_high_one() {
        let mut low = json!({"esi": 4, "rationale": "r", "red_flags": []});
        let hits = apply(&mut low, "crushing chest pain, BP 82/50");
        assert_eq!(low["esi"], 1);
        assert_eq!(low["model_esi"], 4);
        assert!(hits.iter().any(|h| h.rule == "chest-pain-hypotension"));

        let mut already = json!({"esi": 1, "rationale": "r", "red_flags": []});
        apply(&mut already, "SpO2 88%");
        assert_eq!(already["esi"], 1, "a rule never lowers urgency");
        assert_eq!(already["raised_by_rules"], false);
    }

    #[test]
    fn a_patients_own_words_fire_the_same_rules() {
        let fired = |text: &str| rules(text).into_iter().map(|h| h.rule).collect::<Vec<_>>();
        assert!(
            fired("the pain in my chest is bad and I'm short of breath").contains(&"chest-pain")
        );
        assert!(fired("my face is drooping and I can't lift my arm").contains(&"stroke-signs"));
        assert!(fired("I want to kill myself").contains(&"self-harm"));
        assert!(fired("I've been thinking about suicide").contains(&"self-harm"));
        assert!(fired("can I book a flu shot next week?").is_empty());
    }

    #[test]
    fn a_negated_finding_does_not_fire() {
        assert!(rules("denies chest pain, no facial droop, sprained ankle").is_empty());
        assert_eq!(
            rules("new facial droop and slurred speech")[0].rule,
            "stroke-signs"
        );
    }
}
