//! `mlgate`: performance CI for on-device ML models — the library facade.
//!
//! mlgate reads ONNX, TFLite and CoreML models, measures them on the runtimes you ship
//! (tract is compiled in; ONNX Runtime and LiteRT are loaded when installed), and decides
//! whether a change made a model slower, bigger or hungrier — without failing on noise.
//! This crate is how a Rust program does all of that: the `mlgate` command-line tool is
//! built on it and on nothing else, and so can your tool be.
//!
//! ```toml
//! [dependencies]
//! # Not on crates.io: a path (or git) dependency on a checkout of the mlgate repository.
//! mlgate = { path = "../mlgate/crates/mlgate" }
//! ```
//!
//! The examples below write the sample models of [`fixtures`](crate#fixtures) (feature
//! `fixtures`) into a temporary directory; pass your own model path instead. Every call
//! returns [`Result`]: an [`Error`] names the file or value at fault and says what to do,
//! and [`Error::kind`] tells the caller's mistakes from the environment's.
//!
//! # 1. Inspect a model and benchmark it
//! [`inspect`] reads a model without running it; [`detect_task`] says what it is for;
//! [`benchmark::benchmark`] makes inputs that fit that task, measures cold start, memory
//! and latency, and returns every percentile with its 95% interval.
//!
//! ```
//! use mlgate::benchmark::{self, BenchmarkRequest, InputSpec, MeasureLimits, NoProgress};
//! use mlgate::{ModelRef, RuntimeConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let model = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
//!
//! let info = mlgate::inspect(&model)?;
//! let task = mlgate::detect_task(&info, &model, None);
//! println!("{} model, {} inputs, task {}", info.format, info.inputs.len(), task.task);
//!
//! let request = BenchmarkRequest {
//!     model: ModelRef::file(&model),
//!     backend: None, // the first runtime for the format: tract, built in, for ONNX
//!     threads: None,
//!     inputs: InputSpec::default(), // synthesized for the detected task
//!     config: MeasureLimits { max_time_s: Some(0.5), ..MeasureLimits::default() }.config(),
//!     runtimes: RuntimeConfig::default(),
//! };
//! let run = benchmark::benchmark(None, &request, &mut NoProgress)?;
//! let p50 = run.report.result.runs[0].summary.percentile(50.0).expect("p50 is estimated");
//! if let (Some(ms), Some(low), Some(high)) = (p50.value_ms, p50.ci_low_ms, p50.ci_high_ms) {
//!     println!("p50 {ms:.3} ms, 95% interval [{low:.3}, {high:.3}]");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 2. Gate a candidate against a baseline
//! [`gate::ci_check`] measures both models now, interleaved on the same inputs, and judges
//! latency, size, memory and budgets. A latency regression needs both significance and an
//! interval above the threshold (default 10%), so comparing a model with itself passes.
//! [`gate::Verdict::blocks`] is what a pipeline acts on; the CLI exits 1 on it.
//!
//! ```
//! use mlgate::benchmark::NoProgress;
//! use mlgate::gate::{self, GateSettings, ThresholdFlags};
//!
//! let dir = tempfile::tempdir()?;
//! let model = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
//! let model = model.to_str().expect("a UTF-8 temporary path");
//!
//! let settings = GateSettings { max_time_s: Some(1.0), ..GateSettings::default() };
//! let report = gate::ci_check(None, model, model, &ThresholdFlags::default(), &settings, &mut NoProgress)?;
//! println!("{}: {}", report.verdict.status.name(), report.verdict.reason);
//! assert!(!report.verdict.blocks(), "a model compared with itself is no regression");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 3. Keep builds in a workspace and report on them
//! A [`Workspace`] is the `.mlgate/` directory: builds (imported models, stored by content
//! hash, with their lineage), their benchmark results with raw samples, tags and budgets.
//! Benchmarking a build records the result against it.
//!
//! ```
//! use mlgate::benchmark::{self, BenchmarkRequest, InputSpec, MeasureLimits, NoProgress};
//! use mlgate::workspace::{BuildFilter, ImportRequest};
//! use mlgate::{RuntimeConfig, Workspace, WorkspaceOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let model = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
//! let options = WorkspaceOptions { dir: Some(dir.path().join(".mlgate")), start: None };
//! let (ws, _outcome) = Workspace::init(&options)?;
//!
//! let import = ws.import(&ImportRequest {
//!     model: model.clone(),
//!     target: "tract_cpu".into(),
//!     ..ImportRequest::default()
//! })?;
//! let request = BenchmarkRequest {
//!     model: mlgate::model::resolve(Some(&ws), &import.build.id)?, // a build, by id
//!     backend: None,
//!     threads: None,
//!     inputs: InputSpec::default(),
//!     config: MeasureLimits { max_time_s: Some(0.5), ..MeasureLimits::default() }.config(),
//!     runtimes: RuntimeConfig::default(),
//! };
//! let run = benchmark::benchmark(Some(&ws), &request, &mut NoProgress)?;
//! assert_eq!(run.recorded.len(), 1);
//!
//! for summary in ws.builds(&BuildFilter::default())? {
//!     let latest = summary.latest.map(|m| format!("p50 {:.3} ms", m.p50_ms));
//!     println!("{} {} {}", summary.build.short_id(), summary.build.name, latest.unwrap_or_default());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where things are
//! - The crate root: reading models ([`inspect`]), tasks ([`detect_task`]) and input
//!   synthesis ([`synthesize_inputs`]), with the model description types.
//! - [`benchmark`]: benchmarks and A/B comparisons, and the [`benchmark::Progress`] trait a
//!   tool implements to show progress in its own UI.
//! - [`gate`]: the CI gate (`compare`, `ci-check`, `validate`, `ci`), its thresholds and
//!   verdicts, and the JUnit / Markdown / GitHub renderings of a verdict.
//! - [`workspace`]: the `.mlgate/` workspace — builds, lineage, benchmarks, tags, the
//!   baseline, budgets, history, verification.
//! - [`model`]: how a model argument is resolved (a file, else a build).
//! - [`runtime`]: installed runtimes (`doctor`), installing them, one inference (`infer`).
//! - [`build_report`]: everything stored about a build or two (`mlgate report`): lineage,
//!   latency distributions from raw samples, history, accuracy checks, a recommendation.
//! - [`report`]: the versioned JSON reports (`mlgate.<kind>/vN`) and their JSON Schemas.
//! - `fixtures` (feature `fixtures`): deterministic sample models.
//!
//! Runnable programs live in the repository's `examples/` folder (`cargo run -p mlgate
//! --example inspect_and_benchmark`, `gate_two_models`, `registry_report`,
//! `custom_progress`). `docs/api.txt` lists this crate's public API, a test keeps it
//! current, and `docs/api-stability.md` says what may change.
//!
//! # Invariants
//! No terminal handling, no exit codes, no printing — that is the caller's job (progress
//! goes through [`benchmark::Progress`]). Nothing here reads the environment in the middle
//! of a call: where the runtimes live is a [`RuntimeConfig`] the caller passes in
//! ([`RuntimeConfig::from_env`] reads `MLGATE_HOME`/`MLGATE_PYTHON` once, for callers that
//! want the CLI's behaviour), and the workspace is found from [`WorkspaceOptions`]. The
//! types are plain data that serialize; machine-readable outputs are versioned envelopes
//! (see [`report`]).
//!
//! # Fixtures
//! With the `fixtures` feature, `mlgate::fixtures` writes deterministic sample models
//! (a MobileNet-like CNN and a ~5% slower variant, a transformer encoder, an audio model, a
//! tiny MLP) that run on the embedded runtime:
//!
//! ```toml
//! mlgate = { path = "../mlgate/crates/mlgate", features = ["fixtures"] }
//! ```

