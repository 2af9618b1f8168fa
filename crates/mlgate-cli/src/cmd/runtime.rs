use mlgate::report::{Envelope, RuntimeInstall};
use mlgate::workspace::CommandKind;

use crate::cmd::context::Context;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RuntimeCommand,
}

#[derive(clap::Subcommand)]
enum RuntimeCommand {
    /// Fetch the pinned runtime wheels with pip from PyPI and unpack their shared libraries
    /// into mlgate's runtimes directory ($MLGATE_HOME/runtimes), verifying each sha256.
    Install {
        /// ort (ONNX Runtime 1.31.1), litert (LiteRT 2.3.0) or all.
        #[arg(default_value = "all")]
        runtime: String,
    },
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.command {
            RuntimeCommand::Install { .. } => CommandKind::RuntimeInstall,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    match args.command {
        RuntimeCommand::Install { runtime } => {
            let installed = mlgate::runtime::install_runtimes(&ctx.runtimes, &runtime)?;
            if json {
                render::print_json(&Envelope::new(RuntimeInstall { installed }))?;
            } else {
                for i in &installed {
                    println!("{}", render::installed(i));
                }
            }
            Ok(Outcome::Success)
        }
    }
}
