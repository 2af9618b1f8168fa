//! `mlgate-backends`: the inference runtimes mlgate measures models on — tract, ONNX
//! Runtime, LiteRT, CoreML and candle (GGUF decoders) — behind one [`Backend`]/[`Session`] pair of traits, plus what
//! surrounds them: finding and installing runtime libraries, target names, the host
//! fingerprint and `doctor`, and an ONNX conformance runner.
//!
//! Depends on `mlgate-ir` only, among mlgate crates. Invariants:
//! - one module per runtime, registered in [`catalog`]; no other code matches on runtimes;
//! - nothing is downloaded or linked at build time: ONNX Runtime and LiteRT are shared
//!   libraries found (or installed by [`install`]) at run time, tract and candle (the
//!   `candle` feature, on by default) are compiled in;
//! - user input never panics mlgate: a missing library, a bad model or wrong inputs is a
//!   [`BackendError`] naming the runtime, the model and what to do; inputs are validated
//!   against the session before any runtime sees them;
//! - it runs models but does not benchmark them (timing loops belong to the benchmark
//!   crate; only model load time is recorded), and prints nothing of its own: LiteRT's
//!   load-time warnings are passed on to stderr, its INFO chatter is dropped.

mod backend;
#[cfg(feature = "candle")]
pub mod candle;
pub mod catalog;
pub mod conformance;
pub mod coreml;
pub mod decoder;
pub mod discovery;
mod error;
pub mod host;
pub mod inputs;
pub mod install;
pub mod litert;
pub mod onnxruntime;
pub mod profile;
pub mod targets;
pub mod tract;

pub use backend::{
    Backend, BackendKind, CoremlComputeUnits, ExecutionProvider, OptLevel, RuntimeStatus, Session,
    SessionInfo, SessionOptions,
};
pub use catalog::RuntimeCatalog;
pub use decoder::{load_decoder, Decoder, DecoderInfo};
pub use discovery::RuntimeConfig;
pub use error::{BackendError, Result};
