//! Any upstream byte stream, cut anywhere: the SSE decoder must give the same frames whatever
//! the chunking; every event it parses must survive encoding and parsing again unchanged; the
//! assembler must take any event sequence without panicking; and the streaming restorer run
//! over the text deltas, delta by delta, must give exactly what restoring their whole text gives.
//! The first byte of the input chooses the cut points; the rest is the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_deid::{EntityKind, StreamRestorer, Vault, reidentify};
use phigate_llm::MessageAssembler;
use phigate_llm::sse::{SseDecoder, SseFrame, encode, encode_event, parse_event};
use phigate_llm::types::{Delta, StreamEvent};

fn decode_in_chunks(bytes: &[u8], step: usize) -> Vec<SseFrame> {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    for chunk in bytes.chunks(step) {
        frames.extend(decoder.push(chunk));
    }
    frames
}

fn vault() -> Vault {
    let mut vault = Vault::new();
    vault.placeholder_for(EntityKind::Name, "Martha Collins");
    vault.placeholder_for(EntityKind::Date, "2026-01-17");
    vault.placeholder_for(EntityKind::Mrn, "MRN 00418227");
    vault
}

fn check_restorer(events: &[StreamEvent]) {
    let vault = vault();
    let mut restorer = StreamRestorer::new(&vault);
    let mut whole = String::new();
    let mut streamed = String::new();
    for event in events {
        if let StreamEvent::ContentBlockDelta {
            delta: Delta::TextDelta { text },
            ..
        } = event
        {
            whole.push_str(text);
            streamed.push_str(&restorer.push(text));
        }
    }
    let end = restorer.finish();
    streamed.push_str(&end.text);
    let expected = reidentify(&whole, &vault);
    assert_eq!(streamed, expected.text);
    assert_eq!(end.unknown_placeholders, expected.unknown_placeholders);
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let whole = decode_in_chunks(stream, stream.len().max(1));
    let cut = decode_in_chunks(stream, usize::from(seed % 17) + 1);
    assert_eq!(whole, cut, "the frames depend on where the stream was cut");

    let mut events = Vec::new();
    let mut assembler = MessageAssembler::new();
    for frame in &whole {
        // A frame's own fields, written again, decode to the same frame.
        if let Some(event) = &frame.event
            && !event.contains(['\r', '\n'])
            && !frame.data.contains('\r')
        {
            let again = decode_in_chunks(encode(event, &frame.data).as_bytes(), 1);
            assert_eq!(again.as_slice(), std::slice::from_ref(frame));
        }
        let Ok(event) = parse_event(frame) else {
            continue;
        };
        if !matches!(event, StreamEvent::Unknown(_)) {
            let wire = encode_event(&event).expect("a parsed event encodes");
            let frames = decode_in_chunks(wire.as_bytes(), 3);
            assert_eq!(frames.len(), 1, "an encoded event is one frame");
            let back = parse_event(&frames[0]).expect("an encoded event parses");
            assert_eq!(back, event, "an event changed through encode and parse");
        }
        let _ = assembler.push(&event);
        events.push(event);
    }
    let _ = assembler.finish();
    check_restorer(&events);
});
