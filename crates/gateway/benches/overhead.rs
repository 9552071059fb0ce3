//! What the gateway adds: latency against calling the mock upstream directly, and throughput,
//! with the audit log on (every request appends two synced entries). Loopback only; bounded in
//! requests and seconds.
//!
//! `cargo bench --workspace --bench overhead` prints p50 and p99 for an 8 KB clinical prompt,
//! streamed and not (a stream both to its first event and to its end), then requests per second
//! at 16 and at 64 requests in flight, each with the process's CPU time per request (from which
//! follows the most two fully busy cores could serve). Before the throughput part it reports
//! the median time of each of the gateway's own spans over sequential requests: where the
//! added time goes.
//! `PHIGATE_BENCH_REQUESTS` (default 300) and `PHIGATE_BENCH_SECONDS` (default 5) change the
//! bounds, `PHIGATE_BENCH_CONCURRENCY` the levels (comma-separated); `PHIGATE_BENCH_PARTS`
//! picks parts.
//!
//! The audit log is first aged until SQLite's write-ahead log has started over (see `age`;
//! `PHIGATE_BENCH_FRESH_AUDIT=1` skips that). It lives in a new directory under the system's
//! temporary directory, or under
//! `PHIGATE_BENCH_AUDIT_DIR` when set: every request waits for two synced commits, so the
//! disk's flush time is part of the figures (the breakdown line reports one append alone). To
//! see the gateway's own work apart from a slow disk, point it at a RAM disk, knowing that
//! those appends are then not durable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark prints its figures and stops on any failure"
)]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use phigate_audit::{AuditLog, CheckpointSigner};
use phigate_auth::{MAX_ACCESS_TOKEN_TTL, Principal, RateLimit, Role, TokenSigner, scopes};
use phigate_deid::{Detector, DetectorConfig};
use phigate_gateway::{Gateway, GatewayConfig, RateLimits};
use phigate_llm::mock::MockUpstream;
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey};
use serde_json::{Value, json};

#[path = "overhead/stages.rs"]
mod stages;

/// Requests in flight in the throughput part, one level after another, unless
/// `PHIGATE_BENCH_CONCURRENCY` lists others (comma-separated).
const CONCURRENCY: [usize; 2] = [16, 64];

/// 8 KB of invented clinical text with identifiers in every paragraph (`testdata/bench`).
fn clinical_prompt() -> String {
    include_str!("../../../testdata/bench/clinical-prompt.txt").to_owned()
}

/// The request body, encoded once and sent as the same bytes every time: the load generator
/// shares the two cores with the gateway, and its own JSON is no part of what the gateway costs
/// (measured: encoding it for every request took about 6 µs of CPU time per request).
fn body(prompt: &str, stream: bool) -> Bytes {
    let value: Value = json!({"model": "claude-sonnet-4-5", "max_tokens": 512, "stream": stream,
           "messages": [{"role": "user", "content": prompt}]});
    Bytes::from(serde_json::to_vec(&value).unwrap())
}

struct Target {
    url: String,
    key: String,
}

