//! `mlgate`: performance CI for on-device ML models — the library facade.
//!
//! This is the API boundary: the `mlgate` CLI and third-party Rust tools use this crate and
//! nothing below it. It composes the layer crates (`mlgate-ir` today; backends, bench,
//! registry and CI as they arrive) and exposes plain, serializable data types with stable
//! names. Machine-readable outputs are versioned envelopes (see [`report`]).
//!
//! Invariants: no terminal handling, no exit codes, no printing — that is the CLI's job.

mod error;
pub mod report;

pub use error::{Error, ErrorKind, Result};
pub use mlgate_ir::{DType, Dim, FormatDetails, ModelFormat, ModelInfo, Quantization, TensorInfo};

use std::path::Path;

/// Read a model file (or `.mlpackage` directory) and summarise it: format, inputs, outputs,
/// op histogram, parameters, size and content hash. Never runs the model.
pub fn inspect(path: &Path) -> Result<ModelInfo> {
    Ok(mlgate_ir::inspect(path)?)
}
