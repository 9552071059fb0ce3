//! Incidents end to end on a running `phigate serve`: a burst of failed sign-ins on the OAuth
//! sign-in page and one clinician reading many imported Synthea patients open the expected
//! incidents; a webhook receiver on loopback gets an alert for each, without PHI; auditors list
//! and acknowledge them over HTTP; `phigate incidents report` gives the breach assessment.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;
mod ops;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = common::phigate(dir, args);
    assert!(
        output.status.success(),
        "phigate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn token(dir: &Path, role: &str, subject: &str) -> String {
    run_ok(dir, &["token", "--role", role, "--subject", subject])
        .trim()
        .to_owned()
}

/// One failed sign-in on the authorization page: fetch the form, post a wrong password.
fn fail_sign_in(addr: &str, client_id: &str, username: &str) -> u16 {
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let query = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=\
         http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_challenge={challenge}&code_challenge_method=S256"
    );
    let page = ops::http(addr, "GET", &query, &[], "");
    assert_eq!(page.status, 200, "{}", page.body);
    let hidden = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.body.find(&marker).unwrap() + marker.len();
        page.body[start..].split('"').next().unwrap().to_owned()
    };
    let (request, csrf) = (hidden("request"), hidden("csrf"));
    let form = format!("request={request}&csrf={csrf}&username={username}&password=wrong-password");
    let cookie = format!("phigate_csrf={csrf}");
    let answer = ops::http(
        addr,
        "POST",
        "/oauth/authorize",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        &form,
    );
    answer.status
}

fn incidents(dir: &Path) -> Vec<Value> {
    let listed: Value =
        serde_json::from_str(&run_ok(dir, &["incidents", "list", "--json"])).unwrap();
    listed["incidents"].as_array().unwrap().clone()
}

fn find<'a>(incidents: &'a [Value], rule: &str) -> Option<&'a Value> {
    incidents.iter().find(|i| i["rule"] == rule)
}

