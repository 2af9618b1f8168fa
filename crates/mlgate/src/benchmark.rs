//! Benchmarks and A/B comparisons: `mlgate benchmark` and `mlgate compare`.
//!
//! The measuring is `mlgate-bench`'s; this module picks the runtime, makes the inputs and
//! wraps results in versioned envelopes. Inputs come from the task-aware generator
//! (`mlgate-tasks`) through [`synthesize_inputs`].
//!
//! [`benchmark()`] measures one model; [`compare()`] measures two interleaved and says
//! whether the candidate's latency changed (the gate in [`crate::gate`] adds size, memory
//! and budgets to that). Both report as they go through a [`Progress`] you pass: use
//! [`NoProgress`] for none, or implement the trait to drive your own UI.
//!
//! ```
//! use mlgate::benchmark::{Progress, ProgressUpdate};
//!
//! /// Counts updates and keeps the runtime's warnings.
//! #[derive(Default)]
//! struct Counter {
//!     updates: usize,
//!     warnings: Vec<String>,
//! }
//!
//! impl Progress for Counter {
//!     fn update(&mut self, status: &ProgressUpdate) {
//!         self.updates += 1;
//!         let _ = (status.phase, status.elapsed_s, status.budget_s);
//!     }
//!     fn warn(&mut self, message: &str) {
//!         self.warnings.push(message.to_string());
//!     }
//! }
//! ```

use std::path::{Path, PathBuf};

use mlgate_backends::{BackendKind, RuntimeCatalog, RuntimeConfig, SessionOptions};
use mlgate_ir::ModelFormat;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use mlgate_bench::compare::{Analysis, Loaded, Side};
pub use mlgate_bench::harness::{ColdStart, Settling, Throughput};
pub use mlgate_bench::llm::{LlmMetric, RequestShape};
pub use mlgate_bench::memory::write_timeline_jsonl;
pub use mlgate_bench::{
    BenchConfig, BenchmarkResult, CompareConfig, CompareResult, Comparison, InputSet,
    LatencySummary, MeasurementEnvironment, Metric, NoProgress, PercentileEstimate, PhaseMemory,
    Progress, ProgressUpdate, RunResult, Stability, TimelineSample, Verdict,
};

use crate::model::ModelRef;
use crate::workspace::Workspace;
use crate::{Error, Result, SynthesisOptions, SynthesizedInputs};

/// Schema id of [`BenchmarkReport`].
pub const BENCHMARK_SCHEMA: &str = "mlgate.benchmark/v1";
/// Schema id of [`CompareReport`].
pub const COMPARE_SCHEMA: &str = "mlgate.compare/v1";

/// How to make inputs: the task override, sequence lengths (one benchmark per rung; none
/// given: the task crate's ladder for token models) and batch size.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputSpec {
    /// The task the inputs are made for (`vision`, `nlp`, `audio`, `tabular`), overriding
    /// detection; `None`: detected from the model.
    pub task: Option<String>,
    /// Sequence lengths of token inputs, one benchmark each; empty: the ladder (16, 64,
    /// 128, 256, clipped to the model's maximum) for token models, one set for the others.
    pub seq_lens: Vec<usize>,
    /// Value of batch-like dimensions; `None` → 1.
    pub batch: Option<usize>,
    /// Mixed with each input's name to seed its data (0 by default).
    pub seed: u64,
}

impl InputSpec {
    fn synthesis_options(&self) -> Result<SynthesisOptions> {
        let mut options = SynthesisOptions {
            seed: self.seed,
            ..SynthesisOptions::default()
        };
        if let Some(b) = self.batch {
            options.batch = b.max(1);
        }
        if let Some(t) = &self.task {
            options.task = Some(t.parse::<crate::Task>()?);
        }
        Ok(options)
    }
}

