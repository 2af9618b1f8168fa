//! `mlgate validate BUILD`: absolute limits (flags over `budget.toml` and `config.toml`) on
//! a build measured now. A latency budget is judged by its interval: over, within, or
//! marginal. Exit 1 on a violation, 2 on an error.

use mlgate::gate::{self, ThresholdFlags};

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::cmd::gate::{outcome, BudgetArgs, MeasureArgs};
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// The build (tag, id or id prefix), or a model file.
    pub build: String,
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// CI mode: print nothing; the exit code says it all (errors still go to stderr).
    #[arg(long)]
    pub ci: bool,
    /// Fail when a latency budget is marginal (its interval straddles the limit).
    #[arg(long)]
    pub fail_on_inconclusive: bool,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let flags = ThresholdFlags {
        budget: args.budget.budget(),
        fail_on_inconclusive: args.fail_on_inconclusive,
        ..ThresholdFlags::default()
    };
    let workspace = ctx.open_optional();
    let report = with_progress(json || args.ci, |p| {
        gate::validate(
            workspace,
            &args.build,
            &flags,
            &args.measure.settings(ctx, false),
            p,
        )
    })?;
    if json {
        render::print_json(&report)?;
    } else if !args.ci {
        let mut text = crate::cmd::gate::render_verdict("validate", &report.verdict, None);
        let label = report.build.label();
        text = text.replacen('\n', &format!("\n  build  {label}\n"), 1);
        if let Some(p50) = &report.p50_ms {
            text.push_str(&format!(
                "measured: p50 {} (n = {}) on {}\n",
                view::ms(p50.value),
                p50.n.unwrap_or(0),
                report.backend.as_deref().unwrap_or("?")
            ));
        }
        print!("{text}");
    }
    Ok(outcome(&report.verdict))
}
