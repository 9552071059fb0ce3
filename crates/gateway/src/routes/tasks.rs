//! `POST /v1/tasks/{task}`: one agent task through the pipeline, answered as JSON or, with
//! `"stream": true`, as server-sent events.
//!
//! The stream carries progress, not partial answers: the output checks, the schema and the
//! post-checks must see the whole answer before any of it is released, so the result comes as
//! one `task_result` event after a `task_started` event and keep-alive comments.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use phigate_agent::{AI_LABEL, AgentError, Pipeline, TaskInput, TaskRun};
use phigate_auth::Principal;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use super::RequestId;
use crate::{Gateway, GatewayError, body};

/// The body of a task request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskRequest {
    /// The patient's logical id.
    patient: String,
    /// The task's free-text input.
    #[serde(default)]
    input: String,
    /// Answer as server-sent events.
    #[serde(default)]
    stream: bool,
}

pub(super) fn pipeline(gateway: &Gateway) -> Result<Arc<Pipeline>, GatewayError> {
    gateway.tasks.clone().ok_or(GatewayError::NotFound(
        "Agent tasks are not enabled on this gateway.",
    ))
}

pub(super) async fn run(
    State(gateway): State<Arc<Gateway>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(task): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let pipeline = pipeline(&gateway)?;
    let spec = pipeline
        .catalog
        .task(&task)
        .map_err(|_| GatewayError::NotFound("No such task."))?;
    let name = spec.name.clone();
    // The route checks the task's first scope; the pipeline checks role and every scope.
    let scope = spec.scopes.first().cloned().unwrap_or_default();
    let principal = gateway.authenticate(&headers, &request_id, &scope).await?;
    let bytes = body::read(&headers, body, &gateway.config).await?;
    let request: TaskRequest = serde_json::from_slice(&bytes).map_err(|_| {
        GatewayError::invalid(
            "The body must be {\"patient\": ..., \"input\": ..., \"stream\": ...}.",
        )
    })?;
    let stream = request.stream;
    let work = run_task(pipeline, principal, name.clone(), request);
    if !stream {
        return Ok(axum::Json(work.await?).into_response());
    }
    let started = futures::stream::once(async move {
        Ok::<_, Infallible>(
            Event::default()
                .event("task_started")
                .data(json!({"task": name}).to_string()),
        )
    });
    let result = futures::stream::once(async move {
        let event = match work.await {
            Ok(value) => Event::default()
                .event("task_result")
                .data(value.to_string()),
            Err(err) => Event::default()
                .event("error")
                .data(err.api_error().to_json().to_string()),
        };
        Ok::<_, Infallible>(event)
    });
    Ok(Sse::new(started.chain(result))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Runs the task and shapes its result; owns everything so it can run inside a stream.
async fn run_task(
    pipeline: Arc<Pipeline>,
    principal: Principal,
    name: String,
    request: TaskRequest,
) -> Result<Value, GatewayError> {
    let task = pipeline.catalog.task(&name)?.clone();
    // The task's name is the catalogue's, checked above; the patient is never a span field.
    let span = tracing::debug_span!("agent.run", task = task.name.as_str());
    let run = pipeline
        .run(
            &principal,
            TaskInput {
                task: &task,
                patient_id: &request.patient,
                text: &request.input,
            },
        )
        .instrument(span)
        .await?;
    Ok(result_json(&name, pipeline.catalog.version(), &run))
}

fn result_json(task: &str, version: u32, run: &TaskRun) -> Value {
    json!({
        "type": "task_result",
        "task": task,
        "policy_version": version,
        "request_id": run.request_id,
        "mode": run.mode.as_str(),
        "model_calls": run.outbounds.len(),
        "text": run.response.text(),
        "output": run.output,
        "report": run.report,
        "draft_id": run.draft_id,
        "label": run.draft_id.as_ref().map(|_| AI_LABEL),
    })
}

impl From<AgentError> for GatewayError {
    fn from(err: AgentError) -> Self {
        GatewayError::Agent(err)
    }
}
