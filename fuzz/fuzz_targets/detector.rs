//! Any text: detection must not panic, its spans must be sorted, disjoint and on character
//! boundaries, and de-identifying then restoring must give the text back, up to case and runs
//! of whitespace: spellings of one entity that differ only in those (`jamal  whitfield`,
//! `Jamal Whitfield`) share a placeholder, which restores to the first spelling seen.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::{Deidentifier, Detector, DetectorConfig, KnownPhi, Vault, reidentify};

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(_) => panic!("the detector must build"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let known = KnownPhi::new();
    let mut last = 0;
    for entity in detector().detect(text, &known) {
        assert!(entity.start >= last && entity.start < entity.end && entity.end <= text.len());
        assert!(text.is_char_boundary(entity.start) && text.is_char_boundary(entity.end));
        last = entity.end;
    }
    if !reidentify(text, &Vault::new()).unknown_placeholders.is_empty() {
        return;
    }
    let mut vault = Vault::new();
    let out = Deidentifier::new(detector(), &known, &mut vault).text(text);
    let restored = reidentify(&out, &vault);
    assert_eq!(folded(&restored.text), folded(text));
});

/// Lower case, every run of whitespace one space: what spellings sharing a placeholder keep.
fn folded(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
