//! The policy file: every task and tool Phigate offers, read from TOML and checked whole before
//! anything runs.

use phigate_auth::Principal;
use serde::Deserialize;

use crate::tools::ToolName;
use crate::{AgentError, OutputKind, TaskSpec};

/// The policy file shipped with Phigate (`crates/agent/policies/tasks.toml`).
pub const BUILTIN_POLICY: &str = include_str!("../policies/tasks.toml");

/// What a tool needs from its caller.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolPolicy {
    /// The tool's name, as the model calls it.
    pub name: String,
    /// What the tool does, for the model and for `phigate tasks list`.
    pub description: String,
    /// Scopes the caller must hold for the tool to run.
    pub scopes: Vec<String>,
}

impl ToolPolicy {
    /// Whether `principal` may have this tool run for them.
    pub fn authorize(&self, principal: &Principal) -> Result<(), AgentError> {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        principal.require(&scopes)?;
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default)]
    tool: Vec<ToolPolicy>,
    #[serde(default)]
    task: Vec<TaskSpec>,
}

/// Every task and tool of one policy version.
#[derive(Clone, Debug)]
pub struct Catalog {
    version: u32,
    tasks: Vec<TaskSpec>,
    tools: Vec<ToolPolicy>,
}

impl Catalog {
    /// The shipped policy.
    pub fn builtin() -> Result<Self, AgentError> {
        Self::from_toml(BUILTIN_POLICY)
    }

    /// Reads and checks a policy file: names unique, every tool a task names declared and
    /// implemented, every JSON task with a schema.
    pub fn from_toml(text: &str) -> Result<Self, AgentError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| AgentError::Policy(e.message().to_owned()))?;
        let catalog = Catalog {
            version: file.version,
            tasks: file.task,
            tools: file.tool,
        };
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), AgentError> {
        let bad = |why: String| Err(AgentError::Policy(why));
        for (i, tool) in self.tools.iter().enumerate() {
            if ToolName::parse(&tool.name).is_none() {
                return bad(format!("tool {} is not implemented", tool.name));
            }
            if self.tools[..i].iter().any(|t| t.name == tool.name) {
                return bad(format!("tool {} is declared twice", tool.name));
            }
        }
        for (i, task) in self.tasks.iter().enumerate() {
            if self.tasks[..i].iter().any(|t| t.name == task.name) {
                return bad(format!("task {} is declared twice", task.name));
            }
            if let Some(tool) = task.tools.iter().find(|t| self.tool(t).is_none()) {
                return bad(format!("task {} names undeclared tool {tool}", task.name));
            }
            if task.output == OutputKind::Json && task.output_schema.is_none() {
                return bad(format!("task {} answers JSON but has no schema", task.name));
            }
            if let Some(schema) = &task.output_schema {
                crate::schema::check_schema(schema)
                    .map_err(|why| AgentError::Policy(format!("task {}: {why}", task.name)))?;
            }
            if task.limits.max_steps == 0 {
                return bad(format!("task {} allows no model call", task.name));
            }
            if task.needs_signature && task.signer_roles.is_empty() {
                return bad(format!(
                    "task {} needs a signature but names no signer",
                    task.name
                ));
            }
        }
        Ok(())
    }

    /// The policy version, written into audit entries.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Every task, in file order.
    pub fn tasks(&self) -> &[TaskSpec] {
        &self.tasks
    }

    /// Every tool, in file order.
    pub fn tools(&self) -> &[ToolPolicy] {
        &self.tools
    }

    /// One task by name.
    pub fn task(&self, name: &str) -> Result<&TaskSpec, AgentError> {
        self.tasks
            .iter()
            .find(|t| t.name == name)
            .ok_or(AgentError::UnknownTask)
    }

    /// One tool by name.
    pub fn tool(&self, name: &str) -> Option<&ToolPolicy> {
        self.tools.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_declares_the_four_tasks() {
        let catalog = Catalog::builtin().unwrap();
        let names: Vec<&str> = catalog.tasks().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["clinical-note", "triage", "coding", "admin"]);
        assert!(catalog.version() >= 1);
        let coding = catalog.task("coding").unwrap();
        assert!(coding.output_schema.is_some() && coding.needs_signature);
    }

    #[test]
    fn a_task_naming_an_undeclared_tool_is_refused() {
        let text = BUILTIN_POLICY.replace("tools = [\"get_record\"]", "tools = [\"rm_rf\"]");
        let err = Catalog::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("undeclared tool rm_rf"), "{err}");
    }

    #[test]
    fn unknown_keys_and_unknown_tasks_are_refused() {
        let text = BUILTIN_POLICY.replace("version = 3", "version = 3\nsurprise = true");
        assert!(matches!(
            Catalog::from_toml(&text),
            Err(AgentError::Policy(_))
        ));
        let catalog = Catalog::builtin().unwrap();
        assert!(matches!(catalog.task("nope"), Err(AgentError::UnknownTask)));
    }
}
