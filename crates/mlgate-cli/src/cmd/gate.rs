//! What `compare`, `ci-check`, `validate` and `ci` share: the gate's flags and the verdict
//! table.

use std::fmt::Write as _;

use mlgate::benchmark::{LlmMetric, Metric};
use mlgate::gate::{Evidence, GateSettings, ThresholdFlags, Verdict, VerdictStatus};
use mlgate::workspace::Budget;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::Outcome;

/// Which runtime, with how many threads: the same flags, help and validation on every
/// command that runs a model (`infer`, `benchmark`, `compare`, `ci-check`, `validate`, `ci`).
#[derive(clap::Args, Default, Clone)]
pub struct RuntimeArgs {
    /// Runtime: tract, onnxruntime, litert, coreml (default: a build's target's runtime,
    /// else the first that runs the format).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
    /// Intra-op threads (default: the runtime's choice; tract always uses one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
}

impl RuntimeArgs {
    /// The thread count asked for. candle (GGUF decoders) sizes its process-wide pool once,
    /// on first use, from `CANDLE_NUM_THREADS`: asking for a count sets it here, before any
    /// model is loaded.
    pub fn threads(&self) -> Option<usize> {
        if let Some(t) = self.threads {
            std::env::set_var("CANDLE_NUM_THREADS", t.to_string());
        }
        self.threads.map(|t| t as usize)
    }
}

/// How to measure: the same flags on every gate command.
#[derive(clap::Args, Default, Clone)]
pub struct MeasureArgs {
    /// Most seconds the A/B comparison (or validate's benchmark) may take (default 15);
    /// `auto` extends it to what the metric needs to reach a verdict (slow models, tails).
    #[arg(long, value_name = "S|auto", value_parser = parse_max_time)]
    pub max_time: Option<MaxTime>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Sequence length for models with a dynamic sequence dimension (default 128).
    #[arg(long, value_name = "L")]
    pub seq_len: Option<usize>,
    /// Replay a comparison: the seed its report printed (default: a fresh one per run).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Independently loaded sessions per side, 1–8 (default 2). More loads narrow the
    /// interval of a model whose latency depends on the load (the report says when).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=8))]
    pub sessions: Option<u64>,
    /// Run every session in a fresh worker process of its own (`mlgate bench-worker`), so
    /// one model's allocations cannot place the other's; costs one process start and load
    /// per session.
    #[arg(long)]
    pub isolate: bool,
    /// GGUF decoders: what each request yields to gate and budget on — tg (time per
    /// generated token), pp (per prompt token), ttft, tpot (default). The prompt is
    /// --seq-len tokens.
    #[arg(long, value_name = "M", value_parser = LLM_METRICS)]
    pub llm_metric: Option<String>,
    /// GGUF decoders: tokens generated per request (default: 32 for tg and tpot, 1 for
    /// ttft, 0 for pp).
    #[arg(long, value_name = "N")]
    pub generate: Option<usize>,
}

/// The names `--llm-metric` (and `--metric`, for GGUF models) take.
const LLM_METRICS: [&str; 4] = ["tg", "pp", "ttft", "tpot"];

fn parse_llm_metric(name: &str) -> Option<LlmMetric> {
    name.parse::<LlmMetric>().ok()
}

/// `--max-time`: seconds, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxTime {
    Seconds(f64),
    Auto,
}

fn parse_max_time(text: &str) -> Result<MaxTime, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(MaxTime::Auto);
    }
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(MaxTime::Seconds(s)),
        _ => Err(format!(
            "`{text}` is not a positive number of seconds or `auto`"
        )),
    }
}

impl MeasureArgs {
    pub fn settings(&self, ctx: &Context, use_cached: bool) -> GateSettings {
        GateSettings {
            backend: self.runtime.backend.clone(),
            threads: self.runtime.threads(),
            max_time_s: match self.max_time {
                Some(MaxTime::Seconds(s)) => Some(s),
                _ => None,
            },
            extend_to_decide: self.max_time == Some(MaxTime::Auto),
            seed: self.seed,
            sessions_per_side: self.sessions.map(|n| n as usize),
            worker: self.isolate.then(worker_command),
            seq_len: self.seq_len,
            llm_metric: self.llm_metric.as_deref().and_then(parse_llm_metric),
            generate_tokens: self.generate,
            use_cached,
            runtimes: ctx.runtimes.clone(),
            accuracy_samples: None,
            accuracy_dataset: None,
        }
    }
}

