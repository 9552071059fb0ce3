//! Server-sent events: an incremental decoder, an encoder, and the step from frame to event.
//!
//! The decoder follows the WHATWG event-stream rules: lines end in LF, CRLF or a lone CR;
//! `data` lines accumulate joined by LF; lines starting with `:` are comments; a blank line
//! dispatches the frame; a frame with no `data` is dropped; a leading byte-order mark is
//! skipped. Bytes may arrive split anywhere, even inside a UTF-8 character or between the CR
//! and LF of one line ending, because the decoder only turns complete lines into text.

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::LlmError;
use crate::types::StreamEvent;
use crate::types::stream::{KNOWN_DELTAS, KNOWN_EVENTS};

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    /// The `event:` name, if the frame had one.
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Turns a byte stream into [`SseFrame`]s, whatever the chunking.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the line being received.
    line: Vec<u8>,
    /// The last byte seen was a CR, so an LF arriving next belongs to the same line ending.
    after_cr: bool,
    /// Whether the start of the stream (and a possible byte-order mark) is behind us.
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and returns every frame they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        let mut rest = bytes;
        while let Some(&first) = rest.first() {
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            let Some(at) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.line.extend_from_slice(rest);
                break;
            };
            self.line.extend_from_slice(&rest[..at]);
            self.after_cr = rest[at] == b'\r';
            self.end_line(&mut frames);
            rest = &rest[at + 1..];
        }
        frames
    }

    /// Bytes held back waiting for the end of their line.
    ///
    /// A reader should bound this: an upstream that never ends a line would otherwise grow it
    /// without limit.
    pub fn buffered_len(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// Handles the line in `self.line`, then empties it (keeping its allocation for the next).
    fn end_line(&mut self, frames: &mut Vec<SseFrame>) {
        let mut raw = std::mem::take(&mut self.line);
        {
            let text = String::from_utf8_lossy(&raw);
            let mut line: &str = &text;
            if !self.started {
                self.started = true;
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            self.field(line, frames);
        }
        raw.clear();
        self.line = raw;
    }

    fn field(&mut self, line: &str, frames: &mut Vec<SseFrame>) {
        if line.is_empty() {
            self.dispatch(frames);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // `id` and `retry` matter for browser reconnection, which the API does not use.
            _ => {}
        }
    }

    fn dispatch(&mut self, frames: &mut Vec<SseFrame>) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        frames.push(SseFrame {
            event,
            data: std::mem::take(&mut self.data),
        });
    }
}

/// One frame in wire form: `event: NAME`, a `data:` line per line of `data`, and a blank line.
pub fn encode(event: &str, data: &str) -> String {
    let mut out = String::with_capacity(event.len() + data.len() + 16);
    out.push_str("event: ");
    out.push_str(event);
    out.push('\n');
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// A [`StreamEvent`] in wire form, named by its type.
pub fn encode_event(event: &StreamEvent) -> Result<String, LlmError> {
    let data = serde_json::to_string(event).map_err(|_| LlmError::Config {
        reason: "stream event could not be encoded",
    })?;
    Ok(encode(event.event_type(), &data))
}

/// Reads a frame's data as a [`StreamEvent`].
///
/// Event and delta types this crate does not know become [`StreamEvent::Unknown`]; a known
/// type with the wrong fields, or data that is not JSON, is an error.
pub fn parse_event(frame: &SseFrame) -> Result<StreamEvent, LlmError> {
    // A first look reads only the two type names (skipping the rest without building it); a
    // known event is then read straight into its type, not through a `Value`.
    let unknown = || {
        serde_json::from_str(&frame.data)
            .map(StreamEvent::Unknown)
            .map_err(|e| LlmError::decode("stream event", &e))
    };
    // Data that is not an object with string type names is no event this crate knows.
    let Ok(peek) = serde_json::from_str::<Peek<'_>>(&frame.data) else {
        return unknown();
    };
    let kind = peek.kind.as_deref().unwrap_or_default();
    let known = KNOWN_EVENTS.contains(&kind)
        && (kind != "content_block_delta"
            || KNOWN_DELTAS.contains(
                &peek
                    .delta
                    .as_ref()
                    .and_then(|d| d.kind.as_deref())
                    .unwrap_or_default(),
            ));
    if !known {
        return unknown();
    }
    serde_json::from_str(&frame.data).map_err(|e| LlmError::decode("stream event", &e))
}

/// The type names of an event, borrowed where the JSON has no escapes.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    delta: Option<PeekDelta<'a>>,
}

