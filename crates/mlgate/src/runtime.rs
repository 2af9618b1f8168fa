//! Runtimes: what is installed (`doctor`), installing the pinned libraries, and running a
//! model once (`infer`) — how users debug "it converts but the output is wrong".

use std::collections::BTreeMap;
use std::path::PathBuf;

use mlgate_backends::{host, install, RuntimeCatalog, RuntimeConfig, SessionOptions};
use mlgate_ir::tensor::{Tensor, TensorStats};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::ModelRef;
use crate::{Dim, Error, ModelInfo, OutputMode, Result, SynthesisOptions, Task, TaskReport};

pub use mlgate_backends::host::{Doctor, HostInfo};
pub use mlgate_backends::install::Installed;
pub use mlgate_backends::{BackendKind, RuntimeStatus, SessionInfo};

/// Every runtime mlgate knows, with found/missing, library path, version and — for a
/// missing one — the command that installs it; plus the host fingerprint.
///
/// ```
/// let doctor = mlgate::runtime::doctor(&mlgate::RuntimeConfig::default());
/// assert!(mlgate::runtime::default_backend_works(&doctor)); // tract is compiled in
/// # mlgate::runtime::check_default_backend(&doctor)?;
/// # Ok::<(), mlgate::Error>(())
/// ```
pub fn doctor(runtimes: &RuntimeConfig) -> Doctor {
    host::doctor(&RuntimeCatalog::new(runtimes))
}

/// True when the embedded default (tract) can run ONNX models: `mlgate doctor` exits 0.
pub fn default_backend_works(doctor: &Doctor) -> bool {
    doctor
        .runtimes
        .iter()
        .any(|r| r.backend == BackendKind::Tract && r.available)
}

/// Ok when the embedded default (tract) can run ONNX models; otherwise an error saying what
/// its probe found, for `mlgate doctor` to exit 2 with.
///
/// # Errors
/// [`Error::Host`] when tract's probe failed, with what it found.
pub fn check_default_backend(doctor: &Doctor) -> Result<()> {
    if default_backend_works(doctor) {
        return Ok(());
    }
    let problem = doctor
        .runtimes
        .iter()
        .find(|r| r.backend == BackendKind::Tract)
        .and_then(|r| r.problem.clone())
        .unwrap_or_else(|| "this build of mlgate has no tract backend".into());
    Err(Error::Host {
        what: format!("the embedded default runtime (tract) does not work: {problem}"),
        hint: "mlgate cannot run ONNX models without it; reinstall mlgate".into(),
    })
}

/// Runtime names `install_runtimes` accepts.
pub const INSTALLABLE: &[&str] = &["ort", "litert", "all"];

/// Download the pinned wheels with pip from the package registry and unpack each runtime's
/// shared library into mlgate's runtimes directory, verifying its sha256. `which` is `ort`,
/// `litert` or `all`. Needs Python with pip and access to PyPI.
///
/// # Errors
/// [`Error::Invalid`] for another runtime name (listing [`INSTALLABLE`]);
/// [`Error::Runtime`] when pip fails, a download does not match its pinned hash, or the
/// runtimes directory cannot be written.
pub fn install_runtimes(runtimes: &RuntimeConfig, which: &str) -> Result<Vec<Installed>> {
    let names: Vec<&str> = match which.to_ascii_lowercase().as_str() {
        "all" => vec!["ort", "litert"],
        "ort" | "onnxruntime" => vec!["ort"],
        "litert" | "tflite" => vec!["litert"],
        _ => {
            return Err(Error::Invalid {
                what: "runtime",
                value: which.to_string(),
                hint: format!("choose one of {}", INSTALLABLE.join(", ")),
            })
        }
    };
    names
        .into_iter()
        .map(|n| Ok(install::install(install::package(n)?, runtimes)?))
        .collect()
}

