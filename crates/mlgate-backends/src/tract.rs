//! tract (pure Rust, always built): mlgate's embedded ONNX runtime.
//!
//! The model is parsed once with its declared input facts. Symbolic dimensions are made
//! concrete from the inputs at run time, and the optimized plan is cached per set of input
//! shapes, so repeated runs with one shape pay for optimization once. tract runs on the
//! calling thread: thread options are recorded as not applied.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use mlgate_ir::tensor::{Tensor, TensorData};
use mlgate_ir::{DType, Dim, ModelFormat, TensorInfo};
use tract_onnx::prelude::{
    f16, tvec, DatumType, Framework, InferenceFact, InferenceModel, InferenceModelExt,
    IntoRunnable, TDim, TValue, TVec, Tensor as TractTensor, TypedModel, TypedSimplePlan,
    TypedSimpleState,
};
use tract_onnx::tract_core::internal::{Cost, EvalContext, OpState};
use tract_onnx::tract_core::model::{TypedFact, TypedNode};
use tract_onnx::tract_core::plan::eval;
use tract_onnx::tract_hir::infer::Factoid;

use crate::profile::{OpCall, OpProfile};

use crate::{
    Backend, BackendError, BackendKind, OptLevel, Result, RuntimeStatus, Session, SessionInfo,
    SessionOptions,
};

const KIND: BackendKind = BackendKind::Tract;
/// tract-onnx's version, pinned in the workspace manifest.
pub const TRACT_VERSION: &str = "0.23.9";
/// Plans kept per session; a benchmark uses one shape, a sweep a handful.
const PLAN_CACHE: usize = 8;

pub struct TractBackend;

impl Backend for TractBackend {
    fn kind(&self) -> BackendKind {
        KIND
    }

    fn formats(&self) -> &'static [ModelFormat] {
        &[ModelFormat::Onnx]
    }

    fn probe(&self) -> RuntimeStatus {
        RuntimeStatus {
            backend: KIND,
            available: true,
            formats: self.formats().to_vec(),
            library: None,
            source: Some("built in".into()),
            version: Some(TRACT_VERSION.into()),
            problem: None,
            install: None,
        }
    }

    fn load(&self, model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>> {
        if options.execution_provider != crate::ExecutionProvider::Cpu {
            return Err(BackendError::Options {
                backend: KIND,
                detail: format!(
                    "tract runs on the CPU only, not {}",
                    options.execution_provider
                ),
            });
        }
        let start = Instant::now();
        let load_err = |detail: String| BackendError::Load {
            backend: KIND,
            model: model.to_owned(),
            detail,
        };
        // mlgate gives tract concrete input shapes (batch 1, sequence 128); the shapes the
        // file declares for outputs and intermediate values keep their symbols
        // (`[batch, sequence, 384]`), and tract refuses to unify the two. So those
        // declarations are left out of the analysis — tract infers them from the inputs —
        // and the outputs are described from mlgate's own reading of the file.
        let parsed = guarded(|| {
            tract_onnx::onnx()
                .with_ignore_output_shapes(true)
                .with_ignore_value_info(true)
                .model_for_path(model)
        })
        .map_err(|d| cannot_run(model, d))?;
        let inputs = describe(&parsed, true).map_err(load_err)?;
        let outputs = match mlgate_ir::inspect(model) {
            Ok(info) if info.outputs.len() == parsed.output_outlets().map_or(0, |o| o.len()) => {
                info.outputs
            }
            _ => describe(&parsed, false).map_err(load_err)?,
        };
        let mut session = TractSession {
            model: model.to_owned(),
            base: parsed,
            inputs,
            outputs,
            plans: HashMap::new(),
            state: None,
            bound: TVec::new(),
            last: None,
            profile: options.profile_ops.then(TractProfile::default),
            info: SessionInfo {
                backend: KIND,
                runtime_version: Some(TRACT_VERSION.into()),
                library: None,
                model: model.to_owned(),
                intra_op_threads: Some(1),
                inter_op_threads: Some(1),
                graph_optimization: options.graph_optimization,
                execution_provider: options.execution_provider,
                load_ms: 0.0,
                session_config: Vec::new(),
                warnings: Vec::new(),
            },
        };
        // A model with static inputs is optimized now, so load time includes it as it does
        // for the other runtimes, and a broken model fails at load rather than first run.
        if let Some(shapes) = session.static_shapes() {
            session.plan_for(&shapes)?;
        }
        session.info.load_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(Box::new(session))
    }
}

