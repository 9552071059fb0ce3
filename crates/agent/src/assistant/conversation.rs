//! The Messages request of one assistant turn: the system prompt and tools of the task, then
//! the conversation so far, de-identified with one vault so that a value keeps its placeholder
//! in every turn, each patient message inside its fence.

use std::collections::BTreeMap;

use phigate_deid::{Deidentifier, EntityKind};
use phigate_llm::types::{Message, MessagesRequest, System};
use serde_json::Value;

use super::{Speaker, Turn};
use crate::policy::{defuse_json, defuse_placeholders};
use crate::run::Ctx;
use crate::{Pipeline, prompt, tools};

impl Pipeline {
    /// Builds the request from the (screened) `texts` of `turns`. Like a task's single input,
    /// it is de-identified in two passes, the second treating everything the first found as
    /// known, so a name detected once is replaced wherever it stands.
    pub(super) fn conversation_request(
        &self,
        ctx: &mut Ctx<'_>,
        mut context: Value,
        turns: &[Turn],
        texts: &[String],
    ) -> (MessagesRequest, BTreeMap<EntityKind, usize>) {
        defuse_json(&mut context);
        let texts: Vec<String> = texts.iter().map(|t| defuse_placeholders(t)).collect();
        let mut first = Deidentifier::new(&self.detector, &ctx.record_known, &mut ctx.vault);
        first.json(&mut context.clone());
        for text in &texts {
            first.text(text);
        }

        let known = ctx.known();
        let mut second = Deidentifier::new(&self.detector, &known, &mut ctx.vault);
        second.json(&mut context);
        let texts: Vec<String> = texts.iter().map(|t| second.text(t)).collect();
        let entities = second.entities_seen().clone();

        let task = ctx.task;
        let mut messages = Vec::with_capacity(texts.len());
        for (i, (turn, text)) in turns.iter().zip(&texts).enumerate() {
            messages.push(match turn.role {
                Speaker::User if i == 0 => {
                    Message::user(prompt::user_message(task, &context, text))
                }
                Speaker::User => Message::user(prompt::fenced(task, text)),
                Speaker::Assistant => Message::assistant(text.clone()),
            });
        }
        let mut request = MessagesRequest::new(&self.model, task.max_tokens, "");
        request.messages = messages;
        request.system = Some(System::Text(task.system.clone()));
        let tools: Vec<_> = task
            .tools
            .iter()
            .filter_map(|name| self.catalog.tool(name))
            .filter_map(tools::definition)
            .collect();
        if !tools.is_empty() {
            request.tools = Some(tools);
        }
        (request, entities)
    }
}