#[derive(Deserialize)]
struct PeekDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Delta;

    const WIRE: &str = "event: message_start\r\n\
        data: {\"type\":\"ping\"}\r\n\
        \r\n\
        : a comment the decoder must skip\n\
        event: content_block_delta\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\n\
        data: \"delta\":{\"type\":\"text_delta\",\"text\":\"Grüße, 病人 🩺\"}}\n\
        \n\
        data:no-space\r\r";

    fn expected() -> Vec<SseFrame> {
        vec![
            SseFrame {
                event: Some("message_start".into()),
                data: "{\"type\":\"ping\"}".into(),
            },
            SseFrame {
                event: Some("content_block_delta".into()),
                data: "{\"type\":\"content_block_delta\",\"index\":0,\n\"delta\":{\"type\":\
                       \"text_delta\",\"text\":\"Grüße, 病人 🩺\"}}"
                    .into(),
            },
            SseFrame {
                event: None,
                data: "no-space".into(),
            },
        ]
    }

    #[test]
    fn frames_are_the_same_whatever_byte_the_stream_is_split_at() {
        let bytes = WIRE.as_bytes();
        for first in 0..=bytes.len() {
            for second in first..=bytes.len() {
                let mut decoder = SseDecoder::new();
                let mut frames = decoder.push(&bytes[..first]);
                frames.extend(decoder.push(&bytes[first..second]));
                frames.extend(decoder.push(&bytes[second..]));
                assert_eq!(frames, expected(), "split at {first} and {second}");
            }
        }
    }

    #[test]
    fn frames_are_the_same_when_fed_one_byte_at_a_time() {
        let mut decoder = SseDecoder::new();
        let frames: Vec<_> = WIRE
            .as_bytes()
            .iter()
            .flat_map(|b| decoder.push(&[*b]))
            .collect();
        assert_eq!(frames, expected());
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn a_frame_without_its_blank_line_is_not_dispatched() {
        let mut decoder = SseDecoder::new();
        assert!(decoder.push(b"event: ping\ndata: {}\n").is_empty());
        assert_eq!(decoder.push(b"\n").len(), 1);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_and_event_only_frames_are_dropped() {
        let mut decoder = SseDecoder::new();
        let frames = decoder.push("\u{feff}event: x\n\ndata: y\n\n".as_bytes());
        assert_eq!(
            frames,
            vec![SseFrame {
                event: None,
                data: "y".into()
            }]
        );
    }

    #[test]
    fn encoded_frames_decode_back_to_the_same_event_and_data() {
        let wire = encode("message_delta", "line one\nline two");
        assert_eq!(
            wire,
            "event: message_delta\ndata: line one\ndata: line two\n\n"
        );
        let frames = SseDecoder::new().push(wire.as_bytes());
        assert_eq!(frames[0].data, "line one\nline two");
    }

    #[test]
    fn known_events_parse_and_unknown_ones_are_kept_whole() {
        let frame = |data: &str| SseFrame {
            event: None,
            data: data.to_owned(),
        };
        let event = parse_event(&frame(
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
        ));
        assert!(matches!(
            event,
            Ok(StreamEvent::ContentBlockDelta {
                index: 1,
                delta: Delta::InputJsonDelta { .. }
            })
        ));
        let unknown = parse_event(&frame(r#"{"type":"future_event","x":1}"#));
        assert!(matches!(unknown, Ok(StreamEvent::Unknown(_))));
        let new_delta = parse_event(&frame(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"future_delta"}}"#,
        ));
        assert!(matches!(new_delta, Ok(StreamEvent::Unknown(_))));
        let broken = parse_event(&frame(r#"{"type":"content_block_stop"}"#));
        assert!(matches!(broken, Err(LlmError::Decode { .. })));
    }

    #[test]
    fn odd_but_valid_json_is_an_unknown_event_and_invalid_json_an_error() {
        let frame = |data: &str| SseFrame {
            event: None,
            data: data.to_owned(),
        };
        for data in [
            r#"[1, 2]"#,
            r#""text""#,
            r#"{"type": 7}"#,
            r#"{"type":"content_block_delta","index":0,"delta":"flat"}"#,
        ] {
            assert!(
                matches!(parse_event(&frame(data)), Ok(StreamEvent::Unknown(_))),
                "{data}"
            );
        }
        // A type name written with an escape is still the same name.
        let escaped = parse_event(&frame(r#"{"type":"message\u005fstop"}"#));
        assert!(
            matches!(escaped, Ok(StreamEvent::MessageStop)),
            "{escaped:?}"
        );
        assert!(matches!(
            parse_event(&frame("{not json")),
            Err(LlmError::Decode { .. })
        ));
    }
}