/// tract could not take the model in: say so, and name the runtime that likely can.
fn cannot_run(model: &Path, detail: String) -> BackendError {
    BackendError::Load {
        backend: KIND,
        model: model.to_owned(),
        detail: format!(
            "tract cannot run this model: {detail}; use --backend onnxruntime \
             (`mlgate runtime install ort` installs it; `mlgate doctor` shows what is installed)"
        ),
    }
}

/// Runs tract code, turning both errors and panics into text: tract asserts on some
/// malformed graphs, and a bad model must not take mlgate down.
fn guarded<T>(
    f: impl FnOnce() -> tract_onnx::prelude::TractResult<T>,
) -> std::result::Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(panic) => Err(format!(
            "tract panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or(panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

fn dtype_of(dt: DatumType) -> DType {
    match dt {
        DatumType::Bool => DType::Bool,
        DatumType::U8 => DType::U8,
        DatumType::U16 => DType::U16,
        DatumType::U32 => DType::U32,
        DatumType::U64 => DType::U64,
        DatumType::I8 => DType::I8,
        DatumType::I16 => DType::I16,
        DatumType::I32 => DType::I32,
        DatumType::I64 | DatumType::TDim => DType::I64,
        DatumType::F16 => DType::F16,
        DatumType::F32 => DType::F32,
        DatumType::F64 => DType::F64,
        DatumType::String => DType::String,
        other => DType::Other(format!("{other:?}")),
    }
}

fn datum_of(dtype: &DType) -> Option<DatumType> {
    Some(match dtype {
        DType::Bool => DatumType::Bool,
        DType::U8 => DatumType::U8,
        DType::U16 => DatumType::U16,
        DType::U32 => DatumType::U32,
        DType::U64 => DatumType::U64,
        DType::I8 => DatumType::I8,
        DType::I16 => DatumType::I16,
        DType::I32 => DatumType::I32,
        DType::I64 => DatumType::I64,
        DType::F16 => DatumType::F16,
        DType::F32 => DatumType::F32,
        DType::F64 => DatumType::F64,
        _ => return None,
    })
}

/// The model's declared inputs or outputs, as mlgate describes tensors.
fn describe(model: &InferenceModel, inputs: bool) -> std::result::Result<Vec<TensorInfo>, String> {
    let outlets = if inputs {
        model.input_outlets()
    } else {
        model.output_outlets()
    }
    .map_err(|e| format!("{e:#}"))?;
    outlets
        .iter()
        .map(|&outlet| {
            let fact = model.outlet_fact(outlet).map_err(|e| format!("{e:#}"))?;
            let name = model
                .outlet_label(outlet)
                .map(str::to_string)
                .unwrap_or_else(|| model.node(outlet.node).name.clone());
            let dtype = fact
                .datum_type
                .concretize()
                .map(dtype_of)
                .unwrap_or(DType::Other("unknown".into()));
            let shape = (!fact.shape.is_open()).then(|| {
                fact.shape
                    .dims()
                    .map(|d| match d.concretize() {
                        Some(TDim::Val(v)) if v >= 0 => Dim::Fixed(v as u64),
                        Some(TDim::Sym(s)) => Dim::Symbolic(s.to_string()),
                        _ => Dim::Unknown,
                    })
                    .collect()
            });
            Ok(TensorInfo {
                tensor_name: None,
                name,
                dtype,
                shape,
                quantization: None,
            })
        })
        .collect()
}

fn to_tract(t: &Tensor) -> std::result::Result<TractTensor, String> {
    let shape = t.shape();
    let r = match t.data() {
        TensorData::F32(v) => TractTensor::from_shape(shape, v),
        TensorData::F16(v) => {
            let halfs: Vec<f16> = v.iter().map(|&b| f16::from_bits(b)).collect();
            TractTensor::from_shape(shape, &halfs)
        }
        TensorData::F64(v) => TractTensor::from_shape(shape, v),
        TensorData::I8(v) => TractTensor::from_shape(shape, v),
        TensorData::I16(v) => TractTensor::from_shape(shape, v),
        TensorData::I32(v) => TractTensor::from_shape(shape, v),
        TensorData::I64(v) => TractTensor::from_shape(shape, v),
        TensorData::U8(v) => TractTensor::from_shape(shape, v),
        TensorData::U16(v) => TractTensor::from_shape(shape, v),
        TensorData::U32(v) => TractTensor::from_shape(shape, v),
        TensorData::U64(v) => TractTensor::from_shape(shape, v),
        TensorData::Bool(v) => TractTensor::from_shape(shape, v),
    };
    r.map_err(|e| format!("input '{}': {e:#}", t.name()))
}

fn from_tract(name: &str, t: &TractTensor) -> std::result::Result<Tensor, String> {
    let fail = |e: tract_onnx::prelude::TractError| format!("output '{name}': {e:#}");
    let view = t.try_as_plain_ram().map_err(fail)?;
    let data = match t.datum_type() {
        DatumType::F32 => TensorData::F32(view.as_slice::<f32>().map_err(fail)?.to_vec()),
        DatumType::F16 => TensorData::F16(
            view.as_slice::<f16>()
                .map_err(fail)?
                .iter()
                .map(|h| h.to_bits())
                .collect(),
        ),
        DatumType::F64 => TensorData::F64(view.as_slice::<f64>().map_err(fail)?.to_vec()),
        DatumType::I8 => TensorData::I8(view.as_slice::<i8>().map_err(fail)?.to_vec()),
        DatumType::I16 => TensorData::I16(view.as_slice::<i16>().map_err(fail)?.to_vec()),
        DatumType::I32 => TensorData::I32(view.as_slice::<i32>().map_err(fail)?.to_vec()),
        DatumType::I64 => TensorData::I64(view.as_slice::<i64>().map_err(fail)?.to_vec()),
        DatumType::U8 => TensorData::U8(view.as_slice::<u8>().map_err(fail)?.to_vec()),
        DatumType::U16 => TensorData::U16(view.as_slice::<u16>().map_err(fail)?.to_vec()),
        DatumType::U32 => TensorData::U32(view.as_slice::<u32>().map_err(fail)?.to_vec()),
        DatumType::U64 => TensorData::U64(view.as_slice::<u64>().map_err(fail)?.to_vec()),
        DatumType::Bool => TensorData::Bool(view.as_slice::<bool>().map_err(fail)?.to_vec()),
        DatumType::TDim => {
            // Shape arithmetic that reached an output: concrete by now, so integers.
            let cast = t.cast_to::<i64>().map_err(fail)?;
            let cast_view = cast.try_as_plain_ram().map_err(fail)?;
            TensorData::I64(cast_view.as_slice::<i64>().map_err(fail)?.to_vec())
        }
        other => {
            return Err(format!(
                "output '{name}' has type {other:?}, which mlgate cannot represent"
            ))
        }
    };
    Tensor::new(name, t.shape().to_vec(), data).map_err(|e| e.to_string())
}

struct TractSession {
    model: PathBuf,
    base: InferenceModel,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    plans: HashMap<Vec<Vec<usize>>, Arc<TypedSimplePlan>>,
    /// The state of the plan for the prepared shapes; reused across runs.
    state: Option<TypedSimpleState>,
    bound: TVec<TValue>,
    last: Option<TVec<TValue>>,
    /// Per-op records, when the session was loaded with `profile_ops`.
    profile: Option<TractProfile>,
    info: SessionInfo,
}

/// What the profiler knows about the bound plan's nodes, and what it has recorded.
#[derive(Default)]
struct TractProfile {
    /// Per node id of the bound plan; `None` for nodes not worth a record (inputs,
    /// constants).
    nodes: Vec<Option<NodeFacts>>,
    calls: Vec<OpCall>,
    runs: usize,
}

/// A node of the optimized plan as the profile reports it.
struct NodeFacts {
    name: String,
    op_type: String,
    input_shapes: Vec<Vec<i64>>,
    output_shapes: Vec<Vec<i64>>,
    bytes: Option<u64>,
    flops: Option<f64>,
}

/// Names, shapes, bytes and tract's own FMA count for every computing node of `model`.
fn node_facts(model: &TypedModel) -> Vec<Option<NodeFacts>> {
    let shape = |f: &TypedFact| -> Vec<i64> {
        f.shape
            .as_concrete()
            .map(|s| s.iter().map(|&d| d as i64).collect())
            .unwrap_or_default()
    };
    // Opaque values (tract's pre-packed weights) have no element size worth counting.
    let size = |f: &TypedFact| -> Option<u64> {
        let dt = f.datum_type;
        (dt.is_number() || dt == DatumType::Bool).then_some(())?;
        let n: usize = f.shape.as_concrete()?.iter().product();
        Some((n * dt.size_of()) as u64)
    };
    model
        .nodes()
        .iter()
        .map(|node| {
            let op_type = node.op.name().to_string();
            if matches!(op_type.as_str(), "Source" | "Const") {
                return None;
            }
            let inputs = model.node_input_facts(node.id).ok()?;
            let outputs: Vec<&TypedFact> = node.outputs.iter().map(|o| &o.fact).collect();
            let flops = node.op.cost(&inputs).ok().map(|costs| {
                costs
                    .iter()
                    .filter(|(c, _)| matches!(c, Cost::FMA(_)))
                    .filter_map(|(_, n)| n.to_i64().ok())
                    .sum::<i64>() as f64
                    * 2.0
            });
            Some(NodeFacts {
                name: node.name.clone(),
                op_type,
                input_shapes: inputs.iter().map(|f| shape(f)).collect(),
                output_shapes: outputs.iter().map(|f| shape(f)).collect(),
                bytes: inputs.iter().chain(&outputs).map(|f| size(f)).sum(),
                flops: flops.filter(|f| *f > 0.0),
            })
        })
        .collect()
}

impl TractSession {
    fn err(&self, detail: String) -> BackendError {
        BackendError::Run {
            backend: KIND,
            model: self.model.clone(),
            detail,
        }
    }

    fn static_shapes(&self) -> Option<Vec<Vec<usize>>> {
        self.inputs
            .iter()
            .map(|i| {
                i.shape
                    .as_ref()?
                    .iter()
                    .map(|d| d.fixed().and_then(|n| usize::try_from(n).ok()))
                    .collect()
            })
            .collect()
    }

    fn plan_for(&mut self, shapes: &[Vec<usize>]) -> Result<Arc<TypedSimplePlan>> {
        if let Some(p) = self.plans.get(shapes) {
            return Ok(p.clone());
        }
        let mut model = self.base.clone();
        for (i, (info, shape)) in self.inputs.iter().zip(shapes).enumerate() {
            let dt = datum_of(&info.dtype).ok_or_else(|| BackendError::Load {
                backend: KIND,
                model: self.model.clone(),
                detail: format!(
                    "input '{}' has type {}, which mlgate cannot feed",
                    info.name, info.dtype
                ),
            })?;
            model
                .set_input_fact(i, InferenceFact::dt_shape(dt, shape.iter().copied()))
                .map_err(|e| self.err(format!("{e:#}")))?;
        }
        let level = self.info.graph_optimization;
        let plan = guarded(|| {
            let typed: TypedModel = match level {
                OptLevel::Disabled => model.into_typed()?,
                OptLevel::Basic | OptLevel::Extended => model.into_typed()?.into_decluttered()?,
                OptLevel::All => model.into_optimized()?,
            };
            typed.into_runnable()
        })
        .map_err(|detail| cannot_run(&self.model, detail))?;
        if self.plans.len() >= PLAN_CACHE {
            self.plans.clear();
        }
        self.plans.insert(shapes.to_vec(), plan.clone());
        Ok(plan)
    }
}

impl Session for TractSession {
    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    fn bind(&mut self, ordered: &[&Tensor]) -> Result<()> {
        let shapes: Vec<Vec<usize>> = ordered.iter().map(|t| t.shape().to_vec()).collect();
        let mut bound = tvec![];
        for t in ordered {
            bound.push(TValue::from_const(Arc::new(
                to_tract(t).map_err(|d| self.err(d))?,
            )));
        }
        let plan = self.plan_for(&shapes)?;
        if let Some(profile) = self.profile.as_mut() {
            profile.nodes = node_facts(plan.model());
        }
        let state = guarded(|| plan.spawn()).map_err(|d| self.err(d))?;
        self.state = Some(state);
        self.bound = bound;
        self.last = None;
        Ok(())
    }

    fn run_prepared(&mut self) -> Result<()> {
        let Some(state) = self.state.as_mut() else {
            return Err(self.err("run_prepared called before prepare".into()));
        };
        // TValue clones share the tensors: this is a few reference-count increments.
        let inputs = self.bound.clone();
        let out = match self.profile.as_mut() {
            None => guarded(|| state.run(inputs)),
            Some(profile) => {
                let run = profile.runs;
                profile.runs += 1;
                let TractProfile { nodes, calls, .. } = profile;
                guarded(|| {
                    state.run_plan_with_eval(
                        inputs,
                        |ctx: &EvalContext,
                         op_state: Option<&mut (dyn OpState + 'static)>,
                         node: &TypedNode,
                         input: TVec<TValue>| {
                            let started = Instant::now();
                            let out = eval(ctx, op_state, node, input);
                            let duration_us = started.elapsed().as_secs_f64() * 1e6;
                            if let Some(Some(facts)) = nodes.get(node.id) {
                                calls.push(OpCall {
                                    run,
                                    node: facts.name.clone(),
                                    op_type: facts.op_type.clone(),
                                    duration_us,
                                    input_shapes: facts.input_shapes.clone(),
                                    output_shapes: facts.output_shapes.clone(),
                                    bytes: facts.bytes,
                                    runtime_flops: facts.flops,
                                    provider: None,
                                });
                            }
                            out
                        },
                    )
                })
            }
        }
        .map_err(|d| BackendError::Run {
            backend: KIND,
            model: self.model.clone(),
            detail: d,
        })?;
        self.last = Some(out);
        Ok(())
    }

    fn end_op_profile(&mut self) -> Result<OpProfile> {
        let Some(profile) = self.profile.take() else {
            return Err(crate::profile::not_profiling(KIND));
        };
        Ok(OpProfile {
            profiler: "mlgate's clock around each of tract's op evaluations (optimized plan)"
                .into(),
            calls: profile.calls,
            run_ms: Vec::new(),
        })
    }

    fn take_outputs(&mut self) -> Result<Vec<Tensor>> {
        let Some(last) = self.last.take() else {
            return Err(self.err("no outputs: run the session first".into()));
        };
        last.iter()
            .zip(&self.outputs)
            .map(|(v, info)| from_tract(&info.name, v).map_err(|d| self.err(d)))
            .collect()
    }
}
