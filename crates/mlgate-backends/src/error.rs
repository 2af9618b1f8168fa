use std::path::PathBuf;

use crate::BackendKind;

/// Everything that can go wrong finding a runtime, loading a model or running it. Each
/// variant names the runtime, the model where there is one, and what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "{backend}: runtime library not found (looked at: {tried}); install it with `{install}`"
    )]
    LibraryMissing {
        backend: BackendKind,
        tried: String,
        install: String,
    },

    #[error("{backend}: cannot load {path}: {detail}; reinstall it with `{install}`")]
    LibraryLoad {
        backend: BackendKind,
        path: PathBuf,
        detail: String,
        install: String,
    },

    #[error("{backend}: {path} is version {found}, but mlgate needs {expected}; install it with `{install}`")]
    LibraryVersion {
        backend: BackendKind,
        path: PathBuf,
        found: String,
        expected: String,
        install: String,
    },

    #[error("{backend} is not available: {reason}")]
    Unavailable {
        backend: BackendKind,
        reason: String,
    },

    #[error("{backend} runs {runs} models, but {model} is {format}; {hint}")]
    UnsupportedFormat {
        backend: BackendKind,
        model: PathBuf,
        format: String,
        runs: String,
        hint: String,
    },

    #[error("{backend}: {model}: cannot load the model: {detail}")]
    Load {
        backend: BackendKind,
        model: PathBuf,
        detail: String,
    },

    #[error("{backend}: {model}: needs operator(s) {} that {backend} does not provide{}", ops.join(", "), detail_suffix(detail))]
    UnsupportedOp {
        backend: BackendKind,
        model: PathBuf,
        ops: Vec<String>,
        detail: String,
    },

    #[error("{backend}: {model}: {detail}")]
    Input {
        backend: BackendKind,
        model: PathBuf,
        detail: String,
    },

    #[error("{backend}: {model}: inference failed: {detail}")]
    Run {
        backend: BackendKind,
        model: PathBuf,
        detail: String,
    },

    #[error("{backend}: {detail}")]
    Options {
        backend: BackendKind,
        detail: String,
    },

    #[error("unknown backend '{name}'; valid backends: {valid}")]
    UnknownBackend { name: String, valid: String },

    #[error("unknown target '{name}'; valid targets: {valid}")]
    UnknownTarget { name: String, valid: String },

    #[error("target {target} runs {runs} models, but {model} is {format}; use {suggest}")]
    TargetFormat {
        target: String,
        model: PathBuf,
        format: String,
        runs: String,
        suggest: String,
    },

    #[error("installing {runtime}: {detail}")]
    Install { runtime: String, detail: String },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

pub type Result<T, E = BackendError> = std::result::Result<T, E>;

impl BackendError {
    /// The runtime the error is about, when there is one.
    pub fn backend(&self) -> Option<BackendKind> {
        match self {
            BackendError::LibraryMissing { backend, .. }
            | BackendError::LibraryLoad { backend, .. }
            | BackendError::LibraryVersion { backend, .. }
            | BackendError::Unavailable { backend, .. }
            | BackendError::UnsupportedFormat { backend, .. }
            | BackendError::Load { backend, .. }
            | BackendError::UnsupportedOp { backend, .. }
            | BackendError::Input { backend, .. }
            | BackendError::Run { backend, .. }
            | BackendError::Options { backend, .. } => Some(*backend),
            _ => None,
        }
    }
}
