//! OpenTelemetry export: `phigate serve` configured with `[telemetry] otlp_endpoint` sends its
//! spans as OTLP/HTTP protobuf to a collector (here the test's own receiver on loopback). The
//! spans carry route templates and statuses, one trace links every layer of a request, the
//! buffered spans are flushed on graceful shutdown, and no identifier of the Synthea patients
//! the requests carried is anywhere in the bytes the collector received.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;
mod ops;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use phigate_fhir::{Bundle, known_phi};
use prost::Message;

/// One POST the collector received: its content type and body.
type Posts = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An OTLP/HTTP trace receiver on loopback, on a runtime of its own.
struct Collector {
    addr: String,
    posts: Posts,
    _runtime: tokio::runtime::Runtime,
}

impl Collector {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let posts = Posts::default();
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(posts.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        runtime.spawn(async move { axum::serve(listener, app).await });
        Collector {
            addr,
            posts,
            _runtime: runtime,
        }
    }

    fn posts(&self) -> Vec<(String, Vec<u8>)> {
        self.posts.lock().unwrap().clone()
    }
}

async fn receive(State(posts): State<Posts>, headers: HeaderMap, body: Bytes) -> &'static str {
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    posts.lock().unwrap().push((kind, body.to_vec()));
    ""
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = common::phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string_attribute(span: &Span, key: &str) -> Option<String> {
    match attribute(&span.attributes, key)? {
        Any::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    match attribute(&span.attributes, key)? {
        Any::IntValue(number) => Some(*number),
        Any::StringValue(text) => text.parse().ok(),
        _ => None,
    }
}

/// Whether `value` is in `bytes` as a whole token, case-insensitively (not as digits inside a
/// longer number, nor inside the binary ids of the protobuf, which are not text).
fn contains_token(bytes: &[u8], value: &str) -> bool {
    let text = String::from_utf8_lossy(bytes).to_lowercase();
    let value = value.to_lowercase();
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    text.match_indices(&value).any(|(at, _)| {
        boundary(text[..at].chars().next_back())
            && boundary(text[at + value.len()..].chars().next())
    })
}

/// Drives `count` patients through a task, a message and two paths carrying identifiers;
/// returns the values that must not leave in a span.
fn drive(dir: &Path, addr: &str, count: usize) -> Vec<(String, String)> {
    let clinician = format!(
        "Bearer {}",
        run_ok(dir, &["token", "--role", "clinician", "--subject", "dr-1"]).trim()
    );
    let service = format!(
        "Bearer {}",
        run_ok(dir, &["token", "--role", "service", "--subject", "ehr-1"]).trim()
    );
    let json = ("Content-Type", "application/json");
    let mut secrets = Vec::new();
    for bundle in common::synthea_bundles().into_iter().take(count) {
        let record = Bundle::from_slice(&std::fs::read(&bundle).unwrap())
            .unwrap()
            .into_patient_record()
            .unwrap();
        let patient = common::patient_of(&bundle);
        let id = record.patient_id().to_owned();
        let given = patient["name"][0]["given"][0].as_str().unwrap();
        let family = patient["name"][0]["family"].as_str().unwrap();
        let birth = patient["birthDate"].as_str().unwrap();
        let dialogue = format!(
            "[doctor] Good morning {given} {family}, born {birth}. How is the cough?\n\
             [patient] Better since last week."
        );
        let task = serde_json::json!({"patient": id, "input": dialogue}).to_string();
        let headers = [("Authorization", clinician.as_str()), json];
        let answer = ops::http(addr, "POST", "/v1/tasks/clinical-note", &headers, &task);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let message = serde_json::json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": format!("Summarise: {dialogue}")}],
        })
        .to_string();
        let headers = [
            ("Authorization", service.as_str()),
            ("anthropic-version", "2023-06-01"),
            json,
        ];
        let answer = ops::http(addr, "POST", "/v1/messages", &headers, &message);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let headers = [("Authorization", clinician.as_str())];
        let answer = ops::http(addr, "GET", &format!("/v1/drafts/{id}"), &headers, "");
        assert!(answer.status >= 400);
        ops::http(addr, "GET", &format!("/patients/{family}"), &[], "");
        secrets.push(("patient id".to_owned(), id));
        for (kind, value) in known_phi(&record).values() {
            secrets.push((format!("{kind:?}"), value.to_string()));
        }
    }
    secrets
}

