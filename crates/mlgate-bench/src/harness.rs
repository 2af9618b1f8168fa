//! The timing loop: warmup, timed runs with adaptive stopping, cold start and memory.
//!
//! Only `Session::run_prepared` is inside the timed region: inputs are bound by `prepare`
//! beforehand, the sample buffer is reserved before the loop, and everything else (stopping
//! checks, progress, statistics) happens between runs. The clock is `Instant` (monotonic).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mlgate_backends::{BackendKind, RuntimeCatalog, Session, SessionInfo, SessionOptions};
use mlgate_ir::tensor::Tensor;
use mlgate_ir::TensorInfo;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fingerprint::MeasurementEnvironment;
use crate::memory::{PeakMeter, Phase, PhaseMemory, Sampler, TimelineSample};
use crate::stats::{self, LatencySummary, Stability};
use crate::{BenchError, Metric, Progress, ProgressUpdate, Result};

/// How long and how much to measure. Times are seconds.
///
/// The defaults suit CI on a small machine: 5 warmup runs and at least 0.5 s of warmup; then
/// at least 64 runs (enough to bound p90) and 2 s, stopping as soon as the 95% interval of
/// the p50 is within ±1% of it, and never after 10 s. p95 and p99 are reported when the run
/// reached 132 and 662 samples; raise `min_time_s` (or pass `min_runs`) to get them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BenchConfig {
    pub warmup_runs: u64,
    pub warmup_min_time_s: f64,
    pub min_runs: u64,
    pub min_time_s: f64,
    pub max_time_s: f64,
    /// Stop after this many timed runs even if the time allows more.
    pub max_runs: Option<u64>,
    /// The statistic whose interval decides when to stop.
    pub metric: Metric,
    /// Stop once the interval's half-width is at most this fraction of the statistic.
    pub target_rel_half_width: f64,
    pub confidence: f64,
    /// Sample RSS and CPU every this many milliseconds (50–200 is sensible); `None`: off.
    pub timeline_interval_ms: Option<u64>,
    /// Seeds the bootstraps, so a result is reproducible from its samples.
    pub seed: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            warmup_runs: 5,
            warmup_min_time_s: 0.5,
            min_runs: 64,
            min_time_s: 2.0,
            max_time_s: 10.0,
            max_runs: None,
            metric: Metric::P50,
            target_rel_half_width: 0.01,
            confidence: 0.95,
            timeline_interval_ms: None,
            seed: 0x6D6C_6761_7465,
        }
    }
}

impl BenchConfig {
    /// Exactly `n` timed runs (the time limits still cap it at `max_time_s`).
    pub fn with_runs(mut self, n: u64) -> Self {
        self.min_runs = n;
        self.max_runs = Some(n);
        self.min_time_s = 0.0;
        self
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(BenchError::Config(m));
        let finite = |v: f64| v.is_finite() && v >= 0.0;
        if !finite(self.warmup_min_time_s) || !finite(self.min_time_s) || !finite(self.max_time_s) {
            return bad("times must be finite and not negative".into());
        }
        if self.max_time_s <= 0.0 {
            return bad(format!(
                "max time must be positive, not {}",
                self.max_time_s
            ));
        }
        if self.min_time_s > self.max_time_s {
            return bad(format!(
                "min time {} s is above max time {} s",
                self.min_time_s, self.max_time_s
            ));
        }
        if self.max_runs == Some(0) {
            return bad("runs must be at least 1".into());
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return bad(format!(
                "confidence must be between 0 and 1, not {}",
                self.confidence
            ));
        }
        if self.target_rel_half_width.is_nan() || self.target_rel_half_width <= 0.0 {
            return bad("the target interval width must be positive".into());
        }
        Ok(())
    }
}

/// One set of inputs to measure: the default, or one rung of a sequence-length ladder.
#[derive(Debug, Clone)]
pub struct InputSet {
    /// `default`, or e.g. `seq_len=128`.
    pub label: String,
    pub inputs: Vec<Tensor>,
    /// Items per inference (the leading dimension), for throughput.
    pub batch_size: usize,
}

/// Throughput of a single-stream run: one inference at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Throughput {
    /// Timed runs divided by the time they took.
    pub inferences_per_s: f64,
    pub batch_size: usize,
    /// `inferences_per_s × batch_size`.
    pub items_per_s: f64,
}

