//! The command line, as clap sees it. `phigate --help` is generated from these comments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Phigate: a gateway and agent runtime that lets healthcare software use Claude on patient data
/// with HIPAA's technical safeguards built in. Everything it stores is encrypted, nothing that
/// identifies a patient leaves unless policy allows it, and every access is recorded in a
/// tamper-evident audit log.
#[derive(Debug, Parser)]
#[command(name = "phigate", version, about, long_about)]
pub struct Cli {
    /// Configuration file (TOML). Defaults apply when absent; `PHIGATE_…` variables override.
    #[arg(long, global = true, env = "PHIGATE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Data directory, overriding `data_dir` from the configuration.
    #[arg(long, global = true, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory: root key (0600), token and audit signing keys, the encrypted
    /// store, the audit log, and the first administrator, whose one-time password is printed once.
    Init(InitArgs),
    /// Run the main job offline on shipped synthetic data: import one Synthea patient, sign in as
    /// a local clinician and draft a clinical note from a visit dialogue through the whole request
    /// path. Prints what would leave the building, the answer with identifiers restored, and the
    /// audit entries with the log's verification. Exits non-zero if any stage fails or if any
    /// known identifier of the patient is in the outbound request. Initialises the data directory
    /// first if needed.
    Demo(DemoArgs),
    /// Load FHIR R4 bundles (one patient each) into the encrypted patient store. A malformed
    /// bundle is refused whole, with the position of the problem.
    Import(ImportArgs),
    /// De-identify text from standard input and write it to standard output. With `--fhir` the
    /// input is FHIR JSON (a bundle's own Patient identifiers are then always found).
    Deid(DeidArgs),
    /// Score PHI detection on an annotated JSON-lines corpus (Phigate's gold format): token
    /// recall and precision and strict and lenient span recall, per type and for all required
    /// types, ending with a line `recall=R precision=P`.
    Eval(EvalArgs),
    /// Read and check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the Anthropic-compatible gateway (`/v1/messages` with streaming, `count_tokens`,
    /// `/v1/models`) on `server.listen`. Plain HTTP on loopback only: TLS is not built yet.
    Serve(ServeArgs),
    /// Mint a short-lived access token for a local service or test client and print it. Callers
    /// send it to `phigate serve` as `x-api-key` or `Authorization: Bearer`.
    Token(TokenArgs),
    /// Show the agent tasks and tools this build offers, with who may run them, what they
    /// read, their checks and whether a clinician signs (from the versioned task policy).
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Run one agent task through the whole request path for a patient in the store (or a
    /// bundle, imported first) and print the checked answer with identifiers restored. Clinical
    /// output is stored as a draft awaiting review.
    Run(RunArgs),
    /// Review drafts: list, show, edit, approve (sign) or reject, as a local person signed in
    /// with a role (only a signer role of the draft's task may edit and decide).
    Drafts(DraftsArgs),
    /// Manage the appointment slots the `admin` task's scheduling tools find and book.
    #[command(subcommand)]
    Slots(SlotsCommand),
}

/// `phigate slots` subcommands.
#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// Load FHIR `Slot` resources (a bundle or a JSON array); booked slots are kept as they are.
    Import {
        /// The file.
        #[arg(value_name = "PATH")]
        file: PathBuf,
    },
}

/// Options of `phigate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The task (`phigate tasks list` shows them).
    pub task: String,
    /// The patient's logical id in the store.
    #[arg(long, value_name = "ID", conflicts_with = "bundle")]
    pub patient: Option<String>,
    /// A FHIR R4 bundle holding one patient, imported first.
    #[arg(long, value_name = "PATH")]
    pub bundle: Option<PathBuf>,
    /// The task's input: text, or JSON with a `dialogue`, `note` or `text` field.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// The role of the local person running the task.
    #[arg(long, default_value = "clinician")]
    pub role: String,
    /// The provider to call (default: `provider.kind` from the configuration).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderChoice>,
}

/// Options of `phigate drafts`.
#[derive(Debug, Args)]
pub struct DraftsArgs {
    /// The role of the local reviewer.
    #[arg(long, global = true, default_value = "clinician")]
    pub role: String,
    /// What to do.
    #[command(subcommand)]
    pub command: DraftsCommand,
}

/// A draft status filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DraftStatusArg {
    /// Awaiting review.
    Awaiting,
    /// Signed.
    Signed,
    /// Rejected.
    Rejected,
}

