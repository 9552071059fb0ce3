//! `phigate tasks list`: the task and tool policies this build ships, as declared in
//! `crates/agent/policies/tasks.toml`.

use std::process::ExitCode;

use anyhow::Result;
use phigate_agent::Catalog;

use crate::output::Out;

/// Runs `phigate tasks list`.
pub fn list() -> Result<ExitCode> {
    let catalog = Catalog::builtin()?;
    let mut out = Out::new();
    out.line(format!("task policy version {}", catalog.version()));
    for task in catalog.tasks() {
        let checks: Vec<&str> = task.post_checks.iter().map(|c| c.as_str()).collect();
        out.heading(&task.name);
        out.line(&task.description);
        out.line(format!("  roles:        {}", task.roles.join(", ")));
        out.line(format!("  scopes:       {}", task.scopes.join(" ")));
        out.line(format!("  purpose:      {}", task.purpose));
        out.line(format!("  data classes: {}", task.data_classes.join(", ")));
        out.line(format!(
            "  reads:        {}{}",
            task.projection.resource_types().join(", "),
            task.window_days
                .map_or_else(String::new, |d| format!(" (last {d} days)"))
        ));
        out.line(format!(
            "  tools:        {}",
            none_if_empty(&task.tools.join(", "))
        ));
        out.line(format!("  output:       {:?}", task.output).to_lowercase());
        out.line(format!(
            "  post-checks:  {}",
            none_if_empty(&checks.join(", "))
        ));
        out.line(format!(
            "  signature:    {}",
            if task.needs_signature {
                format!("required ({})", task.signer_roles.join(", "))
            } else {
                "not required".to_owned()
            }
        ));
        out.line(format!("  without BAA:  {:?}", task.without_baa).to_lowercase());
        out.line(format!(
            "  limits:       {} steps, {} tokens, {} s",
            task.limits.max_steps, task.limits.max_total_tokens, task.limits.max_seconds
        ));
    }
    out.heading("providers");
    for provider in catalog.providers() {
        out.line(format!(
            "{} may receive: {}",
            provider.name,
            provider.data_classes.join(", ")
        ));
    }
    out.heading("tools");
    for tool in catalog.tools() {
        out.line(format!(
            "{} [{}]: {}",
            tool.name,
            tool.scopes.join(" "),
            tool.description
        ));
    }
    out.flush();
    Ok(ExitCode::SUCCESS)
}

fn none_if_empty(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}