/// Task-aware inputs for `model` (see `mlgate-tasks`): one set per sequence length asked
/// for, else one per rung of the ladder for token models, else one `default` set. Seeded
/// from the input names, so every variant of a model gets the same inputs.
///
/// # Errors
/// [`Error::Model`] when the model cannot be read; [`Error::Inputs`] for an unknown task
/// name or inputs that cannot be made; [`Error::Invalid`] for a sequence length asked of a
/// model without token inputs.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::NLP_ENCODER)?;
/// let spec = mlgate::benchmark::InputSpec { seq_lens: vec![32], ..Default::default() };
/// let sets = mlgate::benchmark::synthesize_inputs(&path, &spec)?;
/// assert_eq!(sets[0].label, "seq_len=32");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn synthesize_inputs(model: &Path, spec: &InputSpec) -> Result<Vec<InputSet>> {
    let info = crate::inspect(model)?;
    let options = spec.synthesis_options()?;
    let sets = if spec.seq_lens.is_empty() {
        crate::synthesize_input_ladder(&info, model, &options)?
    } else {
        let mut sets = Vec::new();
        for &len in &spec.seq_lens {
            let mut rung = options.clone();
            rung.seq_len = Some(len);
            let set = crate::synthesize_inputs(&info, model, &rung)?;
            if set.seq_len.is_none() {
                return Err(Error::Invalid {
                    what: "--seq-len",
                    value: len.to_string(),
                    hint: format!(
                        "{} has no token inputs with a sequence length",
                        model.display()
                    ),
                });
            }
            sets.push(set);
        }
        sets
    };
    Ok(sets.into_iter().map(input_set).collect())
}

fn input_set(s: SynthesizedInputs) -> InputSet {
    let batch_size = s
        .tensors
        .first()
        .and_then(|t| t.shape().first().copied())
        .filter(|&b| b > 0)
        .unwrap_or(1);
    InputSet {
        label: s
            .seq_len
            .map(|l| format!("seq_len={l}"))
            .unwrap_or_else(|| "default".into()),
        batch_size,
        inputs: s.tensors,
    }
}

/// The runtime to use: the named one, else the first that runs the model's format.
pub(crate) fn resolve_backend(
    registry: &RuntimeCatalog,
    model: &Path,
    name: Option<&str>,
) -> Result<BackendKind> {
    if let Some(n) = name {
        return Ok(n
            .parse::<BackendKind>()
            .map_err(mlgate_bench::BenchError::from)?);
    }
    let format = mlgate_ir::detect_format(model)?.format();
    registry
        .for_format(format)
        .first()
        .map(|b| b.kind())
        .ok_or_else(|| {
            Error::from(mlgate_bench::BenchError::Config(format!(
                "{}: no runtime in this build runs {} models",
                model.display(),
                format.name()
            )))
        })
}

fn session_options(threads: Option<usize>) -> SessionOptions {
    SessionOptions {
        intra_op_threads: threads,
        ..SessionOptions::default()
    }
}

/// The limits of one benchmark as a user gives them; [`MeasureLimits::config`] turns them
/// into the harness's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasureLimits {
    /// Exactly this many timed runs (the time limits still cap it); `None`: adaptive.
    pub runs: Option<u64>,
    /// At least this many warm-up runs.
    pub warmup: Option<u64>,
    /// Measure for at least this many seconds.
    pub min_time_s: Option<f64>,
    /// Never measure longer than this per input set.
    pub max_time_s: Option<f64>,
    /// Sample RSS and CPU every 100 ms for a timeline.
    pub timeline: bool,
}

impl MeasureLimits {
    /// The harness's settings. A minimum above the given maximum (or a maximum below the
    /// default minimum) is lowered to it: the maximum is the promise about wall time.
    pub fn config(&self) -> BenchConfig {
        let mut config = BenchConfig::default();
        if let Some(n) = self.runs {
            config = config.with_runs(n);
        }
        if let Some(w) = self.warmup {
            config.warmup_runs = w;
        }
        if let Some(s) = self.min_time_s {
            config.min_time_s = s;
            config.max_time_s = config.max_time_s.max(s);
        }
        if let Some(s) = self.max_time_s {
            config.max_time_s = s;
            config.min_time_s = config.min_time_s.min(s);
        }
        if self.timeline {
            config.timeline_interval_ms = Some(100);
        }
        config
    }
}

