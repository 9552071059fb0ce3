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

/// The data classes a policy may name.
pub const DATA_CLASSES: [&str; 4] = ["demographic", "clinical", "scheduling", "financial"];

/// What one provider may receive.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderPolicy {
    /// The provider's name (`anthropic`, `echo`).
    pub name: String,
    /// Data classes it may receive.
    pub data_classes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default)]
    provider: Vec<ProviderPolicy>,
    #[serde(default)]
    tool: Vec<ToolPolicy>,
    #[serde(default)]
    task: Vec<TaskSpec>,
}

/// Every task and tool of one policy version.
#[derive(Clone, Debug)]
pub struct Catalog {
    version: u32,
    providers: Vec<ProviderPolicy>,
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
            providers: file.provider,
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
        for provider in &self.providers {
            if let Some(class) = provider
                .data_classes
                .iter()
                .find(|c| !DATA_CLASSES.contains(&c.as_str()))
            {
                return bad(format!(
                    "provider {} names unknown data class {class}",
                    provider.name
                ));
            }
        }
        for (i, task) in self.tasks.iter().enumerate() {
            if let Some(class) = task
                .data_classes
                .iter()
                .find(|c| !DATA_CLASSES.contains(&c.as_str()))
            {
                return bad(format!(
                    "task {} names unknown data class {class}",
                    task.name
                ));
            }
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
            if task.scopes.is_empty() || task.roles.is_empty() {
                return bad(format!("task {} names no role or no scope", task.name));
            }
            let for_patients = task.roles.iter().any(|r| r == "patient");
            if for_patients && !task.checks(crate::PostCheck::PatientSafety) {
                return bad(format!(
                    "task {} is for patients without patient-safety",
                    task.name
                ));
            }
            if for_patients
                && let Some(tool) = task
                    .tools
                    .iter()
                    .find(|t| ToolName::parse(t).is_some_and(|n| !n.is_patients_own()))
            {
                return bad(format!(
                    "task {} is for patients but names tool {tool}, which takes a patient",
                    task.name
                ));
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

    /// Whether the provider named `provider` is declared and may receive every data class of
    /// `task`; the error says which condition failed.
    pub fn may_receive(&self, provider: &str, task: &TaskSpec) -> Result<(), AgentError> {
        let Some(declared) = self.providers.iter().find(|p| p.name == provider) else {
            return Err(AgentError::DisclosureRefused(
                "the provider is not declared in the task policy",
            ));
        };
        if task
            .data_classes
            .iter()
            .all(|c| declared.data_classes.contains(c))
        {
            Ok(())
        } else {
            Err(AgentError::DisclosureRefused(
                "the provider may not receive this task's classes of data",
            ))
        }
    }

    /// Every provider declaration, in file order.
    pub fn providers(&self) -> &[ProviderPolicy] {
        &self.providers
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
    fn the_shipped_policy_declares_the_five_tasks() {
        let catalog = Catalog::builtin().unwrap();
        let names: Vec<&str> = catalog.tasks().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["clinical-note", "triage", "coding", "admin", "assistant"]
        );
        assert!(catalog.version() >= 1);
        let coding = catalog.task("coding").unwrap();
        assert!(coding.output_schema.is_some() && coding.needs_signature);
    }

    #[test]
    fn a_patient_task_may_name_only_the_patients_own_tools_and_must_check_safety() {
        let staff_tool = BUILTIN_POLICY.replace(
            "tools = [\"list_my_appointments\",",
            "tools = [\"find_slots\", \"list_my_appointments\",",
        );
        let err = Catalog::from_toml(&staff_tool).unwrap_err();
        assert!(err.to_string().contains("tool find_slots"), "{err}");
        let unchecked = BUILTIN_POLICY.replace(
            "post_checks = [\"output-screen\", \"patient-safety\"]",
            "post_checks = [\"output-screen\"]",
        );
        let err = Catalog::from_toml(&unchecked).unwrap_err();
        assert!(err.to_string().contains("patient-safety"), "{err}");
    }

    #[test]
    fn a_task_naming_an_undeclared_tool_is_refused() {
        let text = BUILTIN_POLICY.replace("tools = [\"get_record\"]", "tools = [\"rm_rf\"]");
        let err = Catalog::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("undeclared tool rm_rf"), "{err}");
    }

    #[test]
    fn a_provider_must_be_declared_for_every_data_class_of_the_task() {
        let catalog = Catalog::builtin().unwrap();
        let admin = catalog.task("admin").unwrap();
        assert!(catalog.may_receive("anthropic", admin).is_ok());
        assert!(catalog.may_receive("someone-else", admin).is_err());
        let text = BUILTIN_POLICY.replacen(
            "name = \"anthropic\"\ndata_classes = [\"demographic\", \"clinical\", \"scheduling\", \"financial\"]",
            "name = \"anthropic\"\ndata_classes = [\"demographic\", \"clinical\"]",
            1,
        );
        let narrow = Catalog::from_toml(&text).unwrap();
        let err = narrow
            .may_receive("anthropic", narrow.task("admin").unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("classes of data"), "{err}");
        assert!(
            narrow
                .may_receive("anthropic", narrow.task("coding").unwrap())
                .is_ok()
        );
        let bad = BUILTIN_POLICY.replace("[\"demographic\", \"clinical\"]", "[\"genome\"]");
        assert!(Catalog::from_toml(&bad).is_err());
    }

    #[test]
    fn unknown_keys_and_unknown_tasks_are_refused() {
        let text = BUILTIN_POLICY.replace("version = 4", "version = 4\nsurprise = true");
        assert!(matches!(
            Catalog::from_toml(&text),
            Err(AgentError::Policy(_))
        ));
        let catalog = Catalog::builtin().unwrap();
        assert!(matches!(catalog.task("nope"), Err(AgentError::UnknownTask)));
    }
}
