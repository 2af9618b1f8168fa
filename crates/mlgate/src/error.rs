/// What kind of failure an [`Error`] is, so callers can decide what to do (the CLI maps
/// user-facing kinds to exit code 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input is wrong: a missing or malformed model file, an invalid value.
    InvalidInput,
    /// Something outside mlgate failed: I/O, a runtime library.
    Environment,
}

/// The facade's error: one type for every operation, with a message that names the file or
/// value and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Model(#[from] mlgate_ir::IrError),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Model(mlgate_ir::IrError::Io { .. }) => ErrorKind::Environment,
            Error::Model(_) => ErrorKind::InvalidInput,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
