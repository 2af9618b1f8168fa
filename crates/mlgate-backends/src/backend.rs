//! The two traits every runtime implements, and the plain data that goes in and out of them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use mlgate_ir::tensor::Tensor;
use mlgate_ir::{ModelFormat, TensorInfo};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::inputs::validate_inputs;
use crate::Result;

/// Which runtime measures a model. The names are the ones users type and reports store.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Tract,
    #[serde(rename = "onnxruntime")]
    OnnxRuntime,
    #[serde(rename = "litert")]
    LiteRt,
    #[serde(rename = "coreml")]
    CoreMl,
    /// GGUF decoders (llama family) through candle, built in with the `candle` feature.
    Candle,
}

impl BackendKind {
    pub const ALL: [BackendKind; 5] = [
        BackendKind::Tract,
        BackendKind::OnnxRuntime,
        BackendKind::LiteRt,
        BackendKind::CoreMl,
        BackendKind::Candle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tract => "tract",
            BackendKind::OnnxRuntime => "onnxruntime",
            BackendKind::LiteRt => "litert",
            BackendKind::CoreMl => "coreml",
            BackendKind::Candle => "candle",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = crate::BackendError;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.to_ascii_lowercase();
        // `ort` is what the install command calls ONNX Runtime, so accept it here too.
        let alias = match lower.as_str() {
            "ort" => "onnxruntime",
            "tflite" => "litert",
            other => other,
        };
        BackendKind::ALL
            .into_iter()
            .find(|k| k.name() == alias)
            .ok_or_else(|| crate::BackendError::UnknownBackend {
                name: s.to_string(),
                valid: BackendKind::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// How much graph rewriting a runtime may do before running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OptLevel {
    Disabled,
    Basic,
    Extended,
    #[default]
    All,
}

/// Where ONNX Runtime executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum ExecutionProvider {
    #[default]
    Cpu,
    Cuda {
        device_id: i32,
    },
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutionProvider::Cpu => f.write_str("cpu"),
            ExecutionProvider::Cuda { device_id } => write!(f, "cuda:{device_id}"),
        }
    }
}

/// Which compute units CoreML may use (its `MLComputeUnits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoremlComputeUnits {
    #[default]
    All,
    CpuOnly,
    CpuAndGpu,
    CpuAndNeuralEngine,
}

/// How a session is set up. Runtimes ignore what they have no equivalent for, and say so in
/// [`SessionInfo`], which records what was actually applied.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionOptions {
    /// Threads inside one operator; `None` leaves the runtime's default.
    pub intra_op_threads: Option<usize>,
    /// Threads running independent operators in parallel; `None` leaves the default.
    pub inter_op_threads: Option<usize>,
    pub graph_optimization: OptLevel,
    pub execution_provider: ExecutionProvider,
    pub coreml_compute_units: CoremlComputeUnits,
    /// Turns on the runtime's own per-op profiler (see [`Session::end_op_profile`]). It costs
    /// time on every op, so sessions that are timed as a whole leave it off.
    #[serde(default)]
    pub profile_ops: bool,
}

