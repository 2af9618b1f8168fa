//! `mlgate compare BASELINE CANDIDATE`: the A/B gate. Exit 1 only for a regression.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlgate::benchmark::{CompareConfig, CompareReport, CompareRequest, InputSpec, Metric, Verdict};

use crate::cmd::benchmark::with_progress;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// The reference model (file, or a build: tag, id or id prefix).
    pub baseline: PathBuf,
    /// The model under test (file or build).
    pub candidate: PathBuf,
    /// Smallest relative slowdown, in percent, that counts as a regression (default 5).
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<f64>,
    /// Statistic to gate on (default p50).
    #[arg(long, value_name = "M", value_parser = ["p50", "p90", "p95", "p99", "mean"])]
    pub metric: Option<String>,
    /// Most seconds the comparison may take (default 15).
    #[arg(long, value_name = "S")]
    pub max_time: Option<f64>,
    /// Runtime: tract, onnxruntime, litert, coreml (default: the first that runs the format).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
    /// Intra-op threads (default: the runtime's choice).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Sequence length for models with a dynamic sequence dimension (default 128).
    #[arg(long, value_name = "L")]
    pub seq_len: Option<usize>,
}

pub fn run(args: Args, json: bool) -> mlgate::Result<Outcome> {
    let mut config = CompareConfig::default();
    if let Some(t) = args.threshold {
        config.threshold = t / 100.0;
    }
    if let Some(m) = &args.metric {
        config.metric = m.parse::<Metric>()?;
    }
    if let Some(s) = args.max_time {
        config.max_time_s = s;
        config.min_time_s = config.min_time_s.min(s / 2.0);
    }
    let request = CompareRequest {
        baseline: crate::cmd::ws::model_or_build(&args.baseline)?.0,
        candidate: crate::cmd::ws::model_or_build(&args.candidate)?.0,
        backend: args.backend.clone(),
        threads: args.threads.map(|t| t as usize),
        inputs: InputSpec {
            seq_lens: args.seq_len.into_iter().collect(),
            ..InputSpec::default()
        },
        config,
    };
    let report = with_progress(json, |p| mlgate::benchmark::compare(&request, p))?;
    if json {
        render::print_json(&report)?;
    } else {
        print!("{}", render_compare(&report));
    }
    Ok(match report.result.comparison.verdict {
        Verdict::Regression => Outcome::Regression,
        _ => Outcome::Success,
    })
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
    let _ = writeln!(out, "verdict: {}", c.verdict.name().to_uppercase());
    let _ = writeln!(
        out,
        "{} shift: {} ({:.0}% CI [{}, {}]), p = {}, threshold ±{:.1}%, α = {}",
        c.metric,
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
        c.alpha
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
        c.metric,
        metric(c.baseline.metric_ms),
        c.baseline.summary.n
    );
    let _ = writeln!(
        out,
        "  candidate  {}  {} {}  n = {}",
        r.candidate.model.display(),
        c.metric,
        metric(c.candidate.metric_ms),
        c.candidate.summary.n
    );
    let _ = writeln!(
        out,
        "samples: {} block pairs of {} runs per side, {} look(s), {:.1} s",
        c.pairs, c.block_runs, c.looks, c.elapsed_s
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
    for w in &c.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
