//! One module per subcommand.

pub mod audit;
pub mod backup;
pub mod bench;
pub mod care;
pub mod clients;
pub mod compliance;
pub mod containment;
pub mod deid;
pub mod demo;
mod demo_report;
pub mod doctor;
pub mod drafts;
pub mod eval;
pub mod freeze;
pub mod hold;
pub mod import;
pub mod incidents;
pub mod init;
pub mod keys;
pub(crate) mod local;
pub mod patient;
pub mod providers;
pub mod restore;
pub mod retention;
pub mod run;
pub mod serve;
pub mod slots;
pub mod tasks;
pub mod token;
pub mod users;

use phigate_auth::{Principal, Role, scopes};

/// The principal of whoever runs an administrative command on this machine: the operating
/// system already authenticated them, and the audit log records them as the local operator.
pub(crate) fn local_operator(tenant: &str) -> Principal {
    Principal {
        user_id: "local-operator".into(),
        tenant: tenant.to_owned(),
        role: Role::Admin,
        scopes: scopes(Role::Admin)
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}
