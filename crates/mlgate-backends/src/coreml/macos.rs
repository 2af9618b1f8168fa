//! CoreML through `coreml-rs` (macOS). Untested by mlgate's CI, which runs on Linux.
//! Inputs and outputs come from mlgate-ir's reading of the model, which works everywhere.

use std::path::{Path, PathBuf};
use std::time::Instant;

use coreml_ndarray::{ArrayD, IxDyn};
use coreml_rs::mlarray::MLArray;
use coreml_rs::{ComputePlatform, CoreMLModelOptions, CoreMLModelWithState};
use mlgate_ir::tensor::{Tensor, TensorData};
use mlgate_ir::TensorInfo;

use super::KIND;
use crate::{BackendError, CoremlComputeUnits, Result, Session, SessionInfo, SessionOptions};

pub(super) fn load(model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>> {
    let load_err = |detail: String| BackendError::Load {
        backend: KIND,
        model: model.to_owned(),
        detail,
    };
    let start = Instant::now();
    let info = mlgate_ir::inspect(model).map_err(|e| load_err(e.to_string()))?;
    let compute_platform = match options.coreml_compute_units {
        CoremlComputeUnits::CpuOnly => ComputePlatform::Cpu,
        CoremlComputeUnits::CpuAndGpu => ComputePlatform::CpuAndGpu,
        // coreml-rs has no "all"; the Neural Engine is the unit worth measuring.
        CoremlComputeUnits::All | CoremlComputeUnits::CpuAndNeuralEngine => {
            ComputePlatform::CpuAndANE
        }
    };
    let opts = CoreMLModelOptions {
        compute_platform,
        ..Default::default()
    };
    let loaded = CoreMLModelWithState::new(model, opts)
        .load()
        .map_err(|e| load_err(e.to_string()))?;
    Ok(Box::new(CoremlSession {
        model: model.to_owned(),
        inner: loaded,
        inputs: info.inputs,
        outputs: info.outputs,
        prepared: Vec::new(),
        last: None,
        info: SessionInfo {
            backend: KIND,
            runtime_version: None,
            library: None,
            model: model.to_owned(),
            intra_op_threads: None,
            inter_op_threads: None,
            graph_optimization: options.graph_optimization,
            execution_provider: options.execution_provider,
            load_ms: start.elapsed().as_secs_f64() * 1e3,
            session_config: Vec::new(),
            warnings: Vec::new(),
        },
    }))
}

struct CoremlSession {
    model: PathBuf,
    inner: CoreMLModelWithState,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    prepared: Vec<Tensor>,
    last: Option<Vec<Tensor>>,
    info: SessionInfo,
}

fn to_mlarray(t: &Tensor) -> std::result::Result<MLArray, String> {
    let shape = IxDyn(t.shape());
    let bad = |e: coreml_ndarray::ShapeError| e.to_string();
    Ok(match t.data() {
        TensorData::F32(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        TensorData::F16(v) => {
            ArrayD::from_shape_vec(shape, v.iter().map(|&b| half::f16::from_bits(b)).collect())
                .map_err(bad)?
                .into()
        }
        TensorData::I32(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        TensorData::I16(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        TensorData::I8(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        TensorData::U32(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        TensorData::U16(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        TensorData::U8(v) => ArrayD::from_shape_vec(shape, v.clone())
            .map_err(bad)?
            .into(),
        other => return Err(format!("CoreML takes no {} inputs", other.dtype())),
    })
}

fn from_mlarray(name: &str, a: MLArray) -> std::result::Result<Tensor, String> {
    let shape = a.shape().to_vec();
    let data = match a {
        MLArray::Float32Array(x) => TensorData::F32(x.iter().copied().collect()),
        MLArray::Float16Array(x) => TensorData::F16(x.iter().map(|h| h.to_bits()).collect()),
        MLArray::Int32Array(x) => TensorData::I32(x.iter().copied().collect()),
        MLArray::Int16Array(x) => TensorData::I16(x.iter().copied().collect()),
        MLArray::Int8Array(x) => TensorData::I8(x.iter().copied().collect()),
        MLArray::UInt32Array(x) => TensorData::U32(x.iter().copied().collect()),
        MLArray::UInt16Array(x) => TensorData::U16(x.iter().copied().collect()),
        MLArray::UInt8Array(x) => TensorData::U8(x.iter().copied().collect()),
    };
    Tensor::new(name, shape, data).map_err(|e| e.to_string())
}

impl CoremlSession {
    fn err(&self, detail: String) -> BackendError {
        BackendError::Run {
            backend: KIND,
            model: self.model.clone(),
            detail,
        }
    }
}

impl Session for CoremlSession {
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
        self.prepared = ordered.iter().map(|t| (*t).clone()).collect();
        self.last = None;
        Ok(())
    }

    fn run_prepared(&mut self) -> Result<()> {
        // coreml-rs consumes inputs on each prediction, so they are converted per run;
        // CoreML timings include that copy.
        for t in self.prepared.clone() {
            let a = to_mlarray(&t).map_err(|d| self.err(d))?;
            self.inner
                .add_input(t.name(), a)
                .map_err(|e| self.err(e.to_string()))?;
        }
        let mut out = self.inner.predict().map_err(|e| self.err(e.to_string()))?;
        let mut tensors = Vec::with_capacity(self.outputs.len());
        for o in &self.outputs {
            let a = out
                .outputs
                .remove(&o.name)
                .ok_or_else(|| self.err(format!("no output '{}'", o.name)))?;
            tensors.push(from_mlarray(&o.name, a).map_err(|d| self.err(d))?);
        }
        self.last = Some(tensors);
        Ok(())
    }

    fn take_outputs(&mut self) -> Result<Vec<Tensor>> {
        self.last
            .take()
            .ok_or_else(|| self.err("no outputs: run the session first".into()))
    }
}
