#![allow(clippy::unwrap_used, reason = "a failing test should stop right there")]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;

/// Parses `value` as `T`, writes it back, and requires the same JSON.
fn round_trip<T: DeserializeOwned + Serialize>(value: Value) -> T {
    let typed: T = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), value);
    typed
}

#[test]
fn a_request_with_every_kind_of_block_and_unknown_fields_round_trips_untouched() {
    let request = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are a scribe.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image and document?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Grass is green."},
                 "title": "Notes", "context": "Visit", "citations": {"enabled": true}},
                {"type": "future_block", "payload": [1, 2, 3]}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Let me look it up.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                 "input": {"location": "San Francisco, CA", "unit": "celsius"}},
                {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "weather"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
                 "content": [{"type": "web_search_result", "url": "https://example.com", "title": "Weather",
                              "encrypted_content": "abc", "page_age": null}]}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": true,
                 "content": [{"type": "text", "text": "timeout"}]}
            ]}
        ],
        "tools": [
            {"name": "get_weather", "description": "Get the current weather in a given location",
             "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                              "required": ["location"]}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "stream": false,
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "service_tier": "auto",
        "container": "container_011CPR5CNjB747bTd36fQLFk",
        "some_future_field": {"nested": [true, null, 1.5]}
    });
    let typed: MessagesRequest = round_trip(request);

    assert_eq!(typed.extra.len(), 3);
    let MessageContent::Blocks(first) = &typed.messages[0].content else {
        panic!("blocks")
    };
    assert!(matches!(first[3], ContentBlock::Unknown(_)));
    let MessageContent::Blocks(second) = &typed.messages[1].content else {
        panic!("blocks")
    };
    assert!(matches!(second[3], ContentBlock::ServerToolUse(_)));
    assert!(matches!(second[4], ContentBlock::WebSearchToolResult(_)));
    assert_eq!(
        typed.tools.as_ref().map(|t| t[1].input_schema.is_null()),
        Some(true)
    );
}

#[test]
fn a_plain_string_request_round_trips() {
    round_trip::<MessagesRequest>(json!({
        "model": "claude-opus-4-1",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello, Claude"}]
    }));
}

#[test]
fn a_known_block_type_with_the_wrong_fields_is_an_error_not_an_unknown_block() {
    let bad = json!({"type": "text", "text": 42});
    assert!(serde_json::from_value::<ContentBlock>(bad).is_err());
    let untyped = json!({"text": "no type"});
    assert!(serde_json::from_value::<ContentBlock>(untyped).is_err());
}

#[test]
fn the_documented_response_example_round_trips() {
    let response: MessagesResponse = round_trip(json!({
        "content": [{"text": "Hi! My name is Claude.", "type": "text"}],
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "model": "claude-sonnet-4-5-20250929",
        "role": "assistant",
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "type": "message",
        "usage": {"input_tokens": 2095, "output_tokens": 503,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "service_tier": "standard"}
    }));
    assert_eq!(response.text(), "Hi! My name is Claude.");
    assert_eq!(response.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(response.usage.extra["service_tier"], "standard");
}

#[test]
fn an_unknown_stop_reason_is_kept_verbatim() {
    let response: MessagesResponse = round_trip(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "content": [],
        "model": "claude-x", "stop_reason": "model_context_window_exceeded",
        "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 0}
    }));
    assert_eq!(
        response.stop_reason,
        Some(StopReason::Other("model_context_window_exceeded".into()))
    );
}

#[test]
fn every_documented_stream_event_round_trips() {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
            "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta",
            "partial_json": "{\"location\": \"San Fra"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta",
            "thinking": "Let me solve this step by step"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta",
            "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta",
            "citation": {"type": "char_location", "cited_text": "Grass is green.", "document_index": 0,
                         "document_title": "Notes", "start_char_index": 0, "end_char_index": 15}}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 15}}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"output_tokens": 89, "input_tokens": 472, "cache_read_input_tokens": 0}}),
        json!({"type": "message_stop"}),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ];
    for event in events {
        let typed: StreamEvent = round_trip(event.clone());
        assert_eq!(Some(typed.event_type()), event["type"].as_str());
    }
}

#[test]
fn the_error_body_has_the_api_shape() {
    let error = ApiError::new("invalid_request_error", "max_tokens: Field required");
    assert_eq!(
        error.to_json(),
        json!({"type": "error", "error": {"type": "invalid_request_error",
                                          "message": "max_tokens: Field required"}})
    );
    let parsed: ErrorResponse = round_trip(json!({
        "type": "error",
        "error": {"type": "not_found_error", "message": "The requested resource could not be found."},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
    }));
    assert_eq!(parsed.error.error_type, "not_found_error");
}

#[test]
fn token_counting_and_model_listing_round_trip() {
    round_trip::<CountTokensRequest>(json!({
        "model": "claude-sonnet-4-5", "system": "You are a scientist",
        "messages": [{"role": "user", "content": "Hello, Claude"}]
    }));
    round_trip::<CountTokensResponse>(json!({"input_tokens": 14}));
    round_trip::<ModelList>(json!({
        "data": [{"type": "model", "id": "claude-sonnet-4-20250514",
                  "display_name": "Claude Sonnet 4", "created_at": "2025-05-22T00:00:00Z"}],
        "has_more": false, "first_id": "claude-sonnet-4-20250514",
        "last_id": "claude-sonnet-4-20250514"
    }));
}
