//! `mlgate init`: create the workspace (`.mlgate/`) here, or in `--workspace DIR`.

use mlgate::report::Envelope;
use mlgate::Workspace;

use crate::cmd::context::Context;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let (workspace, outcome) = Workspace::init(ctx.workspace_options())?;
    ctx.adopt(workspace);
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
