//! `phigate eval`: score the detector on an annotated corpus.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use phigate_deid::eval::{self, Finding, GoldRecord};

use crate::cli::EvalArgs;
use crate::cmd::deid::detector;
use crate::config::Config;
use crate::output::Out;

/// Largest corpus accepted.
const MAX_CORPUS_BYTES: u64 = 512 * 1024 * 1024;

/// Runs `phigate eval`.
pub fn run(config: &Config, args: &EvalArgs) -> Result<ExitCode> {
    let size = std::fs::metadata(&args.corpus)
        .context("cannot read the corpus file")?
        .len();
    if size > MAX_CORPUS_BYTES {
        bail!("the corpus is larger than {MAX_CORPUS_BYTES} bytes");
    }
    let corpus = std::fs::read_to_string(&args.corpus).context("cannot read the corpus file")?;
    let records = eval::parse_corpus(&corpus).context("the corpus is not in the gold format")?;
    let detector = detector(config)?;

    let mut findings = Vec::new();
    let card = eval::evaluate(&detector, &records, Some(&mut findings));

    let mut out = Out::new();
    if args.show_misses {
        // Evaluation corpora are annotated test data, so showing their text is the point here.
        for (index, finding) in &findings {
            if let Some(record) = records.get(*index) {
                out.line(describe(record, finding));
            }
        }
        out.line("");
    }
    out.line(format!("{} records", card.records()));
    for line in card.table().lines() {
        out.line(line);
    }
    out.line(card.summary());
    out.flush();

    let overall = card.overall();
    let below = args
        .min_recall
        .is_some_and(|floor| overall.token_recall() < floor)
        || args
            .min_precision
            .is_some_and(|floor| overall.token_precision() < floor);
    Ok(if below {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn describe(record: &GoldRecord, finding: &Finding) -> String {
    let (label, kind, start, end) = match finding {
        Finding::Miss { kind, start, end } => ("MISS", kind.as_str(), *start, *end),
        Finding::FalsePositive { kind, start, end } => ("FP  ", *kind, *start, *end),
    };
    let text = &record.text;
    format!(
        "{label} {} {kind:<9} {:?} in {:?}",
        record.id,
        text.get(start..end).unwrap_or_default(),
        context(text, start, end)
    )
}

/// Up to 30 bytes either side of a span, widened to character boundaries.
fn context(text: &str, start: usize, end: usize) -> &str {
    let mut from = start.saturating_sub(30);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = end.saturating_add(30).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    text.get(from..to).unwrap_or_default()
}
