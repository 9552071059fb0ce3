//! What the configured provider may receive, from `provider.baa_on_record` and
//! `provider.deid_mode`, and the loud warning when a deployment lets a provider without a BAA
//! receive linkable placeholders.

use crate::config::Config;
use crate::output;

/// Whether a provider off the premises receives linkable placeholders (restored in the answer)
/// rather than Safe Harbor data. The libraries take this as their `provider_baa` switch.
pub fn linkable(config: &Config) -> bool {
    match config.provider.deid_mode.as_str() {
        "placeholder" => true,
        "safe-harbor" => false,
        _ => config.provider.baa_on_record,
    }
}

/// Whether the configuration sends linkable placeholders to a provider off the premises that
/// has no BAA on record: a disclosure of PHI to a business associate without an agreement.
pub fn unsafe_without_baa(config: &Config) -> bool {
    config.provider.kind != "echo" && !config.provider.baa_on_record && linkable(config)
}

/// Warns on standard error, whatever the log level, when [`unsafe_without_baa`] holds.
pub fn warn_if_unsafe(config: &Config) {
    if unsafe_without_baa(config) {
        output::error_line(&format!(
            "WARNING: provider.deid_mode = \"placeholder\" sends linkable, re-identifiable \
             placeholders to provider {}, which has no BAA on record (provider.baa_on_record = \
             false). That is a disclosure of PHI to a business associate without an agreement \
             (45 CFR 164.502(e)); `phigate compliance report` fails it. Set deid_mode = \"auto\".",
            config.provider.kind
        ));
    }
}