/// What `infer` runs and where it writes.
#[derive(Debug, Clone)]
pub struct InferRequest {
    /// A file, or a build (run from its verified artifact).
    pub model: ModelRef,
    /// `.npz` (or `.npy` for a single input); synthesized from the model's task when absent.
    pub inputs: Option<PathBuf>,
    /// Runtime name (`tract`, `onnxruntime`, `litert`, `coreml`); default: the build's
    /// target's runtime, else the first that runs the model's format.
    pub backend: Option<String>,
    /// Intra-op threads; `None`: the runtime's default.
    pub threads: Option<usize>,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
    /// The task synthesized inputs are made for; `None`: detected.
    pub task: Option<Task>,
    /// Seed, batch, sequence length and sizes of synthesized inputs.
    pub synthesis: SynthesisOptions,
    /// Write the inputs used (synthesized or not) here as `.npz`, to reproduce the run.
    pub save_inputs: Option<PathBuf>,
    /// Write the outputs here as `.npz`, named as the model names them.
    pub output: Option<PathBuf>,
    /// Output problems (NaN, constant, shape) fail the run instead of warning.
    pub strict_output: bool,
}

/// One tensor, summarised.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TensorSummary {
    /// The tensor's name, as the model names it.
    pub name: String,
    /// Element type (`float32`, `int64`, ...).
    pub dtype: String,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Min, max, mean, standard deviation and NaN/Inf counts of the values.
    pub stats: TensorStats,
}

impl TensorSummary {
    fn of(t: &Tensor) -> Self {
        TensorSummary {
            name: t.name().to_string(),
            dtype: t.dtype().to_string(),
            shape: t.shape().to_vec(),
            stats: t.stats(),
        }
    }
}

/// `mlgate infer --json` (`mlgate.infer/v1`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InferReport {
    /// [`INFER_SCHEMA`].
    pub schema: String,
    /// Added within v1: older reports lack it.
    #[serde(default)]
    pub mlgate_version: String,
    /// The model file that ran.
    pub model: String,
    /// The runtime, its version and settings, and what it said while loading.
    pub session: SessionInfo,
    /// `file` or `synthesized`.
    pub input_source: String,
    /// What each synthesized input holds and why.
    pub input_choices: Vec<String>,
    /// The task detection synthesized inputs follow (`None` for inputs from a file).
    pub task: Option<TaskReport>,
    /// The inputs, summarised.
    pub inputs: Vec<TensorSummary>,
    /// The outputs, summarised.
    pub outputs: Vec<TensorSummary>,
    /// Wall time of the one inference, milliseconds (a first run: not a benchmark).
    pub run_ms: f64,
    /// Problems found in the outputs and inputs (NaN/Inf, constant outputs, shapes).
    pub warnings: Vec<String>,
    /// Set when `strict_output` was asked for and the outputs have problems.
    pub output_check_failed: bool,
    /// Where the inputs were written, if asked.
    pub saved_inputs: Option<String>,
    /// Where the outputs were written, if asked.
    pub saved_outputs: Option<String>,
}

/// Schema id of [`InferReport`].
pub const INFER_SCHEMA: &str = "mlgate.infer/v1";

