//! `mlgate`: performance CI for on-device ML models — the library facade.
//!
//! This is the API boundary: the `mlgate` CLI and third-party Rust tools use this crate and
//! nothing below it. It composes the layer crates (`mlgate-ir` today; backends, bench,
//! registry and CI as they arrive) and exposes plain, serializable data types with stable
//! names. Machine-readable outputs are versioned envelopes (see [`report`]).
//!
//! Invariants: no terminal handling, no exit codes, no printing — that is the CLI's job.
//! Nothing here reads the environment in the middle of a call: where the runtimes live is a
//! [`RuntimeConfig`] the caller passes in ([`RuntimeConfig::from_env`] reads
//! `MLGATE_HOME`/`MLGATE_PYTHON` once, for callers that want the CLI's behaviour).

pub mod benchmark;
mod error;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod gate;
pub mod model;
pub mod report;
pub mod runtime;
pub mod workspace;

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

/// Read a model file (or `.mlpackage` directory) and summarise it: format, inputs, outputs,
/// op histogram, parameters, size and content hash. Never runs the model.
pub fn inspect(path: &Path) -> Result<ModelInfo> {
    Ok(mlgate_ir::inspect(path)?)
}

/// What the model is for (vision, nlp, audio, tabular or unknown), how sure, and why. `task`
/// is the user's `--task`, which wins when given. Never fails: a model it cannot make sense
/// of is `unknown`, with a warning saying how to override.
pub fn detect_task(info: &ModelInfo, path: &Path, task: Option<Task>) -> TaskReport {
    mlgate_tasks::detect_with(info, path, task)
}

/// Seeded, task-aware inputs for one run of the model (images for vision models, token ids
/// inside the vocabulary for nlp, waveforms for audio, ...), the same for every variant of
/// the model. `SynthesizedInputs::choices` says what each input holds and why.
pub fn synthesize_inputs(
    info: &ModelInfo,
    path: &Path,
    options: &SynthesisOptions,
) -> Result<SynthesizedInputs> {
    Ok(mlgate_tasks::synthesize(info, path, options)?)
}

/// [`synthesize_inputs`] at every rung of the sequence ladder (one set for models without
/// token inputs).
pub fn synthesize_input_ladder(
    info: &ModelInfo,
    path: &Path,
    options: &SynthesisOptions,
) -> Result<Vec<SynthesizedInputs>> {
    Ok(mlgate_tasks::synthesize_ladder(info, path, options)?)
}
