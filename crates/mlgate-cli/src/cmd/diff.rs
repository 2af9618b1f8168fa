//! `mlgate diff A B`: two builds side by side — the models (read from their verified
//! artifacts) and their latest benchmarks.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use mlgate::report::Envelope;
use mlgate::workspace::{BuildDiff, DiffSide};

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// First build (tag, id or id prefix).
    pub a: String,
    /// Second build.
    pub b: String,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let workspace = ctx.open()?;
    let diff = workspace.diff(&args.a, &args.b)?;
    if json {
        render::print_json(&Envelope::new(diff))?;
    } else {
        print!("{}", render_diff(&diff));
    }
    Ok(Outcome::Success)
}

fn tensors(side: &DiffSide, outputs: bool) -> String {
    let list = if outputs {
        &side.model.outputs
    } else {
        &side.model.inputs
    };
    list.iter()
        .map(|t| format!("{} {}{}", t.name, t.dtype, t.shape_text()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render_diff(d: &BuildDiff) -> String {
    let (a, b) = (&d.a, &d.b);
    let mut t = view::table(&["", "A", "B", "CHANGE"]);
    let mut row = |k: &str, x: String, y: String, delta: String| {
        t.add_row(vec![k.to_string(), x, y, delta]);
    };
    let same = |x: &str, y: &str| {
        if x == y {
            String::new()
        } else {
            "changed".into()
        }
    };
    row(
        "Build",
        view::short(&a.build.id).into(),
        view::short(&b.build.id).into(),
        String::new(),
    );
    row(
        "Name",
        a.build.name.clone(),
        b.build.name.clone(),
        same(&a.build.name, &b.build.name),
    );
    row(
        "Format",
        a.build.format.clone(),
        b.build.format.clone(),
        same(&a.build.format, &b.build.format),
    );
    row(
        "Target",
        a.build.target.clone(),
        b.build.target.clone(),
        same(&a.build.target, &b.build.target),
    );
    let (ma, mb) = (a.build.method_label(), b.build.method_label());
    row("Method", ma.clone(), mb.clone(), same(&ma, &mb));
    row(
        "Size",
        render::bytes(a.build.size_bytes),
        render::bytes(b.build.size_bytes),
        view::delta_pct(a.build.size_bytes as f64, b.build.size_bytes as f64),
    );
    row(
        "Parameters",
        render::count(a.model.param_count),
        render::count(b.model.param_count),
        view::delta_pct(a.model.param_count as f64, b.model.param_count as f64),
    );
    row(
        "Ops",
        render::count(a.model.op_count()),
        render::count(b.model.op_count()),
        view::delta_pct(a.model.op_count() as f64, b.model.op_count() as f64),
    );
    let (ia, ib) = (tensors(a, false), tensors(b, false));
    row("Inputs", ia.clone(), ib.clone(), same(&ia, &ib));
    let (oa, ob) = (tensors(a, true), tensors(b, true));
    row("Outputs", oa.clone(), ob.clone(), same(&oa, &ob));
    let p50 = |s: &DiffSide| s.latest.as_ref().map(|m| m.p50_ms);
    let p95 = |s: &DiffSide| s.latest.as_ref().and_then(|m| m.p95_ms);
    for (label, x, y) in [
        ("Latency p50", p50(a), p50(b)),
        ("Latency p95", p95(a), p95(b)),
    ] {
        let delta = match (x, y) {
            (Some(x), Some(y)) => view::delta_pct(x, y),
            _ => String::new(),
        };
        row(label, view::opt_ms(x), view::opt_ms(y), delta);
    }
    let how = |s: &DiffSide| {
        s.latest
            .as_ref()
            .map(|m| format!("{}, n={}, {}", m.backend, m.n, view::ago(m.created_at)))
            .unwrap_or_else(|| "no benchmark".into())
    };
    row("Measured", how(a), how(b), String::new());
    let mut out = view::render(&t);
    out.push('\n');

    let ops: BTreeSet<&String> = a.model.ops.keys().chain(b.model.ops.keys()).collect();
    let changed: Vec<(&String, u64, u64)> = ops
        .into_iter()
        .map(|op| {
            (
                op,
                a.model.ops.get(op).copied().unwrap_or(0),
                b.model.ops.get(op).copied().unwrap_or(0),
            )
        })
        .filter(|(_, x, y)| x != y)
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\nOps that differ ({})", changed.len());
        let mut ot = view::table(&["  OP", "A", "B"]);
        for (op, x, y) in changed {
            ot.add_row(vec![format!("  {op}"), x.to_string(), y.to_string()]);
        }
        view::right_align(&mut ot, &[1, 2]);
        let _ = writeln!(out, "{}", view::render(&ot));
    }
    out
}