/// This very `mlgate`, started as a measurement worker.
pub fn worker_command() -> mlgate::benchmark::WorkerCommand {
    mlgate::benchmark::WorkerCommand {
        program: std::env::current_exe().unwrap_or_else(|_| "mlgate".into()),
        args: vec![WORKER_SUBCOMMAND.into()],
    }
}

/// The hidden subcommand a worker process runs (handled before argument parsing, so it
/// never touches a workspace or the command history).
pub const WORKER_SUBCOMMAND: &str = "bench-worker";

/// `--check-accuracy` and its limits, on the commands that gate two models.
#[derive(clap::Args, Default, Clone)]
pub struct AccuracyArgs {
    /// Also gate the candidate's outputs against the baseline's on synthesized samples:
    /// mean cosine per output, and top-1 agreement for classifier-like outputs.
    #[arg(long)]
    pub check_accuracy: bool,
    /// Samples of the accuracy check.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 32,
        requires = "check_accuracy"
    )]
    pub accuracy_samples: usize,
    /// Lowest acceptable mean cosine (default 0.99, or `[ci.accuracy]` in config.toml).
    #[arg(long, value_name = "F")]
    pub cosine_threshold: Option<f64>,
    /// Lowest acceptable top-1 agreement (default 0.99, or `[ci.accuracy]`).
    #[arg(long, value_name = "F")]
    pub top1_threshold: Option<f64>,
    /// Check accuracy on these inputs instead of synthesized ones (implies
    /// --check-accuracy): one .npz with samples on the first axis, or a directory of .npy
    /// files or images.
    #[arg(long, value_name = "PATH")]
    pub dataset: Option<std::path::PathBuf>,
}

impl AccuracyArgs {
    /// Puts the limits into the flags and the sample count into the settings.
    pub fn apply(&self, flags: &mut ThresholdFlags, settings: &mut GateSettings) {
        flags.cosine_min = self.cosine_threshold;
        flags.top1_min = self.top1_threshold;
        if self.check_accuracy || self.dataset.is_some() {
            settings.accuracy_samples = Some(self.accuracy_samples);
            settings.accuracy_dataset = self.dataset.clone();
        }
    }
}

/// Which latency statistic, and how undecided evidence counts.
#[derive(clap::Args, Default, Clone)]
pub struct JudgeArgs {
    /// Latency statistic to gate on (default p50, or `[ci] metric` in config.toml); for
    /// GGUF decoders also tg, pp, ttft or tpot (as --llm-metric).
    #[arg(long, value_name = "M", value_parser = ["p50", "p90", "p95", "p99", "mean", "tg", "pp", "ttft", "tpot"])]
    pub metric: Option<String>,
    /// Any statistically significant slowdown fails (latency threshold 0).
    #[arg(long)]
    pub strict: bool,
    /// Fail when the evidence cannot decide (interval straddling a threshold or budget)
    /// instead of passing with a warning.
    #[arg(long)]
    pub fail_on_inconclusive: bool,
}

impl JudgeArgs {
    /// Puts the judging flags into `flags`; a decoder metric given as `--metric` goes to
    /// `settings` (it names what is measured, not the statistic).
    pub fn apply(
        &self,
        flags: &mut ThresholdFlags,
        settings: &mut GateSettings,
    ) -> mlgate::Result<()> {
        if let Some(m) = &self.metric {
            match parse_llm_metric(m) {
                Some(llm) => settings.llm_metric = Some(llm),
                None => flags.metric = Some(m.parse::<Metric>()?),
            }
        }
        flags.strict = self.strict;
        flags.fail_on_inconclusive = self.fail_on_inconclusive;
        Ok(())
    }
}

/// Absolute budgets as flags (over `budget.toml`).
#[derive(clap::Args, Default, Clone)]
pub struct BudgetArgs {
    /// Max latency, p50, ms.
    #[arg(long = "max-latency", value_name = "MS", allow_negative_numbers = true)]
    pub max_latency: Option<f64>,
    /// Max latency, p95, ms.
    #[arg(long = "max-p95", value_name = "MS", allow_negative_numbers = true)]
    pub max_p95: Option<f64>,
    /// Max peak memory the model adds, MB.
    #[arg(long = "max-memory", value_name = "MB", allow_negative_numbers = true)]
    pub max_memory: Option<f64>,
    /// Max model size, MB (10^6 bytes).
    #[arg(long = "max-size", value_name = "MB", allow_negative_numbers = true)]
    pub max_size: Option<f64>,
}

