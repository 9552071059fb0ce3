//! The per-request work the gateway does around known values, alone, for a profiler: learn the
//! values of an 8 KB clinical prompt, prepare them, de-identify the prompt with them, then build
//! the egress gate from them and check the serialized outbound body. Detection of the prompt
//! itself is done once, outside the loop, so the loop is the known-value matcher and the gate.
//!
//! `PHIGATE_REQUESTS=20 valgrind --tool=callgrind target/release/examples/request_cost` and the
//! same with 40: the difference over 20 is the cost of one request.
//!
//! With `PHIGATE_PART=detection` the loop is detection of the prompt alone instead. The prompt
//! is dense with dates, numbers and names, so it weighs the rules triggered by digits far more
//! than the shipped notes do.

#![expect(
    clippy::print_stdout,
    reason = "the example prints a checksum of its results"
)]

use std::hint::black_box;

use phigate_deid::{Deidentifier, Detector, DetectorConfig, EgressGate, KnownPhi, Vault};

/// The prompt of the gateway's overhead bench (`testdata/bench/clinical-prompt.txt`).
fn clinical_prompt() -> String {
    include_str!("../../../testdata/bench/clinical-prompt.txt").to_owned()
}

fn main() {
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        println!("the detector did not build");
        return;
    };
    let requests: usize = std::env::var("PHIGATE_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let prompt = clinical_prompt();
    if std::env::var("PHIGATE_PART").is_ok_and(|part| part == "detection") {
        let analysed: usize = (0..requests)
            .map(|_| black_box(detector.analyse(&prompt)).text().len())
            .sum();
        println!("{requests} analyses, checksum {analysed}");
        return;
    }
    let analysis = detector.analyse(&prompt);
    let mut checksum = 0usize;
    let mut last = None;
    for _ in 0..requests {
        // First step: what detection finds, with no value known yet.
        let none = detector.prepare(&KnownPhi::new());
        let mut found = Vault::new();
        Deidentifier::prepared(&detector, &none, &mut found).analysed(&analysis);
        let mut known = KnownPhi::new();
        for (kind, value) in found.originals() {
            known.add(kind, value);
        }
        // Second step: every found value known.
        let matcher = detector.prepare(&known);
        let mut vault = Vault::new();
        let masked = Deidentifier::prepared(&detector, &matcher, &mut vault).analysed(&analysis);
        let body = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 512,
            "messages": [{"role": "user", "content": masked}]})
        .to_string();
        // The egress gate over the outbound bytes.
        let gate = EgressGate::new(known.values().map(|(_, value)| value));
        checksum += usize::from(gate.check(body.as_bytes()).is_ok());
        checksum += vault.len() + known.len();
        last = Some((known, body));
    }
    // One check with a value leaked, so the checksum also covers what the gate finds.
    if let Some((known, body)) = last {
        let gate = EgressGate::new(known.values().map(|(_, value)| value));
        let leaked = format!("{body} MRN 482-133-77, Rosalind  OKONKWO-vance");
        checksum += gate
            .check(leaked.as_bytes())
            .err()
            .map_or(0, |leak| leak.offset + leak.value_index);
    }
    println!("{requests} requests, checksum {checksum}");
}
