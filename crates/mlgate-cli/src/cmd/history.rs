//! `mlgate history`: the audit log of commands run in this workspace. Deleting entries never
//! touches builds or benchmarks.

use mlgate::report::{Envelope, HistoryDeleted, HistoryList};
use mlgate::workspace::{CommandEntry, CommandKind, HistoryQuery, HistorySelect};

use crate::cmd::context::{self, Context};
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    /// Only this command (`import`, `baseline`, `tag create`, ...), or `failed` for every
    /// command that exited non-zero.
    #[arg(long)]
    pub filter: Option<HistorySelect>,
    /// Only since: `yesterday`, `7 days ago`, `2024-01-31` (UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Only commands that touched this build (id or id prefix).
    #[arg(long = "build-id")]
    pub build_id: Option<String>,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(clap::Subcommand)]
pub enum HistoryCommand {
    /// Delete one entry by id (4+ characters).
    Delete { id: String },
    /// Delete every entry.
    Clear {
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.command {
            None => CommandKind::History,
            Some(HistoryCommand::Delete { .. }) => CommandKind::HistoryDelete,
            Some(HistoryCommand::Clear { .. }) => CommandKind::HistoryClear,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let workspace = ctx.open()?;
    match args.command {
        Some(HistoryCommand::Delete { id }) => {
            let deleted = workspace.history_delete(&id)?;
            if json {
                render::print_json(&Envelope::new(HistoryDeleted {
                    deleted: vec![deleted],
                    count: 1,
                }))?;
            } else {
                println!("Deleted history entry {deleted}");
            }
        }
        Some(HistoryCommand::Clear { yes }) => {
            if !context::confirm("Delete the whole command history?", yes, "--yes")? {
                return context::cancelled(json);
            }
            let n = workspace.history_clear()?;
            if json {
                render::print_json(&Envelope::new(HistoryDeleted {
                    deleted: Vec::new(),
                    count: n,
                }))?;
            } else {
                println!("Deleted {n} history entries (builds and benchmarks are untouched)");
            }
        }
        None => {
            let query = HistoryQuery {
                select: args.filter,
                since: args
                    .since
                    .as_deref()
                    .map(|s| view::when("--since", s))
                    .transpose()?,
                build_id_prefix: args.build_id,
                limit: Some(args.limit),
            };
            let entries = workspace.history_matching(&query)?;
            if json {
                render::print_json(&Envelope::new(HistoryList { entries }))?;
            } else if entries.is_empty() {
                println!("No history entries match.");
            } else {
                println!("{}", table(&entries));
            }
        }
    }
    Ok(Outcome::Success)
}

pub fn table(entries: &[CommandEntry]) -> String {
    let mut t = view::table(&["ID", "WHEN", "COMMAND", "EXIT", "TIME", "BUILDS"]);
    for e in entries {
        let line = std::iter::once("mlgate".to_string())
            .chain(e.args.iter().map(|a| {
                if a.contains(' ') || a.is_empty() {
                    format!("{a:?}")
                } else {
                    a.clone()
                }
            }))
            .collect::<Vec<_>>()
            .join(" ");
        let line: String = if line.chars().count() > 60 {
            line.chars().take(59).chain(std::iter::once('…')).collect()
        } else {
            line
        };
        t.add_row(vec![
            e.id[..8.min(e.id.len())].to_string(),
            view::ago(e.started_at),
            line,
            e.exit_code.to_string(),
            format!("{} ms", e.duration_ms),
            e.build_ids
                .iter()
                .map(|b| &b[..8.min(b.len())])
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    view::right_align(&mut t, &[3, 4]);
    view::render(&t)
}
