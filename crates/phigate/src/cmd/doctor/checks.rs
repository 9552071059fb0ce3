//! Doctor's own checks: configuration mistakes, the TLS certificate, the components answering,
//! and clock skew.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;

use super::cert::not_after;
use super::{Check, Verdict};
use crate::config::Config;
use crate::datadir::{self, Layout};

/// Configuration that parses and validates but is still a mistake.
pub fn configuration(config: &Config) -> Vec<Check> {
    let mut found = Vec::new();
    let provider = &config.provider;
    found.push(if provider.kind == "anthropic" {
        let set = std::env::var(&provider.api_key_env).is_ok_and(|v| !v.trim().is_empty());
        if set {
            Check::new(
                "provider-api-key",
                Verdict::Pass,
                format!("{} is set", provider.api_key_env),
            )
        } else {
            Check::new(
                "provider-api-key",
                Verdict::Fail,
                format!(
                    "provider.kind is \"anthropic\" but {} is not set: every request would fail",
                    provider.api_key_env
                ),
            )
        }
    } else {
        Check::new(
            "provider-api-key",
            Verdict::Skip,
            "the echo provider needs no key",
        )
    });

    let metrics = &config.metrics.listen;
    found.push(if metrics.is_empty() {
        Check::new("metrics-listen", Verdict::Skip, "no metrics endpoint")
    } else if same_port(metrics, &config.server.listen) {
        Check::new(
            "metrics-listen",
            Verdict::Fail,
            format!("metrics.listen {metrics} is the gateway's own address"),
        )
    } else {
        Check::new(
            "metrics-listen",
            Verdict::Pass,
            format!("metrics on {metrics}"),
        )
    });

    let webhook = &config.incidents.webhook_url;
    found.push(if webhook.is_empty() {
        Check::new(
            "incident-webhook",
            Verdict::Warn,
            "incidents.webhook_url is empty: incidents are stored but nobody is alerted",
        )
    } else if webhook.starts_with("http://") && !is_loopback_url(webhook) {
        Check::new(
            "incident-webhook",
            Verdict::Warn,
            "the incident webhook is plain HTTP off this host; alerts carry ids and counts only, \
             but use https",
        )
    } else {
        Check::new(
            "incident-webhook",
            Verdict::Pass,
            "alerts go to the configured webhook",
        )
    });

    found.push(otlp_export(config));
    found.push(match config.log.level.as_str() {
        "debug" | "trace" => Check::new(
            "log-level",
            Verdict::Warn,
            format!(
                "log.level is {}: verbose for production (logs carry no PHI either way)",
                config.log.level
            ),
        ),
        level => Check::new("log-level", Verdict::Pass, format!("log.level is {level}")),
    });
    found
}

/// Where spans are exported, under which service name and at what sampling ratio.
fn otlp_export(config: &Config) -> Check {
    let telemetry = &config.telemetry;
    if !telemetry.enabled() {
        return Check::new("otlp-export", Verdict::Skip, "no OTLP trace export");
    }
    let evidence = format!(
        "spans to {} as service {}, sampling ratio {}, export timeout {}s",
        telemetry.traces_url(),
        telemetry.service_name,
        telemetry.sample_ratio,
        telemetry.export_timeout_secs
    );
    if telemetry.sample_ratio == 0.0 {
        Check::new(
            "otlp-export",
            Verdict::Warn,
            format!("{evidence}: a ratio of 0 exports nothing"),
        )
    } else {
        Check::new("otlp-export", Verdict::Pass, evidence)
    }
}

fn same_port(a: &str, b: &str) -> bool {
    let parse = |s: &str| s.parse::<std::net::SocketAddr>().ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a.port() == b.port() && a.port() != 0,
        _ => a == b,
    }
}

fn is_loopback_url(url: &str) -> bool {
    ["http://127.", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| url.starts_with(prefix))
}

/// The served certificate's expiry and its key file's permissions, when TLS is on.
pub fn tls_certificate(config: &Config, warn_days: u32) -> Vec<Check> {
    let tls = &config.server.tls;
    if !tls.enabled {
        return vec![Check::new(
            "tls-certificate",
            Verdict::Skip,
            "TLS is off; plain HTTP on loopback only",
        )];
    }
    let layout = Layout::new(&config.data_dir);
    let or_default = |path: &PathBuf, default: PathBuf| {
        if path.as_os_str().is_empty() {
            default
        } else {
            path.clone()
        }
    };
    let cert_file = or_default(&tls.cert_file, layout.tls_cert());
    let key_file = or_default(&tls.key_file, layout.tls_key());
    vec![
        certificate_expiry(&cert_file, warn_days),
        key_permissions(&key_file),
    ]
}

