use std::path::PathBuf;

use mlgate_backends::BackendError;

/// What can go wrong measuring: the runtime (missing, bad model, failed run), inputs that
/// cannot be made, or settings that make no sense. Each message names the file or value.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Backend(#[from] BackendError),

    #[error("{model}: cannot make inputs: {detail}")]
    Inputs { model: PathBuf, detail: String },

    #[error("invalid benchmark settings: {0}")]
    Config(String),

    #[error("cannot compare {baseline} with {candidate}: {detail}")]
    Incomparable {
        baseline: PathBuf,
        candidate: PathBuf,
        detail: String,
    },
}

impl BenchError {
    /// True when the user can fix it by changing arguments or files (the CLI's exit 2 either
    /// way; the facade distinguishes input from environment).
    pub fn is_user_error(&self) -> bool {
        match self {
            BenchError::Backend(e) => matches!(
                e,
                BackendError::UnsupportedFormat { .. }
                    | BackendError::Load { .. }
                    | BackendError::UnsupportedOp { .. }
                    | BackendError::Input { .. }
                    | BackendError::Options { .. }
                    | BackendError::UnknownBackend { .. }
                    | BackendError::UnknownTarget { .. }
                    | BackendError::TargetFormat { .. }
            ),
            BenchError::Inputs { .. } | BenchError::Config(_) | BenchError::Incomparable { .. } => {
                true
            }
        }
    }
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;