/// One request: the time to the first byte of the body (for a stream, its first event) and to
/// its end.
async fn once(client: &reqwest::Client, target: &Target, body: &Bytes) -> (Duration, Duration) {
    let started = Instant::now();
    let mut response = client
        .post(format!("{}/v1/messages", target.url))
        .header("x-api-key", &target.key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let mut first = None;
    while let Some(chunk) = response.chunk().await.unwrap() {
        if first.is_none() && !chunk.is_empty() {
            first = Some(started.elapsed());
        }
    }
    let total = started.elapsed();
    (first.unwrap_or(total), total)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

async fn latencies(
    client: &reqwest::Client,
    target: &Target,
    body: &Bytes,
    n: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    for _ in 0..n / 10 {
        once(client, target, body).await;
    }
    let (mut firsts, mut totals) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let (first, total) = once(client, target, body).await;
        firsts.push(first);
        totals.push(total);
    }
    firsts.sort();
    totals.sort();
    (firsts, totals)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU time this process has used so far, user and system, from `/proc/self/stat` (Linux
/// counts it in ticks of 1/100 s for every program); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, in parentheses, may hold spaces: count fields after it.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Requests per second at `concurrency` requests in flight, and the process's CPU time per
/// request meanwhile (the bench's client and the stand-in upstream included).
async fn throughput(
    target: Arc<Target>,
    body: Bytes,
    seconds: u64,
    concurrency: usize,
) -> (f64, Option<Duration>) {
    let done = Arc::new(AtomicU64::new(0));
    // Clients are built before the clock starts: building one loads a TLS root store, which
    // would otherwise count as CPU time of the requests.
    let clients: Vec<reqwest::Client> = (0..concurrency).map(|_| reqwest::Client::new()).collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for client in clients {
        let (target, body, done) = (target.clone(), body.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                once(&client, &target, &body).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let (started, cpu) = (Instant::now(), process_cpu());
    for worker in workers {
        worker.await.unwrap();
    }
    let requests = done.load(Ordering::Relaxed);
    let cpu = cpu
        .zip(process_cpu())
        .map(|(before, after)| (after - before) / u32::try_from(requests.max(1)).unwrap());
    (requests as f64 / started.elapsed().as_secs_f64(), cpu)
}

/// An audit entry: `user` read something.
fn read_event(user: &str) -> phigate_audit::AuditEvent {
    let actor = phigate_audit::Actor {
        user_id: user.into(),
        role: "service".into(),
        client_id: None,
        address: None,
    };
    phigate_audit::AuditEvent::new(
        actor,
        phigate_audit::Action::Read,
        phigate_audit::Outcome::Success,
    )
}

/// Where the added time goes: de-identification of the prompt, and one synced audit append.
fn breakdown(prompt: &str, audit: &AuditLog, n: usize) {
    let detector = Detector::new(DetectorConfig::default()).unwrap();
    let store = phigate_gateway::thinking::ThinkingStore::new(0);
    let mut scrub_times = Vec::with_capacity(n);
    let encoded = body(prompt, false);
    for _ in 0..n {
        let mut request: phigate_llm::types::MessagesRequest =
            serde_json::from_slice(&encoded).unwrap();
        let started = Instant::now();
        phigate_gateway::scrub::scrub(&mut request, &detector, &store);
        scrub_times.push(started.elapsed());
    }
    scrub_times.sort();
    let mut append_times = Vec::with_capacity(n);
    for _ in 0..n {
        let event = read_event("bench");
        let started = Instant::now();
        audit.append(event).unwrap();
        append_times.push(started.elapsed());
    }
    append_times.sort();
    println!(
        "breakdown: de-identify the 8 KB request p50 {:.2}ms p99 {:.2}ms; one synced audit append p50 {:.2}ms p99 {:.2}ms (two per request)",
        ms(percentile(&scrub_times, 0.5)),
        ms(percentile(&scrub_times, 0.99)),
        ms(percentile(&append_times, 0.5)),
        ms(percentile(&append_times, 0.99))
    );
}

/// Appends to the audit log until SQLite has started its write-ahead log over from the start
/// at least once, as in a gateway that has been up for a while.
///
/// Until then every commit makes the log file longer, and flushing a longer file also flushes
/// its new length: on this kind of disk that doubles the flush (about 0.3 ms against 0.15 ms
/// measured here). Once the log has been checkpointed and started over, commits write over
/// the file in place for as long as the gateway runs. A fresh log would measure only a
/// gateway's first few thousand requests; `PHIGATE_BENCH_FRESH_AUDIT=1` measures those.
async fn age(audit: &Arc<AuditLog>, wal: &std::path::Path) {
    const APPENDERS: usize = 16;
    const MOST: usize = 200_000;
    let started = Instant::now();
    let (mut appended, mut largest, mut still) = (0, 0, 0);
    // The file stops growing once the log starts over; three looks in a row without growth,
    // each after another round of appends, are taken to mean it has.
    while still < 3 && appended < MOST {
        let mut round = Vec::new();
        for _ in 0..APPENDERS {
            let audit = audit.clone();
            round.push(tokio::spawn(async move {
                for _ in 0..32 {
                    audit
                        .append_async(read_event("bench-warm-up"))
                        .await
                        .unwrap();
                }
            }));
        }
        for task in round {
            task.await.unwrap();
        }
        appended += APPENDERS * 32;
        let size = std::fs::metadata(wal).map_or(0, |m| m.len());
        if size > largest {
            (largest, still) = (size, 0);
        } else {
            still += 1;
        }
    }
    println!(
        "audit log aged: {appended} entries until its write-ahead log ({:.0} MB) started over, {:.1} s",
        largest as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

/// A request naming `people` distinct patients, each with a distinct record number.
fn crowded(people: usize) -> phigate_llm::types::MessagesRequest {
    const FIRST: [&str; 10] = [
        "James", "Mary", "John", "Patricia", "Linda", "Robert", "Barbara", "Michael", "Susan",
        "David",
    ];
    let mut text = String::new();
    for i in 0..people {
        let (given, family) = (FIRST[i % 10], i / 10);
        text.push_str(&format!(
            "Patient {given} Okafor{family:05}, MRN {}, seen today.\n",
            10_000_000 + i * 7
        ));
    }
    serde_json::from_slice(&body(&text, false)).unwrap()
}

/// How de-identification scales with the number of distinct identifiers in one request: ten
/// times the identifiers should cost about ten times as much, not a hundred.
fn scaling() {
    let detector = Detector::new(DetectorConfig::default()).unwrap();
    let store = phigate_gateway::thinking::ThinkingStore::new(0);
    let mut figures = Vec::new();
    for people in [1_000, 10_000] {
        let mut request = crowded(people);
        let started = Instant::now();
        let scrubbed = phigate_gateway::scrub::scrub(&mut request, &detector, &store);
        figures.push((people, started.elapsed(), scrubbed.vault.len()));
    }
    let line: Vec<String> = figures
        .iter()
        .map(|(people, took, placeholders)| {
            format!(
                "{people} people ({placeholders} placeholders) {:.0}ms",
                ms(*took)
            )
        })
        .collect();
    println!(
        "scaling: de-identify one request with {}; ratio {:.1}",
        line.join(", "),
        figures[1].1.as_secs_f64() / figures[0].1.as_secs_f64()
    );
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Which parts run: `PHIGATE_BENCH_PARTS` is a comma-separated subset of `latency` (or one
/// half of it: `plain`, `streamed`), `breakdown`, `scaling`, `throughput` and `stages`
/// (default all), so a profiler can watch one part alone.
struct Parts {
    plain: bool,
    streamed: bool,
    breakdown: bool,
    scaling: bool,
    throughput: bool,
    stages: bool,
}

impl Parts {
    fn from_env() -> Parts {
        let chosen = std::env::var("PHIGATE_BENCH_PARTS").unwrap_or_default();
        let on = |part: &str| chosen.is_empty() || chosen.split(',').any(|p| p.trim() == part);
        Parts {
            plain: on("latency") || on("plain"),
            streamed: on("latency") || on("streamed"),
            breakdown: on("breakdown"),
            scaling: on("scaling"),
            throughput: on("throughput"),
            stages: on("stages"),
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let parts = Parts::from_env();
    let requests = env_or("PHIGATE_BENCH_REQUESTS", 300) as usize;
    let seconds = env_or("PHIGATE_BENCH_SECONDS", 5);
    let mock = MockUpstream::start().await.unwrap();
    // The stand-in upstream answers without keeping each body: a real provider is elsewhere,
    // and a mock that keeps every request of the run takes gigabytes from these two cores.
    mock.stop_recording();

    let dir = match std::env::var_os("PHIGATE_BENCH_AUDIT_DIR") {
        Some(parent) => tempfile::tempdir_in(parent).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let checkpoint = CheckpointSigner::load_or_create(&dir.path().join("audit.pk8")).unwrap();
    let audit =
        Arc::new(AuditLog::open(&dir.path().join("audit.db"), checkpoint, "bench").unwrap());
    if std::env::var_os("PHIGATE_BENCH_FRESH_AUDIT").is_none() {
        age(&audit, &dir.path().join("audit.db-wal")).await;
    }
    let signer =
        TokenSigner::from_pkcs8(&TokenSigner::generate_pkcs8().unwrap(), "phigate").unwrap();
    let mut upstream = AnthropicConfig::new(ApiKey::new("sk-ant-bench"));
    upstream.base_url = mock.base_url();
    upstream.max_retries = 0;
    let mut config = GatewayConfig::new("bench");
    config.provider_baa = true;
    // The bench measures the gateway's own work, not its token buckets: one principal sends
    // thousands of requests a second here, which the default limits would refuse.
    let open = RateLimit {
        burst: u32::MAX,
        per_second: 1e9,
    };
    config.rate_limits = RateLimits {
        principal: open,
        client: open,
        tenant: open,
    };
    let gateway = Gateway::new(
        config,
        audit.clone(),
        Arc::new(Detector::new(DetectorConfig::default()).unwrap()),
        Arc::new(AnthropicProvider::new(upstream).unwrap()),
        signer.verifier("phigate"),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // The product's own accept loop (`phigate serve` uses it): header and body deadlines,
    // metrics middleware, TCP_NODELAY.
    tokio::spawn(phigate_gateway::serve(
        listener,
        Arc::new(gateway),
        std::future::pending(),
    ));

    let principal = Principal {
        user_id: "bench".into(),
        tenant: "bench".into(),
        role: Role::Service,
        scopes: scopes(Role::Service)
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = signer
        .issue(&principal, "phigate", MAX_ACCESS_TOKEN_TTL, now)
        .unwrap();
    let direct = Target {
        url: mock.base_url(),
        key: "sk-ant-bench".into(),
    };
    let gated = Arc::new(Target { url, key: token });

    let prompt = clinical_prompt();
    let client = reqwest::Client::new();
    println!(
        "phigate-gateway overhead, {} B prompt, {requests} requests each, loopback, audit on",
        prompt.len()
    );
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}",
        "", "direct50", "direct99", "gate50", "gate99", "added p50", "added p99"
    );
    for stream in [false, true] {
        if !(if stream { parts.streamed } else { parts.plain }) {
            continue;
        }
        let body = body(&prompt, stream);
        let (d_first, d) = latencies(&client, &direct, &body, requests).await;
        let (g_first, g) = latencies(&client, &gated, &body, requests).await;
        let mut rows = vec![(
            if stream {
                "streaming, whole"
            } else {
                "non-streaming"
            },
            d,
            g,
        )];
        if stream {
            // What a streaming caller waits for before the answer starts: the gateway's own
            // work all comes before the first event (the mock's pacing of the rest is not it).
            rows.insert(0, ("streaming, first event", d_first, g_first));
        }
        for (label, d, g) in rows {
            let (d50, d99, g50, g99) = (
                percentile(&d, 0.5),
                percentile(&d, 0.99),
                percentile(&g, 0.5),
                percentile(&g, 0.99),
            );
            println!(
                "{:<22} {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>9.2}ms {:>9.2}ms",
                label,
                ms(d50),
                ms(d99),
                ms(g50),
                ms(g99),
                ms(g50) - ms(d50),
                ms(g99) - ms(d99)
            );
        }
    }
    if parts.breakdown {
        breakdown(&prompt, &audit, requests);
    }
    if parts.scaling {
        scaling();
    }
    // Before the throughput part, which leaves many idle connections and blocking threads
    // behind it: on a process like that each stage takes longer than in the latency part.
    if parts.stages {
        stage_table(&client, &gated, &prompt, requests).await;
    }
    if parts.throughput {
        throughputs(Arc::new(direct), &gated, &prompt, seconds, &audit).await;
    }
}

/// Throughput at each level of requests in flight, direct and through the gateway.
async fn throughputs(
    direct: Arc<Target>,
    gated: &Arc<Target>,
    prompt: &str,
    seconds: u64,
    audit: &AuditLog,
) {
    let body = body(prompt, false);
    for concurrency in concurrency_levels() {
        let (direct_rps, direct_cpu) =
            throughput(direct.clone(), body.clone(), seconds, concurrency).await;
        let (gated_rps, gated_cpu) =
            throughput(Arc::clone(gated), body.clone(), seconds, concurrency).await;
        println!(
            "throughput, {concurrency} concurrent, {seconds} s: direct {direct_rps:.0} req/s, through the gateway {gated_rps:.0} req/s (audit entries: {})",
            audit.len().unwrap()
        );
        if let Some((direct_cpu, gated_cpu)) = direct_cpu.zip(gated_cpu) {
            // The ceiling two fully busy cores would give, at this CPU time per request.
            println!(
                "  CPU per request (process: client, upstream and gateway): direct {:.0}us, through the gateway {:.0}us, added {:.0}us; cores busy through the gateway {:.2}; two busy cores' ceiling {:.0} req/s",
                direct_cpu.as_secs_f64() * 1e6,
                gated_cpu.as_secs_f64() * 1e6,
                (gated_cpu.as_secs_f64() - direct_cpu.as_secs_f64()) * 1e6,
                gated_rps * gated_cpu.as_secs_f64(),
                2.0 / gated_cpu.as_secs_f64()
            );
        }
    }
}

/// Where the time of a non-streaming request goes inside the gateway: the median of each of
/// the gateway's spans over `n` sequential requests (see `stages.rs`).
async fn stage_table(client: &reqwest::Client, gated: &Target, prompt: &str, n: usize) {
    use tracing_subscriber::layer::SubscriberExt;

    let timings = stages::Timings::default();
    let on = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let timer = stages::StageTimer {
        timings: timings.clone(),
        on: on.clone(),
    };
    // Installed for the rest of the process, but switched off below, after which the
    // gateway's spans are not created at all.
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(timer)).unwrap();
    let body = body(prompt, false);
    for _ in 0..n / 10 {
        once(client, gated, &body).await;
    }
    timings.lock().unwrap().clear();
    for _ in 0..n {
        once(client, gated, &body).await;
    }
    on.store(false, Ordering::Relaxed);
    let timings = std::mem::take(&mut *timings.lock().unwrap());
    println!(
        "stages of a non-streaming request inside the gateway, {n} sequential requests (span medians; nested spans overlap):"
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8}",
        "span", "wall", "busy", "per req"
    );
    // In the order a request meets them; any other after.
    const ORDER: [&str; 9] = [
        "http.request",
        "gateway.authenticate",
        "gateway.read",
        "gateway.deidentify",
        "gateway.egress",
        "gateway.audit (disclosure)",
        "gateway.upstream",
        "gateway.restore",
        "gateway.audit (response)",
    ];
    let mut rows: Vec<_> = timings.into_iter().collect();
    rows.sort_by_key(|(label, _)| ORDER.iter().position(|o| o == label).unwrap_or(ORDER.len()));
    for (label, mut times) in rows {
        let count = times.len();
        let (mut wall, mut busy): (Vec<_>, Vec<_>) = times.drain(..).unzip();
        wall.sort();
        busy.sort();
        println!(
            "{label:<34} {:>7.3}ms {:>7.3}ms {:>8.1}",
            ms(percentile(&wall, 0.5)),
            ms(percentile(&busy, 0.5)),
            count as f64 / n as f64
        );
    }
}

/// The throughput part's levels of requests in flight (see [`CONCURRENCY`]).
fn concurrency_levels() -> Vec<usize> {
    match std::env::var("PHIGATE_BENCH_CONCURRENCY") {
        Ok(list) => list
            .split(',')
            .map(|level| level.trim().parse().unwrap())
            .collect(),
        Err(_) => CONCURRENCY.to_vec(),
    }
}
