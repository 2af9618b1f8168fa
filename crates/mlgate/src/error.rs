use schemars::JsonSchema;

/// What kind of failure an [`Error`] is, so callers can decide what to do (the CLI maps
/// user-facing kinds to exit code 2). Named in the `mlgate.error/v1` report as
/// `invalid_input` or `environment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The user's input is wrong: a missing or malformed model file, an invalid value.
    InvalidInput,
    /// Something outside mlgate failed: I/O, a runtime library.
    Environment,
}

/// The facade's error: one type for every operation, with a message that names the file or
/// value and says what to do.
///
/// Its `Display` text is written for the person running the tool: print it as it is (the
/// CLI prints `error: {err}`). [`Error::kind`] says whose mistake it is. The variants wrap
/// the layer crates' own error types (`mlgate_ir::IrError`, `mlgate_registry::RegistryError`,
/// ...); match on the variant, not on those types, which are not part of the stable surface
/// (see `docs/api-stability.md`).
///
/// ```
/// let err = mlgate::inspect(std::path::Path::new("no/such/model.onnx")).unwrap_err();
/// assert!(err.to_string().contains("no/such/model.onnx"));
/// assert_eq!(err.kind(), mlgate::ErrorKind::InvalidInput); // the path the user gave
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file could not be read or parsed (missing, not a model, malformed, an
    /// extension that contradicts the content).
    #[error(transparent)]
    Model(#[from] mlgate_ir::IrError),
    /// Synthetic inputs could not be made (an absurd dimension, a string input, a bad option).
    #[error(transparent)]
    Inputs(#[from] mlgate_tasks::TaskError),
    /// The workspace: registry, artifacts, budget and config files.
    #[error(transparent)]
    Registry(#[from] mlgate_registry::RegistryError),
    /// A value the user gave is not acceptable.
    #[error("invalid {what} `{value}`: {hint}")]
    Invalid {
        /// What the value is (`--seq-len`, `model`, `fixture`, ...).
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it is not acceptable and what would be.
        hint: String,
    },
    /// Benchmarks and comparisons (runtime, inputs, settings). Boxed: runtime errors carry
    /// paths and messages, and every `Result` of the facade should stay small.
    #[error(transparent)]
    Bench(Box<mlgate_bench::BenchError>),
    /// A runtime could not be found, installed, loaded or run. Boxed for the same reason.
    #[error(transparent)]
    Runtime(Box<mlgate_backends::BackendError>),
    /// A CI threshold or budget that cannot be used; says which and where it came from.
    #[error(transparent)]
    Threshold(#[from] mlgate_ci::ThresholdError),
    /// An optimization pass refused the model or its parameters; says what to do.
    #[error(transparent)]
    Optimize(mlgate_optimize::OptimizeError),
    /// An `.npy`/`.npz` tensor file could not be read or written.
    #[error(transparent)]
    Tensor(mlgate_ir::tensor::TensorError),
    /// A report could not be turned into JSON (a bug: every report type serializes).
    #[error("cannot write the JSON output: {0}")]
    Output(#[source] serde_json::Error),
    /// The host cannot do what was asked (e.g. no working runtime); `hint` says what to do.
    #[error("{what}: {hint}")]
    Host {
        /// What the host cannot do.
        what: String,
        /// What to do about it.
        hint: String,
    },
}

impl Error {
    /// Whose mistake this is: the user's input ([`ErrorKind::InvalidInput`]) or the
    /// environment's ([`ErrorKind::Environment`]: I/O, a runtime library, the host).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Model(mlgate_ir::IrError::Io { .. }) => ErrorKind::Environment,
            Error::Model(_) => ErrorKind::InvalidInput,
            Error::Inputs(_) => ErrorKind::InvalidInput,
            Error::Registry(e) if e.is_user_error() => ErrorKind::InvalidInput,
            Error::Registry(_) => ErrorKind::Environment,
            Error::Invalid { .. } => ErrorKind::InvalidInput,
            Error::Threshold(_) => ErrorKind::InvalidInput,
            Error::Bench(e) if e.is_user_error() => ErrorKind::InvalidInput,
            Error::Bench(_) => ErrorKind::Environment,
            // Every runtime failure is exit 2; the message says whether the model, the
            // inputs or the installation is at fault.
            Error::Runtime(_) => ErrorKind::InvalidInput,
            Error::Tensor(mlgate_ir::tensor::TensorError::Io { .. }) => ErrorKind::Environment,
            Error::Tensor(_) => ErrorKind::InvalidInput,
            Error::Optimize(_) => ErrorKind::InvalidInput,
            Error::Output(_) | Error::Host { .. } => ErrorKind::Environment,
        }
    }
}

impl Error {
    pub(crate) fn runtime(e: mlgate_backends::BackendError) -> Self {
        Error::Runtime(Box::new(e))
    }
}

impl From<mlgate_backends::BackendError> for Error {
    fn from(e: mlgate_backends::BackendError) -> Self {
        Error::runtime(e)
    }
}

impl From<mlgate_bench::BenchError> for Error {
    fn from(e: mlgate_bench::BenchError) -> Self {
        Error::Bench(Box::new(e))
    }
}

/// The facade's result type: [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;
