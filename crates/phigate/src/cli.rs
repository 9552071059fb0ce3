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
    /// Create the data directory: root key (0600), token and audit signing keys, a development
    /// TLS CA and server certificate (keys 0600), the encrypted store, the audit log, and the
    /// first administrator, whose one-time password is printed once.
    Init(InitArgs),
    /// Run the main job offline on shipped synthetic data: import one Synthea patient, sign in as
    /// a local clinician and draft a clinical note from a visit dialogue through the whole request
    /// path. Prints what would leave the building, the answer with identifiers restored, and the
    /// audit entries with the log's verification. Exits non-zero if any stage fails or if any
    /// known identifier of the patient is in the outbound request. Initialises the data directory
    /// first if needed.
    Demo(DemoArgs),
    /// Load FHIR R4 bundles (transaction, batch, collection) and bulk NDJSON (`.ndjson`, one
    /// resource per line) into the encrypted patient store. Each file is checked whole first
    /// (JSON, resources, references) and written in one transaction, so a malformed file is
    /// refused with its path and the line of the problem and leaves nothing behind. Importing
    /// the same data again changes nothing; a changed resource replaces the stored one.
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
    /// `/v1/models`) on `server.listen`: HTTPS when `server.tls.enabled` is set (TLS 1.3 only
    /// unless `server.tls.min_version = "1.2"`), otherwise plain HTTP on loopback only.
    Serve(ServeArgs),
    /// Compliance evidence: the HIPAA controls catalogue, checked against this deployment.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// Mint a short-lived access token for a local service or test client and print it. Callers
    /// send it to `phigate serve` as `x-api-key` or `Authorization: Bearer`.
    Token(TokenArgs),
    /// Manage staff accounts: add (one-time password and, for admin and auditor, TOTP
    /// enrolment printed once), list, disable, enable, reset-mfa.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage OAuth clients: add (secret printed once), list, revoke.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Key versions, rotation and rewrapping.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Patient-level operations.
    #[command(subcommand)]
    Patient(PatientCommand),
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
    /// Security incidents the rules of `phigate serve` opened: list, show, acknowledge, and the
    /// breach-assessment report of one (patients affected, discovery date, the 60-day
    /// notification deadline of 45 CFR 164.404).
    #[command(subcommand)]
    Incidents(IncidentsCommand),
    /// Check this deployment for operational problems: TLS settings and certificate expiry, key
    /// file permissions, the store database, the audit log and the KMS, clock skew, and
    /// configuration mistakes. Prints one line per check; exits non-zero when any fails.
    Doctor(DoctorArgs),
    /// Incident containment for model providers: block one so that it receives nothing (every
    /// request that would reach it is refused with 503 and audited), unblock it, list blocks.
    /// A running `phigate serve` sees the change on its next request.
    #[command(subcommand)]
    Providers(ProvidersCommand),
    /// Retention of the store's data classes (`[retention]`) and of the audit log's bodies
    /// (`audit.retention_days`, never under six years): report what is due, or purge it.
    /// Patients under legal hold are skipped.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Write a consistent copy of the encrypted store and the audit log, with a manifest of
    /// SHA-256 digests, while `phigate serve` may be running. Keys are NOT included: back up
    /// the `keys/` folder (or the KMS key) separately.
    Backup(BackupArgs),
    /// Restore a backup into a new, empty data directory (`--data-dir`), after checking the
    /// manifest's digests, with keys from `--keys`; then verify the audit log.
    Restore(RestoreArgs),
    /// Measure a running gateway: `bench load` sends a bounded load of `/v1/messages` requests
    /// to a `phigate serve` on this machine and prints throughput and latency percentiles.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// The subcommands of `phigate bench`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Send up to `--requests` requests with `--concurrency` in flight, stopping early after
    /// `--duration` seconds, to a loopback gateway; print requests, successes, failures,
    /// requests per second and latency percentiles, ending with one `load:` line of `key=value`
    /// pairs for scripts. Only loopback addresses are accepted.
    Load(LoadArgs),
}

/// Options of `phigate bench load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The gateway's base URL, on loopback (`http://127.0.0.1:8080`).
    #[arg(long)]
    pub url: String,
    /// The access token to send (from `phigate token`).
    #[arg(long)]
    pub token: String,
    /// The most requests to send.
    #[arg(long, default_value_t = 1000)]
    pub requests: u64,
    /// How many requests are in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u64,
    /// Stop sending after this many seconds even if requests remain.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// The user message each request carries (synthetic text; it goes through de-identification).
    #[arg(
        long,
        default_value = "Summarise: the patient reports a mild cough for three days."
    )]
    pub prompt: String,
}

