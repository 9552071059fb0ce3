//! Detection alone on the gateway's 8 KB clinical prompt, for a profiler: the prompt is dense
//! with dates, numbers and names, so it weighs the rules triggered by digits far more than the
//! shipped notes do (`request_cost` measures the known-value work around it).
//!
//! `PHIGATE_REQUESTS=10 valgrind --tool=callgrind target/release/examples/prompt_cost` and the
//! same with 20: the difference over 10 is the cost of analysing the prompt once.

#![expect(
    clippy::print_stdout,
    reason = "the example prints a checksum of its results"
)]

use std::hint::black_box;

use phigate_deid::{Detector, DetectorConfig};

fn main() {
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        println!("the detector did not build");
        return;
    };
    let requests: usize = std::env::var("PHIGATE_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let prompt = include_str!("../../../testdata/bench/clinical-prompt.txt");
    let mut checksum = 0usize;
    for _ in 0..requests {
        checksum += black_box(detector.analyse(prompt)).text().len();
    }
    println!("{checksum}");
}
