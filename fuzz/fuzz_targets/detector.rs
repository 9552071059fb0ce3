//! Any text: detection must not panic, its spans must be sorted, disjoint and on character
//! boundaries, and de-identifying then restoring must give the text back, up to what makes two
//! spellings of one entity the same ([`spelling_key`]: case, accents, dashes, runs of
//! whitespace; `jamal  whitfield`, `Jamal Whitfield` and `Zoë`, `Zoé`): those share a
//! placeholder, which restores to the first spelling seen.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::{
    Deidentifier, Detector, DetectorConfig, KnownPhi, Vault, reidentify, spelling_key,
};

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
    assert_eq!(spelling_key(&restored.text), spelling_key(text));
});