impl BudgetArgs {
    pub fn budget(&self) -> Budget {
        Budget {
            max_latency_ms: self.max_latency,
            max_p95_ms: self.max_p95,
            max_memory_mb: self.max_memory,
            max_size_mb: self.max_size,
        }
    }
}

/// A verdict's exit: 1 for a failure, 0 for a pass or skip.
pub fn outcome(verdict: &Verdict) -> Outcome {
    match verdict.status {
        VerdictStatus::Fail => Outcome::Failed,
        // An error verdict is returned as an error by the facade; keep it exit 2 if one
        // ever arrives here.
        VerdictStatus::Error => Outcome::Problems,
        VerdictStatus::Pass | VerdictStatus::Skip => Outcome::Success,
    }
}

/// The verdict, the two models and every check as a table, then warnings.
pub fn render_verdict(title: &str, verdict: &Verdict, evidence: Option<&Evidence>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}: {}", verdict.status.name().to_uppercase());
    if let Some(e) = evidence {
        let side = |s: &mlgate::gate::Subject| {
            let mut label = s.label();
            if let Some(t) = &s.tag {
                let _ = write!(label, " [tag {t}]");
            }
            label
        };
        let _ = writeln!(out, "  baseline   {}", side(&e.baseline));
        let _ = writeln!(out, "  candidate  {}", side(&e.candidate));
    }
    if !verdict.checks.is_empty() {
        let mut t = view::table(&[
            "check",
            "rule",
            "baseline",
            "candidate / shift",
            "limit (source)",
            "result",
        ]);
        for c in &verdict.checks {
            let baseline = match c.baseline {
                Some(b) if c.metric == "size" => crate::render::bytes(b as u64),
                Some(b) if c.metric == "memory.peak" => view::mb(b),
                Some(b) => view::ms(b),
                None => "—".into(),
            };
            let limit = match (c.limit, &c.source) {
                (Some(l), Some(s)) if c.unit == "%" => format!("+{l}% ({s})"),
                (Some(l), Some(s)) if c.unit.is_empty() => format!("{l} ({s})"),
                (Some(l), Some(s)) => format!("{l} {} ({s})", c.unit),
                _ => "—".into(),
            };
            let result = if verdict.failed_on(c) {
                c.status.name().to_uppercase()
            } else {
                c.status.name().to_string()
            };
            t.add_row(vec![
                c.metric.clone(),
                c.rule.clone(),
                baseline,
                c.actual_text(),
                limit,
                result,
            ]);
        }
        let _ = writeln!(out, "\n{}", view::render(&t));
    }
    let _ = writeln!(out, "\n{}", verdict.reason);
    // Failed checks are the reason already; skipped ones say here why they were not run.
    for c in &verdict.checks {
        if c.status == mlgate::gate::CheckStatus::Skipped {
            let _ = writeln!(out, "  {} skipped: {}", c.metric, c.message);
        }
    }
    if let Some(l) = evidence.and_then(|e| e.latency.as_ref()) {
        let _ = writeln!(out, "latency: {} (--seed replays it)", l.summary());
    }
    if let Some(env) = evidence.and_then(|e| e.environment.as_ref()) {
        let _ = writeln!(
            out,
            "machine: {}{}",
            env.short(),
            env.load_average
                .map(|l| format!(", load average {l:.2}"))
                .unwrap_or_default()
        );
    }
    for w in &verdict.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlgate::gate::{Check, CheckKind, CheckStatus, Measured};
    use mlgate::workspace::LimitSource;

    fn check(metric: &str, status: CheckStatus, actual: f64, message: &str) -> Check {
        Check {
            metric: metric.into(),
            kind: CheckKind::Regression,
            rule: format!("{metric} shift ≤ +10%"),
            actual: Some(Measured {
                value: actual,
                low: Some(actual - 1.0),
                high: Some(actual + 1.0),
                confidence: Some(0.95),
                n: Some(40),
            }),
            baseline: Some(12.5),
            limit: Some(10.0),
            unit: "%".into(),
            source: Some(LimitSource::Default),
            status,
            message: message.into(),
        }
    }

    #[test]
    fn verdict_table() {
        let verdict = Verdict::decide(
            vec![
                check(
                    "latency.p50",
                    CheckStatus::Fail,
                    31.2,
                    "p50 is slower by +31.20%",
                ),
                check(
                    "memory.peak",
                    CheckStatus::Skipped,
                    0.0,
                    "no memory reading on this system",
                ),
            ],
            false,
            vec!["baseline: high variation".into()],
        );
        insta::assert_snapshot!(render_verdict("mlgate ci", &verdict, None));
    }
}