fn decode(posts: &[(String, Vec<u8>)]) -> (Vec<String>, Vec<Span>) {
    let mut services = Vec::new();
    let mut spans = Vec::new();
    for (kind, body) in posts {
        assert_eq!(kind, "application/x-protobuf", "spans go as OTLP protobuf");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for resource in request.resource_spans {
            let attributes = resource.resource.map(|r| r.attributes).unwrap_or_default();
            if let Some(Any::StringValue(name)) = attribute(&attributes, "service.name") {
                services.push(name.clone());
            }
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }
    (services, spans)
}

#[test]
fn served_requests_export_linked_spans_without_phi_and_flush_on_shutdown() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);
    let bundles: Vec<_> = common::synthea_bundles().into_iter().take(3).collect();
    let mut args = vec!["import".to_owned()];
    args.extend(bundles.iter().map(|b| b.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(dir, &args);

    let collector = Collector::start();
    let config = ops::write_config(
        dir,
        &format!(
            "[telemetry]\notlp_endpoint = \"http://{}\"\nservice_name = \"phigate-under-test\"\n",
            collector.addr
        ),
    );
    let log = dir.join("serve.log");
    // A batch delay far beyond the test: spans can only arrive through the shutdown flush.
    let mut server = ops::serve(dir, &config, &log, &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]);
    let secrets = drive(dir, &server.addr, 3);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        collector.posts().is_empty(),
        "spans were sent before shutdown despite the long batch delay"
    );
    server.terminate();
    let (clean, _) = server.wait_exit(Duration::from_secs(30));
    assert!(clean, "phigate serve exits cleanly on SIGTERM");

    let posts = collector.posts();
    assert!(!posts.is_empty(), "the shutdown flush sent nothing");
    let (services, spans) = decode(&posts);
    assert!(services.iter().all(|s| s == "phigate-under-test") && !services.is_empty());

    let requests: Vec<&Span> = spans.iter().filter(|s| s.name == "http.request").collect();
    let count = |route: &str, status: i64| {
        requests
            .iter()
            .filter(|s| string_attribute(s, "http.route").as_deref() == Some(route))
            .filter(|s| int_attribute(s, "http.status") == Some(status))
            .count()
    };
    assert_eq!(count("/v1/tasks/{task}", 200), 3);
    assert_eq!(count("/v1/messages", 200), 3);
    assert_eq!(count("unmatched", 404), 3);
    let drafts = requests
        .iter()
        .filter(|s| string_attribute(s, "http.route").as_deref() == Some("/v1/drafts/{id}"))
        .count();
    assert_eq!(
        drafts, 3,
        "paths carrying ids are exported under their template"
    );

    // Every layer of a /v1/messages request hangs off its http.request span, in one trace.
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let root_of = |span: &Span| -> Vec<u8> {
        let mut at = span;
        while let Some(parent) = by_id.get(at.parent_span_id.as_slice()) {
            assert_eq!(
                parent.trace_id, at.trace_id,
                "a child left its parent's trace"
            );
            at = parent;
        }
        at.span_id.clone()
    };
    for message in requests
        .iter()
        .filter(|s| string_attribute(s, "http.route").as_deref() == Some("/v1/messages"))
    {
        let layers: Vec<&str> = spans
            .iter()
            .filter(|s| s.trace_id == message.trace_id && s.span_id != message.span_id)
            .inspect(|s| assert_eq!(root_of(s), message.span_id))
            .map(|s| s.name.as_str())
            .collect();
        for layer in [
            "gateway.authenticate",
            "gateway.read",
            "gateway.deidentify",
            "gateway.egress",
            "gateway.audit",
            "gateway.upstream",
            "gateway.restore",
        ] {
            assert!(
                layers.contains(&layer),
                "no {layer} span in a message trace"
            );
        }
    }
    assert!(
        spans.iter().any(|s| s.name == "agent.run"),
        "the task runs are traced"
    );

    let mut checked = 0;
    for (kind, value) in &secrets {
        if value.chars().filter(|c| c.is_alphanumeric()).count() < 4 {
            continue;
        }
        checked += 1;
        for (_, body) in &posts {
            assert!(
                !contains_token(body, value),
                "a {kind} identifier was exported in a span"
            );
        }
    }
    assert!(
        checked > 3 * 5,
        "too few identifiers were checked ({checked})"
    );
}
