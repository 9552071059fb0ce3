//! Operations settings: `[metrics]`, `[incidents]` and `[telemetry]`.

use serde::Deserialize;

use super::ConfigError;

/// The Prometheus endpoint (`[metrics]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where `phigate serve` answers `GET /metrics`, on a listener of its own: a loopback
    /// address and port (plain HTTP, no credential), or empty for no metrics endpoint.
    pub listen: String,
}

/// Incident rules and alerts (`[incidents]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Whether `phigate serve` runs the rules.
    pub enabled: bool,
    /// The sliding window the burst rules count in, seconds.
    pub window_secs: u64,
    /// Distinct patients one user may read within the window before an incident opens.
    pub bulk_read_patients: u32,
    /// Refusals of one caller within the window that open an incident.
    pub denial_burst: u32,
    /// Failed sign-ins to one account within the window that open an incident.
    pub failed_sign_ins_per_user: u32,
    /// Failed sign-ins across the tenant within the window that open an incident.
    pub failed_sign_ins_overall: u32,
    /// Whether access to patient data outside working hours opens an incident. Off by default:
    /// working hours are local, so set them (and `utc_offset`) first.
    pub unusual_hours: bool,
    /// The first working hour, local time (0-23).
    pub work_start_hour: u8,
    /// The hour working time ends, local time (1-24).
    pub work_end_hour: u8,
    /// Local time's offset from UTC, such as `"-05:00"`.
    pub utc_offset: String,
    /// A rule firing again for the same subject within this many seconds adds to the open
    /// incident instead of opening another.
    pub merge_secs: u64,
    /// Where alerts are POSTed as JSON; empty for none.
    pub webhook_url: String,
    /// How long one delivery attempt may take, seconds.
    pub webhook_timeout_secs: u64,
    /// Further attempts after a failed delivery.
    pub webhook_retries: u32,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 300,
            bulk_read_patients: 20,
            denial_burst: 10,
            failed_sign_ins_per_user: 5,
            failed_sign_ins_overall: 20,
            unusual_hours: false,
            work_start_hour: 7,
            work_end_hour: 19,
            utc_offset: "+00:00".into(),
            merge_secs: 3600,
            webhook_url: String::new(),
            webhook_timeout_secs: 5,
            webhook_retries: 3,
        }
    }
}

impl IncidentsConfig {
    /// Local time's offset, as configured (checked by validation).
    pub fn offset(&self) -> Option<time::UtcOffset> {
        let format = time::macros::format_description!("[offset_hour]:[offset_minute]");
        time::UtcOffset::parse(&self.utc_offset, &format).ok()
    }

    pub(super) fn validate(
        &self,
        invalid: &impl Fn(&'static str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let ranges: [(&'static str, u64, u64, u64); 8] = [
            ("incidents.window_secs", self.window_secs, 1, 86_400),
            (
                "incidents.bulk_read_patients",
                self.bulk_read_patients.into(),
                2,
                1_000_000,
            ),
            (
                "incidents.denial_burst",
                self.denial_burst.into(),
                1,
                1_000_000,
            ),
            (
                "incidents.failed_sign_ins_per_user",
                self.failed_sign_ins_per_user.into(),
                1,
                1_000_000,
            ),
            (
                "incidents.failed_sign_ins_overall",
                self.failed_sign_ins_overall.into(),
                1,
                1_000_000,
            ),
            ("incidents.merge_secs", self.merge_secs, 0, 30 * 86_400),
            (
                "incidents.webhook_timeout_secs",
                self.webhook_timeout_secs,
                1,
                300,
            ),
            (
                "incidents.webhook_retries",
                self.webhook_retries.into(),
                0,
                10,
            ),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(invalid(key, format!("must be between {min} and {max}")));
            }
        }
        if self.work_start_hour > 23 {
            return Err(invalid(
                "incidents.work_start_hour",
                "must be 0 to 23".into(),
            ));
        }
        if !(self.work_start_hour + 1..=24).contains(&self.work_end_hour) {
            return Err(invalid(
                "incidents.work_end_hour",
                "must be after work_start_hour and at most 24".into(),
            ));
        }
        if self.offset().is_none() {
            return Err(invalid(
                "incidents.utc_offset",
                "expected an offset such as \"+00:00\" or \"-05:00\"".into(),
            ));
        }
        let url = &self.webhook_url;
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !url.is_empty() && !scheme_ok {
            return Err(invalid(
                "incidents.webhook_url",
                "expected an http:// or https:// URL".into(),
            ));
        }
        Ok(())
    }
}

impl MetricsConfig {
    pub(super) fn validate(
        &self,
        invalid: &impl Fn(&'static str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        if self.listen.is_empty() {
            return Ok(());
        }
        match self.listen.parse::<std::net::SocketAddr>() {
            Ok(addr) if addr.ip().is_loopback() => Ok(()),
            Ok(_) => Err(invalid(
                "metrics.listen",
                "metrics are served over plain HTTP on loopback only; scrape through a local \
                 agent or proxy"
                    .into(),
            )),
            Err(_) => Err(invalid(
                "metrics.listen",
                "expected an address and port such as 127.0.0.1:9464".into(),
            )),
        }
    }
}

/// OpenTelemetry trace export (`[telemetry]`). Off unless `otlp_endpoint` is set.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP collector's base URL (`https://…`, or `http://` on loopback), such as
    /// `http://127.0.0.1:4318`; spans are POSTed as protobuf to `/v1/traces` under it. A URL
    /// whose path already ends in `/v1/traces` is used as it is. Empty: no export.
    pub otlp_endpoint: String,
    /// The `service.name` resource attribute spans are exported under.
    pub service_name: String,
    /// The share of requests whose trace is exported, from 0.0 to 1.0.
    pub sample_ratio: f64,
    /// How long one export to the collector may take, seconds.
    pub export_timeout_secs: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: String::new(),
            service_name: "phigate".into(),
            sample_ratio: 1.0,
            export_timeout_secs: 10,
        }
    }
}

impl TelemetryConfig {
    /// Whether spans are exported.
    pub fn enabled(&self) -> bool {
        !self.otlp_endpoint.is_empty()
    }

    /// The URL spans are POSTed to.
    pub fn traces_url(&self) -> String {
        let base = self.otlp_endpoint.trim_end_matches('/');
        if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        }
    }

    pub(super) fn validate(
        &self,
        invalid: &impl Fn(&'static str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        if self.enabled() {
            super::check_base_url(&self.otlp_endpoint)
                .map_err(|r| invalid("telemetry.otlp_endpoint", r.into()))?;
        }
        let name_ok = !self.service_name.is_empty()
            && self.service_name.len() <= 64
            && self
                .service_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(invalid(
                "telemetry.service_name",
                "use 1 to 64 letters, digits, '-', '_' or '.'".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(invalid(
                "telemetry.sample_ratio",
                "must be between 0.0 and 1.0".into(),
            ));
        }
        if !(1..=300).contains(&self.export_timeout_secs) {
            return Err(invalid(
                "telemetry.export_timeout_secs",
                "must be between 1 and 300".into(),
            ));
        }
        Ok(())
    }
}
