//! What `phigate demo` prints: a short account of each stage, then the three sections.

use phigate_agent::{TaskRun, TaskSpec};
use phigate_audit::{AuditEntry, VerifyReport};
use serde_json::Value;

use crate::cmd::audit::describe;
use crate::output::Out;

/// Marker lines the three sections start with (tests look for them).
pub const SECTION_OUTBOUND: &str = "1. What would leave the building";
/// Second section.
pub const SECTION_ANSWER: &str = "2. The answer, identifiers restored";
/// Third section.
pub const SECTION_AUDIT: &str = "3. Audit entries written, and the log verified";

/// The stages reported before the sections.
pub enum Stage {
    /// The data directory.
    DataDir,
    /// Importing the patient.
    Import,
    /// Signing in.
    SignIn,
}

impl Stage {
    fn label(&self) -> &'static str {
        match self {
            Self::DataDir => "data directory",
            Self::Import => "import",
            Self::SignIn => "signed in",
        }
    }
}

/// The demo's output, built up stage by stage and printed at the end.
pub struct Report {
    out: Out,
}

impl Report {
    /// A report with its title.
    pub fn new() -> Self {
        let mut out = Out::new();
        out.line(
            "Phigate demo: one synthetic patient and one visit dialogue through the request path",
        );
        out.line("");
        Self { out }
    }

    /// One stage line.
    pub fn stage(&mut self, stage: Stage, text: String) {
        self.out.line(format!("  {:<16} {text}", stage.label()));
    }

    /// The task stages: projection, de-identification, disclosure mode, provider.
    pub fn task(&mut self, task: &TaskSpec, run: &TaskRun, provider: &str) {
        let types = task.projection.resource_types().join(", ");
        self.out.line(format!(
            "  {:<16} {} may see only: {types}",
            "minimum necessary", task.name
        ));
        let entities: Vec<String> = run
            .entities
            .iter()
            .map(|(kind, n)| format!("{} x{n}", kind.tag()))
            .collect();
        let entities = if entities.is_empty() {
            "nothing found".to_owned()
        } else {
            entities.join(", ")
        };
        self.out
            .line(format!("  {:<16} {entities}", "de-identified"));
        self.out.line(format!(
            "  {:<16} passed, then the disclosure was audited before the call",
            "egress gate"
        ));
        self.out.line(format!(
            "  {:<16} {provider} ({} data)",
            "provider",
            run.mode.as_str()
        ));
    }

    /// The independent leak check's verdict.
    pub fn leak_check(&mut self, known: usize, bytes: usize, leak: Option<&str>) {
        let verdict = match leak {
            None => format!(
                "none of the patient's {known} known identifiers is in the {bytes} outbound bytes"
            ),
            Some(kind) => format!("LEAK: a known {kind} identifier is in the outbound bytes"),
        };
        self.out.line(format!("  {:<16} {verdict}", "leak check"));
    }

    /// The three sections.
    pub fn finish(&mut self, run: &TaskRun, entries: &[AuditEntry], verification: &VerifyReport) {
        self.out.heading(SECTION_OUTBOUND);
        self.out.line(format!(
            "POST /v1/messages, {} bytes, SHA-256 {} (shown pretty-printed)",
            run.outbound.body.len(),
            sha256_hex(&run.outbound.body)
        ));
        let pretty = serde_json::from_slice::<Value>(&run.outbound.body)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(&run.outbound.body).into_owned());
        self.out.line(pretty);

        self.out.heading(SECTION_ANSWER);
        match &run.draft_id {
            Some(id) => self.out.line(format!(
                "Stored as draft {id}, awaiting a clinician's review."
            )),
            None => self.out.line("Not stored: this task needs no signature."),
        }
        if !run.unknown_placeholders.is_empty() {
            self.out.line(format!(
                "Flagged: {} placeholder(s) in the answer that Phigate never issued.",
                run.unknown_placeholders.len()
            ));
        }
        self.out.line("");
        self.out.line(run.response.text());

        self.out.heading(SECTION_AUDIT);
        for entry in entries {
            self.out.line(describe(entry));
        }
        self.out.line("");
        self.out.line(verification.to_string());
    }

    /// Prints everything.
    pub fn flush(self) {
        self.out.flush();
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    phigate_crypto::sha256_hex(bytes)
}
