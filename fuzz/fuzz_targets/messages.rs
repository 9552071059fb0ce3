//! Any `/v1/messages` body: if it parses as a request, de-identifying it must not panic, must
//! be deterministic (a resent conversation gets the same placeholders, which is what lets the
//! gateway keep no state), must leave a body that still parses as a request, and must leave no
//! placeholder in a text block that its vault cannot restore.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::{Detector, DetectorConfig, reidentify};
use phigate_gateway::scrub::scrub;
use phigate_gateway::thinking::ThinkingStore;
use phigate_llm::types::{ContentBlock, MessageContent, MessagesRequest};

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| match Detector::new(DetectorConfig::default()) {
        Ok(detector) => detector,
        Err(_) => panic!("the detector must build"),
    })
}

fn texts(request: &MessagesRequest) -> Vec<&str> {
    let mut out = Vec::new();
    for message in &request.messages {
        match &message.content {
            MessageContent::Text(text) => out.push(text.as_str()),
            MessageContent::Blocks(blocks) => {
                for block in blocks {
                    if let ContentBlock::Text(text) = block {
                        out.push(text.text.as_str());
                    }
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(original) = serde_json::from_slice::<MessagesRequest>(data) else {
        return;
    };
    let thinking = ThinkingStore::new(4);
    let mut first = original.clone();
    let scrubbed = scrub(&mut first, detector(), &thinking);
    let mut second = original.clone();
    scrub(&mut second, detector(), &thinking);

    let body = serde_json::to_vec(&first).expect("a scrubbed request serializes");
    let again = serde_json::to_vec(&second).expect("a scrubbed request serializes");
    assert!(body == again, "de-identifying the same request twice differs");
    let reparsed: MessagesRequest =
        serde_json::from_slice(&body).expect("a scrubbed request parses again");
    assert_eq!(reparsed.messages.len(), original.messages.len());

    for text in texts(&first) {
        let restored = reidentify(text, &scrubbed.vault);
        assert!(
            restored.unknown_placeholders.is_empty(),
            "a text block holds a placeholder its vault cannot restore"
        );
    }
});
