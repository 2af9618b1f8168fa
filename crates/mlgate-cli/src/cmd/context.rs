//! What every command is handed: the global flags, where the runtimes are, and the
//! workspace (`--workspace`, `MLGATE_WORKSPACE`, or the nearest `.mlgate/`), opened at most
//! once per process and created on the first write with a note on stderr. Also confirmation
//! prompts that never wait on a non-terminal stdin, and the command history entry written
//! at the end of `main`.

use std::cell::OnceCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use mlgate::report::{Cancelled, Envelope};
use mlgate::workspace::{time, CommandKind, NewCommand};
use mlgate::{RuntimeConfig, Workspace, WorkspaceOptions};

/// One invocation's settings and its workspace, built once by `main` and passed to the
/// command.
pub struct Context {
    /// `--json`: machine-readable output on stdout.
    pub json: bool,
    /// `--strict-output`: suspicious model outputs fail the command.
    pub strict_output: bool,
    /// Where the runtime libraries are (`MLGATE_HOME`, `MLGATE_PYTHON`), read once here.
    pub runtimes: RuntimeConfig,
    options: WorkspaceOptions,
    started: Instant,
    started_at: i64,
    workspace: OnceCell<Workspace>,
}

impl Context {
    pub fn new(json: bool, strict_output: bool, workspace: Option<PathBuf>) -> Context {
        Context {
            json,
            strict_output,
            runtimes: RuntimeConfig::from_env(),
            options: WorkspaceOptions::from_flag(workspace),
            started: Instant::now(),
            started_at: time::now_ms(),
            workspace: OnceCell::new(),
        }
    }

    pub fn workspace_options(&self) -> &WorkspaceOptions {
        &self.options
    }

    /// The workspace in force; an error (exit 2) when there is none.
    pub fn open(&self) -> mlgate::Result<&Workspace> {
        if let Some(ws) = self.workspace.get() {
            return Ok(ws);
        }
        let ws = Workspace::open(&self.options)?;
        Ok(self.workspace.get_or_init(|| ws))
    }

    /// The workspace in force if there is one: commands that take files or builds work
    /// without a workspace too.
    pub fn open_optional(&self) -> Option<&Workspace> {
        self.open().ok()
    }

    /// The workspace in force, created in the current directory if there is none — saying
    /// so once, on stderr, so stdout stays clean for `--json`.
    pub fn open_for_write(&self) -> mlgate::Result<&Workspace> {
        if let Some(ws) = self.workspace.get() {
            return Ok(ws);
        }
        let (ws, created) = Workspace::open_or_create(&self.options)?;
        if created {
            eprintln!(
                "note: created mlgate workspace {} (budget.toml and config.toml in it are \
                 meant to be committed)",
                ws.dir().display()
            );
        }
        Ok(self.workspace.get_or_init(|| ws))
    }

    /// Keep a workspace opened by `init` for the history entry.
    pub fn adopt(&self, ws: Workspace) -> &Workspace {
        self.workspace.get_or_init(|| ws)
    }

    /// Append this invocation to the workspace's history. Never fails the command: a
    /// history that cannot be written is a warning. Without a workspace there is nothing
    /// to write to, and none is created for it.
    pub fn record_history(&self, kind: CommandKind, exit_code: u8) {
        let opened;
        let ws = match self.workspace.get() {
            Some(ws) => ws,
            None => match Workspace::open_existing(&self.options) {
                Ok(Some(ws)) => {
                    opened = ws;
                    &opened
                }
                Ok(None) => return,
                Err(e) => {
                    eprintln!("warning: could not record this command in the history: {e}");
                    return;
                }
            },
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let entry = NewCommand {
            command: kind,
            args,
            exit_code: exit_code as i32,
            duration_ms: self.started.elapsed().as_millis() as u64,
            started_at: self.started_at,
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            build_ids: ws.touched_builds(),
        };
        if let Err(e) = ws.record_command(&entry) {
            eprintln!("warning: could not record this command in the history: {e}");
        }
    }
}

/// Ask before doing something destructive. `yes` (`--yes`/`--force`) answers for scripts.
/// On a non-terminal stdin (CI) this never waits: it refuses, naming the flag to pass.
pub fn confirm(question: &str, yes: bool, flag: &str) -> mlgate::Result<bool> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(mlgate::Error::Invalid {
            what: "confirmation for",
            value: question.trim_end_matches('?').to_string(),
            hint: format!("standard input is not a terminal, so mlgate cannot ask; pass {flag}"),
        });
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if stdin.lock().read_line(&mut line).is_err() {
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// What a command prints when the user answered no to [`confirm`]: nothing changed, exit 0.
pub fn cancelled(json: bool) -> mlgate::Result<crate::Outcome> {
    if json {
        crate::render::print_json(&Envelope::new(Cancelled::new()))?;
    } else {
        println!("Cancelled; nothing changed.");
    }
    Ok(crate::Outcome::Success)
}
