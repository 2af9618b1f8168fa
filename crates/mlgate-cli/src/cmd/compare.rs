//! `mlgate compare BASELINE CANDIDATE`: the A/B gate. Exit 1 only for a regression.

use std::fmt::Write as _;

use mlgate::benchmark::CompareReport;
use mlgate::gate::{self, ThresholdFlags};

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::cmd::gate::{render_verdict, AccuracyArgs, JudgeArgs, MeasureArgs};
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// The reference model (file, or a build: tag, id or id prefix).
    pub baseline: String,
    /// The model under test (file or build).
    pub candidate: String,
    /// Largest tolerated latency slowdown, percent (default 10, or `[ci]` in config.toml).
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<f64>,
    /// Largest tolerated growth of the file size, percent (default 5).
    #[arg(long, value_name = "PCT")]
    pub size_threshold: Option<f64>,
    /// Largest tolerated growth of the peak memory the model adds, percent (default: not
    /// gated, only reported).
    #[arg(long, value_name = "PCT")]
    pub memory_threshold: Option<f64>,
    #[command(flatten)]
    pub judge: JudgeArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
    #[command(flatten)]
    pub accuracy: AccuracyArgs,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let mut flags = ThresholdFlags {
        latency_regression_pct: args.threshold,
        size_regression_pct: args.size_threshold,
        memory_regression_pct: args.memory_threshold,
        ..ThresholdFlags::default()
    };
    let mut settings = args.measure.settings(ctx, false);
    args.judge.apply(&mut flags, &mut settings)?;
    args.accuracy.apply(&mut flags, &mut settings);
    let ws = ctx.open_optional();
    let thresholds = gate::thresholds(ws, &flags)?;
    let baseline = gate::resolve_model(ws, &args.baseline)?;
    let candidate = gate::resolve_model(ws, &args.candidate)?;
    let outcome = with_progress(json, |p| {
        gate::run_gate(ws, &baseline, &candidate, &thresholds, &settings, p)
    })?;
    let Some(result) = outcome.comparison else {
        // Latency could not be measured here (CoreML off macOS): compare has nothing to show.
        let reason = outcome
            .verdict
            .checks
            .first()
            .map(|c| c.message.clone())
            .unwrap_or_default();
        return Err(mlgate::Error::Invalid {
            what: "comparison",
            value: args.baseline.clone(),
            hint: format!("{reason}; `mlgate ci-check` gates size and budgets without latency"),
        });
    };
    let report = CompareReport {
        schema: mlgate::benchmark::COMPARE_SCHEMA.to_string(),
        mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
        result,
        verdict: Some(outcome.verdict.clone()),
    };
    if json {
        render::print_json(&report)?;
    } else {
        print!("{}", render_compare(&report));
        print!("\n{}", render_verdict("gate", &outcome.verdict, None));
    }
    Ok(crate::cmd::gate::outcome(&outcome.verdict))
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:+.2}%", v * 100.0)
    } else {
        "n/a".into()
    }
}

pub fn render_compare(report: &CompareReport) -> String {
    let r = &report.result;
    let c = &r.comparison;
    let mut out = String::new();
    // Decoders: the statistic is of a per-request number (TPOT…), named before it.
    let label = match &r.requests {
        Some(q) => format!("{} {}", q.metric, c.metric),
        None => c.metric.to_string(),
    };
    let _ = writeln!(out, "latency verdict: {}", c.verdict.name().to_uppercase());
    if let Some(q) = &r.requests {
        let _ = writeln!(
            out,
            "requests: {} prompt + {} generated tokens; {} = {}",
            q.prompt_tokens,
            q.generate_tokens,
            q.metric,
            q.metric.describe()
        );
    }
    let _ = writeln!(
        out,
        "{} shift: {} ({:.0}% CI [{}, {}]), p = {}, threshold ±{:.1}%, α = {} ({:.2e} per look)",
        label,
        pct(c.relative_delta),
        c.confidence * 100.0,
        pct(c.ci_low),
        pct(c.ci_high),
        if c.p_value.is_finite() {
            format!("{:.2e}", c.p_value)
        } else {
            "n/a".into()
        },
        c.threshold * 100.0,
        c.alpha,
        c.alpha_per_look
    );
    let _ = writeln!(out, "reason: {}", c.reason);
    let metric = |v: Option<f64>| {
        v.map(|m| format!("{m:.3} ms"))
            .unwrap_or_else(|| "insufficient".into())
    };
    let _ = writeln!(
        out,
        "  baseline   {}  {} {}  n = {}",
        r.baseline.model.display(),
        label,
        metric(c.baseline.metric_ms),
        c.baseline.summary.n
    );
    let _ = writeln!(
        out,
        "  candidate  {}  {} {}  n = {}",
        r.candidate.model.display(),
        label,
        metric(c.candidate.metric_ms),
        c.candidate.summary.n
    );
    let _ = writeln!(
        out,
        "samples: {} block pairs of {} runs per side, {} look(s), {:.1} s, seed {}",
        c.pairs, c.block_runs, c.looks, c.elapsed_s, c.seed
    );
    let _ = writeln!(out, "method: {}", c.method);
    let _ = writeln!(
        out,
        "machine: {}{}",
        r.environment.short(),
        r.environment
            .load_average
            .map(|l| format!(", load average {l:.2}"))
            .unwrap_or_default()
    );
    out
}
