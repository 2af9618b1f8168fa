//! `mlgate baseline set|show|unset|history`: the build CI gates against, kept as the
//! reserved tag `mlgate-baseline`. Replacing or removing it asks first on a terminal;
//! scripts pass `--force`/`--yes`, and nothing ever waits on a non-terminal stdin.

use mlgate::report::{Baseline, BaselineSet, BaselineUnset, Envelope};
use mlgate::workspace::{CommandKind, BASELINE_TAG};

use crate::cmd::context::{self, Context};
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<BaselineCommand>,
}

#[derive(clap::Subcommand)]
pub enum BaselineCommand {
    /// Make a build the baseline.
    Set {
        /// The build (tag, id or id prefix).
        build: String,
        /// Replace an existing baseline without asking.
        #[arg(long, short = 'f', alias = "yes")]
        force: bool,
    },
    /// Show the baseline (the default).
    Show,
    /// Remove the baseline (the build is untouched).
    Unset {
        /// Do not ask for confirmation.
        #[arg(long, short = 'y', alias = "force")]
        yes: bool,
    },
    /// Changes of the baseline, and the baseline-style tags (main-*, production-*).
    History,
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.command {
            None | Some(BaselineCommand::Show) => CommandKind::BaselineShow,
            Some(BaselineCommand::Set { .. }) => CommandKind::BaselineSet,
            Some(BaselineCommand::Unset { .. }) => CommandKind::BaselineUnset,
            Some(BaselineCommand::History) => CommandKind::BaselineHistory,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let workspace = ctx.open()?;
    match args.command.unwrap_or(BaselineCommand::Show) {
        BaselineCommand::Show => {
            let baseline = workspace.baseline()?;
            if json {
                render::print_json(&Envelope::new(Baseline { baseline }))?;
            } else {
                match baseline {
                    None => println!("No baseline. `mlgate baseline set BUILD` sets one."),
                    Some(s) => {
                        let b = &s.build;
                        println!(
                            "Baseline {}  {} ({}, {}, {}, p50 {})",
                            view::short(&b.id),
                            b.name,
                            b.format,
                            b.target,
                            render::bytes(b.size_bytes),
                            view::p50(&s.latest)
                        );
                        println!("  id  {}", b.id);
                    }
                }
            }
        }
        BaselineCommand::Set { build, force } => {
            let target = workspace.resolve_build(&build)?;
            let mut replace = force;
            if let Some(current) = workspace.baseline()? {
                if current.build.id != target.id && !force {
                    let question = format!(
                        "Replace baseline {} ({}) with {} ({})?",
                        view::short(&current.build.id),
                        current.build.name,
                        view::short(&target.id),
                        target.name
                    );
                    if !context::confirm(&question, false, "--force")? {
                        return context::cancelled(json);
                    }
                    replace = true;
                }
            }
            let change = workspace.baseline_set(&target.id, replace)?;
            if json {
                render::print_json(&Envelope::new(BaselineSet(change)))?;
            } else if !change.changed {
                println!("Build {} is already the baseline", view::short(&target.id));
            } else {
                println!(
                    "Baseline set to build {}  {}",
                    view::short(&target.id),
                    target.name
                );
            }
        }
        BaselineCommand::Unset { yes } => {
            let Some(current) = workspace.baseline()? else {
                if json {
                    render::print_json(&Envelope::new(BaselineUnset { removed: None }))?;
                } else {
                    println!("No baseline to remove.");
                }
                return Ok(Outcome::Success);
            };
            let question = format!(
                "Remove baseline {} ({})?",
                view::short(&current.build.id),
                current.build.name
            );
            if !context::confirm(&question, yes, "--yes")? {
                return context::cancelled(json);
            }
            let tag = workspace.baseline_unset()?;
            if json {
                render::print_json(&Envelope::new(BaselineUnset { removed: tag }))?;
            } else {
                println!(
                    "Baseline removed (was build {}); `{BASELINE_TAG}` keeps its history",
                    view::short(&current.build.id)
                );
            }
        }
        BaselineCommand::History => {
            let history = workspace.baseline_history()?;
            if json {
                render::print_json(&Envelope::new(history))?;
            } else {
                if history.tags.is_empty() {
                    println!("No baseline-style tags (mlgate-baseline, main-*, production-*).");
                } else {
                    let mut t = view::table(&["TAG", "BUILD", "NAME", "SINCE"]);
                    for e in &history.tags {
                        t.add_row(vec![
                            e.tag.name.clone(),
                            view::short(&e.tag.build_id).to_string(),
                            e.build_name.clone(),
                            view::ago(e.tag.updated_at),
                        ]);
                    }
                    println!("{}", view::render(&t));
                }
                if !history.events.is_empty() {
                    println!("\nChanges");
                    let mut t = view::table(&["  WHEN", "TAG", "FROM", "TO", "HOST"]);
                    for e in &history.events {
                        t.add_row(vec![
                            format!("  {}", mlgate::workspace::time::format_utc(e.at)),
                            e.name.clone(),
                            e.previous_build_id
                                .as_deref()
                                .map(view::short)
                                .unwrap_or("—")
                                .to_string(),
                            e.build_id
                                .as_deref()
                                .map(view::short)
                                .unwrap_or("(removed)")
                                .to_string(),
                            e.hostname.clone(),
                        ]);
                    }
                    println!("{}", view::render(&t));
                }
            }
        }
    }
    Ok(Outcome::Success)
}