/// What to benchmark and how.
#[derive(Debug, Clone)]
pub struct BenchmarkRequest {
    /// A file, or a build (see [`crate::model::resolve`]); a build's results are recorded.
    pub model: ModelRef,
    /// Runtime name (`tract`, `onnxruntime`, `litert`, `coreml`); `None`: the build's
    /// target's runtime, else the first that runs the format.
    pub backend: Option<String>,
    /// Intra-op threads; `None`: the runtime's default.
    pub threads: Option<usize>,
    /// How to make the inputs.
    pub inputs: InputSpec,
    /// Warm-up, run counts and time limits; [`MeasureLimits::config`] makes one from a
    /// user's limits, `BenchConfig::default()` is the CLI's default (2–10 s per input set).
    pub config: BenchConfig,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
}

/// `mlgate benchmark --json` ([`BENCHMARK_SCHEMA`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BenchmarkReport {
    /// [`BENCHMARK_SCHEMA`].
    pub schema: String,
    /// The version of mlgate that measured.
    pub mlgate_version: String,
    /// The task the inputs were asked for ([`InputSpec::task`]), if one was.
    pub task: Option<String>,
    /// Cold start, then one result per input set: samples, percentiles with intervals,
    /// stability, throughput, memory, and the environment measured in.
    pub result: BenchmarkResult,
}

/// A benchmark and where it was recorded.
#[derive(Debug, Clone)]
pub struct BenchmarkRun {
    /// What was measured.
    pub report: BenchmarkReport,
    /// Registry ids of the stored results (one per input set) when the model was a build.
    pub recorded: Vec<i64>,
}

/// Measures a model: cold start, memory, then latency per input set. See
/// [`BenchConfig`] for the defaults and [`mlgate_bench::harness`] for the method. A
/// build's results are recorded in `ws`, raw samples included.
///
/// `progress` hears about each phase as it runs (see [`Progress`]); pass
/// `&mut NoProgress` for none.
///
/// # Errors
/// [`Error::Model`] when the model cannot be read; [`Error::Inputs`] or [`Error::Invalid`]
/// when inputs cannot be made; [`Error::Bench`] for an unknown runtime name, a format no
/// runtime here runs, or a runtime that fails to load or run the model;
/// [`Error::Invalid`] for a build without its workspace; [`Error::Registry`] when a
/// build's result cannot be recorded.
///
/// ```
/// use mlgate::benchmark::{BenchmarkRequest, InputSpec, MeasureLimits, NoProgress};
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
/// let request = BenchmarkRequest {
///     model: mlgate::ModelRef::file(&path),
///     backend: Some("tract".into()),
///     threads: None,
///     inputs: InputSpec::default(),
///     config: MeasureLimits { runs: Some(50), ..Default::default() }.config(),
///     runtimes: mlgate::RuntimeConfig::default(),
/// };
/// let run = mlgate::benchmark::benchmark(None, &request, &mut NoProgress)?;
/// assert_eq!(run.report.result.runs[0].samples_ns.len(), 50);
/// assert!(run.recorded.is_empty()); // a file, not a build: nothing stored
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn benchmark(
    ws: Option<&Workspace>,
    request: &BenchmarkRequest,
    progress: &mut dyn Progress,
) -> Result<BenchmarkRun> {
    let model = &request.model.path;
    let registry = RuntimeCatalog::new(&request.runtimes);
    // A build is measured on the runtime its target names unless the request says else.
    let backend_name = request
        .backend
        .clone()
        .or_else(|| request.model.build_backend());
    let backend = resolve_backend(&registry, model, backend_name.as_deref())?;
    let sets = synthesize_inputs(model, &request.inputs)?;
    let result = mlgate_bench::benchmark_model(
        &registry,
        backend,
        model,
        &session_options(request.threads),
        &|_declared| Ok(sets.clone()),
        &request.config,
        progress,
    )?;
    let report = BenchmarkReport {
        schema: BENCHMARK_SCHEMA.to_string(),
        mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
        task: request.inputs.task.clone(),
        result,
    };
    let mut recorded = Vec::new();
    if let Some(build) = &request.model.build {
        let ws = ws.ok_or_else(|| Error::Invalid {
            what: "build",
            value: build.id.clone(),
            hint: "a build's benchmark is recorded in its workspace; pass the workspace".into(),
        })?;
        for record in benchmark_records(&report) {
            recorded.push(ws.record_benchmark(&build.id, &record)?);
        }
    }
    Ok(BenchmarkRun { report, recorded })
}

