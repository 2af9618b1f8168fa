//! `mlgate profile MODEL`: per-op time from the runtime's own profiler, as tables.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlgate::benchmark::InputSpec;
use mlgate::profile::{ProfileReport, ProfileRequest};
use mlgate::report::Envelope;

use crate::cmd::context::Context;
use crate::cmd::gate::RuntimeArgs;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Model file or build (id, prefix or tag); a build runs on its target's runtime.
    pub model: PathBuf,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Profiled runs (after the warm-up); every figure is their mean.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub runs: u64,
    /// Runs before the profiled ones, left out of every figure.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Rows of the node and op-type tables.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Add FLOP and byte estimates, the compute/memory-bound label, what the runtime
    /// rewrote and fusions the file leaves undone.
    #[arg(long)]
    pub deep: bool,
    /// A quantized variant (build or file) of this model: per-layer divergence of its
    /// intermediate tensors from this model's, on the same inputs.
    #[arg(long, value_name = "BUILD")]
    pub int8_build: Option<PathBuf>,
    /// Override the detected task: vision, nlp, audio, tabular.
    #[arg(long)]
    pub task: Option<String>,
    /// Sequence length for token inputs (default 128, clipped to the model's maximum).
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Batch size for dynamic batch dims.
    #[arg(long)]
    pub batch: Option<usize>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let ws = ctx.open_optional();
    let model = mlgate::model::resolve(ws, &args.model)?;
    let int8_build = args
        .int8_build
        .as_ref()
        .map(|b| mlgate::model::resolve(ws, b))
        .transpose()?;
    let request = ProfileRequest {
        model,
        backend: args.runtime.backend.clone(),
        threads: args.runtime.threads(),
        runs: args.runs as usize,
        warmup: args.warmup,
        inputs: InputSpec {
            task: args.task.clone(),
            seq_lens: args.seq_len.into_iter().collect(),
            batch: args.batch,
            seed: 0,
        },
        deep: args.deep,
        int8_build,
        runtimes: ctx.runtimes.clone(),
    };
    let report = mlgate::profile::profile(&request)?;
    if ctx.json {
        render::print_json(&Envelope::new(report))?;
    } else {
        print!("{}", text(&report, args.top));
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(Outcome::Success)
}

fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// FLOPs or bytes with an SI prefix (`1.23 G`).
fn si(v: f64) -> String {
    let (scale, prefix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(s, _)| v.abs() >= *s)
        .unwrap_or((1.0, ""));
    format!("{:.2} {prefix}", v / scale)
}

fn shape_text(shapes: &[Vec<i64>]) -> String {
    shapes
        .first()
        .map(|s| {
            let dims: Vec<String> = s.iter().map(i64::to_string).collect();
            format!("[{}]", dims.join(", "))
        })
        .unwrap_or_else(|| "—".into())
}

