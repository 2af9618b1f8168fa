//! Decoder benchmarks: `mlgate llm-bench`, prompt processing and token generation of a GGUF
//! decoder (llama family) on the candle runtime, with TTFT, TPOT and ITL per request.
//!
//! The measuring is `mlgate-bench`'s ([`mlgate_bench::llm`]); this module loads the model,
//! measures the load's memory and wraps the result in a versioned report. Prompts are random
//! in-vocabulary token ids, so tokenization is not measured.
//!
//! candle sizes its CPU thread pool once per process, on first use, from the
//! `CANDLE_NUM_THREADS` environment variable: set it before the first load to choose the
//! thread count (the CLI's `--threads` does). The count in effect is recorded in
//! [`LlmBenchResult::session`].

use mlgate_backends::{BackendKind, SessionOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use mlgate_backends::DecoderInfo;
pub use mlgate_bench::llm::{
    LlmBenchConfig, LlmBenchResult, LlmTest, LlmTrial, MeanStd, RequestMetrics, RequestTimes,
};

use crate::benchmark::{LlmMetric, Progress, RequestShape};
use crate::model::ModelRef;
use crate::workspace::Workspace;
use crate::Result;

/// Schema id of [`LlmBenchReport`].
pub const LLM_BENCH_SCHEMA: &str = "mlgate.llm-bench/v1";

/// What `llm-bench` measures and where.
#[derive(Debug, Clone)]
pub struct LlmBenchRequest {
    /// The GGUF file, or a build of the workspace (its artifact is measured and every test
    /// is recorded against it).
    pub model: ModelRef,
    /// Prompt and generation lengths, repetitions, seed.
    pub config: LlmBenchConfig,
}

/// `mlgate llm-bench --json` ([`LLM_BENCH_SCHEMA`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LlmBenchReport {
    /// [`LLM_BENCH_SCHEMA`].
    pub schema: String,
    /// The version of mlgate that measured.
    pub mlgate_version: String,
    /// The model file measured.
    pub model: String,
    /// Always `excluded`: prompts are random token ids, no text is tokenized.
    pub tokenization: String,
    /// Every request's clock readings, the per-test statistics, load time and memory, and
    /// the environment measured in.
    pub result: LlmBenchResult,
    /// Registry ids of the benchmarks stored against the build, one per test (empty for a
    /// file).
    #[serde(default)]
    pub recorded: Vec<i64>,
}

/// Loads the decoder (measuring the load's peak RSS) and runs every test of the request.
///
/// # Errors
/// [`crate::Error::Runtime`] when the model is not a llama-family GGUF decoder or cannot be
/// loaded or run; [`crate::Error::Bench`] for settings that cannot be measured (a zero
/// prompt length, no repetitions, more tokens than the model's context).
///
/// When the model is a build of `ws`, every test is recorded against it
/// ([`LlmBenchReport::recorded`]; see [`llm_bench_records`]).
pub fn llm_bench(
    ws: Option<&Workspace>,
    request: &LlmBenchRequest,
    progress: &mut dyn Progress,
) -> Result<LlmBenchReport> {
    let path = &request.model.path;
    mlgate_bench::memory::release_free_heap();
    let meter = mlgate_bench::memory::PeakMeter::start();
    let mut decoder =
        mlgate_backends::load_decoder(BackendKind::Candle, path, &SessionOptions::default())?;
    let load_memory = meter.finish();
    let result =
        mlgate_bench::llm::bench_decoder(decoder.as_mut(), &request.config, load_memory, progress)?;
    let mut report = LlmBenchReport {
        schema: LLM_BENCH_SCHEMA.to_string(),
        mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
        model: path.display().to_string(),
        tokenization: "excluded".into(),
        result,
        recorded: Vec::new(),
    };
    if let (Some(ws), Some(build)) = (ws, &request.model.build) {
        for record in llm_bench_records(&report) {
            report
                .recorded
                .push(ws.record_benchmark(&build.id, &record)?);
        }
    }
    Ok(report)
}

/// The per-request number an `llm-bench` test is stored under: TPOT where a request
/// generates two tokens or more, else TTFT, else the prefill time per prompt token.
pub fn recorded_metric(test: &LlmTest) -> LlmMetric {
    match test.generate_tokens {
        0 => LlmMetric::Pp,
        1 => LlmMetric::Ttft,
        _ => LlmMetric::Tpot,
    }
}

