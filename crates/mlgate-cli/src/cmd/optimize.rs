//! `mlgate optimize BUILD --pass quantize|palettize|prune ...`: a variant of a build,
//! registered as its child after it ran next to its parent.

use std::path::PathBuf;

use mlgate::optimize::{MethodFlags, OptimizeOutcome, OptimizeRequest};
use mlgate::report::Envelope;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// A build (tag, id or prefix), or an ONNX file, which is imported first.
    pub model: PathBuf,
    /// quantize, palettize or prune.
    #[arg(long)]
    pub pass: String,
    /// With --pass quantize: fp16, int8, int8_static or int4.
    #[arg(long)]
    pub method: Option<String>,
    /// int8, int8_static: one weight scale per output channel instead of one per tensor.
    #[arg(long)]
    pub per_channel: bool,
    /// int8_static (required): a directory of images (.jpg .png .bmp .webp, resized to the
    /// input), a directory of .npy files (one sample each) or one .npz (first axis = samples).
    #[arg(long, value_name = "PATH")]
    pub calibration_data: Option<PathBuf>,
    /// int8_static: activation ranges by minmax (default), percentile (99.999) or
    /// percentile:P.
    #[arg(long, value_name = "HOW")]
    pub calibrate: Option<String>,
    /// int4: values per block along the reduction axis (default 32).
    #[arg(long, value_name = "N")]
    pub block_size: Option<usize>,
    /// palettize: bits per index, 1, 2, 4, 6 or 8 (default 4).
    #[arg(long, value_name = "N")]
    pub nbits: Option<u8>,
    /// palettize: output channels sharing one lookup table (default: one table per tensor).
    #[arg(long, value_name = "N")]
    pub group_size: Option<usize>,
    /// prune: fraction of eligible weights to zero (default 0.5).
    #[arg(long, value_name = "F")]
    pub sparsity: Option<f64>,
    /// fp16: keep float32 graph inputs and outputs behind Casts (default true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub keep_io_types: Option<bool>,
    /// Target of a model file's import (default onnxruntime_cpu when ONNX Runtime is
    /// installed, else tract_cpu).
    #[arg(long)]
    pub target: Option<String>,
    /// Name of the variant (default: the parent's).
    #[arg(long)]
    pub name: Option<String>,
    /// Runtime that checks the variant runs (default: the parent's).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let method = MethodFlags {
        pass: args.pass,
        method: args.method,
        per_channel: args.per_channel,
        calibration_data: args.calibration_data.clone(),
        calibrate: args.calibrate,
        block_size: args.block_size,
        nbits: args.nbits,
        group_size: args.group_size,
        sparsity: args.sparsity,
        keep_io_types: args.keep_io_types,
    }
    .method()?;
    let workspace = ctx.open_for_write()?;
    let outcome = mlgate::optimize::optimize(
        workspace,
        &OptimizeRequest {
            model: args.model,
            target: args.target,
            method,
            name: args.name,
            backend: args.backend,
            runtimes: ctx.runtimes.clone(),
            calibration_data: args.calibration_data,
        },
    )?;
    if ctx.json {
        render::print_json(&Envelope::new(outcome))?;
    } else {
        print!("{}", text(&outcome));
        if let Some(c) = outcome.check.as_ref().filter(|c| c.min_cosine < 0.99) {
            eprintln!(
                "warning: the variant's outputs differ from its parent's (cosine {:.4}, max |Δ| \
                 {:.3e} on one input); check it with `mlgate accuracy {} {}` before using it",
                c.min_cosine,
                c.max_abs_error,
                view::short(&outcome.parent.id),
                view::short(&outcome.build.id)
            );
        }
    }
    Ok(Outcome::Success)
}

fn text(o: &OptimizeOutcome) -> String {
    let mut s = String::new();
    let b = &o.build;
    let verb = if o.created {
        "Optimized:"
    } else {
        "Already registered:"
    };
    s += &format!(
        "{verb} build {}  {} {} (from {} {})\n",
        view::short(&b.id),
        b.name,
        o.label,
        view::short(&o.parent.id),
        o.parent.method
    );
    s += &format!(
        "  size     {} → {} ({:.2}×)\n",
        render::bytes(o.parent_size_bytes),
        render::bytes(o.size_bytes),
        o.size_bytes as f64 / o.parent_size_bytes.max(1) as f64
    );
    if let Some(p) = &o.pass {
        s += &format!(
            "  weights  {} tensor{} rewritten: {} → {}; {} nodes added; opset {}{}\n",
            p.tensors_changed,
            if p.tensors_changed == 1 { "" } else { "s" },
            render::bytes(p.weight_bytes_before),
            render::bytes(p.weight_bytes_after),
            p.nodes_added,
            p.opset_before,
            if p.opset_after != p.opset_before {
                format!(" → {}", p.opset_after)
            } else {
                String::new()
            }
        );
    }
    if let Some(c) = &o.check {
        s += &format!(
            "  check    runs on {}{}; outputs vs parent: cosine ≥ {:.5}, max |Δ| {:.3e} ({} output{}, one synthesized input)\n",
            c.backend,
            c.runtime_version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            c.min_cosine,
            c.max_abs_error,
            c.outputs,
            if c.outputs == 1 { "" } else { "s" }
        );
        if let Some(why) = &c.fallback_from {
            s += &format!("  runtime  not the preferred one, which cannot run it: {why}\n");
        }
    }
    if let Some(p) = &o.pass {
        for n in &p.notes {
            s += &format!("  note     {n}\n");
        }
    }
    s += &format!("  id       {}\n", b.id);
    s
}