#[test]
fn failed_sign_ins_and_a_bulk_patient_read_open_incidents_and_call_the_webhook() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);
    run_ok(dir, &["users", "add", "dr.lee", "--role", "clinician"]);
    let client = run_ok(
        dir,
        &[
            "clients",
            "add",
            "portal",
            "--method",
            "none",
            "--role",
            "clinician",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
        ],
    );
    let client_id = client
        .lines()
        .find_map(|l| l.strip_prefix("client_id"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let bundles: Vec<_> = common::synthea_bundles().into_iter().take(6).collect();
    let mut args = vec!["import".to_owned()];
    args.extend(bundles.iter().map(|b| b.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(dir, &args);

    let receiver = ops::Receiver::start();
    let config = ops::write_config(
        dir,
        &format!(
            "[incidents]\nfailed_sign_ins_per_user = 3\nfailed_sign_ins_overall = 6\n\
             bulk_read_patients = 5\nwebhook_url = \"{}\"\n\
             webhook_timeout_secs = 2\nwebhook_retries = 1\n",
            receiver.url
        ),
    );
    let log = dir.join("serve.log");
    let server = ops::serve(dir, &config, &log, &[]);

    // Four wrong passwords for one account (the last ones throttled), two unknown accounts.
    for _ in 0..4 {
        assert_eq!(fail_sign_in(&server.addr, &client_id, "dr.lee"), 401);
    }
    for name in ["nobody.a", "nobody.b"] {
        assert_eq!(fail_sign_in(&server.addr, &client_id, name), 401);
    }

    // One clinician reads six patients through the clinical-note task.
    let clinician = token(dir, "clinician", "dr-bulk");
    let bearer = format!("Bearer {clinician}");
    for bundle in &bundles {
        let id = common::patient_of(bundle)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let input = "[doctor] How is the cough?\n[patient] Better since last week.";
        let body = serde_json::json!({"patient": id, "input": input}).to_string();
        let answer = ops::http(
            &server.addr,
            "POST",
            "/v1/tasks/clinical-note",
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            &body,
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    let rules = [
        "failed_sign_ins",
        "failed_sign_ins_overall",
        "bulk_patient_read",
    ];
    let opened = ops::eventually(Duration::from_secs(15), || {
        let found = incidents(dir);
        rules
            .iter()
            .all(|rule| find(&found, rule).is_some())
            .then_some(found)
    })
    .unwrap_or_else(|| panic!("incidents: {:#?}", incidents(dir)));
    assert_eq!(
        find(&opened, "failed_sign_ins").unwrap()["severity"],
        "medium"
    );
    assert_eq!(
        find(&opened, "failed_sign_ins_overall").unwrap()["severity"],
        "high"
    );
    let bulk = find(&opened, "bulk_patient_read").unwrap();
    assert_eq!(bulk["severity"], "high");
    assert_eq!(bulk["status"], "open");
    assert!(bulk["patients"].as_u64().unwrap() >= 5, "{bulk}");
    assert!(bulk["summary"].as_str().unwrap().contains("dr-bulk"));

    // The webhook got one alert per incident opened, with ids and counts and no PHI.
    let alerts = ops::eventually(Duration::from_secs(15), || {
        let bodies = ops::Receiver::bodies(&receiver);
        (bodies.len() >= rules.len()).then_some(bodies)
    })
    .expect("the webhook receives the alerts");
    let alerted: Vec<String> = alerts
        .iter()
        .map(|body| {
            let alert: Value = serde_json::from_str(body).unwrap();
            assert_eq!(alert["event"], "incident.opened");
            alert["incident"]["rule"].as_str().unwrap().to_owned()
        })
        .collect();
    for rule in rules {
        assert!(alerted.iter().any(|r| r == rule), "{alerted:?}");
    }
    let everything = alerts.join("\n").to_lowercase();
    for bundle in &bundles {
        let patient = common::patient_of(bundle);
        let family = patient["name"][0]["family"]
            .as_str()
            .unwrap()
            .to_lowercase();
        let id = patient["id"].as_str().unwrap().to_lowercase();
        assert!(
            !everything.contains(&family),
            "a patient's name is in an alert"
        );
        assert!(!everything.contains(&id), "a patient's id is in an alert");
    }

    // Auditors and administrators see them over HTTP in the console's shape; others do not.
    let auditor = format!("Bearer {}", token(dir, "auditor", "aud-1"));
    let listed = ops::http(
        &server.addr,
        "GET",
        "/v1/incidents",
        &[("Authorization", &auditor)],
        "",
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let listed = listed.json();
    let first = &listed["incidents"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "count",
            "id",
            "last_seen_at",
            "opened_at",
            "patients",
            "rule",
            "severity",
            "status",
            "summary"
        ]
    );
    assert!(
        time::OffsetDateTime::parse(
            first["opened_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    let denied = ops::http(
        &server.addr,
        "GET",
        "/v1/incidents",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(denied.status, 403);

    let admin = format!("Bearer {}", token(dir, "admin", "admin-1"));
    let id = bulk["id"].as_str().unwrap();
    let acked = ops::http(
        &server.addr,
        "POST",
        &format!("/v1/incidents/{id}/ack"),
        &[("Authorization", &admin)],
        "",
    );
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert_eq!(acked.json()["status"], "acknowledged");
    let missing = ops::http(
        &server.addr,
        "POST",
        "/v1/incidents/inc_nope/ack",
        &[("Authorization", &admin)],
        "",
    );
    assert_eq!(missing.status, 404);

    // The breach assessment: patients, discovery date and the 60-day deadline.
    let report: Value =
        serde_json::from_str(&run_ok(dir, &["incidents", "report", id, "--json"])).unwrap();
    assert_eq!(report["patients_affected"], bulk["patients"]);
    let discovered = time::OffsetDateTime::parse(
        report["discovered_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let deadline = time::OffsetDateTime::parse(
        report["notification_deadline"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(deadline - discovered, time::Duration::days(60));
    let markdown = run_ok(dir, &["incidents", "report", id]);
    assert!(markdown.contains("164.404(b)"));
    assert!(markdown.contains("acknowledged"));
    let shown = run_ok(dir, &["incidents", "show", id]);
    assert!(shown.contains("by admin-1"));

    // Opening and acknowledging were audited, and the log verifies.
    let audited = run_ok(dir, &["audit", "search", "--action", "incident"]);
    assert!(audited.lines().count() > rules.len(), "{audited}");
    run_ok(dir, &["audit", "verify"]);
}

#[test]
fn an_audit_store_failure_opens_a_critical_incident_and_readyz_names_the_part() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    run_ok(dir, &["init"]);
    let receiver = ops::Receiver::start();
    let config = ops::write_config(
        dir,
        &format!("[incidents]\nwebhook_url = \"{}\"\n", receiver.url),
    );
    let server = ops::serve(dir, &config, &dir.join("serve.log"), &[]);
    // Tokens first: every command opens the audit log, which would recreate its table.
    let auditor = format!("Bearer {}", token(dir, "auditor", "aud-1"));

    let ready = ops::http(&server.addr, "GET", "/readyz", &[], "");
    assert_eq!(ready.status, 200, "{}", ready.body);
    let checks = &ready.json()["checks"];
    for part in ["database", "audit", "kms"] {
        assert_eq!(checks[part], "ok", "{part}");
    }

    // Someone with the file removes the log's table under the running server.
    rusqlite::Connection::open(dir.join("audit.db"))
        .unwrap()
        .execute_batch("DROP TABLE audit_log;")
        .unwrap();
    let ready = ops::http(&server.addr, "GET", "/readyz", &[], "");
    assert_eq!(ready.status, 503);
    let ready = ready.json();
    assert_eq!(ready["reason"], "audit unavailable");
    assert_eq!(ready["checks"]["database"], "ok");

    // A refused request must be audited; the append fails, and the rules hear of it.
    let refused = ops::http(
        &server.addr,
        "GET",
        "/v1/models",
        &[("Authorization", "Bearer forged.token.value")],
        "",
    );
    assert_eq!(refused.status, 503, "{}", refused.body);
    let listed = ops::eventually(Duration::from_secs(10), || {
        let listed = ops::http(
            &server.addr,
            "GET",
            "/v1/incidents?status=open",
            &[("Authorization", &auditor)],
            "",
        );
        assert_eq!(listed.status, 200, "{}", listed.body);
        let incidents = listed.json()["incidents"].as_array().unwrap().clone();
        find(&incidents, "audit_store_failure").cloned()
    })
    .expect("an audit store failure opens an incident");
    assert_eq!(listed["severity"], "critical");
    let alerted = ops::eventually(Duration::from_secs(10), || {
        receiver
            .bodies()
            .into_iter()
            .find(|b| b.contains("audit_store_failure"))
    });
    assert!(alerted.is_some(), "the webhook hears of it");
}