/// What a session actually runs with: stored beside every measurement, because the
/// runtime library comes from outside cargo and its version changes results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionInfo {
    pub backend: BackendKind,
    /// Runtime version (`1.31.1`, `2.3.0`, tract's crate version), when known.
    pub runtime_version: Option<String>,
    /// The shared library the runtime was loaded from; `None` for a built-in runtime.
    pub library: Option<PathBuf>,
    pub model: PathBuf,
    /// Intra-op threads in effect; `None` when the runtime chose (its default).
    pub intra_op_threads: Option<usize>,
    pub inter_op_threads: Option<usize>,
    pub graph_optimization: OptLevel,
    pub execution_provider: ExecutionProvider,
    /// Time to load and prepare the model, in milliseconds.
    pub load_ms: f64,
    /// Runtime-specific session configuration applied (ONNX Runtime's config entries, as
    /// `key`, `value`); empty when none was set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_config: Vec<(String, String)>,
    /// What the runtime said while loading that a user should see (LiteRT's own warnings,
    /// its chatter filtered out). The library prints nothing; a caller shows these. Not
    /// stored or serialized: they describe this load, not the measurement.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Whether a runtime can be used on this machine, and if not, how to fix that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuntimeStatus {
    pub backend: BackendKind,
    pub available: bool,
    /// Model formats it runs.
    pub formats: Vec<ModelFormat>,
    pub library: Option<PathBuf>,
    /// Where the library was found (`explicit`, `ORT_DYLIB_PATH`, `mlgate runtimes`,
    /// `python package`, `built in`).
    pub source: Option<String>,
    pub version: Option<String>,
    /// Why it is unavailable.
    pub problem: Option<String>,
    /// The command that makes it available, when one exists.
    pub install: Option<String>,
}

/// A runtime that can load models into [`Session`]s. Implementations are cheap to construct:
/// nothing is loaded until [`Backend::probe`] or [`Backend::load`] is called.
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;

    fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Model formats this runtime executes.
    fn formats(&self) -> &'static [ModelFormat];

    fn supports(&self, format: ModelFormat) -> bool {
        self.formats().contains(&format)
    }

    /// Finds the runtime (library, version) without loading a model.
    fn probe(&self) -> RuntimeStatus;

    /// The runtime's version, when it can be found.
    fn version(&self) -> Option<String> {
        self.probe().version
    }

    /// Loads `model` for inference.
    fn load(&self, model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>>;
}

/// A loaded model. Inputs are matched by name and validated against [`Session::inputs`]
/// before the runtime sees them.
///
/// Two ways to run: [`Session::run`] for one-off inference, or [`Session::prepare`] once and
/// then [`Session::run_prepared`] in a loop, which reuses the bound input and output
/// buffers so that a benchmark measures the runtime rather than copies and allocations.
pub trait Session: Send {
    fn info(&self) -> &SessionInfo;

    fn inputs(&self) -> &[TensorInfo];

    fn outputs(&self) -> &[TensorInfo];

    /// Validates `inputs` against [`Session::inputs`] (names, dtypes, ranks, fixed and
    /// symbolic dimensions) and binds them for [`Session::run_prepared`]. Runtimes implement
    /// [`Session::bind`] and leave this as it is, so every one of them rejects bad inputs
    /// with the same message before its library sees them.
    fn prepare(&mut self, inputs: &[Tensor]) -> Result<()> {
        let info = self.info();
        let ordered = validate_inputs(info.backend, &info.model, self.inputs(), inputs)?;
        self.bind(&ordered)
    }

    /// Binds inputs that [`Session::prepare`] has validated, one per declared input, in
    /// [`Session::inputs`] order; drops the outputs of an earlier run.
    fn bind(&mut self, ordered: &[&Tensor]) -> Result<()>;

    /// Runs once on the prepared inputs. Outputs stay in the runtime's buffers until
    /// [`Session::take_outputs`].
    fn run_prepared(&mut self) -> Result<()>;

    /// The outputs of the last run, in [`Session::outputs`] order.
    fn take_outputs(&mut self) -> Result<Vec<Tensor>>;

    /// Stops the per-op profiler of a session loaded with [`SessionOptions::profile_ops`] and
    /// returns what it recorded for every run so far. Runtimes without a profiler mlgate can
    /// read, and sessions loaded without it, return an error that says so.
    fn end_op_profile(&mut self) -> Result<crate::profile::OpProfile> {
        let info = self.info();
        Err(crate::BackendError::Options {
            backend: info.backend,
            detail: format!(
                "mlgate reads no per-op profiler of {} (ONNX Runtime's and tract's only)",
                info.backend
            ),
        })
    }

    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.prepare(inputs)?;
        self.run_prepared()?;
        self.take_outputs()
    }
}
