//! Two `phigate serve` replicas on one PostgreSQL database (`127.0.0.1:5432`, trust
//! authentication, database `test`; a store schema and an audit schema of this test's own):
//! tokens issued by one are used on the other under concurrent load, a revocation on one is
//! honoured by the other, a rate limit is shared, and the audit log they both wrote verifies as
//! one order holding exactly one entry for each audited step of each request.
//!
//! Skipped, saying so, where no PostgreSQL answers, unless `POSTGRES_TESTS_REQUIRED` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests; the skip and the measured figures must be visible"
)]

mod pg;

use std::path::Path;
use std::time::{Duration, Instant};

use pg::{Scratch, http, phigate, serve};

/// The per-principal burst on `/v1/*`, with a refill too slow to matter during the test.
const PRINCIPAL_BURST: usize = 30;

/// The rate limits both replicas run with.
fn rate_limits() -> String {
    format!(
        "[rate_limit]
principal_burst = {PRINCIPAL_BURST}
principal_per_second = 0.001
client_burst = 10000
client_per_second = 1000.0
tenant_burst = 10000
tenant_per_second = 1000.0
"
    )
}

struct ClientCredentials {
    id: String,
    secret: String,
}

fn add_client(config: &Path, name: &str) -> ClientCredentials {
    let added = phigate(
        config,
        &["clients", "add", name, "--method", "client_secret_post"],
    );
    assert!(added.status.success(), "{added:?}");
    let added = String::from_utf8(added.stdout).unwrap();
    let field = |name: &str| {
        added
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    ClientCredentials {
        id: field("client_id"),
        secret: field("client_secret"),
    }
}

const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\n";

fn token(addr: &str, client: &ClientCredentials) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.id, client.secret
    );
    let (status, _, body) = http(addr, "POST", "/oauth/token", FORM, &form);
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

fn message(addr: &str, token: &str, n: usize) -> (u16, String, String) {
    let body = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{{"role":"user","content":"Summarise request {n} in one line."}}]}}"#
    );
    let headers = format!(
        "{}Content-Type: application/json\r\nanthropic-version: 2023-06-01\r\n",
        bearer(token)
    );
    http(addr, "POST", "/v1/messages", &headers, &body)
}

#[test]
fn two_replicas_on_one_postgres_share_tokens_revocations_limits_and_one_audit_order() {
    let Some(scratch) = Scratch::new("replicas") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = scratch.write_config(dir.path(), &rate_limits());
    let init = phigate(&config, &["init"]);
    assert!(init.status.success(), "{init:?}");
    let load = add_client(&config, "load");
    let revoked = add_client(&config, "revoked");
    let limited = add_client(&config, "limited");
    let before = scratch.audit_entries().len();

    // Both replicas run on the same configuration: one store schema, one audit schema, one set
    // of key files.
    let replicas = [serve(&config), serve(&config)];
    let addrs: Vec<String> = replicas.iter().map(|r| r.addr.clone()).collect();

    // 1. Concurrent load: each worker takes a token from one replica and spends it on the other.
    const WORKERS: usize = 8;
    const MESSAGES: usize = 3;
    let started = Instant::now();
    let request_ids: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (issuer, user) = (&addrs[w % 2], &addrs[(w + 1) % 2]);
                let load = &load;
                scope.spawn(move || {
                    let token = token(issuer, load);
                    (0..MESSAGES)
                        .map(|m| {
                            let (status, id, body) = message(user, &token, w * 10 + m);
                            assert_eq!(status, 200, "{body}");
                            assert!(!id.is_empty(), "no request-id");
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    eprintln!(
        "load: {} tokens and {} messages across two replicas in {:?} (machine shared with other builds)",
        WORKERS,
        request_ids.len(),
        started.elapsed()
    );

    // 2. A token revoked on replica 0 is refused by replica 1.
    let (a, b) = (&addrs[0], &addrs[1]);
    let doomed = token(a, &revoked);
    let (status, _, body) = http(b, "GET", "/v1/models", &bearer(&doomed), "");
    assert_eq!(status, 200, "{body}");
    let form = format!(
        "token={doomed}&client_id={}&client_secret={}",
        revoked.id, revoked.secret
    );
    let (status, _, body) = http(a, "POST", "/oauth/revoke", FORM, &form);
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = http(a, "GET", "/v1/models", &bearer(&doomed), "");
    assert_eq!(status, 401, "the revoking replica still accepts the token");
    let revoked_at = Instant::now();
    let honoured = loop {
        let (status, _, _) = http(b, "GET", "/v1/models", &bearer(&doomed), "");
        match status {
            401 => break revoked_at.elapsed(),
            200 if revoked_at.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(250));
            }
            other => panic!("the other replica answered {other} for a revoked token"),
        }
    };
    eprintln!("revocation honoured by the other replica after {honoured:?}");

    // 3. One principal's burst is spent across both replicas together, not once per replica.
    let limited_token = token(b, &limited);
    let statuses: Vec<(usize, u16)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let addrs = &addrs;
                let limited_token = &limited_token;
                scope.spawn(move || {
                    (0..8)
                        .map(|i| {
                            let replica = (w + i) % 2;
                            let (status, _, _) = http(
                                &addrs[replica],
                                "GET",
                                "/v1/models",
                                &bearer(limited_token),
                                "",
                            );
                            (replica, status)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let allowed = statuses.iter().filter(|(_, s)| *s == 200).count();
    let limited_count = statuses.iter().filter(|(_, s)| *s == 429).count();
    assert_eq!(allowed, PRINCIPAL_BURST, "{statuses:?}");
    assert_eq!(limited_count, 64 - PRINCIPAL_BURST, "{statuses:?}");
    for replica in 0..2 {
        assert!(
            statuses.iter().any(|&(r, s)| r == replica && s == 200),
            "replica {replica} served nothing"
        );
        assert!(
            statuses.iter().any(|&(r, s)| r == replica && s == 429),
            "replica {replica} refused nothing"
        );
    }
    drop(replicas);

    // 4. The log both replicas wrote is one verified order, with nothing lost.
    let verify = phigate(&config, &["audit", "verify"]);
    let report = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(verify.status.success(), "{report}");
    let entries = scratch.audit_entries();
    assert!(
        report.contains(&format!("OK: {} entries,", entries.len())),
        "{report}"
    );
    let seqs: Vec<i64> = entries.iter().map(|(seq, _, _)| *seq).collect();
    let first = seqs[0];
    assert!(
        seqs.iter().enumerate().all(|(i, s)| *s == first + i as i64),
        "the sequence has a gap or a fork"
    );
    let new = &entries[before..];
    let count = |action: &str| new.iter().filter(|(_, a, _)| a == action).count();
    // Tokens: one per load worker, one for the revoked client, one for the limited client.
    assert_eq!(count("token_issued"), WORKERS + 2);
    assert_eq!(count("disclosure"), WORKERS * MESSAGES);
    assert_eq!(count("response"), WORKERS * MESSAGES);
    // The revoked token refused once by each replica; rate-limited requests are not audited.
    assert_eq!(count("denial"), 2);
    assert_eq!(new.len(), WORKERS + 2 + 2 * WORKERS * MESSAGES + 2);
    for id in &request_ids {
        let quoted = format!("\"{id}\"");
        let of_request: Vec<&str> = new
            .iter()
            .filter(|(_, _, body)| body.windows(quoted.len()).any(|w| w == quoted.as_bytes()))
            .map(|(_, action, _)| action.as_str())
            .collect();
        assert_eq!(of_request, ["disclosure", "response"], "request {id}");
    }
}