/// Registry records for an `llm-bench` run, one per test: the samples are each request's
/// [`recorded_metric`] in ms (so `history` and `log` track it like a latency), the
/// statistics carry the whole test (throughputs, TTFT, TPOT, ITL and every request's clock
/// readings) and the settings say what was measured.
pub fn llm_bench_records(report: &LlmBenchReport) -> Vec<mlgate_registry::NewBenchmark> {
    use crate::benchmark::to_json;
    let r = &report.result;
    r.tests
        .iter()
        .map(|test| {
            let metric = recorded_metric(test);
            let samples_ms: Vec<f64> = test
                .trials
                .iter()
                .filter_map(|t| {
                    metric.value_ms(&t.metrics, test.prompt_tokens, test.generate_tokens)
                })
                .collect();
            let summary =
                mlgate_bench::stats::summarize(&samples_ms, r.config.confidence, r.config.seed);
            let p = |q: f64| summary.percentile(q).and_then(|e| e.value_ms);
            mlgate_registry::NewBenchmark {
                backend: r.session.backend.name().to_string(),
                p50_ms: p(50.0).unwrap_or(summary.mean_ms),
                p95_ms: p(95.0),
                memory_mb: r
                    .load_memory
                    .as_ref()
                    .map(|m| m.peak_rss_bytes as f64 / 1e6),
                n: samples_ms.len() as u64,
                samples_ms,
                statistics: serde_json::json!({
                    "summary": to_json(&summary),
                    "llm_test": to_json(test),
                }),
                settings: serde_json::json!({
                    "kind": "llm-bench",
                    "input_set": format!("pp{}+tg{}", test.prompt_tokens, test.generate_tokens),
                    "metric": metric,
                    "metric_description": metric.describe(),
                    "prompt_tokens": test.prompt_tokens,
                    "generate_tokens": test.generate_tokens,
                    "config": to_json(&r.config),
                    "session": to_json(&r.session),
                    "model": to_json(&r.model),
                    "tokenization": report.tokenization,
                    "method": r.method,
                }),
                fingerprint: to_json(&r.environment),
                created_at: None,
            }
        })
        .collect()
}

/// Schema id of one line of `llm-bench -o jsonl` ([`LlmBenchLine`]).
pub const LLM_BENCH_LINE_SCHEMA: &str = "mlgate.llm-bench-line/v1";

/// One line of `mlgate llm-bench -o jsonl`: one test, self-describing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LlmBenchLine {
    /// [`LLM_BENCH_LINE_SCHEMA`].
    pub schema: String,
    /// The model file measured.
    pub model: String,
    /// The runtime (`candle`).
    pub backend: mlgate_backends::BackendKind,
    /// The most common type of the model's weight matrices (`Q4_1`…).
    pub precision: String,
    /// Always `excluded`.
    pub tokenization: String,
    /// The test with every request's clock readings and its statistics.
    pub test: LlmTest,
}

/// The report as JSON Lines, one compact [`LlmBenchLine`] per test.
pub fn jsonl(report: &LlmBenchReport) -> Vec<String> {
    report
        .result
        .tests
        .iter()
        .map(|test| {
            let line = LlmBenchLine {
                schema: LLM_BENCH_LINE_SCHEMA.into(),
                model: report.model.clone(),
                backend: report.result.session.backend,
                precision: report.result.model.precision.clone(),
                tokenization: report.tokenization.clone(),
                test: test.clone(),
            };
            serde_json::to_string(&line).unwrap_or_default()
        })
        .collect()
}

/// A decoder measured for `validate`: the metric of requests served now, summarized.
pub(crate) struct DecoderMeasurement {
    pub summary: mlgate_bench::LatencySummary,
    pub memory: Option<mlgate_bench::PhaseMemory>,
    pub session: mlgate_backends::SessionInfo,
    pub environment: mlgate_bench::MeasurementEnvironment,
    pub method: String,
    /// The requests served and the metric taken from each.
    pub shape: RequestShape,
}

/// Loads the decoder at `path` (measuring the load's peak RSS) and serves requests of
/// `shape` for `budget_s` seconds, at least enough for a bounded p50.
pub(crate) fn measure_decoder(
    path: &std::path::Path,
    shape: RequestShape,
    budget_s: f64,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<DecoderMeasurement> {
    mlgate_bench::memory::release_free_heap();
    let meter = mlgate_bench::memory::PeakMeter::start();
    let mut decoder =
        mlgate_backends::load_decoder(BackendKind::Candle, path, &SessionOptions::default())?;
    let memory = meter.finish();
    let min = mlgate_bench::stats::min_samples_for(50.0);
    let values = mlgate_bench::llm::measure_requests(
        decoder.as_mut(),
        shape,
        budget_s,
        (min, 10_000),
        seed,
        progress,
    )?;
    let summary = mlgate_bench::stats::summarize(&values, 0.95, seed);
    Ok(DecoderMeasurement {
        summary,
        memory,
        environment: mlgate_bench::MeasurementEnvironment::capture(decoder.info()),
        session: decoder.info().clone(),
        shape,
        method: format!(
            "{} requests of {} random prompt tokens (tokenization excluded) and {} greedy decode steps \
             after one warm-up, for {budget_s:.0} s or at least {min}; the value per request is its {} ({}); \
             percentiles by nearest rank with order-statistic intervals",
            values.len(),
            shape.prompt_tokens,
            shape.generate_tokens,
            shape.metric,
            shape.metric.describe()
        ),
    })
}

/// The metric and request of a GGUF gate: the user's choices over the defaults.
pub(crate) fn request_shape(
    metric: Option<LlmMetric>,
    prompt_tokens: Option<usize>,
    generate_tokens: Option<usize>,
) -> Result<RequestShape> {
    Ok(RequestShape::new(
        metric.unwrap_or_default(),
        prompt_tokens,
        generate_tokens,
    )?)
}