/// One inference on the given or synthesized inputs: outputs summarised and checked
/// (NaN/Inf, constant, shapes that contradict the declaration), optionally saved as `.npz`.
///
/// # Errors
/// [`Error::Model`] when the model cannot be read; [`Error::Tensor`] when an input file
/// cannot be read or an output file written; [`Error::Inputs`] when inputs cannot be
/// synthesized; [`Error::Bench`] for an unknown runtime; [`Error::Runtime`] when the runtime
/// cannot load or run the model or the inputs do not fit it. Output problems under
/// `strict_output` are not an error: see [`InferReport::output_check_failed`].
pub fn infer(request: &InferRequest) -> Result<InferReport> {
    let model = &request.model.path;
    let info = crate::inspect(model)?;
    let registry = RuntimeCatalog::new(&request.runtimes);
    // A build runs on the runtime its target names unless the request says else.
    let backend = request
        .backend
        .clone()
        .or_else(|| request.model.build_backend());
    let kind = crate::benchmark::resolve_backend(&registry, model, backend.as_deref())?;

    let mut warnings = Vec::new();
    let (inputs, input_source, input_choices, task) = match &request.inputs {
        Some(path) => {
            let tensors = mlgate_ir::tensor::read_tensors(path).map_err(Error::Tensor)?;
            (tensors, "file", Vec::new(), None)
        }
        None => {
            let mut options = request.synthesis.clone();
            if request.task.is_some() {
                options.task = request.task;
            }
            let synth = crate::synthesize_inputs(&info, model, &options)?;
            warnings.extend(synth.warnings.iter().cloned());
            (
                synth.tensors,
                "synthesized",
                synth.choices,
                Some(synth.task),
            )
        }
    };
    if let Some(path) = &request.save_inputs {
        mlgate_ir::tensor::write_npz(path, &inputs, true).map_err(Error::Tensor)?;
    }

    let options = SessionOptions {
        intra_op_threads: request.threads,
        ..SessionOptions::default()
    };
    let mut session = registry
        .load(kind, model, &options)
        .map_err(Error::runtime)?;
    warnings.extend(session.info().warnings.iter().cloned());
    let started = std::time::Instant::now();
    let outputs = session.run(&inputs).map_err(Error::runtime)?;
    let run_ms = started.elapsed().as_secs_f64() * 1e3;

    let dims = named_dims(&info, &inputs);
    let mode = if request.strict_output {
        OutputMode::Strict
    } else {
        OutputMode::Soft
    };
    let output_check_failed = match crate::validate_outputs(&info.outputs, &outputs, &dims, mode) {
        Ok(soft) => {
            warnings.extend(soft);
            false
        }
        Err(failure) => {
            warnings.extend(failure.issues.into_iter().map(|i| i.message));
            true
        }
    };
    if let Some(path) = &request.output {
        mlgate_ir::tensor::write_npz(path, &outputs, true).map_err(Error::Tensor)?;
    }
    Ok(InferReport {
        schema: INFER_SCHEMA.to_string(),
        mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
        model: model.display().to_string(),
        session: session.info().clone(),
        input_source: input_source.to_string(),
        input_choices,
        task,
        inputs: inputs.iter().map(TensorSummary::of).collect(),
        outputs: outputs.iter().map(TensorSummary::of).collect(),
        run_ms,
        warnings,
        output_check_failed,
        saved_inputs: request
            .save_inputs
            .as_ref()
            .map(|p| p.display().to_string()),
        saved_outputs: request.output.as_ref().map(|p| p.display().to_string()),
    })
}

/// Values of the model's named dims in these inputs (`batch` → 1, `seq` → 128), so output
/// shapes can be checked against the declaration.
fn named_dims(info: &ModelInfo, inputs: &[Tensor]) -> BTreeMap<String, usize> {
    let mut dims = BTreeMap::new();
    for declared in &info.inputs {
        let Some(tensor) = inputs.iter().find(|t| declared.is_called(t.name())) else {
            continue;
        };
        for (dim, &value) in declared.shape.iter().flatten().zip(tensor.shape()) {
            if let Dim::Symbolic(name) = dim {
                dims.entry(name.clone()).or_insert(value);
            }
        }
    }
    dims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_default_backend_is_an_error_that_says_why() {
        let mut doctor = doctor(&RuntimeConfig::default());
        assert!(check_default_backend(&doctor).is_ok());
        for r in &mut doctor.runtimes {
            if r.backend == BackendKind::Tract {
                r.available = false;
                r.problem = Some("probe failed".into());
            }
        }
        let err = check_default_backend(&doctor).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        let text = err.to_string();
        assert!(
            text.contains("tract") && text.contains("probe failed"),
            "{text}"
        );
    }
}
