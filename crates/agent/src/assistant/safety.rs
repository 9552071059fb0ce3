//! What the patient-facing assistant says about safety, decided by rules rather than by the
//! model: the emergency instruction that leads any reply to a conversation carrying a red flag,
//! the removal of anything in the model's answer that reads as a diagnosis or as reassurance
//! about a symptom, and the fixed disclaimer that ends every reply.
//!
//! The red flags are the staff triage rules ([`crate::triage::rules`]), applied to what the
//! patient wrote. The checks on the answer are deliberately broad: a sentence about a bill that
//! happens to name a condition may be removed too, and that is the price of never letting a
//! diagnosis through.

use std::sync::LazyLock;

use regex::Regex;

use crate::pattern::re;
use crate::triage::RuleHit;

/// The instruction for any red flag: emergency care now.
pub const EMERGENCY_INSTRUCTION: &str = "Call 911 now, or go to the nearest emergency \
    department. What you describe can be a sign of a medical emergency: do not wait for an \
    appointment or for an answer here.";

/// The instruction for suicidal intent or an overdose, which leads the reply.
pub const CRISIS_INSTRUCTION: &str = "If you are thinking about ending your life or hurting \
    yourself, call or text 988 now (the Suicide & Crisis Lifeline, any time, day or night). If \
    you are in danger right now or have taken an overdose, call 911.";

/// Added when stroke signs fired.
pub const STROKE_NOTE: &str = "Note the time the symptoms started and tell the emergency team.";

/// Said whenever a red flag fired on the patient's latest message.
pub const STAFF_ALERTED: &str = "This message has been flagged to the clinic's staff, but do \
    not wait for them to contact you.";

/// Ends every reply.
pub const DISCLAIMER: &str = "I am an automated assistant, not a clinician: I cannot diagnose \
    or give medical advice. If you think you may have an emergency, call 911.";

/// Takes the place of what was removed from the model's answer.
pub const REMOVED_NOTE: &str = "(I can't tell you what might be causing a symptom or whether \
    it is serious. Your care team can.)";

/// The rule id that calls for the crisis line rather than only 911.
const SELF_HARM: &str = "self-harm";

/// The instruction that leads a reply when `hits` fired, or `None` when nothing did.
pub fn emergency_instruction(hits: &[RuleHit]) -> Option<String> {
    if hits.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if hits.iter().any(|h| h.rule == SELF_HARM) {
        parts.push(CRISIS_INSTRUCTION);
    }
    if hits.iter().any(|h| h.rule != SELF_HARM) {
        parts.push(EMERGENCY_INSTRUCTION);
    }
    if hits.iter().any(|h| h.rule == "stroke-signs") {
        parts.push(STROKE_NOTE);
    }
    Some(parts.join(" "))
}

/// Words that name a condition, for the diagnosis patterns.
const CONDITIONS: &str = r"(?:\w+itis|\w+osis|\w+emia|\w+oma|infection|disease|syndrome|disorder|cancer|tumou?r|flu|influenza|covid|virus|viral|heart\s+attack|attack|stroke|migraine|diabetes|pneumonia|fracture|reflux|heartburn|indigestion|anxiety|depression|asthma|angina|sprain|strain|allerg\w*|ulcer|hernia|concussion|clot|embolism|condition)";

static DIAGNOSIS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        // "you (probably) have / are suffering from ... <condition>"
        re(&format!(
            r"(?i)\b(?:you|u)\s+(?:\w+\s+){{0,2}}(?:have|has|'ve\s+got|have\s+got|are\s+suffering\s+from|suffer\s+from|are\s+having|are\s+experiencing)\s+(?:[\w'-]+\s+){{0,4}}?{CONDITIONS}\b"
        )),
        // "sounds / looks / seems like ... <condition>"
        re(&format!(
            r"(?i)\b(?:sounds|looks|seems|could\s+be|might\s+be|may\s+be|is\s+likely|is\s+probably)\s+(?:like\s+)?(?:[\w'-]+\s+){{0,5}}?{CONDITIONS}\b"
        )),
        // "it's probably / most likely ...", "just <condition>"
        re(
            r"(?i)\b(?:it'?s|it\s+is|this\s+is|that\s+is|that'?s|these\s+are)\s+(?:probably|likely|most\s+likely|almost\s+certainly|definitely|surely)\b",
        ),
        re(&format!(
            r"(?i)\b(?:just|only|simply)\s+(?:an?\s+)?(?:[\w'-]+\s+){{0,2}}?{CONDITIONS}\b"
        )),
        // reassurance about a symptom
        re(
            r"(?i)\b(?:probably\s+nothing|nothing\s+(?:serious|to\s+worry\s+about)|no\s+need\s+to\s+worry|(?:do\s+not|don'?t)\s+worry|not\s+(?:serious|an?\s+emergency)|(?:is|are)\s+(?:harmless|normal|benign))\b",
        ),
        // naming a diagnosis outright
        re(r"(?i)\b(?:the|your|my|a|likely)\s+diagnosis\s+(?:is|would\s+be)\b"),
        re(r"(?i)\bI\s+(?:would\s+|can\s+|will\s+)?diagnose\b"),
        re(r"(?i)\bdiagnosed\s+with\b"),
    ]
});

