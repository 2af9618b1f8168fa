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
    /// What the model is for, detected from its graph, names and shapes. Added within v1:
    /// older reports lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::TaskReport>,
}

impl InspectReport {
    pub fn new(model: ModelInfo) -> Self {
        InspectReport {
            schema: INSPECT_SCHEMA.to_string(),
            mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
            model,
            task: None,
        }
    }

    pub fn with_task(mut self, task: crate::TaskReport) -> Self {
        self.task = Some(task);
        self
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

/// A versioned envelope whose body's fields sit beside `schema` and `mlgate_version`.
/// The workspace commands' outputs use it, with the schema ids below.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub schema: String,
    pub mlgate_version: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Envelope<T> {
    pub fn new(schema: &str, body: T) -> Self {
        Envelope {
            schema: schema.to_string(),
            mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
            body,
        }
    }
}

/// Schema ids of the workspace commands' `--json` outputs (bodies in [`crate::workspace`]).
pub const INIT_SCHEMA: &str = "mlgate.init/v1";
pub const IMPORT_SCHEMA: &str = "mlgate.import/v1";
pub const LOG_SCHEMA: &str = "mlgate.log/v1";
pub const BUILD_SCHEMA: &str = "mlgate.build/v1";
pub const DIFF_SCHEMA: &str = "mlgate.diff/v1";
pub const TAGS_SCHEMA: &str = "mlgate.tags/v1";
pub const BASELINE_SCHEMA: &str = "mlgate.baseline/v1";
pub const BUDGET_SCHEMA: &str = "mlgate.budget/v1";
pub const BUDGET_CHECK_SCHEMA: &str = "mlgate.budget-check/v1";
pub const HISTORY_SCHEMA: &str = "mlgate.history/v1";
pub const STATUS_SCHEMA: &str = "mlgate.status/v1";
pub const VERIFY_SCHEMA: &str = "mlgate.verify/v1";

/// Schema id of [`DoctorReport`].
pub const DOCTOR_SCHEMA: &str = "mlgate.doctor/v1";

/// `mlgate doctor --json`: the host and each runtime's status.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub schema: String,
    pub mlgate_version: String,
    /// True when the embedded default backend (tract) works.
    pub default_backend_ok: bool,
    #[serde(flatten)]
    pub doctor: crate::runtime::Doctor,
}

impl DoctorReport {
    pub fn new(doctor: crate::runtime::Doctor) -> Self {
        DoctorReport {
            schema: DOCTOR_SCHEMA.to_string(),
            mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
            default_backend_ok: crate::runtime::default_backend_works(&doctor),
            doctor,
        }
    }
}
