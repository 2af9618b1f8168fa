//! `mlgate status`: the workspace at a glance — counts, last build and benchmark, last
//! validation, baseline and budget. Reads only.

use std::fmt::Write as _;

use mlgate::report::Envelope;
use mlgate::workspace::{Constraint, WorkspaceStatus};

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let status = ctx.open()?.status()?;
    if json {
        render::print_json(&Envelope::new(status))?;
    } else {
        print!("{}", render_status(&status));
    }
    Ok(Outcome::Success)
}

pub fn render_status(s: &WorkspaceStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mlgate status  {}", s.hostname);
    let _ = writeln!(out, "✓ Workspace  {}", s.workspace.display());
    let _ = writeln!(
        out,
        "✓ Registry   {} builds | {} benchmarks",
        render::count(s.builds),
        render::count(s.benchmarks)
    );
    if let Some(b) = &s.last_build {
        let _ = writeln!(
            out,
            "             Last build: {} ({}, {}) — {}",
            b.name,
            b.format,
            render::bytes(b.size_bytes),
            view::ago(b.created_at)
        );
    }
    if let Some(r) = &s.last_benchmark {
        let _ = writeln!(
            out,
            "             Last bench: p50={} ({}, {}) — {}",
            view::ms(r.metric.p50_ms),
            r.build_name,
            r.metric.backend,
            view::ago(r.metric.created_at)
        );
    }
    match &s.baseline {
        Some(b) => {
            let _ = writeln!(
                out,
                "✓ Baseline   {} {} {} {}",
                view::short(&b.build.id),
                b.build.name,
                view::p50(&b.latest),
                render::bytes(b.build.size_bytes)
            );
        }
        None => {
            let _ = writeln!(out, "– Baseline   not set (`mlgate baseline set BUILD`)");
        }
    }
    match &s.last_validate {
        Some(v) => {
            let verdict = match v.exit_code {
                0 => "PASSED",
                1 => "FAILED",
                _ => "ERROR",
            };
            let _ = writeln!(
                out,
                "             Last validate: {verdict} — {}",
                view::ago(v.started_at)
            );
        }
        None => {
            let _ = writeln!(out, "             Last validate: never");
        }
    }
    if s.budget.budget.is_empty() {
        let _ = writeln!(
            out,
            "– Budget     none (`mlgate budget set --max-latency MS`)"
        );
    } else {
        let _ = writeln!(out, "✓ Budget     {}", s.budget.path.display());
        for c in Constraint::ALL {
            if let Some(v) = s.budget.budget.get(c) {
                let _ = writeln!(out, "             {:<18} {v} {}", c.description(), c.unit());
            }
        }
    }
    out
}