/// When the latency settled, counted from the first inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Settling {
    /// Runs (warmup included) before latency settled: three consecutive windows of 5 runs
    /// with medians within 5% of the steady median (see `stats::settle_index`); `None` if
    /// it never settled.
    pub runs_to_stable: Option<usize>,
    /// Wall time of those runs, in milliseconds.
    pub time_to_stable_ms: Option<f64>,
}

/// The measurement of one input set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunResult {
    pub label: String,
    /// Shape of every input, by name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Binding the inputs (`Session::prepare`), in milliseconds; runtimes that plan per
    /// shape do it here.
    pub prepare_ms: f64,
    pub first_inference_ms: f64,
    pub settling: Settling,
    pub summary: LatencySummary,
    pub stability: Stability,
    pub throughput: Throughput,
    /// Peak RSS from the first inference to the last timed run.
    pub memory: Option<PhaseMemory>,
    /// Why the timed runs stopped, in words.
    pub stop_reason: String,
    /// Seconds spent in timed runs (sum of latencies) and on the wall clock.
    pub measured_s: f64,
    pub wall_s: f64,
    /// Every warmup latency (the first inference first), nanoseconds, in run order.
    pub warmup_samples_ns: Vec<u64>,
    /// Every timed latency, nanoseconds, in run order. Nothing is dropped.
    pub samples_ns: Vec<u64>,
}

/// Cold start of a model: what a user waits for before the first answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ColdStart {
    /// Loading the model and creating the session, in milliseconds.
    pub load_ms: f64,
    /// The first inference after load (first input set), in milliseconds.
    pub first_inference_ms: f64,
    /// From the start of the first inference until latency is stable.
    pub time_to_stable_ms: Option<f64>,
    pub runs_to_stable: Option<usize>,
    /// Peak RSS while loading.
    pub load_memory: Option<PhaseMemory>,
}

/// `mlgate benchmark`: a model on one runtime, every input set measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BenchmarkResult {
    pub model: PathBuf,
    pub session: SessionInfo,
    pub environment: MeasurementEnvironment,
    pub config: BenchConfig,
    pub cold_start: ColdStart,
    pub runs: Vec<RunResult>,
    /// RSS/CPU samples, when `timeline_interval_ms` was set.
    pub timeline: Vec<TimelineSample>,
    /// How the numbers were produced, in words.
    pub method: String,
}

/// Words for [`BenchmarkResult::method`].
pub const METHOD: &str =
    "monotonic clock around each inference call only (inputs bound beforehand); \
    percentiles are nearest-rank order statistics with distribution-free binomial intervals; \
    mean interval by seeded bootstrap; no sample removed";

/// Loads `model` and measures the peak RSS while doing so.
pub fn load_session(
    registry: &RuntimeCatalog,
    backend: BackendKind,
    model: &Path,
    options: &SessionOptions,
) -> Result<(Box<dyn Session>, f64, Option<PhaseMemory>)> {
    let meter = PeakMeter::start();
    let start = Instant::now();
    let session = registry.load(backend, model, options)?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok((session, load_ms, meter.finish()))
}

/// Makes the input sets of a model from its declared inputs; `Err` explains why it cannot.
pub type MakeInputs<'a> = &'a dyn Fn(&[TensorInfo]) -> std::result::Result<Vec<InputSet>, String>;

/// Loads `model`, makes its inputs with `make_inputs` (from the declared inputs), measures
/// cold start and then every input set.
pub fn benchmark_model(
    registry: &RuntimeCatalog,
    backend: BackendKind,
    model: &Path,
    options: &SessionOptions,
    make_inputs: MakeInputs<'_>,
    config: &BenchConfig,
    progress: &mut dyn Progress,
) -> Result<BenchmarkResult> {
    config.validate()?;
    let sampler = config
        .timeline_interval_ms
        .and_then(|ms| Sampler::start(Duration::from_millis(ms)));
    if let Some(s) = &sampler {
        s.set_phase(Phase::Load);
    }
    progress.update(&ProgressUpdate {
        phase: "loading",
        label: model.display().to_string(),
        elapsed_s: 0.0,
        budget_s: 0.0,
        runs: 0,
        rel_half_width: None,
    });
    let (mut session, load_ms, load_memory) = load_session(registry, backend, model, options)?;
    for w in &session.info().warnings {
        progress.warn(w);
    }
    let sets = make_inputs(session.inputs()).map_err(|detail| BenchError::Inputs {
        model: model.to_owned(),
        detail,
    })?;
    if sets.is_empty() {
        return Err(BenchError::Inputs {
            model: model.to_owned(),
            detail: "no input sets to measure".into(),
        });
    }
    let environment = MeasurementEnvironment::capture(session.info());
    let mut runs = Vec::with_capacity(sets.len());
    for set in &sets {
        runs.push(measure(
            session.as_mut(),
            set,
            config,
            progress,
            sampler.as_ref(),
        )?);
    }
    progress.finish();
    let timeline = sampler.map(Sampler::finish).unwrap_or_default();
    let first = &runs[0];
    Ok(BenchmarkResult {
        model: model.to_owned(),
        session: session.info().clone(),
        environment,
        config: config.clone(),
        cold_start: ColdStart {
            load_ms,
            first_inference_ms: first.first_inference_ms,
            time_to_stable_ms: first.settling.time_to_stable_ms,
            runs_to_stable: first.settling.runs_to_stable,
            load_memory,
        },
        runs,
        timeline,
        method: METHOD.to_string(),
    })
}