/// `phigate retention` subcommands.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Count what a purge would delete now, per data class (counts only, no content).
    Report,
    /// Delete what is past retention, except held patients', and audit the counts.
    Purge,
}

/// Options of `phigate backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new (or empty) directory for the backup.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Options of `phigate restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory (holding `manifest.json`).
    #[arg(long = "from", value_name = "DIR")]
    pub from: PathBuf,
    /// A directory holding the key files (`root.key`, `token-signing.pk8`,
    /// `audit-signing.pk8`, ...), such as the old data directory's `keys/`, copied into the new
    /// data directory. Without it the new data directory must already hold `keys/` and nothing
    /// else.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
}

/// `phigate providers` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Block a provider: nothing more is sent to it by any route, task or command.
    Block {
        /// The provider's name (`anthropic`, `echo`).
        name: String,
        /// An incident reference and a short cause, without patient details (it is kept and
        /// audited in clear; text that looks like PHI is refused).
        #[arg(long)]
        reason: String,
    },
    /// Lift a block.
    Unblock {
        /// The provider's name.
        name: String,
        /// Why the block ends (an incident reference, without patient details).
        #[arg(long)]
        reason: String,
    },
    /// List blocked providers with who blocked them, when and why.
    List,
}

/// `phigate users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a person with a role: clinician, nurse, coder, scheduler, billing, auditor, admin,
    /// or patient (with --patient).
    Add {
        /// Sign-in name (letters, digits, '.', '_', '-').
        username: String,
        /// The role, which decides the scopes.
        #[arg(long)]
        role: String,
        /// Enrol a TOTP second factor (always done for admin and auditor).
        #[arg(long)]
        totp: bool,
        /// For the patient role: the id (as imported) of the one patient record the account is
        /// bound to. Required for patients, refused for every other role.
        #[arg(long, value_name = "ID")]
        patient: Option<String>,
    },
    /// List accounts with role, state, second factor and failed attempts.
    List,
    /// Disable an account: it can no longer sign in or refresh a session.
    Disable {
        /// The account.
        username: String,
    },
    /// Enable an account again, clearing a lockout.
    Enable {
        /// The account.
        username: String,
    },
    /// Replace the account's TOTP secret and print the new enrolment URI once.
    ResetMfa {
        /// The account.
        username: String,
    },
    /// The auditor's report of break-glass (emergency) accesses: who, which patient (as its
    /// keyed reference), when, until when, and the stated reason. Reasons are free text and
    /// may mention the patient: run it where an auditor may see that.
    BreakGlassReport {
        /// Only accesses in the last this many hours.
        #[arg(long, default_value_t = 24 * 30)]
        since_hours: u32,
    },
}

/// `phigate clients` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client.
    Add {
        /// A display name.
        name: String,
        /// The role its own tokens act in (`client_credentials`); people keep their own role.
        #[arg(long, default_value = "service")]
        role: String,
        /// client_secret_basic, client_secret_post, private_key_jwt or none (public, PKCE).
        #[arg(long, default_value = "client_secret_basic")]
        method: String,
        /// An exact redirect URI for the authorization code flow (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A scope the client may be granted (repeatable; default: all of the role's).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// The client's public keys (a JWKS file), for private_key_jwt.
        #[arg(long, value_name = "FILE")]
        jwks: Option<PathBuf>,
    },
    /// List clients.
    List,
    /// Revoke a client and every session issued through it.
    Revoke {
        /// The client_id.
        client_id: String,
    },
}

/// `phigate keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the tenant and patient key versions with their states, and how many sealed values
    /// (and patient keys) each version protects. Reads ciphertext headers only.
    Status,
    /// Give the tenant key, and every patient key, a new version for writes. Older versions
    /// still decrypt until `phigate keys rewrap` has moved their data.
    Rotate {
        /// Rotate the tenant key only, not the patient keys.
        #[arg(long)]
        tenant_only: bool,
    },
    /// Give access tokens a new signing key: new tokens carry its key id, the old public key
    /// stays in the JWKS until its last token has expired (15 minutes and leeway), then drops
    /// out. Running servers pick the new key up within seconds.
    RotateSigning,
    /// Move every sealed value and patient key to the active key versions, then retire the
    /// decrypt-only versions that protect nothing. Exits non-zero if a value failed to open.
    Rewrap {
        /// Retire a version only once it was superseded this many seconds ago, so that a writer
        /// that took the old key just before a rotation has finished.
        #[arg(long, default_value_t = 300)]
        grace_secs: u64,
    },
}

