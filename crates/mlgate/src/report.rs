//! Versioned machine-readable outputs.
//!
//! Every `--json` output is an envelope `{"schema": "mlgate.<kind>/v<N>", ...}`. A schema's
//! version changes only when a field is removed or changes meaning; adding fields is
//! compatible. The JSON Schema documents live in `docs/schemas/`.

use serde::{Deserialize, Serialize};

use crate::ModelInfo;

/// Schema id of [`InspectReport`].
pub const INSPECT_SCHEMA: &str = "mlgate.inspect/v1";

/// `mlgate inspect --json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectReport {
    pub schema: String,
    pub mlgate_version: String,
    pub model: ModelInfo,
}

impl InspectReport {
    pub fn new(model: ModelInfo) -> Self {
        InspectReport {
            schema: INSPECT_SCHEMA.to_string(),
            mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
            model,
        }
    }
}

/// `--json` output of a failed command: what went wrong, in the same words as on stderr.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReport {
    pub schema: String,
    pub error: String,
    pub kind: String,
}

/// Schema id of [`ErrorReport`].
pub const ERROR_SCHEMA: &str = "mlgate.error/v1";

impl ErrorReport {
    pub fn new(error: &crate::Error) -> Self {
        ErrorReport {
            schema: ERROR_SCHEMA.to_string(),
            error: error.to_string(),
            kind: match error.kind() {
                crate::ErrorKind::InvalidInput => "invalid_input",
                crate::ErrorKind::Environment => "environment",
            }
            .to_string(),
        }
    }
}
