//! `mlgate init`: create the workspace (`.mlgate/`) here, or in `--workspace DIR`.

use mlgate::report::Envelope;
use mlgate::Workspace;

use crate::cmd::ws;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args, json: bool) -> mlgate::Result<Outcome> {
    let (workspace, outcome) = Workspace::init(&ws::options())?;
    ws::adopt(workspace);
    if json {
        render::print_json(&Envelope::new(outcome))?;
    } else if outcome.created {
        println!(
            "Initialized mlgate workspace in {}\n\
             Commit budget.toml and config.toml once you create them; the registry and \
             artifacts stay local (see its .gitignore).",
            outcome.workspace.display()
        );
    } else {
        println!(
            "mlgate workspace {} already exists; nothing changed",
            outcome.workspace.display()
        );
    }
    Ok(Outcome::Success)
}
