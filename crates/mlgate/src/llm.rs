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

use crate::benchmark::Progress;
use crate::model::ModelRef;
use crate::Result;

/// Schema id of [`LlmBenchReport`].
pub const LLM_BENCH_SCHEMA: &str = "mlgate.llm-bench/v1";

/// What `llm-bench` measures and where.
#[derive(Debug, Clone)]
pub struct LlmBenchRequest {
    /// The GGUF file, or a build of the workspace (its artifact is measured; the result is
    /// not recorded in the registry yet).
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
}

/// Loads the decoder (measuring the load's peak RSS) and runs every test of the request.
///
/// # Errors
/// [`crate::Error::Runtime`] when the model is not a llama-family GGUF decoder or cannot be
/// loaded or run; [`crate::Error::Bench`] for settings that cannot be measured (a zero
/// prompt length, no repetitions, more tokens than the model's context).
pub fn llm_bench(request: &LlmBenchRequest, progress: &mut dyn Progress) -> Result<LlmBenchReport> {
    let path = &request.model.path;
    mlgate_bench::memory::release_free_heap();
    let meter = mlgate_bench::memory::PeakMeter::start();
    let mut decoder =
        mlgate_backends::load_decoder(BackendKind::Candle, path, &SessionOptions::default())?;
    let load_memory = meter.finish();
    let result =
        mlgate_bench::llm::bench_decoder(decoder.as_mut(), &request.config, load_memory, progress)?;
    Ok(LlmBenchReport {
        schema: LLM_BENCH_SCHEMA.to_string(),
        mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
        model: path.display().to_string(),
        tokenization: "excluded".into(),
        result,
    })
}

/// The report as JSON Lines, one compact object per test: `model`, `backend`, `precision`,
/// `tokenization` and the test with its trials (`mlgate llm-bench -o jsonl`).
pub fn jsonl(report: &LlmBenchReport) -> Vec<String> {
    report
        .result
        .tests
        .iter()
        .map(|test| {
            serde_json::json!({
                "model": report.model,
                "backend": report.result.session.backend,
                "precision": report.result.model.precision,
                "tokenization": report.tokenization,
                "test": test,
            })
            .to_string()
        })
        .collect()
}
