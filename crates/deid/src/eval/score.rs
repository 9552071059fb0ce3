//! Counting words and spans found, missed and over-detected, per type and overall.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{GoldRecord, GoldSpan};
use crate::entity::Entity;

/// Raw counts for one type (or for all required types together).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Words inside required gold spans.
    pub gold_tokens: usize,
    /// Of those, words some detection covers.
    pub found_tokens: usize,
    /// Words covered by a scored detection.
    pub predicted_tokens: usize,
    /// Of those, words inside some gold span.
    pub correct_tokens: usize,
    /// Required gold spans.
    pub spans: usize,
    /// Required gold spans matched edge to edge by one detection.
    pub strict: usize,
    /// Required gold spans with at least one word covered.
    pub lenient: usize,
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

impl Counts {
    /// Share of gold words covered.
    pub fn token_recall(&self) -> f64 {
        ratio(self.found_tokens, self.gold_tokens)
    }

    /// Share of detected words that are gold.
    pub fn token_precision(&self) -> f64 {
        ratio(self.correct_tokens, self.predicted_tokens)
    }

    /// Share of gold spans matched exactly.
    pub fn strict_recall(&self) -> f64 {
        ratio(self.strict, self.spans)
    }

    /// Share of gold spans touched.
    pub fn lenient_recall(&self) -> f64 {
        ratio(self.lenient, self.spans)
    }

    fn absorb(&mut self, other: &Counts) {
        self.gold_tokens += other.gold_tokens;
        self.found_tokens += other.found_tokens;
        self.predicted_tokens += other.predicted_tokens;
        self.correct_tokens += other.correct_tokens;
        self.spans += other.spans;
        self.strict += other.strict;
        self.lenient += other.lenient;
    }
}

/// A miss or a false positive, by byte offsets into the record's text (never the text itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A required gold span of which no word was covered.
    Miss {
        /// The gold type.
        kind: String,
        /// Byte range of the span.
        start: usize,
        /// Byte range end.
        end: usize,
    },
    /// A detection that covers no gold word.
    FalsePositive {
        /// The detected type's tag.
        kind: &'static str,
        /// Byte range of the detection.
        start: usize,
        /// Byte range end.
        end: usize,
    },
}

/// Scores accumulated over a corpus.
#[derive(Clone, Debug, Default)]
pub struct Scorecard {
    by_type: BTreeMap<String, Counts>,
    records: usize,
}

/// Byte ranges of the words of `text`: maximal runs of letters and digits.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// A span's edges without surrounding spaces and trailing punctuation.
fn trimmed(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let left = slice.len() - slice.trim_start().len();
    let right = slice
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':'))
        .len();
    (start + left, start + right.max(left))
}

impl Scorecard {
    /// An empty scorecard.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records were scored.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Counts per type: gold types for recall, detected types for precision.
    pub fn by_type(&self) -> impl Iterator<Item = (&str, &Counts)> {
        self.by_type
            .iter()
            .map(|(kind, counts)| (kind.as_str(), counts))
    }

    /// Counts for one type, if it occurred.
    pub fn get(&self, kind: &str) -> Option<&Counts> {
        self.by_type.get(kind)
    }

    /// All types together: recall over required spans, precision over every scored detection.
    pub fn overall(&self) -> Counts {
        let mut all = Counts::default();
        self.by_type.values().for_each(|c| all.absorb(c));
        all
    }

    /// Scores one record's detections; returns its misses and false positives.
    pub fn add(&mut self, record: &GoldRecord, detected: &[Entity]) -> Vec<Finding> {
        self.records += 1;
        let text = &record.text;
        let words = words(text);
        let scored: Vec<&Entity> = detected
            .iter()
            .filter(|e| record.annotates(e.kind.tag()))
            .collect();
        let covered = |w: (usize, usize)| scored.iter().any(|e| overlaps(w, (e.start, e.end)));
        let mut findings = Vec::new();

        // Recall: each word of a required gold span counts once for that span's type.
        let mut counted: Vec<Option<&str>> = vec![None; words.len()];
        for span in record.spans.iter().filter(|s| s.required) {
            let counts = self.by_type.entry(span.kind.clone()).or_default();
            counts.spans += 1;
            let mut touched = false;
            for (index, &word) in words.iter().enumerate() {
                if !overlaps(word, (span.start, span.end)) {
                    continue;
                }
                let hit = covered(word);
                touched |= hit;
                if counted[index].is_none() {
                    counted[index] = Some(&span.kind);
                    counts.gold_tokens += 1;
                    counts.found_tokens += usize::from(hit);
                }
            }
            let exact = trimmed(text, span.start, span.end);
            if scored
                .iter()
                .any(|e| trimmed(text, e.start, e.end) == exact)
            {
                counts.strict += 1;
            }
            if touched {
                counts.lenient += 1;
            } else {
                findings.push(miss(span));
            }
        }

        // Precision: each detected word counts once, for the type of the detection covering it.
        for entity in &scored {
            let counts = self
                .by_type
                .entry(entity.kind.tag().to_owned())
                .or_default();
            let mut any_correct = false;
            for &word in words
                .iter()
                .filter(|&&w| overlaps(w, (entity.start, entity.end)))
            {
                let first = scored.iter().find(|e| overlaps(word, (e.start, e.end)));
                if first.is_some_and(|e| !std::ptr::eq(*e, *entity)) {
                    continue;
                }
                let correct = record
                    .spans
                    .iter()
                    .any(|s| overlaps(word, (s.start, s.end)));
                any_correct |= correct;
                counts.predicted_tokens += 1;
                counts.correct_tokens += usize::from(correct);
            }
            if !any_correct {
                findings.push(Finding::FalsePositive {
                    kind: entity.kind.tag(),
                    start: entity.start,
                    end: entity.end,
                });
            }
        }
        findings
    }

    /// The scores as a plain-text table, one row per type and one for all required types.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<13} {:>7} {:>8} {:>9} {:>7} {:>7} {:>8}",
            "type", "spans", "tok.rec", "tok.prec", "strict", "lenient", "pred.tok"
        );
        let rows = self
            .by_type
            .iter()
            .map(|(kind, counts)| (kind.as_str(), *counts))
            .chain(std::iter::once(("required", self.overall())));
        for (kind, c) in rows {
            let _ = writeln!(
                out,
                "{:<13} {:>7} {:>8.3} {:>9.3} {:>7.3} {:>7.3} {:>8}",
                kind,
                c.spans,
                c.token_recall(),
                c.token_precision(),
                c.strict_recall(),
                c.lenient_recall(),
                c.predicted_tokens
            );
        }
        out
    }

    /// The closing summary line: `recall=R precision=P` (token level, required types).
    pub fn summary(&self) -> String {
        let all = self.overall();
        format!(
            "recall={:.4} precision={:.4}",
            all.token_recall(),
            all.token_precision()
        )
    }
}

fn miss(span: &GoldSpan) -> Finding {
    Finding::Miss {
        kind: span.kind.clone(),
        start: span.start,
        end: span.end,
    }
}