fn certificate_expiry(path: &Path, warn_days: u32) -> Check {
    let name = "tls-certificate";
    let pem = match fs::read(path) {
        Ok(pem) => pem,
        Err(err) => {
            return Check::new(
                name,
                Verdict::Fail,
                format!("cannot read {}: {err}", path.display()),
            );
        }
    };
    let expiry = CertificateDer::pem_slice_iter(&pem)
        .next()
        .and_then(Result::ok)
        .and_then(|der| not_after(&der));
    let Some(expiry) = expiry else {
        return Check::new(
            name,
            Verdict::Fail,
            format!("{} holds no readable certificate", path.display()),
        );
    };
    let days = (expiry - OffsetDateTime::now_utc()).whole_days();
    let evidence = format!("{} expires {} ({days} days)", path.display(), expiry.date());
    let verdict = if days < 0 {
        Verdict::Fail
    } else if days < i64::from(warn_days) {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    Check::new(name, verdict, evidence)
}

fn key_permissions(path: &Path) -> Check {
    let name = "tls-key-permissions";
    match fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 == 0 => Check::new(
            name,
            Verdict::Pass,
            format!("{} is owner-only", path.display()),
        ),
        Ok(meta) => Check::new(
            name,
            Verdict::Fail,
            format!(
                "{} has permissions {:o}; chmod 600",
                path.display(),
                meta.permissions().mode() & 0o777
            ),
        ),
        Err(err) => Check::new(
            name,
            Verdict::Fail,
            format!("cannot read {}: {err}", path.display()),
        ),
    }
}

/// The store database, the audit store and the KMS answer; the audit log's newest checkpoint
/// is not from this machine's future.
pub fn components(config: &Config, max_skew_secs: u64) -> Vec<Check> {
    let opened = match datadir::open(config) {
        Ok(opened) => opened,
        Err(err) => {
            return vec![Check::new(
                "data-directory",
                Verdict::Fail,
                format!("cannot open: {err:#}"),
            )];
        }
    };
    let mut found = Vec::new();
    found.push(match opened.store.incidents(&config.tenant, None, 1) {
        Ok(_) => Check::new("database", Verdict::Pass, "the store answers a query"),
        Err(err) => Check::new("database", Verdict::Fail, format!("the store fails: {err}")),
    });
    found.push(if opened.audit.is_ready() {
        Check::new(
            "audit-store",
            Verdict::Pass,
            "the audit log's committer runs and its store answers",
        )
    } else {
        Check::new(
            "audit-store",
            Verdict::Fail,
            "the audit log cannot take appends",
        )
    });
    found.push(match opened.store.keyring().probe_kms() {
        Ok(()) => Check::new(
            "kms",
            Verdict::Pass,
            format!(
                "{} wraps and unwraps a probe key",
                opened.store.keyring().kms_id()
            ),
        ),
        Err(err) => Check::new("kms", Verdict::Fail, format!("the KMS fails: {err}")),
    });
    found.push(checkpoint_clock(&opened.audit, max_skew_secs));
    found
}

fn checkpoint_clock(audit: &phigate_audit::AuditLog, max_skew_secs: u64) -> Check {
    let name = "clock-vs-audit";
    let last = match audit.checkpoints() {
        Ok(checkpoints) => checkpoints.iter().map(|c| c.time).max(),
        Err(err) => return Check::new(name, Verdict::Fail, format!("cannot read: {err}")),
    };
    let Some(last) = last else {
        return Check::new(name, Verdict::Skip, "the audit log has no checkpoint yet");
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ahead = last - now;
    if ahead > i64::try_from(max_skew_secs).unwrap_or(i64::MAX) {
        Check::new(
            name,
            Verdict::Fail,
            format!(
                "the newest audit checkpoint is {ahead} s in this clock's future: \
                 the clock went back"
            ),
        )
    } else {
        Check::new(
            name,
            Verdict::Pass,
            format!(
                "the newest audit checkpoint is {} s old",
                now.saturating_sub(last)
            ),
        )
    }
}

/// This machine's clock against the provider's `Date` header, when a provider is configured.
pub fn upstream_clock(config: &Config, max_skew_secs: u64) -> Check {
    let name = "clock-vs-upstream";
    if config.provider.kind != "anthropic" {
        return Check::new(
            name,
            Verdict::Skip,
            "the echo provider has no clock to compare",
        );
    }
    let url = config.provider.base_url.clone();
    match fetch_date(&url) {
        Ok(date) => {
            let skew = (OffsetDateTime::now_utc() - date).whole_seconds().abs();
            let evidence = format!("{url} says {date}; this clock differs by {skew} s");
            let limit = i64::try_from(max_skew_secs).unwrap_or(i64::MAX);
            let verdict = if skew > limit {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            Check::new(name, verdict, evidence)
        }
        Err(problem) => Check::new(
            name,
            Verdict::Warn,
            format!("cannot read the time from {url}: {problem}"),
        ),
    }
}

/// The `Date` header of a `HEAD` of `url`.
fn fetch_date(url: &str) -> Result<OffsetDateTime, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let response = runtime.block_on(async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?
            .head(url)
            .send()
            .await
    });
    let response = response.map_err(|e| format!("no answer ({e})"))?;
    let date = response
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Date header")?;
    parse_http_date(date).ok_or_else(|| "an unreadable Date header".to_owned())
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires servers send.
fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imf_fixdate_parses_and_other_forms_do_not() {
        let date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(date.unix_timestamp(), 784_111_777);
        assert!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").is_none());
        assert!(parse_http_date("yesterday").is_none());
    }

    #[test]
    fn the_metrics_listener_on_the_gateway_port_is_a_conflict() {
        assert!(same_port("127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!same_port("127.0.0.1:9464", "127.0.0.1:8080"));
        assert!(!same_port("127.0.0.1:0", "127.0.0.1:0"));
    }
}
