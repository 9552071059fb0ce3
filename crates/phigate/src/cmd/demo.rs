//! `phigate demo`: the main job on shipped synthetic data, through the whole request path.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use phigate_agent::{
    Catalog, Pipeline, TaskInput, clinical_note, import_bundle, random_id, set_user, sign_in,
};
use phigate_auth::Role;
use phigate_deid::gate::EgressGate;
use phigate_fhir::{Bundle, known_phi};
use phigate_llm::{AnthropicConfig, AnthropicProvider, ApiKey, EchoProvider, Provider};
use serde_json::Value;

use crate::cli::{DemoArgs, ProviderChoice};
use crate::cmd::demo_report::{Report, Stage};
use crate::cmd::import::read_bounded;
use crate::cmd::{deid, init, local_operator};
use crate::config::Config;
use crate::datadir::{self, Layout, TOKEN_AUDIENCE};

/// The shipped Synthea patient (Apache-2.0; see `examples/README.md`).
const SAMPLE_BUNDLE: &[u8] = include_bytes!(
    "../../../../examples/synthea/Marcos_Delagarza_4acb6705-25a7-430a-b799-a4ad8d7fbb38.json"
);
/// The shipped ACI-Bench visit dialogue D2N028 (CC BY 4.0; see `examples/README.md`).
const SAMPLE_DIALOGUE: &[u8] = include_bytes!("../../../../examples/aci-bench/D2N028.json");

/// The local clinician the demo signs in as.
const DEMO_CLINICIAN: &str = "demo-clinician";

/// Largest dialogue accepted.
const MAX_DIALOGUE_BYTES: usize = 1024 * 1024;

/// Runs `phigate demo`.
pub fn run(config: &Config, args: &DemoArgs) -> Result<ExitCode> {
    let mut report = Report::new();
    let layout = Layout::new(&config.data_dir);
    if !layout.is_initialised() {
        init::initialise(config, "admin")?;
        report.stage(
            Stage::DataDir,
            format!(
                "{} initialised (root key 0600, store, audit log)",
                layout.root.display()
            ),
        );
    } else {
        report.stage(
            Stage::DataDir,
            format!("{} (existing)", layout.root.display()),
        );
    }
    let opened = datadir::open(config)?;
    let audit_start = opened.audit.len()?;

    // Import the patient into the encrypted store.
    let bundle = match &args.bundle {
        Some(path) => read_bounded(path)?,
        None => SAMPLE_BUNDLE.to_vec(),
    };
    let operator = local_operator(&config.tenant);
    let imported = import_bundle(
        &opened.store,
        &opened.audit,
        &operator,
        &config.tenant,
        &bundle,
    )
    .context("cannot import the bundle")?;
    report.stage(
        Stage::Import,
        format!(
            "{} resources sealed under the patient's own key",
            imported.resources
        ),
    );

    // Sign in as a local clinician: password, then a short-lived token verified like any other.
    let password = random_id()?;
    set_user(
        &opened.store,
        &config.tenant,
        DEMO_CLINICIAN,
        Role::Clinician,
        &password,
    )?;
    let session = sign_in(
        &opened.store,
        &opened.audit,
        &opened.tokens,
        TOKEN_AUDIENCE,
        &config.tenant,
        DEMO_CLINICIAN,
        &password,
    )?;
    report.stage(
        Stage::SignIn,
        format!(
            "{DEMO_CLINICIAN} ({}) by Argon2id password -> EdDSA access token valid {} s",
            session.principal.role.as_str(),
            session.expires_in
        ),
    );

    let dialogue = load_dialogue(args.dialogue.as_deref())?;
    let provider = provider(config, args.provider)?;
    let provider_name = provider.name().to_owned();
    crate::disclosure::warn_if_unsafe(config);
    let pipeline = Pipeline {
        tenant: config.tenant.clone(),
        store: opened.store.clone(),
        audit: opened.audit.clone(),
        detector: Arc::new(deid::detector(config)?),
        provider,
        provider_baa: crate::disclosure::linkable(config),
        model: config.provider.model.clone(),
        catalog: Arc::new(Catalog::builtin()?),
    };
    let task = clinical_note()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let run = runtime.block_on(pipeline.run(
        &session.principal,
        TaskInput {
            task: &task,
            patient_id: &imported.patient_id,
            text: &dialogue,
        },
    ))?;
    report.task(&task, &run, &provider_name);

    // An independent last look: the patient's identifiers, read afresh from the bundle, must
    // not be anywhere in the bytes that went out.
    let record = Bundle::from_slice(&bundle)?.into_patient_record()?;
    let known = known_phi(&record);
    let values: Vec<_> = known.values().collect();
    let leak = EgressGate::new(values.iter().map(|(_, v)| *v))
        .check(&run.outbound.body)
        .err();
    let leak_kind = leak.map(|l| {
        values
            .get(l.value_index)
            .map_or("UNKNOWN", |(k, _)| k.tag())
    });
    report.leak_check(values.len(), run.outbound.body.len(), leak_kind);

    opened.audit.checkpoint()?;
    let entries = opened.audit.entries(audit_start, u64::MAX / 2)?;
    let verification = opened.audit.verify()?;
    let ok = leak_kind.is_none() && verification.ok;
    report.finish(&run, &entries, &verification);
    report.flush();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load_dialogue(path: Option<&Path>) -> Result<String> {
    let (bytes, json) = match path {
        None => (SAMPLE_DIALOGUE.to_vec(), true),
        Some(path) => {
            let bytes = read_bounded(path)?;
            (
                bytes,
                path.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json")),
            )
        }
    };
    if bytes.len() > MAX_DIALOGUE_BYTES {
        bail!("the dialogue is larger than {MAX_DIALOGUE_BYTES} bytes");
    }
    if !json {
        return String::from_utf8(bytes).context("the dialogue is not UTF-8 text");
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "the dialogue file is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    match value.get("dialogue").and_then(Value::as_str) {
        Some(text) => Ok(text.to_owned()),
        None => bail!("the dialogue file has no \"dialogue\" string field"),
    }
}

pub(crate) fn provider(
    config: &Config,
    choice: Option<ProviderChoice>,
) -> Result<Arc<dyn Provider>> {
    let choice = choice.unwrap_or(match config.provider.kind.as_str() {
        "anthropic" => ProviderChoice::Anthropic,
        _ => ProviderChoice::Echo,
    });
    match choice {
        ProviderChoice::Echo => Ok(Arc::new(EchoProvider)),
        ProviderChoice::Anthropic => {
            let var = &config.provider.api_key_env;
            let key = std::env::var(var)
                .ok()
                .filter(|k| !k.trim().is_empty())
                .with_context(|| format!("--provider anthropic needs an API key in {var}"))?;
            let mut settings = AnthropicConfig::new(ApiKey::new(key));
            settings.base_url = config.provider.base_url.clone();
            settings.timeout = Duration::from_secs(config.provider.timeout_secs);
            settings.first_byte_timeout =
                Duration::from_secs(config.provider.first_byte_timeout_secs);
            settings.max_retries = config.provider.max_retries;
            Ok(Arc::new(AnthropicProvider::new(settings)?))
        }
    }
}
