//! The workspace as the CLI sees it: which one (`--workspace`, `MLGATE_WORKSPACE`, or the
//! nearest `.mlgate/`), opened once per process, created on the first write with a note on
//! stderr, confirmation prompts that never wait on a non-terminal stdin, and the command
//! history entry written at the end of `main`.

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use mlgate::report::{Cancelled, Envelope};
use mlgate::workspace::{time, CommandKind, NewCommand};
use mlgate::{Workspace, WorkspaceOptions};

struct Session {
    options: WorkspaceOptions,
    started: Instant,
    started_at: i64,
    workspace: Option<Rc<Workspace>>,
}

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session {
        options: WorkspaceOptions::default(),
        started: Instant::now(),
        started_at: time::now_ms(),
        workspace: None,
    });
}

/// Called once by `main` with the global `--workspace` flag.
pub fn configure(flag: Option<PathBuf>) {
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        s.options = WorkspaceOptions::from_flag(flag);
        s.started = Instant::now();
        s.started_at = time::now_ms();
    });
}

pub fn options() -> WorkspaceOptions {
    SESSION.with(|s| s.borrow().options.clone())
}

fn cached() -> Option<Rc<Workspace>> {
    SESSION.with(|s| s.borrow().workspace.clone())
}

fn keep(ws: Workspace) -> Rc<Workspace> {
    let ws = Rc::new(ws);
    SESSION.with(|s| s.borrow_mut().workspace = Some(ws.clone()));
    ws
}

/// The workspace in force; an error (exit 2) when there is none.
pub fn open() -> mlgate::Result<Rc<Workspace>> {
    if let Some(ws) = cached() {
        return Ok(ws);
    }
    Ok(keep(Workspace::open(&options())?))
}

/// The workspace in force, created in the current directory if there is none — saying so
/// once, on stderr, so stdout stays clean for `--json`.
pub fn open_for_write() -> mlgate::Result<Rc<Workspace>> {
    if let Some(ws) = cached() {
        return Ok(ws);
    }
    let (ws, created) = Workspace::open_or_create(&options())?;
    if created {
        eprintln!(
            "note: created mlgate workspace {} (budget.toml and config.toml in it are meant \
             to be committed)",
            ws.dir().display()
        );
    }
    Ok(keep(ws))
}

/// Keep a workspace opened by `init` for the history entry.
pub fn adopt(ws: Workspace) -> Rc<Workspace> {
    keep(ws)
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

/// Append this invocation to the workspace's history. Never fails the command: a history
/// that cannot be written is a warning. Without a workspace there is nothing to write to,
/// and none is created for it.
pub fn record_history(kind: CommandKind, exit_code: u8) {
    let (options, started, started_at) = SESSION.with(|s| {
        let s = s.borrow();
        (s.options.clone(), s.started, s.started_at)
    });
    let ws = match cached() {
        Some(ws) => ws,
        None => match options.locate() {
            Ok(Some(dir)) if dir.join("registry.db").exists() => match Workspace::open(&options) {
                Ok(ws) => Rc::new(ws),
                Err(e) => {
                    eprintln!("warning: could not record this command in the history: {e}");
                    return;
                }
            },
            _ => return,
        },
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let entry = NewCommand {
        command: kind,
        args,
        exit_code: exit_code as i32,
        duration_ms: started.elapsed().as_millis() as u64,
        started_at,
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        build_ids: ws.touched_builds(),
    };
    if let Err(e) = ws.record_command(&entry) {
        eprintln!("warning: could not record this command in the history: {e}");
    }
}

/// A model named on the command line: an existing file or package, else a build of the
/// workspace (tag, id, or id prefix), run from its verified artifact.
pub fn model_or_build(
    arg: &std::path::Path,
) -> mlgate::Result<(PathBuf, Option<mlgate::workspace::Build>)> {
    if arg.exists() {
        return Ok((arg.to_path_buf(), None));
    }
    let reference = arg.to_string_lossy();
    let Ok(ws) = open() else {
        // No workspace: the argument can only have been meant as a file.
        mlgate::inspect(arg)?;
        return Ok((arg.to_path_buf(), None));
    };
    let build = ws
        .resolve_build(&reference)
        .map_err(|e| mlgate::Error::Invalid {
            what: "model or build",
            value: reference.to_string(),
            hint: format!("it is neither a file nor a build of the workspace ({e})"),
        })?;
    let path = ws.model_path(&build)?;
    Ok((path, Some(build)))
}