/// What to compare and how.
#[derive(Debug, Clone, Default)]
pub struct CompareRequest {
    /// The reference model file.
    pub baseline: PathBuf,
    /// The model under test; it runs on the baseline's runtime and inputs.
    pub candidate: PathBuf,
    /// Runtime name; `None`: the first that runs the baseline's format.
    pub backend: Option<String>,
    /// Intra-op threads; `None`: the runtime's default.
    pub threads: Option<usize>,
    /// How to make the inputs (synthesized from the baseline, the first set only).
    pub inputs: InputSpec,
    /// The A/B engine's settings: metric, threshold, α, time budget (default 15 s), seed.
    pub config: CompareConfig,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
    /// GGUF decoders only: what one request yields to compare (default TPOT). The prompt
    /// is the first of `inputs.seq_lens` tokens (default 128).
    pub llm_metric: Option<LlmMetric>,
    /// GGUF decoders only: tokens generated per request (default: what the metric needs,
    /// 32 for tg and TPOT, 1 for TTFT, 0 for pp).
    pub generate_tokens: Option<usize>,
    /// Measure every session in a fresh worker process started with this command (a
    /// program that calls [`serve_worker`], e.g. `mlgate bench-worker`); `None`: both models
    /// in this process. Separate processes keep one model's allocations from placing the
    /// other's (see `docs/ci.md`).
    pub worker: Option<WorkerCommand>,
}

pub use mlgate_bench::worker::WorkerCommand;

/// The worker side of [`CompareRequest::worker`]: reads a spec line from stdin, loads the
/// model, and serves timed runs on stdout until stdin ends. A program embedding mlgate
/// calls this from a subcommand of its own to offer process isolation.
///
/// # Errors
/// Only when stdin or stdout fail; model and runtime errors go back to the parent on the
/// protocol.
pub fn serve_worker() -> std::io::Result<()> {
    let stdin = std::io::stdin();
    mlgate_bench::worker::serve(stdin.lock(), std::io::stdout().lock())
}

/// `mlgate compare --json` ([`COMPARE_SCHEMA`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CompareReport {
    /// [`COMPARE_SCHEMA`].
    pub schema: String,
    /// The version of mlgate that measured.
    pub mlgate_version: String,
    /// Both sides' samples and summaries, and the latency verdict with its evidence.
    pub result: CompareResult,
    /// The gate over latency, size, memory and budgets, when the command judged them
    /// (`mlgate compare` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::gate::Verdict>,
}

/// Compares a candidate with a baseline on this machine, now (see
/// [`mlgate_bench::compare`]). Both get the same synthesized inputs; with several sequence
/// lengths, the first is used. Judges latency only; [`crate::gate::run_gate`] adds size,
/// memory and budgets.
///
/// # Errors
/// As [`benchmark()`] for either model; [`Error::Bench`] also when the two models cannot
/// run on the same inputs.
///
/// ```
/// use mlgate::benchmark::{CompareConfig, CompareRequest, NoProgress, Verdict};
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
/// let request = CompareRequest {
///     baseline: path.clone(),
///     candidate: path,
///     config: CompareConfig { max_time_s: 1.0, min_time_s: 0.5, ..Default::default() },
///     ..Default::default()
/// };
/// let report = mlgate::benchmark::compare(&request, &mut NoProgress)?;
/// assert_ne!(report.result.comparison.verdict, Verdict::Regression);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare(request: &CompareRequest, progress: &mut dyn Progress) -> Result<CompareReport> {
    let result = measure_pair(request, progress)?;
    Ok(CompareReport {
        schema: COMPARE_SCHEMA.to_string(),
        mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
        result,
        verdict: None,
    })
}