/// Runs `session` once, timed. The only code between the two clock reads is the call.
#[inline(always)]
fn timed_run(session: &mut dyn Session) -> Result<(u64, Instant)> {
    let start = Instant::now();
    session.run_prepared()?;
    let end = Instant::now();
    Ok((end.duration_since(start).as_nanos() as u64, end))
}

/// Warmup then timed runs of one input set on an already loaded session.
pub fn measure(
    session: &mut dyn Session,
    set: &InputSet,
    config: &BenchConfig,
    progress: &mut dyn Progress,
    sampler: Option<&Sampler>,
) -> Result<RunResult> {
    config.validate()?;
    let wall = Instant::now();
    let prepare_start = Instant::now();
    session.prepare(&set.inputs)?;
    let prepare_ms = prepare_start.elapsed().as_secs_f64() * 1e3;

    let set_phase = |p: Phase| {
        if let Some(s) = sampler {
            s.set_phase(p);
        }
    };
    set_phase(Phase::Warmup);
    let meter = PeakMeter::start();
    let max_time = Duration::from_secs_f64(config.max_time_s);

    // Warmup: the first inference, then until both the count and the time are reached (or
    // the whole time budget is gone, for models slower than the warmup asks for).
    let warm_start = Instant::now();
    let mut warmup = Vec::with_capacity(config.warmup_runs as usize + 64);
    let (first, _) = timed_run(session)?;
    warmup.push(first);
    let warm_min = Duration::from_secs_f64(config.warmup_min_time_s);
    loop {
        let e = warm_start.elapsed();
        if (warmup.len() as u64 > config.warmup_runs && e >= warm_min) || e >= max_time {
            break;
        }
        let (ns, _) = timed_run(session)?;
        warmup.push(ns);
        if warmup.len() % 16 == 0 {
            progress.update(&ProgressUpdate {
                phase: "warmup",
                label: set.label.clone(),
                elapsed_s: e.as_secs_f64(),
                budget_s: config.warmup_min_time_s,
                runs: warmup.len() as u64,
                rel_half_width: None,
            });
        }
    }

    // Timed runs. Reserve for the most runs the budget allows at the warmup's pace, so the
    // vector does not grow (and reallocate) while measuring.
    set_phase(Phase::Measure);
    let typical = stats::median(&stats::to_ms(&warmup)).max(1e-6) * 1e6; // ns
    let fit = (config.max_time_s * 1e9 / typical * 1.5) as u64 + 16;
    let cap = config.max_runs.unwrap_or(u64::MAX).min(fit).min(20_000_000);
    let mut samples: Vec<u64> = Vec::with_capacity(cap as usize);
    let mut scratch: Vec<f64> = Vec::with_capacity(cap as usize);
    let max_runs = config.max_runs.unwrap_or(u64::MAX);
    let min_time = Duration::from_secs_f64(config.min_time_s);
    let start = Instant::now();
    let deadline = start + max_time;
    let mut next_check = start + Duration::from_millis(100);
    let mut rel: Option<f64> = None;
    let stop_reason;
    loop {
        let (ns, end) = timed_run(session)?;
        samples.push(ns);
        let n = samples.len() as u64;
        if n >= max_runs {
            stop_reason = format!("reached {n} runs");
            break;
        }
        if end >= deadline {
            stop_reason = format!(
                "reached the maximum time ({} s){}",
                config.max_time_s,
                match rel {
                    Some(r) => format!(
                        "; the {} interval was ±{:.2}%, target ±{:.2}%",
                        config.metric,
                        r * 100.0,
                        config.target_rel_half_width * 100.0
                    ),
                    None => String::new(),
                }
            );
            break;
        }
        if end >= next_check {
            let elapsed = end.duration_since(start);
            let enough = n >= config.min_runs && elapsed >= min_time && config.max_runs.is_none();
            if enough || elapsed.as_secs_f64() > 0.5 {
                scratch.clear();
                scratch.extend(samples.iter().map(|&v| v as f64 / 1e6));
                rel = stats::relative_half_width(&scratch, config.metric, config.confidence);
            }
            if enough {
                if let Some(r) = rel.filter(|r| *r <= config.target_rel_half_width) {
                    stop_reason = format!(
                        "the {:.0}% interval of {} was within ±{:.2}% (target ±{:.2}%) after {n} runs",
                        config.confidence * 100.0,
                        config.metric,
                        r * 100.0,
                        config.target_rel_half_width * 100.0
                    );
                    break;
                }
            }
            progress.update(&ProgressUpdate {
                phase: "measuring",
                label: set.label.clone(),
                elapsed_s: elapsed.as_secs_f64(),
                budget_s: config.max_time_s,
                runs: n,
                rel_half_width: rel,
            });
            // Checks sort the samples; space them out as the series grows so they stay a
            // small share of the wall time.
            let gap = Duration::from_millis(100).max(elapsed / 20);
            next_check = Instant::now() + gap;
        }
    }
    let memory = meter.finish();
    set_phase(Phase::Idle);

    let values = stats::to_ms(&samples);
    let summary = stats::summarize(&values, config.confidence, config.seed);
    let stability = stats::stability(&values);
    let measured_s = samples.iter().sum::<u64>() as f64 / 1e9;
    let inferences_per_s = if measured_s > 0.0 {
        samples.len() as f64 / measured_s
    } else {
        0.0
    };

    // Settling is judged on the whole sequence from the first inference.
    let all: Vec<f64> = stats::to_ms(&warmup)
        .into_iter()
        .chain(values.iter().copied())
        .collect();
    let runs_to_stable = stats::settle_index(&all, 5, 0.05);
    let settling = Settling {
        runs_to_stable,
        time_to_stable_ms: runs_to_stable.map(|k| all[..k].iter().sum()),
    };

    Ok(RunResult {
        label: set.label.clone(),
        input_shapes: set
            .inputs
            .iter()
            .map(|t| (t.name().to_string(), t.shape().to_vec()))
            .collect(),
        prepare_ms,
        first_inference_ms: first as f64 / 1e6,
        settling,
        summary,
        stability,
        throughput: Throughput {
            inferences_per_s,
            batch_size: set.batch_size,
            items_per_s: inferences_per_s * set.batch_size as f64,
        },
        memory,
        stop_reason,
        measured_s,
        wall_s: wall.elapsed().as_secs_f64(),
        warmup_samples_ns: warmup,
        samples_ns: samples,
    })
}