pub fn text(r: &ProfileReport, top: usize) -> String {
    let mut out = String::new();
    let t = &r.timing;
    let _ = writeln!(
        out,
        "{} on {} {} — {} ({} profiled runs after {} warm-up, inputs {})",
        r.model,
        r.session.backend,
        r.session.runtime_version.as_deref().unwrap_or(""),
        r.profiler,
        r.runs,
        r.warmup,
        r.input_set
    );
    let _ = writeln!(
        out,
        "per-op times sum to {} per run, {:.0}% of the measured inference time {} (medians over \
         the profiled runs, profiler on){}",
        view::ms(t.op_sum_ms_median),
        100.0 * t.coverage,
        view::ms(t.run_wall_ms_median),
        t.runtime_run_ms_median
            .map(|m| format!("; the runtime's own run time {}", view::ms(m)))
            .unwrap_or_default()
    );
    let deep = r.roofline.is_some() || r.fusions.is_some();
    out.push('\n');
    let mut header = vec!["op type", "nodes", "calls/run", "time/run", "share"];
    if deep {
        header.extend(["FLOPs/run (est.)", "GFLOP/s (est.)"]);
    }
    let mut table = view::table(&header);
    for row in r.by_op_type.iter().take(top) {
        let mut cells = vec![
            row.op_type.clone(),
            row.nodes.to_string(),
            format!("{:.1}", row.calls_per_run),
            view::ms(row.ms_per_run),
            pct(row.share),
        ];
        if deep {
            cells.push(row.flops_estimate.map(si).unwrap_or_else(|| "—".into()));
            cells.push(
                row.flops_estimate
                    .filter(|_| row.ms_per_run > 0.0)
                    .map(|f| format!("{:.2}", f / (row.ms_per_run * 1e-3) / 1e9))
                    .unwrap_or_else(|| "—".into()),
            );
        }
        table.add_row(cells);
    }
    view::right_align(&mut table, &[1, 2, 3, 4, 5, 6]);
    let _ = writeln!(out, "{}", view::render(&table));
    if r.by_op_type.len() > top {
        let _ = writeln!(out, "({} more op types; --top N)", r.by_op_type.len() - top);
    }
    out.push('\n');
    let mut header = vec!["node", "op type", "time/run", "share", "output"];
    if deep {
        header.extend(["FLOPs (est.)", "bytes (est.)", "FLOP/B", "bound (est.)"]);
    }
    let mut table = view::table(&header);
    for n in r.nodes.iter().take(top) {
        let mut cells = vec![
            n.node.clone(),
            n.op_type.clone(),
            view::ms(n.ms_per_run),
            pct(n.share),
            shape_text(&n.output_shapes),
        ];
        if deep {
            cells.push(n.flops_estimate.map(si).unwrap_or_else(|| "—".into()));
            cells.push(
                n.bytes_estimate
                    .map(|b| format!("{}B", si(b as f64)))
                    .unwrap_or_else(|| "—".into()),
            );
            cells.push(
                n.intensity
                    .map(|i| format!("{i:.1}"))
                    .unwrap_or_else(|| "—".into()),
            );
            cells.push(n.bound_estimate.clone().unwrap_or_else(|| "—".into()));
        }
        table.add_row(cells);
    }
    view::right_align(&mut table, &[2, 3]);
    let _ = writeln!(out, "{}", view::render(&table));
    if let Some(roof) = &r.roofline {
        let _ = writeln!(
            out,
            "\nroofline (estimate): copy bandwidth {:.1} GB/s (measured), best attained {:.1} \
             GFLOP/s, ridge {:.1} FLOP/B — {}",
            roof.copy_bandwidth_gb_s, roof.attained_gflop_s, roof.ridge_flop_per_byte, roof.method
        );
    }
    if let Some(f) = &r.fusions {
        if !f.runtime_ops.is_empty() {
            let _ = writeln!(
                out,
                "\nops the runtime created (fused or rewritten, not in the file): {}",
                f.runtime_ops.join(", ")
            );
        }
        let changed: Vec<String> = f
            .op_counts
            .iter()
            .filter(|c| c.in_file != c.ran)
            .map(|c| format!("{} {} → {}", c.op_type, c.in_file, c.ran))
            .collect();
        if !changed.is_empty() {
            let _ = writeln!(
                out,
                "nodes in the file → nodes that ran: {}",
                changed.join(", ")
            );
        }
        if f.missed.is_empty() {
            let _ = writeln!(
                out,
                "no unfused Conv + BatchNormalization, MatMul + Add or Conv + Add in the file"
            );
        }
        for m in &f.missed {
            let fused = match m.runtime_fused {
                Some(true) => "the runtime fused them at load",
                Some(false) => "the runtime did not fuse them either",
                None => "",
            };
            let _ = writeln!(
                out,
                "unfused in the file: {} ×{} (e.g. {}); {fused}. {}",
                m.pattern,
                m.count,
                m.examples.join(", "),
                m.advice
            );
        }
    }
    if let Some(d) = &r.divergence {
        let _ = writeln!(
            out,
            "\nper-layer divergence of {} from {} on {} (same inputs):",
            d.quantized_model, d.float_model, d.backend
        );
        let mut table = view::table(&["tensor", "op type", "rel. L2", "cosine", "max |Δ|"]);
        for l in &d.layers {
            table.add_row(vec![
                l.tensor.clone(),
                l.op_type.clone(),
                format!("{:.2e}", l.relative_l2),
                format!("{:.5}", l.cosine),
                format!("{:.3e}", l.max_abs),
            ]);
        }
        view::right_align(&mut table, &[2, 3, 4]);
        let _ = writeln!(out, "{}", view::render(&table));
        if let Some(j) = &d.largest_jump {
            let _ = writeln!(out, "the error grows most at {j}");
        }
    }
    out
}
