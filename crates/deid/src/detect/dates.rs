//! Dates in their common written forms, and ages over 89.
//!
//! A year alone, a time alone, a dose, a blood pressure (`120/80`) or a ratio is not a date:
//! every rule needs a day or a month next to the year, and numeric forms need plausible ranges.

use super::rules::{Hit, RuleSpec, checked, rule};
use crate::entity::EntityKind;
use crate::entity::EntityKind::{Age, Date};

const M: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// The date and age rules. Built by string substitution so the month list is written once.
pub(crate) fn specs() -> Vec<RuleSpec> {
    vec![
        // 2026-01-17, 2026-01-17T02:14Z, 2026-01-17 02:14:00+01:00
        rule(
            r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            Date,
            0.95,
        ),
        // 2026/01/17
        rule(
            r"\b(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])\b",
            Date,
            0.9,
        ),
        // 3/4/26, 03/04/2026, 4-3-2026 (day and month in either order)
        checked(
            r"\b(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|[12]\d|3[01])/(?:\d{4}|\d{2})\b",
            Date,
            0.9,
            not_a_fraction,
        ),
        rule(
            r"\b(?:0?[1-9]|[12]\d|3[01])-(?:0?[1-9]|[12]\d|3[01])-(?:(?:19|20)\d{2}|\d{2})\b",
            Date,
            0.85,
        ),
        // 05.19.2025 (dots only with a four-digit year: 1.5.10 is more likely a version or value)
        rule(
            r"\b(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|[12]\d|3[01])\.(?:19|20)\d{2}\b",
            Date,
            0.9,
        ),
        // 3/2019
        checked(
            r"\b(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}\b",
            Date,
            0.8,
            not_a_fraction,
        ),
        // Nov 7, Oct. 3rd, 2025, January 5 2020
        checked(
            format!(
                r"(?i)\b{M}\.?\s+(?:the\s+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+(?:19|20)\d{{2}}\b)?"
            ),
            Date,
            0.85,
            month_name_date,
        ),
        // 9 Jan 1940, 3rd of March, 21st March 2020
        checked(
            format!(
                r"(?i)\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?:\s+of)?\s+{M}\b\.?(?:,?\s+(?:19|20)\d{{2}}\b)?"
            ),
            Date,
            0.85,
            month_name_date,
        ),
        // January 2020, Sept. 1999
        checked(
            format!(r"(?i)\b{M}\.?,?\s+(?:of\s+)?(?:19|20)\d{{2}}\b"),
            Date,
            0.8,
            month_name_date,
        ),
        // Christmas 2025, Thanksgiving of 2019
        rule(
            r"(?i)\b(?:christmas(?:\s+(?:day|eve))?|thanksgiving(?:\s+day)?|new\s+year'?s(?:\s+(?:day|eve))?|easter(?:\s+sunday)?|halloween|independence\s+day|memorial\s+day|labor\s+day|valentine'?s\s+day|veterans\s+day|fourth\s+of\s+july|mother'?s\s+day|father'?s\s+day)\s+(?:of\s+)?(?:19|20)\d{2}\b",
            Date,
            0.8,
        ),
        // 92-year-old, 95 yo, 91 y/o, 99 years of age
        rule(
            r"(?i)\b(?P<v>9\d|1[0-4]\d)(?:\s*-\s*|\s+)?(?:years?\b|yrs?\b|yo\b|y/o|y\.o\.?)",
            Age,
            0.9,
        )
        .needing(says_years),
        // aged 95, age: 92, turned 97
        rule(
            r"(?i)\b(?:aged?|age:|turned|turns|turning)\s*(?P<v>9\d|1[0-4]\d)\b",
            Age,
            0.85,
        ),
    ]
}

/// Whether `bytes` holds a `y` of either case, as every match of the rule of ages written with
/// `years`, `yrs`, `yo`, `y/o` or `y.o.` does (see `rules::Needs`). Under `(?i)` no character
/// beyond ASCII is read as `y` (of the ASCII letters only `s` and `k` have such partners, as a
/// test of the place rules' tests checks). Most numbers in a note are not followed by one, and the rule's
/// windows (a number and a few bytes after it) are many.
fn says_years(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b | 0x20 == b'y')
}

/// Refuses `1/2000`-like ratios written with a leading slash or trailing unit.
fn not_a_fraction(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let before = hit.before(1);
    let after = hit.after(3).trim_start();
    if before.ends_with(['/', '.', ':']) || after.starts_with(['/', '%']) || after.starts_with("mg")
    {
        return None;
    }
    Some(kind)
}

/// Refuses month-name matches that are not dates: `may 2 times`, day 0 or above 31.
fn month_name_date(hit: &Hit<'_>, kind: EntityKind) -> Option<EntityKind> {
    let whole = hit.whole_str();
    let numbers: Vec<&str> = whole
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let has_year = numbers.iter().any(|n| n.len() == 4);
    if let Some(day) = numbers.iter().find(|n| n.len() <= 2)
        && !(1..=31).contains(&day.parse::<u32>().unwrap_or(0))
    {
        return None;
    }
    let lower = whole.to_lowercase();
    let ordinal = lower
        .as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && matches!(&w[1..], b"st" | b"nd" | b"rd" | b"th"));
    // "may" and "march" are verbs too: in lower case they need a year or an ordinal.
    let month = whole
        .split(|c: char| !c.is_alphabetic())
        .rfind(|w| !matches!(*w, "" | "st" | "nd" | "rd" | "th" | "of" | "the"))
        .unwrap_or("");
    if matches!(month, "may" | "march" | "mar") && !has_year && !ordinal {
        return None;
    }
    Some(kind)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_y_of_either_case_passes() {
        assert!(super::says_years(b"92 YO"));
        assert!(super::says_years(b"92 y/o"));
        assert!(!super::says_years(b"92 mg"));
    }
}
