//! Per-patient date shifting: every date of one patient moves by the same number of days, so
//! intervals survive (a 3-day stay stays 3 days) while the calendar dates do not.
//!
//! The offset comes from a keyed hash of the patient's reference, so it is stable across
//! requests and processes holding the same key, differs between patients, and cannot be
//! recomputed without the key. Dates are rewritten in the form they were written in; a date the
//! shifter cannot read (`Christmas 2025`) is left for the caller to replace with a placeholder.

use std::fmt;

use aws_lc_rs::hmac;
use time::{Date, Duration, Month};

/// Largest shift, in days. Shifts are backwards, between 1 and this many days.
pub const MAX_SHIFT_DAYS: i64 = 365;

const CONTEXT: &[u8] = b"phigate/date-shift/v1\0";

/// English month names in lower case, January first. Matching is case-insensitive everywhere
/// they are used, so one spelling serves detection, shifting and known-value variants.
pub const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// How far one patient's dates move. `Debug` hides the offset: knowing it undoes the shift.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DateShift {
    days: i64,
}

impl fmt::Debug for DateShift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DateShift { days: [redacted] }")
    }
}

impl DateShift {
    /// The shift for `patient` under `key`: between 1 and [`MAX_SHIFT_DAYS`] days back.
    pub fn keyed(key: &[u8], patient: &str) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        let mut context = hmac::Context::with_key(&key);
        context.update(CONTEXT);
        context.update(patient.as_bytes());
        let tag = context.sign();
        let mut first = [0u8; 8];
        first.copy_from_slice(&tag.as_ref()[..8]);
        let n = u64::from_be_bytes(first) % MAX_SHIFT_DAYS as u64;
        DateShift {
            days: -(n as i64 + 1),
        }
    }

    /// A shift of exactly `days` (negative moves dates back), for tests and for callers that
    /// manage offsets themselves.
    pub fn by_days(days: i64) -> Self {
        DateShift { days }
    }

    /// The offset in days. Treat it as a secret.
    pub fn days(&self) -> i64 {
        self.days
    }

    /// `date` moved by the offset, or `None` past the calendar's range.
    pub fn date(&self, date: Date) -> Option<Date> {
        date.checked_add(Duration::days(self.days))
    }

    /// `text` (one written date) shifted and written the same way, or `None` when it is not a
    /// form the shifter reads: ISO (`2026-01-17`, with any time after it), numeric month first
    /// (`3/4/26`, `05-19-2025`, `05.19.2025`), and month names (`Oct. 3rd, 2025`, `9 Jan 1940`).
    pub fn text(&self, text: &str) -> Option<String> {
        self.iso(text)
            .or_else(|| self.numeric(text))
            .or_else(|| self.named(text))
    }

    fn iso(&self, text: &str) -> Option<String> {
        let head = text.get(..10)?;
        let b = head.as_bytes();
        if b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let date = make(num(&head[..4])?, num(&head[5..7])?, num(&head[8..10])?)?;
        let moved = self.date(date)?;
        Some(format!(
            "{:04}-{:02}-{:02}{}",
            moved.year(),
            u8::from(moved.month()),
            moved.day(),
            &text[10..]
        ))
    }

    fn numeric(&self, text: &str) -> Option<String> {
        let sep = text.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
        let parts: Vec<&str> = text.split(sep).collect();
        let [m, d, y] = parts.as_slice() else {
            return None;
        };
        let (month, day) = (num(m)?, num(d)?);
        let year = match y.len() {
            4 => num(y)?,
            2 => 2000 + num(y)?,
            _ => return None,
        };
        let moved = self.date(make(year, month, day)?)?;
        let (mm, dd) = (u8::from(moved.month()), moved.day());
        let month = if m.len() == 2 {
            format!("{mm:02}")
        } else {
            mm.to_string()
        };
        let day = if d.len() == 2 {
            format!("{dd:02}")
        } else {
            dd.to_string()
        };
        let year = if y.len() == 2 {
            format!("{:02}", moved.year().rem_euclid(100))
        } else {
            moved.year().to_string()
        };
        Some(format!("{month}{sep}{day}{sep}{year}"))
    }

    /// Month-name forms. A date without a year is shifted within a non-leap year.
    fn named(&self, text: &str) -> Option<String> {
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty() && *w != "of" && *w != "the")
            .collect();
        let month_at = words.iter().position(|w| month_of(w).is_some())?;
        let month = month_of(words[month_at])?;
        let mut day = None;
        let mut year = None;
        for (i, word) in words.iter().enumerate().filter(|(i, _)| *i != month_at) {
            let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '.');
            match (digits.len(), i) {
                (4, _) => year = Some(num(digits)?),
                (1 | 2, _) => day = Some(num(digits)?),
                _ => return None,
            }
        }
        let day = day?;
        let moved = self.date(make(year.unwrap_or(2001), month, day)?)?;
        let name = written_like(words[month_at], moved.month());
        let day_first = month_at > 0;
        let mut out = if day_first {
            format!("{} {name}", moved.day())
        } else {
            format!("{name} {}", moved.day())
        };
        if year.is_some() {
            out.push_str(if day_first { " " } else { ", " });
            out.push_str(&moved.year().to_string());
        }
        Some(out)
    }
}

fn num(s: &str) -> Option<i32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn make(year: i32, month: i32, day: i32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

fn month_of(word: &str) -> Option<i32> {
    let word = word.trim_end_matches('.').to_lowercase();
    if word.len() < 3 {
        return None;
    }
    let index = MONTH_NAMES
        .iter()
        .position(|m| m.starts_with(&word) && (word.len() == 3 || word.len() >= 4))?;
    i32::try_from(index + 1).ok()
}

/// The name of `month` written the way `like` was: abbreviated or full, with its case and dot.
fn written_like(like: &str, month: Month) -> String {
    let full = MONTH_NAMES[usize::from(u8::from(month)) - 1];
    let bare = like.trim_end_matches('.');
    let mut name: String = if bare.len() <= 4 && bare.len() < full.len() {
        full[..3].to_owned()
    } else {
        full.to_owned()
    };
    if bare.chars().all(|c| c.is_uppercase()) {
        name = name.to_uppercase();
    } else if bare.starts_with(|c: char| c.is_uppercase()) {
        name = name[..1].to_uppercase() + &name[1..];
    }
    if like.ends_with('.') {
        name.push('.');
    }
    name
}

#[cfg(test)]
mod tests;
