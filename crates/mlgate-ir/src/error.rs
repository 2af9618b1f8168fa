use std::path::{Path, PathBuf};

/// Everything that can go wrong reading a model. Each variant names the file and, where it
/// helps, what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    #[error("{path}: no such file or directory; check the path")]
    NotFound { path: PathBuf },

    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: the file is empty (0 bytes); was it fully downloaded or written?")]
    Empty { path: PathBuf },

    #[error("{path}: not a model format mlgate knows ({reason}); expected an ONNX (.onnx), TFLite (.tflite), CoreML (.mlmodel, .mlpackage) or GGUF (.gguf) model")]
    UnknownFormat { path: PathBuf, reason: String },

    #[error("{path}: invalid {format} model: {detail}")]
    Malformed {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },

    #[error("{path}: {detail}")]
    Unsupported { path: PathBuf, detail: String },
}

pub type Result<T, E = IrError> = std::result::Result<T, E>;

impl IrError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            IrError::NotFound {
                path: path.to_owned(),
            }
        } else {
            IrError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }

    pub fn malformed(path: &Path, format: &'static str, detail: impl Into<String>) -> Self {
        IrError::Malformed {
            path: path.to_owned(),
            format,
            detail: detail.into(),
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            IrError::NotFound { path }
            | IrError::Io { path, .. }
            | IrError::Empty { path }
            | IrError::UnknownFormat { path, .. }
            | IrError::Malformed { path, .. }
            | IrError::Unsupported { path, .. } => path,
        }
    }
}
