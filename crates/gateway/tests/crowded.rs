//! A caller cannot tie the server up with many distinct identifiers: the cost of a request grows
//! about linearly with their number. Under the old behaviour (every known value compared with
//! every other, one regular expression per known number run over the whole text, the known values
//! prepared again for every structural string) this request took many minutes in a debug build.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should stop right there"
)]

use std::sync::mpsc;
use std::time::Duration;

use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::scrub::scrub;
use phigate_gateway::thinking::ThinkingStore;
use phigate_llm::types::MessagesRequest;
use serde_json::{Value, json};

/// Distinct people and record numbers in one request.
const PEOPLE: usize = 10_000;
/// Far above what the near-linear path needs even in a debug build on a loaded machine, far
/// below what the quadratic one took.
const LIMIT: Duration = Duration::from_secs(180);

const FIRST: &str = include_str!("../../deid/data/first-names.txt");
const LAST: &str = include_str!("../../deid/data/last-names.txt");

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// One line per person: a distinct full name and a distinct eight-digit record number.
fn crowded_request() -> MessagesRequest {
    let words = |list: &'static str| {
        list.lines()
            .map(str::trim)
            .filter(|w| w.len() > 3 && !w.starts_with('#'))
            .take(100)
            .map(capitalised)
            .collect::<Vec<_>>()
    };
    let (first, last) = (words(FIRST), words(LAST));
    let mut text = String::new();
    for i in 0..PEOPLE {
        let (given, family) = (&first[i % first.len()], &last[i / first.len() % last.len()]);
        text.push_str(&format!(
            "Patient {given} {family}, MRN {}, seen today.\n",
            10_000_000 + i * 7
        ));
    }
    let tool_uses: Vec<Value> = (0..50)
        .map(|i| {
            json!({"type": "tool_use", "id": format!("toolu_{i}"), "name": "lookup",
                        "input": {"query": "latest labs", "limit": i}})
        })
        .collect();
    serde_json::from_value(json!({"model": "m", "max_tokens": 9, "messages": [
        {"role": "user", "content": text},
        {"role": "assistant", "content": tool_uses},
        {"role": "user", "content": "ok"}
    ]}))
    .unwrap()
}

#[test]
fn a_request_with_ten_thousand_distinct_identifiers_is_scrubbed_well_within_a_generous_limit() {
    let mut request = crowded_request();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let detector = Detector::new(DetectorConfig::default()).unwrap();
        let scrubbed = scrub(&mut request, &detector, &ThinkingStore::new(4));
        done.send((request, scrubbed.vault.len())).unwrap();
    });
    let (request, placeholders) = finished
        .recv_timeout(LIMIT)
        .expect("de-identification took longer than the limit");
    let sent = serde_json::to_string(&request).unwrap();
    // Every record number and nearly every name (a few census names are everyday words).
    assert!(
        placeholders >= 2 * PEOPLE - PEOPLE / 100,
        "only {placeholders} placeholders"
    );
    for i in (0..PEOPLE).step_by(997) {
        let mrn = (10_000_000 + i * 7).to_string();
        assert!(
            !sent.contains(&mrn),
            "record number {i} is still in the request"
        );
    }
}
