/// What can stop mlgate from making inputs for a model. Each message names the input or the
/// option and says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task '{name}'; expected one of: vision, nlp, audio, tabular, unknown")]
    UnknownTask { name: String },

    #[error("{option} {detail}")]
    InvalidOption {
        option: &'static str,
        detail: String,
    },

    #[error("input '{input}': {detail}")]
    Input { input: String, detail: String },

    #[error(
        "input '{input}': shape {shape} needs {bytes} bytes, over the {limit}-byte limit for \
         synthetic inputs; fix the dimension with a smaller value or pass the inputs yourself"
    )]
    TooLarge {
        input: String,
        shape: String,
        bytes: u128,
        limit: u64,
    },

    #[error(
        "input '{input}' is {dtype}, which mlgate cannot synthesise; pass the inputs yourself \
         (an .npz file)"
    )]
    UnsupportedDtype { input: String, dtype: String },
}

impl TaskError {
    pub(crate) fn input(input: &str, detail: impl Into<String>) -> Self {
        TaskError::Input {
            input: input.to_string(),
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = TaskError> = std::result::Result<T, E>;
