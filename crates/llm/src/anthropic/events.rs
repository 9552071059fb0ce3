//! Reading a streamed response body as [`StreamEvent`]s.
//!
//! The stream ends after `message_stop`. An `error` event becomes an [`LlmError::StreamFailed`]
//! and ends the stream; so do a body that stops early ([`LlmError::Truncated`]), a silence
//! longer than the idle timeout, an unreadable event, and a line longer than any event the
//! API sends.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::retry::transport_error;
use crate::error::{LlmError, TransportKind, sanitize_error_type};
use crate::provider::EventStream;
use crate::sse::{SseDecoder, parse_event};
use crate::types::StreamEvent;

/// The most bytes held waiting for the end of an event; a bound against a hostile upstream.
const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;

struct Reader {
    body: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    decoder: SseDecoder,
    ready: VecDeque<Result<StreamEvent, LlmError>>,
    idle_timeout: Duration,
    finished: bool,
}

/// The events of a successful streaming response.
pub(crate) fn event_stream(response: reqwest::Response, idle_timeout: Duration) -> EventStream {
    let reader = Reader {
        body: response.bytes_stream().boxed(),
        decoder: SseDecoder::new(),
        ready: VecDeque::new(),
        idle_timeout,
        finished: false,
    };
    futures::stream::unfold(reader, |mut reader| async move {
        let item = reader.next_event().await?;
        Some((item, reader))
    })
    .boxed()
}

impl Reader {
    async fn next_event(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            let chunk = match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
                Err(_) => Err(LlmError::Transport {
                    kind: TransportKind::Timeout,
                }),
                Ok(None) => Err(LlmError::Truncated),
                Ok(Some(Err(err))) => Err(transport_error(&err)),
                Ok(Some(Ok(chunk))) => Ok(chunk),
            };
            match chunk {
                Ok(chunk) => self.decode(&chunk),
                Err(err) => self.fail(err),
            }
        }
    }

    fn decode(&mut self, chunk: &[u8]) {
        for frame in self.decoder.push(chunk) {
            match parse_event(&frame) {
                Ok(StreamEvent::Error { error }) => {
                    let error_type = sanitize_error_type(&error.error_type);
                    tracing::debug!(error.r#type = %error_type, "llm.stream upstream error event");
                    return self.fail(LlmError::StreamFailed { error_type });
                }
                Ok(event) => {
                    let stop = matches!(event, StreamEvent::MessageStop);
                    self.ready.push_back(Ok(event));
                    if stop {
                        self.finished = true;
                        return;
                    }
                }
                Err(err) => return self.fail(err),
            }
        }
        if self.decoder.buffered_len() > MAX_PENDING_BYTES {
            self.fail(LlmError::Decode {
                what: "oversized stream event",
                line: 0,
                column: 0,
            });
        }
    }

    fn fail(&mut self, err: LlmError) {
        self.ready.push_back(Err(err));
        self.finished = true;
    }
}
