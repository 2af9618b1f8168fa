use std::fmt::Display;

/// Why a pass did not produce a model. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OptimizeError {
    /// A parameter of the method is out of range (`--sparsity 1.5`).
    #[error("invalid {flag} `{value}`: {hint}")]
    Invalid {
        flag: &'static str,
        value: String,
        hint: String,
    },
    /// The model cannot take this pass (already float16, opset too old, external data...).
    #[error("{0}")]
    Unsupported(String),
    /// The model contradicts itself (a weight whose bytes do not match its shape).
    #[error("the model is malformed: {0}")]
    Malformed(String),
}

pub type Result<T, E = OptimizeError> = std::result::Result<T, E>;

impl OptimizeError {
    pub(crate) fn invalid(flag: &'static str, value: impl Display, hint: &str) -> Self {
        OptimizeError::Invalid {
            flag,
            value: value.to_string(),
            hint: hint.to_string(),
        }
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> Self {
        OptimizeError::Unsupported(msg.into())
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        OptimizeError::Malformed(msg.into())
    }
}
