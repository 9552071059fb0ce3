//! De-identification throughput on clinical prose, against a plain linear scan of the same bytes.
//!
//! The shipped notes (810 Synthea notes and 44 ACI-Bench dialogues and notes, from the test
//! corpora) are de-identified one after another, cycling, until at least 100 MB have gone
//! through (`PHIGATE_BENCH_MB` changes that), on one thread. The baseline reads the same bytes
//! the same number of times and folds them into a checksum: the floor any scanner pays.
//!
//! `cargo bench -p phigate-deid --bench throughput`

#![expect(
    clippy::print_stdout,
    reason = "a benchmark reports on standard output"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use phigate_deid::eval::parse_corpus;
use phigate_deid::{Deidentifier, Detector, DetectorConfig, KnownPhi, Vault};

const SYNTHEA: &str = include_str!("../tests/data/synthea-notes-gold.jsonl");
const ACI: &str = include_str!("../tests/data/aci-gold-names.jsonl");

fn notes() -> Vec<String> {
    [SYNTHEA, ACI]
        .into_iter()
        .filter_map(|corpus| parse_corpus(corpus).ok())
        .flatten()
        .map(|record| record.text)
        .collect()
}

fn megabytes_per_second(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

fn main() {
    let target_mb: usize = std::env::var("PHIGATE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let target = target_mb * 1_000_000;
    let notes = notes();
    let corpus_bytes: usize = notes.iter().map(String::len).sum();
    if corpus_bytes == 0 {
        println!("no notes to measure");
        return;
    }
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        println!("the detector did not build");
        return;
    };

    // Plain linear scan: every byte read once per pass.
    let started = Instant::now();
    let (mut scanned, mut checksum) = (0usize, 0u64);
    while scanned < target {
        for note in &notes {
            checksum = note
                .bytes()
                .fold(checksum, |sum, b| sum.rotate_left(5) ^ u64::from(b));
            scanned += note.len();
        }
    }
    black_box(checksum);
    let scan = started.elapsed();

    // De-identification: detection plus replacement, one vault for the whole run.
    let known = KnownPhi::new();
    let mut vault = Vault::new();
    let mut deid = Deidentifier::new(&detector, &known, &mut vault);
    let started = Instant::now();
    let (mut processed, mut out_bytes) = (0usize, 0usize);
    while processed < target {
        for note in &notes {
            out_bytes += black_box(deid.text(note)).len();
            processed += note.len();
        }
    }
    let deidentify = started.elapsed();
    black_box(out_bytes);

    println!(
        "corpus: {} notes, {:.2} MB, repeated to {:.1} MB",
        notes.len(),
        corpus_bytes as f64 / 1e6,
        processed as f64 / 1e6
    );
    println!(
        "linear scan:     {:>8.1} MB/s ({:.2} s)",
        megabytes_per_second(scanned, scan),
        scan.as_secs_f64()
    );
    println!(
        "de-identify:     {:>8.1} MB/s ({:.2} s, one thread)",
        megabytes_per_second(processed, deidentify),
        deidentify.as_secs_f64()
    );
}