/// `phigate patient` subcommands.
#[derive(Debug, Subcommand)]
pub enum PatientCommand {
    /// Run a deletion request: crypto-shred the patient (destroy every version of their key),
    /// delete their vault maps, drafts and resources, and write a tombstone (keyed reference,
    /// time, who, request id) to the store and the audit log. A patient under legal hold is
    /// refused. A later import of the same patient is refused unless `--allow-reimport`. This
    /// cannot be undone.
    Forget {
        /// The patient's id as imported (the FHIR Patient id).
        id: String,
        /// The argument is a patient reference (64 hex characters, as printed by
        /// `phigate import` and written in the audit log) rather than an id.
        #[arg(long = "ref")]
        by_ref: bool,
        /// The deletion request's id, from your request tracking (default: a random id).
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        /// Who asked for the deletion (a staff or system id, not the patient's name).
        #[arg(long, value_name = "WHO", default_value = "local-operator")]
        requested_by: String,
    },
    /// Place a legal hold: retention skips the patient and deletion requests are refused
    /// until the hold is released.
    Hold {
        /// The patient's id (or reference with `--ref`).
        #[arg(long, value_name = "ID")]
        patient: String,
        /// `--patient` is a patient reference (64 hex characters).
        #[arg(long = "ref")]
        by_ref: bool,
        /// Why (stored sealed; say which matter, not who the patient is).
        #[arg(long)]
        reason: String,
    },
    /// Release a legal hold.
    Release {
        /// The patient's id (or reference with `--ref`).
        #[arg(long, value_name = "ID")]
        patient: String,
        /// `--patient` is a patient reference (64 hex characters).
        #[arg(long = "ref")]
        by_ref: bool,
    },
    /// List the patients under legal hold (references, who, when).
    Holds,
    /// List the tombstones deletion requests left (references, request ids, who, when).
    Tombstones,
    /// Incident containment: freeze a patient's data. No task, tool, draft review, route or
    /// import may read, disclose or change it until `unfreeze`; break-glass does not override
    /// it; each refusal is audited. Running servers see it on their next request.
    Freeze(FreezeArgs),
    /// Lift a freeze.
    Unfreeze(FreezeArgs),
    /// List frozen patients (as keyed references) with who froze them, when and why.
    Frozen,
    /// Confine staff to their care relationships: each reaches only the patients they are
    /// assigned to (`assign`), anyone else by break-glass only. `--off` lifts it.
    Confine {
        /// Lift the confinement: staff reach every patient of the tenant again.
        #[arg(long)]
        off: bool,
    },
    /// Put a user on a patient's care team.
    Assign(CareArgs),
    /// Take a user off a patient's care team.
    Unassign(CareArgs),
}

/// Options of `phigate patient assign` and `unassign`.
#[derive(Debug, Args)]
pub struct CareArgs {
    /// The user's id (as `phigate users list` shows it, or an external `issuer#subject`).
    #[arg(long)]
    pub user: String,
    /// The patient's id as imported, or with `--ref` its 64-hex-character reference.
    #[arg(long, value_name = "ID")]
    pub patient: String,
    /// `--patient` is a patient reference rather than an id.
    #[arg(long = "ref")]
    pub by_ref: bool,
}

