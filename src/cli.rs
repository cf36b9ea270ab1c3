//! The command line: `postgram run` serves, `postgram check` validates the config and the catalogue
//! files it names (the `amtool check-config` habit: every problem with file:line:column, exit 1; the
//! checks themselves are in [`crate::check`]), `postgram init` writes a starter config, `postgram
//! health` probes a running service.

mod health;
mod init;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::check;
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "postgram",
    version,
    about = "Operate PostgreSQL databases from Telegram"
)]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Run {
        /// The config file.
        #[arg(long, env = "POSTGRAM_CONFIG", default_value = "postgram.yaml")]
        config: PathBuf,
    },
    /// Validate the config and the catalogue files it names, then exit.
    Check {
        /// The config file.
        #[arg(long, env = "POSTGRAM_CONFIG", default_value = "postgram.yaml")]
        config: PathBuf,
        /// Output: text, or one JSON document for editors and CI.
        #[arg(long, value_enum, default_value = "text")]
        format: check::Format,
    },
    /// Write a starter config with fresh random tokens (printed once); never overwrites a file.
    Init {
        /// The config file to create.
        #[arg(long, env = "POSTGRAM_CONFIG", default_value = "postgram.yaml")]
        config: PathBuf,
        /// The Telegram user id of an owner (the bot's /whoami tells yours); repeatable.
        #[arg(long = "owner", required = true, value_parser = clap::value_parser!(i64).range(1..))]
        owners: Vec<i64>,
    },
    /// Ask a running service's health endpoint; exit 0 on a 2xx answer, 1 otherwise.
    Health {
        /// The endpoint to ask.
        #[arg(long, default_value = "http://127.0.0.1:9750/-/healthy")]
        url: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { config, owners } => init::run(&config, &owners),
        Command::Health { url } => health::run(&url),
        Command::Check { config, format } => check::main(&config, format),
        Command::Run { config } => {
            // The same checks as `postgram check`, so that every problem is logged at once; `app::start`
            // reads the catalogue again for itself.
            let findings = check::everything(&config);
            let runtime = tokio::runtime::Runtime::new();
            // The trace exporter (when the config names one) is a task of the runtime.
            let traces = findings
                .valid
                .as_ref()
                .and_then(|(c, _)| c.telemetry.as_ref());
            let telemetry = match &runtime {
                Ok(runtime) => {
                    let _entered = runtime.enter();
                    telemetry::init(cli.log_format, traces)
                }
                Err(_) => telemetry::init(cli.log_format, None),
            };
            let Some((loaded, _)) = findings.valid else {
                for problem in &findings.problems {
                    tracing::error!(%problem, "invalid configuration");
                }
                return ExitCode::FAILURE;
            };
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the async runtime");
                    return ExitCode::FAILURE;
                }
            };
            let ran = runtime.block_on(crate::app::run(loaded));
            // Outside the runtime's tasks, while it still runs the exporter.
            telemetry.shutdown();
            match ran {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "postgram stopped with an error");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