/// Both models measured now, interleaved, on one runtime and the same inputs.
pub(crate) fn measure_pair(
    request: &CompareRequest,
    progress: &mut dyn Progress,
) -> Result<CompareResult> {
    let CompareRequest {
        baseline,
        candidate,
        backend,
        threads,
        inputs,
        config,
        runtimes,
        ..
    } = request;
    let registry = RuntimeCatalog::new(runtimes);
    let backend = resolve_backend(&registry, baseline, backend.as_deref())?;
    if mlgate_ir::detect_format(baseline)?.format() == ModelFormat::Gguf {
        // A decoder has no input tensors to synthesize: both sides serve the same requests.
        let shape = crate::llm::request_shape(
            request.llm_metric,
            inputs.seq_lens.first().copied(),
            request.generate_tokens,
        )?;
        return Ok(mlgate_bench::llm::compare_decoder_models(
            backend,
            baseline,
            candidate,
            &session_options(*threads),
            shape,
            config,
            progress,
        )?);
    }
    // Synthesized once, from the baseline: both sides run on exactly the same tensors.
    let first = synthesize_inputs(baseline, inputs)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Invalid {
            what: "model",
            value: baseline.display().to_string(),
            hint: "no inputs could be made for it".into(),
        })?;
    let options = session_options(*threads);
    let pair = mlgate_bench::ModelPair {
        backend,
        baseline,
        candidate,
        options: &options,
    };
    Ok(match &request.worker {
        Some(command) => mlgate_bench::worker::compare_models_in_processes(
            command, runtimes, &pair, &first, config, progress,
        )?,
        None => mlgate_bench::compare_models(&registry, &pair, &first, config, progress)?,
    })
}

/// Registry records for a benchmark, one per input set (sequence length), each with its raw
/// samples, summary statistics, settings and environment: what `mlgate benchmark BUILD`
/// stores against the build.
pub fn benchmark_records(report: &BenchmarkReport) -> Vec<mlgate_registry::NewBenchmark> {
    let result = &report.result;
    result
        .runs
        .iter()
        .map(|run| {
            let samples_ms: Vec<f64> = run.samples_ns.iter().map(|&ns| ns as f64 / 1e6).collect();
            let p = |q: f64| run.summary.percentile(q).and_then(|e| e.value_ms);
            mlgate_registry::NewBenchmark {
                backend: result.session.backend.name().to_string(),
                p50_ms: p(50.0).unwrap_or(run.summary.mean_ms),
                p95_ms: p(95.0),
                memory_mb: run.memory.as_ref().map(|m| m.peak_rss_bytes as f64 / 1e6),
                n: run.summary.n as u64,
                samples_ms,
                statistics: serde_json::json!({
                    "summary": to_json(&run.summary),
                    "stability": to_json(&run.stability),
                    "throughput": to_json(&run.throughput),
                    "cold_start": to_json(&result.cold_start),
                    "stop_reason": run.stop_reason,
                }),
                settings: serde_json::json!({
                    "input_set": run.label,
                    "input_shapes": run.input_shapes,
                    "config": to_json(&result.config),
                    "session": to_json(&result.session),
                    "task": report.task,
                    "method": result.method,
                }),
                fingerprint: to_json(&result.environment),
                created_at: None,
            }
        })
        .collect()
}

/// A benchmark timeline read back from its JSON Lines file (`mlgate benchmark --timeline
/// FILE.jsonl`, one [`TimelineSample`] a line; the line's JSON Schema is
/// [`crate::report::TIMELINE_SAMPLE_SCHEMA`]).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Timeline {
    /// The file read.
    pub path: PathBuf,
    /// Every sample, in file order.
    pub samples: Vec<TimelineSample>,
    /// The median gap between consecutive samples, ms: the sampling interval as observed
    /// (the file does not record the interval asked for). `None` with fewer than 2 samples.
    pub interval_ms: Option<f64>,
    /// Consecutive samples of one phase (`load`, `warmup`, `measure`, `idle`), in order.
    pub phases: Vec<PhaseSpan>,
}

/// A stretch of a timeline spent in one phase.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PhaseSpan {
    /// The phase's name.
    pub phase: String,
    /// Time of its first sample, ms.
    pub start_ms: f64,
    /// Time of its last sample, ms.
    pub end_ms: f64,
}

