//! `mlgate ci (--model PATH | --build ID) --baseline TAG|ID`: the command teams put in their
//! pipeline. Resolves the baseline, registers the candidate, measures both now, applies the
//! thresholds and budgets, and writes `.mlgate/ci_report.json` (always), JUnit and Markdown
//! (when asked), the GitHub step summary and annotations (on GitHub Actions).
//! Exit 0 pass or skip, 1 regression or violation, 2 error.

use std::path::PathBuf;

use mlgate::gate::{self, CiRequest, ReportFiles, ThresholdFlags};
use mlgate::workspace::Budget;

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::cmd::gate::{outcome, render_verdict, AccuracyArgs, JudgeArgs, MeasureArgs};
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("candidate").required(true).args(["model", "build"])))]
pub struct Args {
    /// The candidate model file (or .mlpackage); it is imported as a build.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// The candidate as an existing build (tag, id or id prefix).
    #[arg(long, value_name = "ID")]
    pub build: Option<String>,
    /// The baseline: a tag (e.g. main-mobilenet) or a build id.
    #[arg(long, value_name = "TAG|ID")]
    pub baseline: String,
    /// Target of the imported candidate (default: the baseline's).
    #[arg(long, value_name = "T")]
    pub target: Option<String>,
    /// Largest tolerated latency slowdown, percent (default 10).
    #[arg(long, value_name = "PCT")]
    pub latency_regression: Option<f64>,
    /// Largest tolerated file-size growth, percent (default 5).
    #[arg(long, value_name = "PCT")]
    pub size_regression: Option<f64>,
    /// Largest tolerated growth of the peak memory the model adds, percent (default: reported
    /// only).
    #[arg(long, value_name = "PCT")]
    pub memory_regression: Option<f64>,
    /// Absolute p50 latency budget, ms.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub latency_budget: Option<f64>,
    /// Absolute size budget, MB.
    #[arg(long, value_name = "MB", allow_negative_numbers = true)]
    pub size_budget: Option<f64>,
    /// Exit 1 instead of 0 when the baseline does not exist.
    #[arg(long)]
    pub fail_on_missing_baseline: bool,
    /// Make the candidate's variants (fp16, int8, int4), measure them, and gate the
    /// recommended one (the model itself when none is); without it, the model is the
    /// candidate and no sweep is paid for.
    #[arg(long)]
    pub explore: bool,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Write a JUnit XML report here (GitLab, Jenkins, ...).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the Markdown report here (pull-request comments).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the gate's page here: the verdict, the shift with its interval against the
    /// threshold, every check, and both builds' stored distributions (self-contained HTML,
    /// for CI artifacts).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub measure: MeasureArgs,
    #[command(flatten)]
    pub accuracy: AccuracyArgs,
    /// Pull the baseline from this remote first when it is not in the workspace, so a
    /// fresh runner needs nothing but the remote.
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let mut flags = ThresholdFlags {
        latency_regression_pct: args.latency_regression,
        size_regression_pct: args.size_regression,
        memory_regression_pct: args.memory_regression,
        budget: Budget {
            max_latency_ms: args.latency_budget,
            max_size_mb: args.size_budget,
            ..Budget::default()
        },
        ..ThresholdFlags::default()
    };
    let mut settings = args.measure.settings(ctx, false);
    args.judge.apply(&mut flags, &mut settings)?;
    args.accuracy.apply(&mut flags, &mut settings);
    let request = CiRequest {
        model: args.model.clone(),
        build: args.build.clone(),
        baseline: args.baseline.clone(),
        target: args.target.clone(),
        flags,
        settings,
        fail_on_missing_baseline: args.fail_on_missing_baseline,
        explore: args.explore,
    };
    let workspace = ctx.open_for_write()?;
    if let Some(remote) = &args.remote {
        let env = mlgate::remote::AwsEnv::from_process();
        let pulled = crate::cmd::transfer::with_bar(json, |p| {
            workspace.pull_if_missing(Some(remote), &args.baseline, &env, p)
        })?;
        match pulled {
            Some(r) => {
                crate::cmd::transfer::warn_conflicts(&r);
                eprintln!(
                    "note: pulled baseline `{}` from remote `{remote}` ({} build(s), {} \
                     artifact(s))",
                    args.baseline, r.builds.transferred, r.objects.transferred
                );
            }
            None if workspace.resolve_build(&args.baseline).is_err() => {
                eprintln!("note: remote `{remote}` has no `{}` either", args.baseline)
            }
            None => {}
        }
    }
    let github = std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true");
    let files = ReportFiles {
        junit: args.junit.clone(),
        markdown: args.markdown.clone(),
        step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    };
    let run = with_progress(json, |p| gate::ci(workspace, &request, p));
    let report = run.report;
    // Every report file says what happened, an error included.
    let written = gate::write_report_files(&report, &files);
    let page = args.html.as_ref().map(|path| {
        crate::cmd::gate_page::write(
            path,
            &format!("mlgate ci: {}", report.verdict.status.name()),
            Some(workspace),
            &report.verdict,
            report.evidence.as_ref(),
            json,
        )
    });
    if github && !json {
        for line in gate::github_annotations(&report.verdict) {
            println!("{line}");
        }
    }
    if let Some(e) = run.error {
        return Err(e);
    }
    written?;
    page.transpose()?;
    if json {
        render::print_json(&report)?;
    } else {
        print!(
            "{}",
            render_verdict("mlgate ci", &report.verdict, report.evidence.as_ref())
        );
        println!("report: {}", workspace.ci_report_path().display());
    }
    Ok(outcome(&report.verdict))
}