/// Options of `phigate patient freeze` and `unfreeze`.
#[derive(Debug, Args)]
pub struct FreezeArgs {
    /// The patient's id as imported, or with `--ref` its 64-hex-character reference.
    #[arg(long, value_name = "ID")]
    pub patient: String,
    /// `--patient` is a patient reference (as the audit log writes it) rather than an id.
    #[arg(long = "ref")]
    pub by_ref: bool,
    /// An incident reference and a short cause, without patient details (it is kept and
    /// audited in clear; text that looks like PHI is refused).
    #[arg(long)]
    pub reason: String,
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
    /// Address to listen on, overriding `server.listen` (loopback only without TLS; port 0
    /// picks one).
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
    /// Files to import: JSON bundles, or NDJSON (`.ndjson`, `.jsonl`). With bulk exports,
    /// give the Patient file first: other files' references must resolve to stored resources.
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Import patients that a deletion request removed (their tombstones stay on record).
    #[arg(long)]
    pub allow_reimport: bool,
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
    /// signature (and the witness file's, when `audit.witness_file` is set); exit non-zero and
    /// name the first bad entry and why (modified, missing, reordered, truncated behind a
    /// checkpoint, bad signature) if anything was altered.
    Verify,
    /// Print the last entries.
    Tail {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        count: u64,
    },
    /// Find entries by user, patient, action and time; every filter given must match.
    Search(AuditFilter),
    /// Write entries as NDJSON of FHIR R4 AuditEvent resources (IHE Basic Audit Log Patterns).
    /// Patients appear only as their keyed HMAC reference.
    Export {
        /// The output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Fhir)]
        format: ExportFormat,
        /// Which entries.
        #[command(flatten)]
        filter: AuditFilter,
    },
    /// The accounting of disclosures of one patient (45 CFR 164.528): date, recipient,
    /// purpose and a description of each disclosure.
    Disclosures {
        /// The patient's identifier (its HMAC reference is computed with this deployment's
        /// key).
        #[arg(long, value_name = "ID")]
        patient: String,
        /// Only disclosures at or after this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print an RFC 6962 proof, in JSON, against the tree of `--size` entries (default: the
    /// latest checkpoint).
    #[command(subcommand)]
    Prove(ProveCommand),
    /// Retention: clear the bodies of entries older than `audit.retention_days`, keeping their
    /// hashes and every checkpoint so the log still verifies. The prune is itself audited.
    Prune {
        /// With the log in PostgreSQL: a connection string for a role that may update the log
        /// (the schema's owner). The application role of `audit.postgres_url` may only select
        /// and insert, so it cannot prune.
        #[arg(long, value_name = "URL")]
        owner_url: Option<String>,
    },
    /// Create the audit log's PostgreSQL schema (`audit.postgres_schema`) and its tables as
    /// the role of `--owner-url`, which owns them, and let `--app-role` (the role of
    /// `audit.postgres_url`, created beforehand) select and insert only. Safe to run again.
    InitPostgres {
        /// A connection string for the role that creates and owns the schema.
        #[arg(long, value_name = "URL")]
        owner_url: String,
        /// The application role the gateway connects as.
        #[arg(long, value_name = "ROLE")]
        app_role: String,
    },
}

/// What to prove.
#[derive(Debug, Subcommand)]
pub enum ProveCommand {
    /// That entry `--seq` is in the tree.
    Inclusion {
        /// The entry's sequence number.
        #[arg(long)]
        seq: u64,
        /// The tree size (default: the latest checkpoint's).
        #[arg(long)]
        size: Option<u64>,
    },
    /// That the tree of `--old` entries is a prefix of the tree of `--new`.
    Consistency {
        /// The older tree size.
        #[arg(long)]
        old: u64,
        /// The newer tree size (default: the latest checkpoint's).
        #[arg(long)]
        new: Option<u64>,
    },
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// NDJSON of FHIR R4 AuditEvent resources.
    Fhir,
}

/// Filters shared by `audit search` and `audit export`.
#[derive(Debug, Args)]
pub struct AuditFilter {
    /// The acting user's id.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// The patient's identifier; its HMAC reference is computed with this deployment's key.
    #[arg(long, value_name = "ID")]
    pub patient: Option<String>,
    /// The action (`disclosure`, `read`, `sign_in`, `denial`, ...).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Entries at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Entries before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Start at this sequence number.
    #[arg(long, default_value_t = 0)]
    pub from_seq: u64,
    /// At most this many entries.
    #[arg(long, default_value_t = 1000)]
    pub limit: u64,
}

/// `phigate compliance …`.
#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Check the configuration and data directory against the controls catalogue and print a
    /// report for the privacy officer (Markdown, or JSON with `--json`). Changes nothing. Exits
    /// non-zero when a required control fails.
    Report {
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
        /// Also write `compliance-report.md` and `compliance-report.json` into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Check that every test the catalogue names ran and passed, in the saved output of a test
    /// run (`cargo test --workspace 2>&1 | tee FILE`). Exits non-zero naming each one that did not.
    Tests {
        /// The saved output of the test run.
        #[arg(long, value_name = "FILE")]
        results: PathBuf,
    },
    /// List the controls: citation, required or addressable, and how many tests prove each.
    Controls,
}

/// `phigate incidents …`.
#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents, newest first.
    List {
        /// Only incidents in this status: open, acknowledged or closed.
        #[arg(long)]
        status: Option<String>,
        /// Print JSON (the shape of `GET /v1/incidents`).
        #[arg(long)]
        json: bool,
    },
    /// Show one incident with the patient references it touched.
    Show {
        /// The incident id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an open incident (audited, as the local operator).
    Ack {
        /// The incident id.
        id: String,
    },
    /// The breach-assessment report of one incident, in Markdown (or JSON with `--json`).
    Report {
        /// The incident id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `phigate doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Warn when a TLS certificate expires within this many days.
    #[arg(long, default_value_t = 30)]
    pub cert_warn_days: u32,
    /// Fail when this machine's clock and the reference clocks differ by more than this many
    /// seconds.
    #[arg(long, default_value_t = 60)]
    pub max_skew_secs: u64,
}
