//! Turning a scripted answer into the HTTP response the real API would send.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use super::MockResponse;
use crate::sse::encode_event;
use crate::types::{ApiError, StreamEvent};

pub(super) const JSON: &str = "application/json";

pub(super) fn render(response: MockResponse, request_id: &str) -> Response {
    let answer = match response {
        MockResponse::Json(message) => match serde_json::to_vec(&message) {
            Ok(body) => raw(StatusCode::OK, JSON, Body::from(body)),
            Err(_) => error(500, "api_error", "mock could not encode the message", ""),
        },
        MockResponse::Stream(events) => sse(&events, None),
        MockResponse::ChunkedStream {
            events,
            chunk_bytes,
        } => sse(&events, Some(chunk_bytes)),
        MockResponse::Error {
            status,
            error_type,
            retry_after,
            headers,
        } => {
            let mut answer = error(
                status,
                &error_type,
                &standard_message(&error_type),
                request_id,
            );
            if let Some(seconds) = retry_after {
                answer
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(seconds));
            }
            for (name, value) in headers {
                // A scripted header that is not valid HTTP is a test bug; leave it out.
                if let (Ok(name), Ok(value)) =
                    (HeaderName::try_from(name), HeaderValue::try_from(value))
                {
                    answer.headers_mut().insert(name, value);
                }
            }
            answer
        }
        MockResponse::Raw {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            raw(status, &content_type, Body::from(body))
        }
        MockResponse::Delay(_, _) | MockResponse::CloseConnection => {
            error(500, "api_error", "mock script step cannot be rendered", "")
        }
    };
    answer.with_request_id(request_id)
}

fn sse(events: &[StreamEvent], chunk_bytes: Option<usize>) -> Response {
    let mut pieces: Vec<Bytes> = Vec::new();
    for event in events {
        match encode_event(event) {
            Ok(frame) => pieces.push(Bytes::from(frame)),
            Err(_) => return error(500, "api_error", "mock could not encode an event", ""),
        }
    }
    if let Some(size) = chunk_bytes {
        let whole: Vec<u8> = pieces.concat();
        pieces = whole
            .chunks(size.max(1))
            .map(Bytes::copy_from_slice)
            .collect();
    }
    let body = futures::stream::iter(pieces).then(|piece| async move {
        // Yield between writes so that pieces tend to leave as separate segments.
        tokio::task::yield_now().await;
        Ok::<Bytes, std::convert::Infallible>(piece)
    });
    let mut answer = raw(StatusCode::OK, "text/event-stream", Body::from_stream(body));
    answer
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    answer
}

pub(super) fn error(status: u16, error_type: &str, message: &str, request_id: &str) -> Response {
    let mut body = ApiError::new(error_type, message).to_json();
    if !request_id.is_empty() {
        body["request_id"] = Value::String(request_id.to_owned());
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    raw(status, JSON, Body::from(body.to_string())).with_request_id(request_id)
}

fn standard_message(error_type: &str) -> String {
    match error_type {
        "overloaded_error" => "Overloaded",
        "rate_limit_error" => "Number of request tokens has exceeded your per-minute rate limit",
        "api_error" => "Internal server error",
        "not_found_error" => "Not found",
        "authentication_error" => "invalid x-api-key",
        "invalid_request_error" => "Invalid request",
        _ => "Mock error",
    }
    .to_owned()
}

fn raw(status: StatusCode, content_type: &str, body: Body) -> Response {
    let content_type =
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(JSON));
    (
        status,
        [(axum::http::header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

pub(super) trait WithRequestId {
    fn with_request_id(self, request_id: &str) -> Self;
}

impl WithRequestId for Response {
    fn with_request_id(mut self, request_id: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(request_id)
            && !request_id.is_empty()
        {
            self.headers_mut()
                .insert(HeaderName::from_static("request-id"), value);
        }
        self
    }
}