#![warn(missing_docs)]

pub mod benchmark;
pub mod build_report;
mod calibration;
mod error;
pub mod explore;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod gate;
pub mod insights;
pub mod llm;
pub mod model;
pub mod optimize;
pub mod profile;
pub mod remote;
pub mod report;
pub mod runtime;
pub mod workspace;

/// The README's Rust code runs as a doc-test, so the first thing a new user copies works.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

pub use error::{Error, ErrorKind, Result};
pub use mlgate_backends::RuntimeConfig;
pub use mlgate_ir::tensor::{Tensor, TensorData, TensorStats};
pub use mlgate_ir::{DType, Dim, FormatDetails, ModelFormat, ModelInfo, Quantization, TensorInfo};
pub use mlgate_tasks::{
    check_outputs, validate_outputs, Confidence, InputAssessment, InputRole, OutputCheckFailure,
    OutputIssue, OutputIssueKind, OutputMode, SynthesisOptions, SynthesizedInputs, Task,
    TaskReport, TaskSource,
};
pub use model::ModelRef;
pub use workspace::{Workspace, WorkspaceOptions};

use std::path::Path;

/// Reads a model file (or `.mlpackage` directory) and summarises it: format, inputs,
/// outputs, op histogram, parameters, size and content hash. Never runs the model.
///
/// The format is detected from the content (and checked against the extension);
/// parsing is bounds-checked and never panics on a malformed file.
///
/// # Errors
/// [`Error::Model`]: the file is missing, empty or not a model, or its extension
/// contradicts its content (the message says what it really is) — all
/// [`ErrorKind::InvalidInput`]; a file that exists but cannot be read is
/// [`ErrorKind::Environment`].
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::VISION_CNN)?;
/// let info = mlgate::inspect(&path)?;
/// assert_eq!(info.format, mlgate::ModelFormat::Onnx);
/// assert_eq!(info.inputs[0].shape_text(), "[1, 3, 224, 224]");
/// assert!(mlgate::inspect(&dir.path().join("missing.onnx")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect(path: &Path) -> Result<ModelInfo> {
    Ok(mlgate_ir::inspect(path)?)
}

