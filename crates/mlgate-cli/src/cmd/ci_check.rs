//! `mlgate ci-check A B`: the low-level gate — latency (measured now, interleaved), size,
//! memory and budgets. Exit 1 on a failed check, 2 on an error.

use mlgate::gate::{self, ThresholdFlags};

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::cmd::gate::{outcome, render_verdict, BudgetArgs, JudgeArgs, MeasureArgs};
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// The baseline: a model file, or a build (tag, id or id prefix).
    pub baseline: String,
    /// The candidate: a model file or a build.
    pub candidate: String,
    /// Largest tolerated latency slowdown, percent (default 10).
    #[arg(long, value_name = "PCT")]
    pub latency_threshold: Option<f64>,
    /// Largest tolerated file-size growth, percent (default 5).
    #[arg(long, value_name = "PCT")]
    pub size_threshold: Option<f64>,
    /// Largest tolerated growth of the peak memory the model adds, percent (default: reported
    /// only).
    #[arg(long, value_name = "PCT")]
    pub memory_threshold: Option<f64>,
    /// Judge latency on the builds' stored benchmarks instead of measuring both now. The
    /// output says so, with the machine and time each came from.
    #[arg(long)]
    pub use_cached: bool,
    #[command(flatten)]
    pub judge: JudgeArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Write the gate's page here: the verdict, the shift with its interval against the
    /// threshold, every check, and both builds' stored distributions (self-contained HTML).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let mut flags = ThresholdFlags {
        latency_regression_pct: args.latency_threshold,
        size_regression_pct: args.size_threshold,
        memory_regression_pct: args.memory_threshold,
        budget: args.budget.budget(),
        ..ThresholdFlags::default()
    };
    let mut settings = args.measure.settings(ctx, args.use_cached);
    args.judge.apply(&mut flags, &mut settings)?;
    let workspace = ctx.open_optional();
    let report = with_progress(json, |p| {
        gate::ci_check(
            workspace,
            &args.baseline,
            &args.candidate,
            &flags,
            &settings,
            p,
        )
    })?;
    if let Some(path) = &args.html {
        crate::cmd::gate_page::write(
            path,
            &format!("mlgate ci-check: {}", report.verdict.status.name()),
            workspace,
            &report.verdict,
            Some(&report.evidence),
            json,
        )?;
    }
    if json {
        render::print_json(&report)?;
    } else {
        print!(
            "{}",
            render_verdict("ci-check", &report.verdict, Some(&report.evidence))
        );
    }
    Ok(outcome(&report.verdict))
}
