//! The `phigate` command. It reads configuration, picks a subcommand and reports errors; all
//! the work happens in the library crates.

mod cli;
mod cmd;
mod compliance;
mod config;
mod datadir;
mod disclosure;
mod logging;
mod output;
mod replicas;
mod signing_keys;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Errors from the library crates are PHI-free by construction; print the chain.
            let mut message = format!("error: {err}");
            for cause in err.chain().skip(1) {
                message.push_str(&format!("\n  caused by: {cause}"));
            }
            output::error_line(&message);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    // Spans are exported only by the long-running server; one-shot commands just log.
    let tracing = logging::init(&config, matches!(cli.command, Command::Serve(_)))?;
    let result = dispatch(&config, cli.command);
    tracing.shutdown();
    result
}

fn dispatch(config: &Config, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => cmd::init::run(config, &args),
        Command::Demo(args) => cmd::demo::run(config, &args),
        Command::Import(args) => cmd::import::run(config, &args),
        Command::Deid(args) => cmd::deid::run(config, &args),
        Command::Eval(args) => cmd::eval::run(config, &args),
        Command::Audit(cli::AuditCommand::InitPostgres {
            owner_url,
            app_role,
        }) => cmd::audit::init_postgres(config, &owner_url, &app_role),
        Command::Audit(command) => cmd::audit::run(config, &command),
        Command::Serve(args) => cmd::serve::run(config, &args),
        Command::Compliance(command) => cmd::compliance::run(config, &command),
        Command::Token(args) => cmd::token::run(config, &args),
        Command::Users(command) => cmd::users::run(config, &command),
        Command::Clients(command) => cmd::clients::run(config, &command),
        Command::Keys(command) => cmd::keys::run(config, &command),
        Command::Patient(command) => cmd::patient::run(config, &command),
        Command::Tasks(cli::TasksCommand::List) => cmd::tasks::list(),
        Command::Run(args) => cmd::run::run(config, &args),
        Command::Drafts(args) => cmd::drafts::run(config, &args),
        Command::Slots(cli::SlotsCommand::Import { file }) => cmd::slots::import(config, &file),
        Command::Retention(command) => cmd::retention::run(config, &command),
        Command::Backup(args) => cmd::backup::run(config, &args),
        Command::Restore(args) => cmd::restore::run(config, &args),
        Command::Providers(command) => cmd::providers::run(config, &command),
        Command::Incidents(command) => cmd::incidents::run(config, &command),
        Command::Doctor(args) => cmd::doctor::run(config, &args),
        Command::Bench(cli::BenchCommand::Load(args)) => cmd::bench::load(&args),
    }
}
