//! `mlgate explore MODEL`: the usual variants, measured against the baseline on this
//! machine, scored, and one recommended.

use std::path::PathBuf;

use mlgate::explore::{ExploreReport, ExploreRequest, ExploreVerdict};
use mlgate::report::Envelope;

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// A build (tag, id or prefix), or an ONNX file imported first as the fp32 baseline.
    pub model: PathBuf,
    /// Target of a file's import (default onnxruntime_cpu when ONNX Runtime is installed,
    /// else tract_cpu); its runtime measures every variant.
    #[arg(long)]
    pub target: Option<String>,
    /// Comma-separated method ids: fp16, int8, int8_perchannel, int4, int4_b64, palettize_4,
    /// palettize_4_g16, prune_0.50 (default fp16,int8,int4).
    #[arg(long, value_delimiter = ',')]
    pub methods: Vec<String>,
    /// fp16 only, with a shorter measurement.
    #[arg(long)]
    pub fast: bool,
    /// Seconds of interleaved measurement per variant (default 6; 3 with --fast).
    #[arg(long, value_name = "S")]
    pub max_time: Option<f64>,
    /// Check each variant's outputs against the baseline; below the thresholds is skip.
    #[arg(long)]
    pub check_accuracy: bool,
    #[arg(long, default_value_t = 0.99)]
    pub cosine_threshold: f64,
    #[arg(long, default_value_t = 0.99)]
    pub top1_threshold: f64,
    /// Input samples of the accuracy check.
    #[arg(long, default_value_t = 16)]
    pub accuracy_samples: usize,
    /// Calibration data (a directory of images or .npy files, or one .npz): adds
    /// int8_static to the variants.
    #[arg(long, value_name = "PATH")]
    pub calibration_data: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let workspace = ctx.open_for_write()?;
    let request = ExploreRequest {
        model: args.model,
        target: args.target,
        methods: args.methods,
        fast: args.fast,
        max_time_s: args.max_time,
        check_accuracy: args.check_accuracy,
        cosine_threshold: args.cosine_threshold,
        top1_threshold: args.top1_threshold,
        accuracy_samples: args.accuracy_samples,
        runtimes: ctx.runtimes.clone(),
        calibration_data: args.calibration_data,
    };
    let report = with_progress(ctx.json, |p| {
        mlgate::explore::explore(workspace, &request, p)
    })?;
    if ctx.json {
        render::print_json(&Envelope::new(report))?;
    } else {
        print!("{}", text(&report));
    }
    Ok(Outcome::Success)
}

fn ratio(v: Option<f64>) -> String {
    v.map(|r| format!("{r:.2}")).unwrap_or_else(|| "—".into())
}

pub fn text(r: &ExploreReport) -> String {
    let mut t = view::table(&[
        "variant",
        "build",
        "size",
        "size ×",
        "p50 shift [95% CI]",
        "latency ×",
        "accuracy",
        "score",
        "verdict",
    ]);
    for row in &r.rows {
        let shift = row
            .latency
            .as_ref()
            .map(|l| match (l.relative_delta, l.ci_low, l.ci_high) {
                (Some(d), Some(lo), Some(hi)) => format!(
                    "{:+.1}% [{:+.1}%, {:+.1}%]",
                    100.0 * d,
                    100.0 * lo,
                    100.0 * hi
                ),
                _ => "too few samples".into(),
            })
            .unwrap_or_else(|| "—".into());
        let accuracy = row
            .accuracy
            .as_ref()
            .map(|a| match a.top1 {
                Some(t) => format!("cos {:.4}, top-1 {:.2}", a.cosine, t),
                None => format!("cos {:.4}", a.cosine),
            })
            .unwrap_or_else(|| "—".into());
        t.add_row(vec![
            row.label.clone(),
            row.build_id
                .as_deref()
                .map(view::short)
                .unwrap_or("—")
                .to_string(),
            row.size_bytes
                .map(render::bytes)
                .unwrap_or_else(|| "—".into()),
            ratio(row.size_ratio),
            shift,
            ratio(row.latency_ratio),
            accuracy,
            ratio(row.score),
            row.verdict.name().to_string(),
        ]);
    }
    view::right_align(&mut t, &[2, 3, 5, 7]);
    let mut s = format!(
        "Explored {} ({}) on {}: {} variants in {:.0} s\n\n{}\n\n",
        r.baseline.name,
        view::short(&r.baseline.id),
        r.backend,
        r.rows.len() - 1,
        r.seconds,
        view::render(&t)
    );
    let width = r
        .rows
        .iter()
        .map(|x| x.label.chars().count())
        .max()
        .unwrap_or(0);
    for row in &r.rows {
        if row.verdict != ExploreVerdict::Baseline {
            s += &format!("  {:<width$}  {}\n", row.label, row.reason);
        }
    }
    s += "\n";
    match r
        .rows
        .iter()
        .find(|x| x.verdict == ExploreVerdict::Recommended)
    {
        Some(best) => {
            s += &format!(
                "Recommended: {} ({})",
                best.label,
                best.build_id.as_deref().map(view::short).unwrap_or("")
            );
            if let Some(a) = r
                .rows
                .iter()
                .find(|x| x.verdict == ExploreVerdict::Aggressive)
            {
                s += &format!(
                    "; aggressive: {} ({})",
                    a.label,
                    a.build_id.as_deref().map(view::short).unwrap_or("")
                );
            }
            s += "\n";
        }
        None => s += "No variant scores above the baseline: keep the fp32 model.\n",
    }
    s += &format!("Scoring: {}.\n", r.scoring);
    s
}