/// Per-call cost of the harness's timing (two clock reads and a push) over a bare loop of
/// `run_prepared` on the same session, in nanoseconds: `(harness − bare) / runs`, the
/// median of `repeats` alternating measurements of `runs` calls each. Used by
/// `cargo xtask bench-gate` to check the overhead stays under 2 µs.
pub fn harness_overhead_ns(
    session: &mut dyn Session,
    runs: usize,
    repeats: usize,
) -> Result<OverheadMeasurement> {
    let mut bare = Vec::with_capacity(repeats);
    let mut harness = Vec::with_capacity(repeats);
    let mut samples: Vec<u64> = Vec::with_capacity(runs);
    for _ in 0..repeats {
        let t = Instant::now();
        for _ in 0..runs {
            session.run_prepared()?;
        }
        bare.push(t.elapsed().as_nanos() as f64 / runs as f64);
        samples.clear();
        let t = Instant::now();
        for _ in 0..runs {
            let (ns, _) = timed_run(session)?;
            samples.push(ns);
        }
        harness.push(t.elapsed().as_nanos() as f64 / runs as f64);
        std::hint::black_box(&samples);
    }
    let b = stats::median(&bare);
    let h = stats::median(&harness);
    Ok(OverheadMeasurement {
        bare_ns_per_call: b,
        harness_ns_per_call: h,
        overhead_ns: h - b,
        runs,
        repeats,
    })
}

/// See [`harness_overhead_ns`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverheadMeasurement {
    pub bare_ns_per_call: f64,
    pub harness_ns_per_call: f64,
    pub overhead_ns: f64,
    pub runs: usize,
    pub repeats: usize,
}
