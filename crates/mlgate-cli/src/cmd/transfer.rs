//! `mlgate push`, `pull` and `sync`: a workspace's history to and from a remote. A progress
//! bar for artifacts on a terminal only (quiet when piped or under `--json`).

use std::io::IsTerminal;

use mlgate::remote::{AwsEnv, PushSelection, TransferProgress, TransferReport};
use mlgate::report::{Envelope, PullReport, PushReport};

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["build", "all"])))]
pub struct PushArgs {
    /// The build or tag to push (its ancestors, benchmarks and tags go with it).
    pub build: Option<String>,
    /// Push every build, benchmark, accuracy check and tag event.
    #[arg(long)]
    pub all: bool,
    /// The remote (default: the default remote).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// The build or tag to fetch (a tag's current build, with its ancestors).
    pub build: String,
    /// The remote (default: the default remote).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

#[derive(clap::Args)]
pub struct SyncArgs {
    /// The remote (default: the default remote).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

pub fn push(args: PushArgs, ctx: &Context) -> mlgate::Result<Outcome> {
    let workspace = ctx.open()?;
    let what = match args.build {
        Some(b) if !args.all => PushSelection::Reference(b),
        _ => PushSelection::All,
    };
    let env = AwsEnv::from_process();
    let report = with_bar(ctx.json, |p| {
        workspace.push(args.remote.as_deref(), &what, &env, p)
    })?;
    if ctx.json {
        render::print_json(&Envelope::new(PushReport(report)))?;
    } else {
        println!(
            "Pushed to `{}`: {}",
            report.remote,
            summary(&report, "uploaded")
        );
    }
    Ok(Outcome::Success)
}

pub fn pull(args: PullArgs, ctx: &Context) -> mlgate::Result<Outcome> {
    let workspace = ctx.open_for_write()?;
    let env = AwsEnv::from_process();
    let report = with_bar(ctx.json, |p| {
        workspace.pull(args.remote.as_deref(), &args.build, &env, p)
    })?;
    warn_conflicts(&report);
    if ctx.json {
        render::print_json(&Envelope::new(PullReport(report)))?;
    } else {
        println!(
            "Pulled from `{}`: {}",
            report.remote,
            summary(&report, "downloaded")
        );
        if let Some(id) = report.build_ids.first() {
            println!("build {} is here now", view::short(id));
        }
    }
    Ok(Outcome::Success)
}

pub fn sync(args: SyncArgs, ctx: &Context) -> mlgate::Result<Outcome> {
    let workspace = ctx.open_for_write()?;
    let env = AwsEnv::from_process();
    let outcome = with_bar(ctx.json, |p| {
        workspace.sync(args.remote.as_deref(), &env, p)
    })?;
    warn_conflicts(&outcome.pulled);
    if ctx.json {
        render::print_json(&Envelope::new(outcome))?;
    } else {
        println!(
            "Synced with `{}`\n  pulled: {}\n  pushed: {}",
            outcome.remote,
            summary(&outcome.pulled, "downloaded"),
            summary(&outcome.pushed, "uploaded")
        );
    }
    Ok(Outcome::Success)
}

/// Concurrent tag moves are never silent: each one on stderr, JSON or not.
pub fn warn_conflicts(report: &TransferReport) {
    for c in &report.conflicts {
        eprintln!(
            "warning: tag `{}` was moved concurrently: {} ({}) moved it to {}, {} ({}) to {}; \
             the later one by recorded time wins: {}",
            c.tag,
            c.overridden_hostname,
            view::ago(c.overridden_at),
            c.overridden_build_id
                .as_deref()
                .map(view::short)
                .unwrap_or("(deleted)"),
            c.kept_hostname,
            view::ago(c.kept_at),
            c.kept_build_id
                .as_deref()
                .map(view::short)
                .unwrap_or("(deleted)"),
            c.kept_build_id
                .as_deref()
                .map(view::short)
                .unwrap_or("(deleted)"),
        );
    }
}

fn summary(r: &TransferReport, verb: &str) -> String {
    format!(
        "{} build(s), {} artifact(s) {verb} ({}), {} benchmark(s), {} accuracy check(s), \
         {} tag event(s); {} already there; {:.1} s",
        r.builds.transferred,
        r.objects.transferred,
        render::bytes(r.bytes),
        r.benchmarks.transferred,
        r.accuracy_checks.transferred,
        r.tag_events.transferred,
        r.builds.skipped
            + r.objects.skipped
            + r.benchmarks.skipped
            + r.accuracy_checks.skipped
            + r.tag_events.skipped,
        r.seconds
    )
}

/// A byte progress bar on stderr when it is a terminal and output is for people.
pub fn with_bar<T>(json: bool, f: impl FnOnce(&mut dyn TransferProgress) -> T) -> T {
    let mut bar = Bar {
        enabled: !json && std::io::stderr().is_terminal(),
        bar: None,
    };
    let out = f(&mut bar);
    bar.finish();
    out
}

struct Bar {
    enabled: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl TransferProgress for Bar {
    fn start(&mut self, label: &str, total_bytes: u64) {
        if !self.enabled {
            return;
        }
        let b = indicatif::ProgressBar::new(total_bytes);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix:>20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_prefix(label.to_string());
        self.bar = Some(b);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
