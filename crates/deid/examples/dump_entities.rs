//! Prints every entity the detector finds in the shipped corpora, one line each, so that two
//! builds can be compared with `diff`: a change meant only to make detection faster must leave
//! this output unchanged.
//!
//! `cargo run --release -p phigate-deid --example dump_entities > entities.txt`

#![expect(
    clippy::print_stdout,
    reason = "the dump is written to standard output"
)]

use phigate_deid::eval::parse_corpus;
use phigate_deid::{Detector, DetectorConfig, KnownPhi};

const CORPORA: [(&str, &str); 3] = [
    (
        "synthea",
        include_str!("../tests/data/synthea-notes-gold.jsonl"),
    ),
    ("aci", include_str!("../tests/data/aci-gold-names.jsonl")),
    (
        "presidio",
        include_str!("../tests/data/presidio-gold.jsonl"),
    ),
];

fn main() {
    let Ok(detector) = Detector::new(DetectorConfig::default()) else {
        println!("the detector did not build");
        return;
    };
    let known = KnownPhi::new();
    for (name, corpus) in CORPORA {
        let Ok(records) = parse_corpus(corpus) else {
            println!("{name}: the corpus did not parse");
            continue;
        };
        for (index, record) in records.iter().enumerate() {
            // The lower-cased copy takes the name rules' lower-case path on every corpus.
            let variants = [
                ("as-is", record.text.clone()),
                ("lower", record.text.to_lowercase()),
            ];
            for (variant, text) in variants {
                for entity in detector.detect(&text, &known) {
                    println!(
                        "{name} {index} {variant} {:?} {}..{} {:?} {}",
                        entity.kind, entity.start, entity.end, entity.source, entity.score
                    );
                }
            }
        }
    }
}
