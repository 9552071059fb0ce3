//! What a request may ask for, checked before any of it is de-identified.
//!
//! Images and PDF documents cannot be scanned for PHI yet (a scan of a face or of a printed
//! record is PHI as much as a name is), and documents given by URL or file id would be fetched
//! by the provider, past the egress gate. All of them are refused with a `400` unless the
//! deployment sets `danger_allow_unscanned_media`. The MCP connector is refused always: it would
//! have the provider send conversation data to a third party's server.

use std::borrow::Cow;

use phigate_llm::types::{ContentBlock, Message, MessageContent, ToolResultContent};
use serde_json::{Map, Value};

use crate::{GatewayConfig, GatewayError};

/// Checks the message count, media and connectors of a request.
pub(crate) fn check(
    messages: &[Message],
    extra: &Map<String, Value>,
    config: &GatewayConfig,
) -> Result<(), GatewayError> {
    if messages.len() > config.max_messages {
        return Err(GatewayError::InvalidRequest(Cow::Owned(format!(
            "Too many messages: this gateway accepts at most {}.",
            config.max_messages
        ))));
    }
    if extra.contains_key("mcp_servers") {
        return Err(GatewayError::invalid(
            "mcp_servers is not accepted: the provider would send conversation data to a \
             third-party server past Phigate's egress gate.",
        ));
    }
    if config.danger_allow_unscanned_media {
        return Ok(());
    }
    for message in messages {
        if let MessageContent::Blocks(blocks) = &message.content {
            blocks.iter().try_for_each(media)?;
        }
    }
    Ok(())
}

fn media(block: &ContentBlock) -> Result<(), GatewayError> {
    match block {
        ContentBlock::Image(_) => Err(unscanned("Images")),
        ContentBlock::Document(doc) => match doc.source.get("type").and_then(Value::as_str) {
            Some("text") => Ok(()),
            Some("content") if !holds_image(&doc.source) => Ok(()),
            Some("content") => Err(unscanned("Images")),
            Some("base64") => Err(unscanned("PDF documents")),
            _ => Err(unscanned("Documents given by URL or file id")),
        },
        ContentBlock::ToolResult(result) => match &result.content {
            Some(ToolResultContent::Blocks(blocks)) => blocks.iter().try_for_each(media),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether any object under `value` is an image block.
fn holds_image(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some("image")
                || map.values().any(holds_image)
        }
        Value::Array(items) => items.iter().any(holds_image),
        _ => false,
    }
}

fn unscanned(what: &'static str) -> GatewayError {
    GatewayError::InvalidRequest(Cow::Owned(format!(
        "{what} cannot be scanned for PHI yet, so this gateway refuses them. Send the text \
         instead, or ask the operator about danger_allow_unscanned_media."
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(content: Value) -> Vec<Message> {
        let value = json!([{"role": "user", "content": content}]);
        serde_json::from_value(value).unwrap_or_default()
    }

    fn refused(content: Value) -> Option<String> {
        let config = GatewayConfig::new("t");
        check(&messages(content), &Map::new(), &config)
            .err()
            .map(|e| e.api_error().message)
    }

    #[test]
    fn images_and_pdfs_are_refused_with_a_clear_reason_and_text_documents_pass() {
        let image = json!([{"type": "image", "source": {"type": "base64",
            "media_type": "image/png", "data": "AAAA"}}]);
        assert!(refused(image).is_some_and(|m| m.starts_with("Images cannot be scanned")));
        let pdf = json!([{"type": "document", "source": {"type": "base64",
            "media_type": "application/pdf", "data": "JVBER"}}]);
        assert!(refused(pdf).is_some_and(|m| m.starts_with("PDF documents")));
        let nested = json!([{"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.invalid/x.png"}}]}]);
        assert!(refused(nested).is_some());
        let text = json!([{"type": "document", "source": {"type": "text",
            "media_type": "text/plain", "data": "note"}}]);
        assert_eq!(refused(text), None);
    }

    #[test]
    fn media_passes_when_the_deployment_allows_it_but_mcp_never_does() {
        let mut config = GatewayConfig::new("t");
        config.danger_allow_unscanned_media = true;
        let image =
            json!([{"type": "image", "source": {"type": "url", "url": "https://x.invalid"}}]);
        assert!(check(&messages(image), &Map::new(), &config).is_ok());
        let mut extra = Map::new();
        extra.insert("mcp_servers".into(), json!([]));
        assert!(check(&[], &extra, &config).is_err());
    }

    #[test]
    fn too_many_messages_are_refused() {
        let mut config = GatewayConfig::new("t");
        config.max_messages = 1;
        let two: Vec<Message> = vec![Message::user("a"), Message::assistant("b")];
        assert!(check(&two, &Map::new(), &config).is_err());
    }
}