/// `phigate drafts` subcommands.
#[derive(Debug, Subcommand)]
pub enum DraftsCommand {
    /// List drafts (metadata only).
    List {
        /// Only drafts in this status.
        #[arg(long, value_enum)]
        status: Option<DraftStatusArg>,
    },
    /// Show one draft with its content.
    Show {
        /// The draft id.
        id: String,
    },
    /// Replace a draft's content with a file's (JSON or text); the AI-generated label stays.
    Edit {
        /// The draft id.
        id: String,
        /// The new content.
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// Approve and sign a draft.
    Approve {
        /// The draft id.
        id: String,
    },
    /// Reject a draft.
    Reject {
        /// The draft id.
        id: String,
    },
}

/// `phigate tasks` subcommands.
#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List every task and tool policy.
    List,
}

/// Options of `phigate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, overriding `server.listen` (loopback only; port 0 picks one).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

/// Options of `phigate token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Who the token speaks for (a user or service id, not a person's name).
    #[arg(long, default_value = "local-service")]
    pub subject: String,
    /// The role, which decides the scopes (`service` and `clinician` may call `/v1/messages`).
    #[arg(long, default_value = "service")]
    pub role: String,
    /// Lifetime in seconds; never more than 900.
    #[arg(long, default_value_t = 900)]
    pub ttl_secs: u64,
}

/// Options of `phigate init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Username of the first administrator.
    #[arg(long, default_value = "admin")]
    pub admin: String,
}

/// Which provider answers the demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderChoice {
    /// Offline: answers with what it received, so nothing leaves the machine.
    Echo,
    /// The Anthropic API, with the key from `ANTHROPIC_API_KEY` (or `provider.api_key_env`).
    Anthropic,
}

/// Options of `phigate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A FHIR R4 bundle holding one patient (default: the shipped Synthea patient).
    #[arg(long, value_name = "PATH")]
    pub bundle: Option<PathBuf>,
    /// A visit dialogue: an ACI-Bench JSON file (its `dialogue` field is used) or plain text
    /// (default: the shipped ACI-Bench dialogue D2N028).
    #[arg(long, value_name = "PATH")]
    pub dialogue: Option<PathBuf>,
    /// The provider to call (default: `provider.kind` from the configuration, normally echo).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderChoice>,
}

/// Options of `phigate import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Bundle files to import.
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
}

/// Options of `phigate deid`.
#[derive(Debug, Args)]
pub struct DeidArgs {
    /// The input is FHIR JSON rather than text.
    #[arg(long)]
    pub fhir: bool,
    /// Write the detected entities (type and offsets) as JSON instead of the de-identified text.
    #[arg(long)]
    pub json: bool,
    /// What replaces each identifier.
    #[arg(long, value_enum, default_value_t = DeidMode::Placeholder)]
    pub mode: DeidMode,
    /// A file whose bytes key the date shift and the id pseudonyms, so they are the same on
    /// every run. Without it a random key is used: consistent within one run only.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// The patient whose dates are shifted, for text input (FHIR input names its own patient).
    #[arg(long, value_name = "REF", default_value = "")]
    pub patient: String,
}

/// What `phigate deid` puts in place of an identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeidMode {
    /// Numbered typed placeholders (`[NAME_1]`).
    Placeholder,
    /// Placeholders, with dates moved by the patient's keyed offset instead.
    Shift,
    /// Safe Harbor, irreversible: `[NAME]`, years only, ZIP3 (or `000`), ages over 89 as `90+`.
    SafeHarbor,
}

/// Options of `phigate eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The corpus: one JSON record per line, offsets in Unicode scalar values.
    #[arg(long, value_name = "FILE.jsonl")]
    pub corpus: PathBuf,
    /// Print every miss and false positive with its context before the table. The corpus text
    /// is printed: use it on annotated test data only.
    #[arg(long)]
    pub show_misses: bool,
    /// Exit non-zero when token recall on required types is below this.
    #[arg(long, value_name = "R")]
    pub min_recall: Option<f64>,
    /// Exit non-zero when token precision is below this.
    #[arg(long, value_name = "P")]
    pub min_precision: Option<f64>,
}

/// `phigate audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every entry hash, the hash chain, the Merkle root and every checkpoint
    /// signature; exit non-zero and name the first bad entry if anything was altered.
    Verify,
    /// Print the last entries.
    Tail {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        count: u64,
    },
}
