//! Any model output, cut anywhere: the streaming restorer must give exactly what restoring the
//! whole text gives. The first byte of the input chooses the cut points; the rest is the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_deid::{EntityKind, StreamRestorer, Vault, reidentify};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut vault = Vault::new();
    vault.placeholder_for(EntityKind::Name, "Martha Collins");
    vault.placeholder_for(EntityKind::Date, "2026-01-17");
    vault.placeholder_for(EntityKind::Provider, "Dr. Nguyen");
    let whole = reidentify(text, &vault);

    let step = usize::from(seed % 16) + 1;
    let mut restorer = StreamRestorer::new(&vault);
    let mut streamed = String::new();
    let mut from = 0;
    let mut at = 0;
    for (i, _) in text.char_indices() {
        at += 1;
        if at % step == 0 {
            streamed.push_str(&restorer.push(&text[from..i]));
            from = i;
        }
    }
    streamed.push_str(&restorer.push(&text[from..]));
    let end = restorer.finish();
    streamed.push_str(&end.text);
    assert_eq!(streamed, whole.text);
    assert_eq!(end.unknown_placeholders, whole.unknown_placeholders);
});
