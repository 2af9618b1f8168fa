//! `mlgate`: the command-line face of the `mlgate` library.
//!
//! Each command module is small: argument struct → facade call → render. Only this crate
//! knows about terminals, tables, colours and exit codes: 0 success, 1 a gate failed (a real
//! regression), 2 an error (bad input, missing runtime, I/O).

mod cmd;
mod render;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mlgate",
    version,
    about = "Performance CI for on-device ML models (ONNX, TFLite, CoreML)",
    long_about = "Performance CI for on-device ML models (ONNX, TFLite, CoreML).\n\n\
                  Exit codes: 0 success, 1 a gate failed (a real regression), 2 an error.",
    propagate_version = true
)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's format, inputs, outputs, ops, parameters, size and hash.
    Inspect(cmd::inspect::Args),
}

/// Outcome of a command that did not fail: 0 or a gate's 1.
pub enum Outcome {
    Success,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = match cli.command {
        Command::Inspect(args) => cmd::inspect::run(args, json),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Err(err) => {
            if json {
                let report = mlgate::report::ErrorReport::new(&err);
                let _ = writeln!(
                    std::io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            }
            let _ = writeln!(std::io::stderr(), "error: {err}");
            ExitCode::from(2)
        }
    }
}