/// Reads a timeline written by `mlgate benchmark --timeline FILE.jsonl`. Blank lines are
/// skipped.
///
/// # Errors
/// [`Error::Invalid`] naming the file when it cannot be read or holds no sample, and
/// naming `FILE:LINE` for a line that is not a timeline sample.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("t.jsonl");
/// std::fs::write(&path, concat!(
///     r#"{"t_ms":0.0,"rss_bytes":1000,"cpu_percent":0.0,"phase":"load"}"#, "\n",
///     r#"{"t_ms":100.0,"rss_bytes":2000,"cpu_percent":98.0,"phase":"measure"}"#, "\n",
/// ))?;
/// let timeline = mlgate::benchmark::read_timeline(&path)?;
/// assert_eq!(timeline.interval_ms, Some(100.0));
/// assert_eq!(timeline.phases.len(), 2);
/// std::fs::write(&path, "{}\n")?;
/// let err = mlgate::benchmark::read_timeline(&path).unwrap_err().to_string();
/// assert!(err.contains("t.jsonl:1"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_timeline(path: &Path) -> Result<Timeline> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Invalid {
        what: "timeline",
        value: path.display().to_string(),
        hint: format!("cannot read it: {e}"),
    })?;
    let mut samples: Vec<TimelineSample> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let sample: TimelineSample = serde_json::from_str(line)
            .ok()
            .filter(|s: &TimelineSample| s.t_ms.is_finite() && s.cpu_percent.is_finite())
            .ok_or_else(|| {
                let why = serde_json::from_str::<TimelineSample>(line)
                    .err()
                    .map_or_else(
                        || "a time or CPU value that is not a number".to_string(),
                        |e| e.to_string(),
                    );
                Error::Invalid {
                    what: "timeline line",
                    value: format!("{}:{}", path.display(), i + 1),
                    hint: format!(
                        "line {} is not a timeline sample ({why}); each line is one JSON object \
                         {{\"t_ms\", \"rss_bytes\", \"cpu_percent\", \"phase\"}} as \
                         `mlgate benchmark --timeline` writes",
                        i + 1
                    ),
                }
            })?;
        samples.push(sample);
    }
    if samples.is_empty() {
        return Err(Error::Invalid {
            what: "timeline",
            value: path.display().to_string(),
            hint:
                "it holds no sample; write one with `mlgate benchmark MODEL --timeline FILE.jsonl`"
                    .into(),
        });
    }
    let mut gaps: Vec<f64> = samples
        .windows(2)
        .map(|w| w[1].t_ms - w[0].t_ms)
        .filter(|g| g.is_finite())
        .collect();
    gaps.sort_by(f64::total_cmp);
    let interval_ms = (!gaps.is_empty()).then(|| mlgate_bench::stats::median_sorted(&gaps));
    let mut phases: Vec<PhaseSpan> = Vec::new();
    for s in &samples {
        match phases.last_mut() {
            Some(p) if p.phase == s.phase => p.end_ms = s.t_ms,
            _ => phases.push(PhaseSpan {
                phase: s.phase.clone(),
                start_ms: s.t_ms,
                end_ms: s.t_ms,
            }),
        }
    }
    Ok(Timeline {
        path: path.to_path_buf(),
        samples,
        interval_ms,
        phases,
    })
}

/// Serializing the bench crate's plain types cannot fail; were it to, a `null` would hide
/// a bug but lose no measurement (samples and percentiles are typed columns).
pub(crate) fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_input_set_per_sequence_length() {
        let dir = tempfile::tempdir().unwrap();
        let paths = mlgate_ir::fixtures::write_all(dir.path()).unwrap();
        let nlp = &paths[2];
        let spec = InputSpec {
            seq_lens: vec![16, 64],
            batch: Some(2),
            ..InputSpec::default()
        };
        let sets = synthesize_inputs(nlp, &spec).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[1].label, "seq_len=64");
        assert_eq!(sets[1].inputs[0].shape(), &[2, 64]);
        assert_eq!(sets[1].batch_size, 2);
        // No lengths asked for: the ladder.
        let ladder = synthesize_inputs(nlp, &InputSpec::default()).unwrap();
        let labels: Vec<&str> = ladder.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["seq_len=16", "seq_len=64", "seq_len=128", "seq_len=256"]
        );
        // A vision model has no sequence length to set.
        let cnn = &paths[0];
        let err = synthesize_inputs(cnn, &spec).unwrap_err().to_string();
        assert!(err.contains("--seq-len"), "{err}");
        assert_eq!(
            synthesize_inputs(cnn, &InputSpec::default()).unwrap()[0].label,
            "default"
        );
    }
}
