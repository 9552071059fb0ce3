//! The task policy file and the permission table in `phigate-auth` say the same thing: every
//! task and tool the policy declares has a row with exactly its scopes, and a role may run a task
//! by the table exactly when the policy names it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeSet;

use phigate_agent::Catalog;
use phigate_auth::{Principal, Role, Target, permission};

fn set(scopes: &[impl AsRef<str>]) -> BTreeSet<String> {
    scopes.iter().map(|s| s.as_ref().to_owned()).collect()
}

#[test]
fn every_task_and_tool_of_the_policy_has_its_row_in_the_permission_table() {
    let catalog = Catalog::builtin().unwrap();
    assert!(!catalog.tasks().is_empty() && !catalog.tools().is_empty());
    for task in catalog.tasks() {
        let row = permission(Target::Task, &task.name)
            .unwrap_or_else(|| panic!("task {} has no row", task.name));
        assert_eq!(set(row.scopes), set(&task.scopes), "task {}", task.name);
        // A patient's task runs on the record their token is bound to, through a route of its
        // own that names no patient; staff tasks run through the task route.
        let patients_only = task.roles.iter().all(|r| r == "patient");
        let endpoint = if patients_only {
            format!("POST /v1/patient/{}", task.name)
        } else {
            format!("POST /v1/tasks/{}", task.name)
        };
        assert!(
            permission(Target::Endpoint, &endpoint).is_some(),
            "{endpoint} has no row"
        );
        for role in Role::ALL {
            let named = task.roles.iter().any(|r| r == role.as_str());
            let allowed = Principal::with_role("u-1", "t", role)
                .authorize(Target::Task, &task.name)
                .is_ok();
            assert_eq!(named, allowed, "{role:?} on task {}", task.name);
        }
    }
    for tool in catalog.tools() {
        let row = permission(Target::Tool, &tool.name)
            .unwrap_or_else(|| panic!("tool {} has no row", tool.name));
        assert_eq!(set(row.scopes), set(&tool.scopes), "tool {}", tool.name);
    }
}
