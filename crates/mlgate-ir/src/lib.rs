//! `mlgate-ir`: the model formats mlgate understands — ONNX, TFLite (LiteRT) and CoreML.
//!
//! It detects a file's format from its content, parses it with bounds-checked decoders,
//! and summarises it as one [`ModelInfo`]. ONNX is also written back (`onnx::encode`), so
//! later passes can rewrite graphs without losing fields.
//!
//! Depends on no other mlgate crate. Invariants:
//! - it reads and writes model files; it never runs a model and knows nothing about runtimes;
//! - parsing never panics on user input: every failure is an [`IrError`] naming the file.

pub mod coreml;
mod detect;
mod error;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod gguf;
pub mod hash;
mod info;
pub mod onnx;
pub mod rng;
pub mod tensor;
pub mod tflite;

pub use detect::{detect_format, inspect, FormatReader, Sniff, READERS};
pub use error::{IrError, Result};
pub use hash::{content_hash, path_size};
pub use info::{DType, Dim, FormatDetails, ModelFormat, ModelInfo, Quantization, TensorInfo};