/// The model's answer with every sentence that reads as a diagnosis or as reassurance about a
/// symptom removed, and how many were removed. [`REMOVED_NOTE`] takes the place of the first.
pub fn without_diagnosis(answer: &str) -> (String, usize) {
    let mut out = String::with_capacity(answer.len());
    let mut removed = 0;
    for sentence in sentences(answer) {
        if DIAGNOSIS.iter().any(|re| re.is_match(sentence)) {
            if removed == 0 {
                out.push_str(REMOVED_NOTE);
                out.push(' ');
            }
            removed += 1;
        } else {
            out.push_str(sentence);
        }
    }
    (out.trim().to_owned(), removed)
}

/// Splits text into sentences, each keeping its end mark and the spaces after it, so that
/// joining them gives the text back.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let ends = matches!(c, '.' | '!' | '?' | '\n')
            && chars.peek().is_none_or(|(_, next)| next.is_whitespace());
        if ends {
            let mut end = at + c.len_utf8();
            while let Some((next_at, next)) = chars.peek().copied() {
                if !next.is_whitespace() {
                    break;
                }
                end = next_at + next.len_utf8();
                chars.next();
            }
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The reply the patient reads: the emergency instruction first when a red flag fired, then
/// the body, then the disclaimer.
pub fn compose(emergency: Option<&str>, body: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(instruction) = emergency {
        parts.push(instruction);
    }
    if !body.trim().is_empty() {
        parts.push(body.trim());
    }
    parts.push(DISCLAIMER);
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::rules;

    #[test]
    fn sentences_join_back_into_the_text() {
        let text = "One. Two? Three!\nFour 3.5 mg. Five";
        assert_eq!(sentences(text).concat(), text);
        assert_eq!(sentences(text).len(), 5);
    }

    #[test]
    fn diagnoses_and_reassurance_are_removed_and_plain_help_is_kept() {
        for bad in [
            "It's probably nothing.",
            "You probably have acid reflux.",
            "You have bronchitis.",
            "This sounds like a migraine.",
            "It could be an infection.",
            "That is just anxiety.",
            "Don't worry about it.",
            "Your diagnosis is angina.",
            "Chest pain like this is normal after exercise.",
        ] {
            let (kept, removed) = without_diagnosis(&format!("Hello. {bad} Bye."));
            assert_eq!(removed, 1, "{bad}");
            assert!(!kept.contains(bad), "{bad}");
            assert!(
                kept.starts_with("Hello.") && kept.ends_with("Bye."),
                "{kept}"
            );
        }
        for fine in [
            "You have an appointment on Tuesday at 9:00.",
            "Your bill from March was paid by your insurer.",
            "I booked the slot you asked for.",
            "Please talk to your care team about this symptom.",
            "This is just a reminder that your visit is at 9.",
        ] {
            assert_eq!(without_diagnosis(fine), (fine.to_owned(), 0), "{fine}");
        }
    }

    #[test]
    fn the_crisis_line_leads_for_self_harm_and_911_for_the_others() {
        let crisis = emergency_instruction(&rules("I want to kill myself")).unwrap();
        assert!(crisis.starts_with(CRISIS_INSTRUCTION));
        let chest = emergency_instruction(&rules("chest pain and I can't breathe")).unwrap();
        assert!(chest.starts_with(EMERGENCY_INSTRUCTION));
        let stroke = emergency_instruction(&rules("my face is drooping")).unwrap();
        assert!(stroke.ends_with(STROKE_NOTE));
        assert_eq!(emergency_instruction(&rules("I need a refill")), None);
    }

    #[test]
    fn a_reply_leads_with_the_instruction_and_ends_with_the_disclaimer() {
        let reply = compose(Some(EMERGENCY_INSTRUCTION), "Body.");
        assert!(reply.starts_with(EMERGENCY_INSTRUCTION));
        assert!(reply.ends_with(DISCLAIMER));
        assert_eq!(compose(None, "  "), DISCLAIMER);
    }
}
