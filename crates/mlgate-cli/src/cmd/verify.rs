//! `mlgate verify`: check every build's artifact against its hash, every benchmark's
//! samples, the database and the workspace files; report, change nothing. `--repair` fixes
//! what can be fixed without guessing, after confirmation.

use std::fmt::Write as _;

use mlgate::report::{Envelope, Verification};
use mlgate::workspace::{Severity, VerifyReport};

use crate::cmd::context::{self, Context};
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Fix what can be fixed: remove leftovers of interrupted writes and unreferenced
    /// artifacts, restore damaged artifacts from unchanged source files.
    #[arg(long)]
    pub repair: bool,
    /// Repair without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let workspace = ctx.open()?;
    let mut report = workspace.verify()?;
    let mut repair = None;
    if args.repair && report.repairable() > 0 {
        if !json {
            print!("{}", render_report(&report));
        }
        let question = format!("Repair {} problem(s)?", report.repairable());
        if context::confirm(&question, args.yes, "--yes")? {
            repair = Some(workspace.repair(&report)?);
            report = workspace.verify()?;
        }
    }
    if json {
        render::print_json(&Envelope::new(Verification {
            report: report.clone(),
            repair: repair.clone(),
        }))?;
    } else {
        if let Some(r) = &repair {
            for line in &r.repaired {
                println!("repaired  {line}");
            }
            println!();
        }
        if repair.is_some() || !args.repair || report.repairable() == 0 {
            print!("{}", render_report(&report));
        }
    }
    let errors = report.errors();
    if errors == 0 {
        return Ok(Outcome::Success);
    }
    let builds: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.subject.as_str())
        .collect();
    eprintln!(
        "error: the workspace has {errors} problem(s): {}; see above",
        builds.join(", ")
    );
    Ok(Outcome::Problems)
}

pub fn render_report(r: &VerifyReport) -> String {
    let mut out = format!(
        "Checked {} builds, {} artifacts, {} benchmarks.\n",
        r.builds_checked, r.artifacts_checked, r.benchmarks_checked
    );
    for p in &r.problems {
        let sev = match p.severity {
            Severity::Error => "error  ",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{sev}  {}: {}", p.kind, p.message);
        if let Some(fix) = &p.repair {
            let _ = writeln!(out, "         --repair would {fix}");
        }
    }
    let errors = r.errors();
    let warnings = r.problems.len() - errors;
    if r.problems.is_empty() {
        out.push_str("All good: every artifact matches its hash.\n");
    } else {
        let _ = writeln!(
            out,
            "{errors} error(s), {warnings} warning(s); `mlgate verify --repair` can fix {}.",
            r.repairable()
        );
    }
    out
}