/// What the model is for (vision, nlp, audio, tabular or unknown), how sure, and why. `task`
/// is the user's `--task`, which wins when given. Never fails: a model it cannot make sense
/// of is `unknown`, with a warning saying how to override.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::NLP_ENCODER)?;
/// let report = mlgate::detect_task(&mlgate::inspect(&path)?, &path, None);
/// assert_eq!(report.task, mlgate::Task::Nlp);
/// assert!(!report.evidence.is_empty()); // why, one finding per line
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn detect_task(info: &ModelInfo, path: &Path, task: Option<Task>) -> TaskReport {
    mlgate_tasks::detect_with(info, path, task)
}

/// Seeded, task-aware inputs for one run of the model (images for vision models, token ids
/// inside the vocabulary for nlp, waveforms for audio, ...), the same for every variant of
/// the model. `SynthesizedInputs::choices` says what each input holds and why.
///
/// # Errors
/// [`Error::Inputs`]: an option is invalid (a zero batch or length), an input cannot be
/// synthesized (a string tensor), or one would exceed the size limit; the message names it.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::NLP_ENCODER)?;
/// let info = mlgate::inspect(&path)?;
/// let options = mlgate::SynthesisOptions { seq_len: Some(32), ..Default::default() };
/// let inputs = mlgate::synthesize_inputs(&info, &path, &options)?;
/// assert_eq!(inputs.tensors[0].shape(), &[1, 32]);
/// for line in &inputs.choices {
///     println!("{line}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn synthesize_inputs(
    info: &ModelInfo,
    path: &Path,
    options: &SynthesisOptions,
) -> Result<SynthesizedInputs> {
    Ok(mlgate_tasks::synthesize(info, path, options)?)
}

/// [`synthesize_inputs`] at every rung of the sequence ladder (16, 64, 128, 256, clipped to
/// the model's maximum) for models with token inputs; one set for the others.
///
/// # Errors
/// As [`synthesize_inputs`].
pub fn synthesize_input_ladder(
    info: &ModelInfo,
    path: &Path,
    options: &SynthesisOptions,
) -> Result<Vec<SynthesizedInputs>> {
    Ok(mlgate_tasks::synthesize_ladder(info, path, options)?)
}
