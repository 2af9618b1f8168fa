//! `mlgate accuracy BASE CAND`: how far a variant's outputs are from its parent's on the
//! same inputs; exit 1 below the thresholds.

use std::path::PathBuf;

use mlgate::optimize::{AccuracyReport, AccuracyRequest};
use mlgate::report::Envelope;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// The reference: a build (tag, id, prefix) or a model file.
    pub baseline: PathBuf,
    /// The variant to check against it.
    pub candidate: PathBuf,
    /// Input samples (task-aware synthetic inputs, one seed each).
    #[arg(long, default_value_t = 64)]
    pub samples: usize,
    /// Seed of the first sample.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Lowest acceptable mean cosine similarity per output.
    #[arg(long, default_value_t = 0.99)]
    pub cosine_threshold: f64,
    /// Lowest acceptable top-1 agreement of classifier-like outputs.
    #[arg(long, default_value_t = 0.99)]
    pub top1_threshold: f64,
    /// Inputs from a dataset instead of synthesized ones: one .npz (samples on the first
    /// axis) or a directory of .npy files or images; every sample in it is used.
    #[arg(long, value_name = "PATH")]
    pub dataset: Option<PathBuf>,
    /// Runtime for both (default: the baseline build's).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let ws = ctx.open_optional();
    let baseline = mlgate::model::resolve(ws, &args.baseline)?;
    let candidate = mlgate::model::resolve(ws, &args.candidate)?;
    let report = mlgate::optimize::accuracy(
        ws,
        &AccuracyRequest {
            baseline,
            candidate,
            samples: args.samples,
            seed: args.seed,
            cosine_threshold: args.cosine_threshold,
            top1_threshold: args.top1_threshold,
            backend: args.backend,
            runtimes: ctx.runtimes.clone(),
            dataset: args.dataset,
        },
    )?;
    if ctx.json {
        render::print_json(&Envelope::new(report.clone()))?;
    } else {
        print!("{}", text(&report));
    }
    Ok(if report.passed {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn text(r: &AccuracyReport) -> String {
    let mut table = view::table(&[
        "output",
        "cosine mean",
        "cosine min",
        "MAE",
        "max |Δ|",
        "top-1 [95% CI]",
        "",
    ]);
    for o in &r.outputs {
        table.add_row(vec![
            o.output.clone(),
            format!("{:.5}", o.cosine_mean),
            format!("{:.5}", o.cosine_min),
            format!("{:.3e}", o.mean_abs_error),
            format!("{:.3e}", o.max_abs_error),
            o.top1
                .as_ref()
                .map(|t| {
                    format!(
                        "{}/{} = {:.3} [{:.3}, {:.3}]",
                        t.agree, t.rows, t.rate, t.ci95.0, t.ci95.1
                    )
                })
                .unwrap_or_else(|| "—".into()),
            if o.passed { "ok" } else { "BELOW" }.into(),
        ]);
    }
    format!(
        "Accuracy of {} against {}\n  {} samples (seed {}), {}, on {}{}\n{}\n{}: cosine ≥ {} and top-1 ≥ {} {}\n",
        r.candidate,
        r.baseline,
        r.samples,
        r.seed,
        r.inputs,
        r.backend,
        r.runtime_version.as_deref().map(|v| format!(" {v}")).unwrap_or_default(),
        view::render(&table),
        if r.passed { "PASS" } else { "FAIL" },
        r.cosine_threshold,
        r.top1_threshold,
        if r.recorded_id.is_some() { "(recorded in the registry)" } else { "" },
    )
}
