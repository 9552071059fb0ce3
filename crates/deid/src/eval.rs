//! Scoring detection against an annotated corpus in Phigate's gold format.
//!
//! A corpus is JSON lines, one record per line: `{"id", "text", "spans": [{"start", "end",
//! "type", "required"}], "annotated_types"}`, with offsets counted in Unicode scalar values. The
//! scores are the ones de-identification cares about:
//!
//! - **token recall**: the share of the words inside required gold spans that some detection
//!   covers, whatever type it gave them (a name hidden as a location is still hidden);
//! - **token precision**: the share of the words covered by a detection that lie inside some gold
//!   span, required or not;
//! - **strict span recall**: gold spans matched exactly, edge to edge, by one detection;
//! - **lenient span recall**: gold spans of which at least one word is covered.
//!
//! Where a record lists `annotated_types`, only those types were annotated: detections of other
//! types are not counted as false positives there.

mod score;

use serde::Deserialize;

use crate::detect::Detector;
use crate::entity::Entity;
use crate::error::DeidError;
use crate::known::KnownPhi;

pub use score::{Counts, Finding, Scorecard};

/// One annotated text. Holds (synthetic) PHI, so it has no `Debug`.
pub struct GoldRecord {
    /// The record's id in the corpus.
    pub id: String,
    /// The text.
    pub text: String,
    /// The annotated spans, with byte offsets into `text`.
    pub spans: Vec<GoldSpan>,
    /// The only types annotated in this record, when the corpus says so.
    pub annotated_types: Option<Vec<String>>,
}

/// One annotated span, with byte offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldSpan {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// The gold type tag (`NAME`, `DATE`, …, or a non-identifier type such as `ORGANIZATION`).
    pub kind: String,
    /// Whether Safe Harbor requires this span removed; only required spans count for recall.
    pub required: bool,
}

impl GoldRecord {
    /// Whether detections of the type `tag` are scored in this record.
    pub fn annotates(&self, tag: &str) -> bool {
        self.annotated_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == tag))
    }
}

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    text: String,
    #[serde(default)]
    spans: Vec<RawSpan>,
    #[serde(default)]
    annotated_types: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawSpan {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default = "required_by_default")]
    required: bool,
}

fn required_by_default() -> bool {
    true
}

/// Parses a corpus. Blank lines are skipped; any other line that is not a valid record, or whose
/// spans fall outside its text, is refused with its line number.
pub fn parse_corpus(jsonl: &str) -> Result<Vec<GoldRecord>, DeidError> {
    let mut records = Vec::new();
    for (index, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_number = index + 1;
        let raw: RawRecord = serde_json::from_str(line).map_err(|_| DeidError::Corpus {
            line: line_number,
            reason: "not a gold record",
        })?;
        records.push(to_bytes(raw, line_number)?);
    }
    Ok(records)
}

fn to_bytes(raw: RawRecord, line: usize) -> Result<GoldRecord, DeidError> {
    // Character index → byte offset, with one extra entry for the end of the text.
    let mut offsets: Vec<usize> = raw.text.char_indices().map(|(i, _)| i).collect();
    offsets.push(raw.text.len());
    let mut spans = Vec::with_capacity(raw.spans.len());
    for span in raw.spans {
        let (Some(&start), Some(&end)) = (offsets.get(span.start), offsets.get(span.end)) else {
            return Err(DeidError::Corpus {
                line,
                reason: "a span lies outside its text",
            });
        };
        if start > end {
            return Err(DeidError::Corpus {
                line,
                reason: "a span ends before it starts",
            });
        }
        spans.push(GoldSpan {
            start,
            end,
            kind: span.kind,
            required: span.required,
        });
    }
    Ok(GoldRecord {
        id: raw.id,
        text: raw.text,
        spans,
        annotated_types: raw.annotated_types,
    })
}

/// Runs `detector` (with no known values: this measures detection alone) over every record and
/// scores it. `findings`, when given, receives every miss and false positive.
pub fn evaluate(
    detector: &Detector,
    records: &[GoldRecord],
    mut findings: Option<&mut Vec<(usize, Finding)>>,
) -> Scorecard {
    let known = detector.prepare(&KnownPhi::new());
    let mut card = Scorecard::new();
    for (index, record) in records.iter().enumerate() {
        let detected: Vec<Entity> = detector.detect_with(&record.text, &known);
        let found = card.add(record, &detected);
        if let Some(out) = findings.as_deref_mut() {
            out.extend(found.into_iter().map(|f| (index, f)));
        }
    }
    card
}

#[cfg(test)]
mod tests;
