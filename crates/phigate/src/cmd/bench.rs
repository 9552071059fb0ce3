//! `phigate bench load`: a bounded load generator for a gateway on this machine.
//!
//! It sends at most `--requests` requests, `--concurrency` at a time, and stops starting new
//! ones after `--duration` seconds, so a run can never turn into an open-ended flood. It only
//! talks to loopback addresses: it is a measuring tool, not something to aim at other hosts.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::LoadArgs;
use crate::output::Out;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// A 2xx status and a complete body.
    Ok,
    /// Another status (a `429` means the gateway's rate limits refused the load).
    Status(u16),
    /// No answer: the connection failed, timed out, or the body broke off.
    NoAnswer,
}

impl Outcome {
    fn label(self) -> String {
        match self {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Status(code) => code.to_string(),
            Outcome::NoAnswer => "no_answer".to_owned(),
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    /// Requests sent (successes plus failures).
    pub requests: u64,
    /// Requests answered with a 2xx status and a complete body.
    pub ok: u64,
    /// Requests that failed: another status, or no answer.
    pub failed: u64,
    /// The failures by how they ended, so a run refused by rate limits says so.
    pub failures: BTreeMap<Outcome, u64>,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Latency percentiles of all requests, in order: p50, p90, p99, max.
    pub percentiles: [Duration; 4],
}

impl Summary {
    /// Summarises per-request latencies and outcomes.
    pub(crate) fn from_samples(mut samples: Vec<(Duration, Outcome)>, elapsed: Duration) -> Self {
        samples.sort_by_key(|(latency, _)| *latency);
        let mut failures = BTreeMap::new();
        for (_, outcome) in samples.iter().filter(|(_, o)| *o != Outcome::Ok) {
            *failures.entry(*outcome).or_insert(0) += 1;
        }
        let ok = samples.iter().filter(|(_, o)| *o == Outcome::Ok).count() as u64;
        let requests = samples.len() as u64;
        let at = |p: f64| {
            let last = samples.len().saturating_sub(1);
            let index = ((last as f64) * p).round() as usize;
            samples.get(index.min(last)).map_or(Duration::ZERO, |s| s.0)
        };
        Self {
            requests,
            ok,
            failed: requests - ok,
            failures,
            elapsed,
            percentiles: [at(0.50), at(0.90), at(0.99), at(1.0)],
        }
    }

    /// Requests per second over the run.
    pub(crate) fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The failures as `STATUS:COUNT` pairs joined by commas (`429:1940,no_answer:3`), or
    /// `none`.
    pub(crate) fn failure_breakdown(&self) -> String {
        if self.failures.is_empty() {
            return "none".to_owned();
        }
        self.failures
            .iter()
            .map(|(outcome, count)| format!("{}:{count}", outcome.label()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The closing `load:` line: `key=value` pairs for scripts.
    pub(crate) fn line(&self) -> String {
        let [p50, p90, p99, max] = self.percentiles.map(ms);
        format!(
            "load: requests={} ok={} failed={} seconds={:.3} rps={:.1} p50_ms={p50:.3} \
             p90_ms={p90:.3} p99_ms={p99:.3} max_ms={max:.3} failures={}",
            self.requests,
            self.ok,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.failure_breakdown()
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Accepts `http(s)://` URLs whose host is `localhost` or a loopback address.
pub(crate) fn loopback_url(url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).context("--url is not a URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("--url must be http or https");
    }
    let host = parsed.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "--url must be on loopback (127.0.0.1, ::1 or localhost): load is only generated locally"
        );
    }
    Ok(parsed)
}

/// Runs `phigate bench load`.
pub fn load(args: &LoadArgs) -> Result<ExitCode> {
    let base = loopback_url(&args.url)?;
    if args.concurrency == 0 || args.requests == 0 {
        bail!("--requests and --concurrency must be at least 1");
    }
    let target = base
        .join("v1/messages")
        .context("--url cannot take a path")?;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 256,
        "messages": [{"role": "user", "content": args.prompt}]});
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let summary = runtime.block_on(run_load(args, target, body))?;
    let [p50, p90, p99, max] = summary.percentiles.map(ms);
    let mut out = Out::new();
    out.line(format!(
        "{} requests in {:.2} s ({} ok, {} failed), {} in flight: {:.1} requests/s",
        summary.requests,
        summary.elapsed.as_secs_f64(),
        summary.ok,
        summary.failed,
        args.concurrency,
        summary.rate()
    ));
    out.line(format!(
        "latency p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
    ));
    if summary.failed > 0 {
        out.line(format!(
            "failures by status: {}",
            summary.failure_breakdown()
        ));
    }
    out.line(summary.line());
    out.flush();
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_load(
    args: &LoadArgs,
    target: reqwest::Url,
    body: serde_json::Value,
) -> Result<Summary> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?;
    let claimed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let shared = Arc::new((client, target, body, args.token.clone()));
    let workers: Vec<_> = (0..args.concurrency.min(args.requests))
        .map(|_| {
            let (shared, claimed, limit) =
                (Arc::clone(&shared), Arc::clone(&claimed), args.requests);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < deadline && claimed.fetch_add(1, Ordering::Relaxed) < limit {
                    let (client, target, body, token) = &*shared;
                    samples.push(one(client, target, body, token).await);
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await?);
    }
    Ok(Summary::from_samples(samples, started.elapsed()))
}

/// One request; its latency (to the end of the body) and how it ended.
async fn one(
    client: &reqwest::Client,
    target: &reqwest::Url,
    body: &serde_json::Value,
    token: &str,
) -> (Duration, Outcome) {
    let started = Instant::now();
    let sent = client
        .post(target.clone())
        .bearer_auth(token)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await;
    let outcome = match sent {
        Ok(response) if response.status().is_success() => match response.bytes().await {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::NoAnswer,
        },
        Ok(response) => {
            let status = response.status().as_u16();
            // Read the refusal so the connection can be reused; its content is not shown.
            let _ = response.bytes().await;
            Outcome::Status(status)
        }
        Err(_) => Outcome::NoAnswer,
    };
    (started.elapsed(), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_samples(values: &[u64], outcome: Outcome) -> Vec<(Duration, Outcome)> {
        values
            .iter()
            .map(|v| (Duration::from_millis(*v), outcome))
            .collect()
    }

    #[test]
    fn a_summary_counts_every_request_and_orders_its_percentiles() {
        let mut samples = ms_samples(&(1..=100).rev().collect::<Vec<_>>(), Outcome::Ok);
        samples.extend(ms_samples(&[500], Outcome::Status(429)));
        samples.extend(ms_samples(&[700], Outcome::NoAnswer));
        let summary = Summary::from_samples(samples, Duration::from_secs(2));
        assert_eq!(
            (summary.requests, summary.ok, summary.failed),
            (102, 100, 2)
        );
        let [p50, p90, p99, max] = summary.percentiles;
        assert!(
            p50 <= p90 && p90 <= p99 && p99 <= max,
            "{:?}",
            summary.percentiles
        );
        assert_eq!(max, Duration::from_millis(700));
        assert_eq!(p50, Duration::from_millis(52));
        assert!((summary.rate() - 51.0).abs() < 1e-9);
        assert!(
            summary
                .line()
                .starts_with("load: requests=102 ok=100 failed=2 ")
        );
        assert_eq!(summary.failure_breakdown(), "429:1,no_answer:1");
        assert!(summary.line().ends_with(" failures=429:1,no_answer:1"));
    }

    #[test]
    fn a_run_without_failures_says_none() {
        let summary =
            Summary::from_samples(ms_samples(&[1, 2], Outcome::Ok), Duration::from_secs(1));
        assert_eq!(summary.failure_breakdown(), "none");
        assert!(summary.failures.is_empty());
    }

    #[test]
    fn only_loopback_urls_are_accepted() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "https://[::1]:443/",
        ] {
            assert!(loopback_url(url).is_ok(), "{url}");
        }
        for url in [
            "http://10.0.0.1:8080",
            "http://example.com",
            "ftp://127.0.0.1/",
            "nonsense",
        ] {
            assert!(loopback_url(url).is_err(), "{url}");
        }
    }
}
