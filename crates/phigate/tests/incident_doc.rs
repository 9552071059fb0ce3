//! The incident-response procedure names only commands that exist: every `phigate …` command in
//! `docs/incident-response.md`, with its options, is accepted by this build's command line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing step fails the test"
)]

mod common;

/// The `phigate …` commands in backticks, split into arguments (double quotes group words;
/// a shell redirection ends the command).
fn commands(doc: &str) -> Vec<Vec<String>> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| span.strip_prefix("phigate "))
        .map(|command| {
            let mut args = Vec::new();
            let mut quoted = false;
            let mut current = String::new();
            for c in command.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ' ' | '\n' if !quoted => {
                        if !current.is_empty() {
                            args.push(std::mem::take(&mut current));
                        }
                    }
                    _ => current.push(c),
                }
            }
            args.push(current);
            args.into_iter()
                .filter(|a| !a.is_empty() && a != "…")
                .take_while(|a| a != ">")
                .collect()
        })
        .collect()
}

#[test]
fn every_command_the_incident_procedure_names_exists_with_its_options() {
    let doc = std::fs::read_to_string(common::repo().join("docs/incident-response.md")).unwrap();
    let commands = commands(&doc);
    assert!(commands.len() >= 30, "found {} commands", commands.len());
    for needed in [
        "providers block",
        "patient freeze",
        "clients revoke",
        "audit export",
    ] {
        assert!(
            commands.iter().any(|c| c.join(" ").starts_with(needed)),
            "the procedure names phigate {needed}"
        );
    }
    let data = tempfile::tempdir().unwrap();
    for command in &commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let output = common::phigate(data.path(), &args);
        assert!(
            output.status.success(),
            "phigate {}: {}",
            command.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
