//! `mlgate profile`: where an inference spends its time, op by op, from the runtime's own
//! profiler (ONNX Runtime's session profiler; mlgate's clock around each of tract's op
//! evaluations), aggregated by node and by op type.
//!
//! Measured and estimated figures never mix: times are measured; FLOPs and bytes are
//! estimates from op semantics and the shapes the runtime reported, and the
//! compute-bound / memory-bound label compares an op's estimated arithmetic intensity with
//! a ridge point built from a measured copy bandwidth and the best throughput an op of this
//! very profile attained (a lower bound of the machine's peak). Every estimate says so.
//!
//! With `--deep` it also reports what the runtime rewrote (op types in the file against the
//! ops that ran) and obvious fusions the file leaves undone; with an int8 build, how far each
//! intermediate tensor of the quantized model drifts from the float model's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use mlgate_backends::profile::OpCall;
use mlgate_backends::{BackendKind, RuntimeCatalog, SessionInfo, SessionOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::benchmark::InputSpec;
use crate::model::ModelRef;
use crate::{Error, Result, RuntimeConfig, Tensor, TensorData};

/// What to profile and how.
#[derive(Debug, Clone)]
pub struct ProfileRequest {
    /// The model: a file or a build.
    pub model: ModelRef,
    /// The runtime (`onnxruntime`, `tract`); `None`: the build's target, else the format's
    /// default.
    pub backend: Option<String>,
    /// Intra-op threads; `None`: the runtime's default.
    pub threads: Option<usize>,
    /// Profiled runs after the warm-up (at least 1).
    pub runs: usize,
    /// Runs before the profiled ones, left out of every figure.
    pub warmup: usize,
    /// How the inputs are synthesized (the first set of the ladder is used).
    pub inputs: InputSpec,
    /// FLOP and byte estimates, the roofline label, what the runtime rewrote and missed
    /// fusions.
    pub deep: bool,
    /// A quantized variant of the same model: per-layer divergence from this one.
    pub int8_build: Option<ModelRef>,
    /// Where the runtimes are.
    pub runtimes: RuntimeConfig,
}

/// The outcome of `mlgate profile` (`mlgate.profile/v1`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProfileReport {
    /// The model file that ran.
    pub model: String,
    /// The build, when the model was one.
    pub build_id: Option<String>,
    /// The session that ran it (runtime, version, threads, optimization level).
    pub session: SessionInfo,
    /// What measured the ops, in words.
    pub profiler: String,
    /// Input set used (`default`, `seq_len=128`).
    pub input_set: String,
    /// Runs before the profiled ones (not counted).
    pub warmup: usize,
    /// Profiled runs every figure is averaged over.
    pub runs: usize,
    /// The per-op times against the measured time of each run.
    pub timing: ProfileTiming,
    /// Op types by time per run, largest first.
    pub by_op_type: Vec<OpTypeProfile>,
    /// Nodes by time per run, largest first (every node that ran).
    pub nodes: Vec<NodeProfile>,
    /// With `--deep`: the machine figures behind the compute/memory labels.
    pub roofline: Option<Roofline>,
    /// With `--deep`: what the runtime rewrote, and fusions the file leaves undone.
    pub fusions: Option<FusionReport>,
    /// With `--int8-build`: how far each intermediate tensor drifts from the float model.
    pub divergence: Option<DivergenceReport>,
    /// Things the reader should know (an op type the estimator does not know, ...).
    pub warnings: Vec<String>,
}

/// The sum of per-op times against the time of the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProfileTiming {
    /// Median over the profiled runs of mlgate's clock around each run (profiler on), ms.
    pub run_wall_ms_median: f64,
    /// Median over the profiled runs of the sum of that run's per-op times, ms.
    pub op_sum_ms_median: f64,
    /// Median over the profiled runs of (that run's per-op sum / its measured time): how
    /// much of a run the ops account for (the rest is the runtime's scheduling, input
    /// binding and the profiler itself).
    pub coverage: f64,
    /// Median of the runtime's own per-run time (ONNX Runtime's `model_run`), when it
    /// reports one, ms.
    pub runtime_run_ms_median: Option<f64>,
}

/// One op type, summed over its nodes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OpTypeProfile {
    /// Op type as the runtime calls it.
    pub op_type: String,
    /// Nodes of this type that ran.
    pub nodes: usize,
    /// Executions per run.
    pub calls_per_run: f64,
    /// Time per run, ms (mean over the profiled runs).
    pub ms_per_run: f64,
    /// Share of the summed per-op time, 0..1.
    pub share: f64,
    /// Estimated FLOPs per run; `None` when any node of the type has no estimate.
    pub flops_estimate: Option<f64>,
    /// Estimated bytes moved per run; `None` when unknown.
    pub bytes_estimate: Option<f64>,
}

/// One node.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NodeProfile {
    /// Node name in the runtime's graph.
    pub node: String,
    /// Op type as the runtime calls it.
    pub op_type: String,
    /// Executions per run.
    pub calls_per_run: f64,
    /// Time per run, ms (mean over the profiled runs).
    pub ms_per_run: f64,
    /// Share of the summed per-op time, 0..1.
    pub share: f64,
    /// Input shapes as the runtime reported them.
    pub input_shapes: Vec<Vec<i64>>,
    /// Output shapes as the runtime reported them.
    pub output_shapes: Vec<Vec<i64>>,
    /// Estimated FLOPs of one execution (see [`FlopSource`]); `None`: not estimated.
    pub flops_estimate: Option<f64>,
    /// Where the FLOP estimate comes from.
    pub flops_source: Option<FlopSource>,
    /// Bytes read and written by one execution, as the runtime reported (ONNX Runtime) or
    /// its shapes give (tract).
    pub bytes_estimate: Option<u64>,
    /// Estimated FLOPs per byte.
    pub intensity: Option<f64>,
    /// With `--deep`: `compute` or `memory`, by intensity against the ridge point
    /// (an estimate).
    pub bound_estimate: Option<String>,
}

/// Where a FLOP estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlopSource {
    /// mlgate's count from the op's ONNX semantics and the reported shapes (multiply-adds
    /// count two).
    OpSemantics,
    /// The runtime's own cost model (tract's FMA count, times two).
    RuntimeCostModel,
}

/// The machine figures behind the compute-bound / memory-bound labels.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Roofline {
    /// Measured: the best of five 64 MiB buffer copies, counting bytes read plus written,
    /// GB/s (10^9 bytes).
    pub copy_bandwidth_gb_s: f64,
    /// The highest estimated FLOP rate any op of this profile attained (ops above 1% of
    /// the time), GFLOP/s: a lower bound of the machine's peak.
    pub attained_gflop_s: f64,
    /// `attained_gflop_s / copy_bandwidth_gb_s`, FLOPs per byte: ops below it are labelled
    /// memory-bound, above it compute-bound.
    pub ridge_flop_per_byte: f64,
    /// How these were obtained, in words.
    pub method: String,
}

/// What the runtime rewrote, and fusions the file leaves undone.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FusionReport {
    /// Per op type: nodes in the file against nodes that ran (the runtime's names).
    pub op_counts: Vec<OpCount>,
    /// Op types that ran but are not in the file: the runtime's fused or rewritten ops.
    pub runtime_ops: Vec<String>,
    /// Patterns in the file a converter or the runtime could have fused.
    pub missed: Vec<MissedFusion>,
}

/// Nodes of one op type before and after the runtime's rewrites.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OpCount {
    /// Op type.
    pub op_type: String,
    /// Nodes in the model file.
    pub in_file: u64,
    /// Nodes that ran.
    pub ran: u64,
}

/// An unfused pattern found in the file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MissedFusion {
    /// The pattern, e.g. `Conv + BatchNormalization`.
    pub pattern: String,
    /// How many times it occurs.
    pub count: usize,
    /// The first few places (node names of the pattern's first op).
    pub examples: Vec<String>,
    /// Whether the runtime fused it anyway, from the ops that ran.
    pub runtime_fused: Option<bool>,
    /// What to do about it.
    pub advice: String,
}

/// Per-layer divergence of a quantized model from the float one, on identical inputs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DivergenceReport {
    /// The float model file.
    pub float_model: String,
    /// The quantized model file.
    pub quantized_model: String,
    /// The runtime both ran on.
    pub backend: BackendKind,
    /// One row per float tensor both graphs compute, in the float graph's order.
    pub layers: Vec<LayerDivergence>,
    /// The tensor after which the relative error grows the most (where quantization
    /// hurts first), when there are at least two layers.
    pub largest_jump: Option<String>,
}

/// One tensor of both graphs, compared.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LayerDivergence {
    /// The tensor's name (the same in both graphs).
    pub tensor: String,
    /// Op type that produces it in the float graph.
    pub op_type: String,
    /// ‖q − f‖₂ / ‖f‖₂.
    pub relative_l2: f64,
    /// Cosine similarity of the two tensors, flattened.
    pub cosine: f64,
    /// Largest absolute difference.
    pub max_abs: f64,
}

/// Profiles `request.model` on its runtime.
///
/// # Errors
/// [`Error::Model`] when the model cannot be read; [`Error::Inputs`] when inputs cannot be
/// synthesized; [`Error::Invalid`] for zero runs; [`Error::Runtime`] when the runtime cannot
/// load or run it, or has no per-op profiler (LiteRT, Core ML).
pub fn profile(request: &ProfileRequest) -> Result<ProfileReport> {
    if request.runs == 0 {
        return Err(Error::Invalid {
            what: "--runs",
            value: "0".into(),
            hint: "profile at least one run".into(),
        });
    }
    let model = &request.model.path;
    let catalog = RuntimeCatalog::new(&request.runtimes);
    let backend = request
        .backend
        .clone()
        .or_else(|| request.model.build_backend());
    let kind = crate::benchmark::resolve_backend(&catalog, model, backend.as_deref())?;
    if !matches!(kind, BackendKind::OnnxRuntime | BackendKind::Tract) {
        return Err(Error::Invalid {
            what: "runtime",
            value: kind.name().to_string(),
            hint: format!(
                "mlgate reads the per-op profilers of ONNX Runtime and tract only: {} has \
                 none mlgate can read yet (LiteRT 2.3.0 exports a profiler, but mlgate does \
                 not turn it on), so profile the ONNX form of {} with --backend onnxruntime \
                 or tract",
                kind.name(),
                model.display()
            ),
        });
    }
    // Without a length asked for, token models are profiled at 128 (the gates' default),
    // or the longest rung of the ladder when the model's maximum is shorter.
    let mut sets = crate::benchmark::synthesize_inputs(model, &request.inputs)?;
    if request.inputs.seq_lens.is_empty() && sets.len() > 1 {
        let at = sets
            .iter()
            .position(|s| s.label == "seq_len=128")
            .unwrap_or(sets.len() - 1);
        sets.swap(0, at);
    }
    let set = sets.into_iter().next().ok_or_else(|| Error::Invalid {
        what: "inputs",
        value: model.display().to_string(),
        hint: "no input set could be made for this model".into(),
    })?;

    let options = SessionOptions {
        intra_op_threads: request.threads,
        profile_ops: true,
        ..SessionOptions::default()
    };
    let mut session = catalog
        .load(kind, model, &options)
        .map_err(Error::runtime)?;
    session.prepare(&set.inputs).map_err(Error::runtime)?;
    for _ in 0..request.warmup {
        session.run_prepared().map_err(Error::runtime)?;
    }
    let mut wall_ms = Vec::with_capacity(request.runs);
    for _ in 0..request.runs {
        let started = Instant::now();
        session.run_prepared().map_err(Error::runtime)?;
        wall_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let recorded = session.end_op_profile().map_err(Error::runtime)?;
    let session_info = session.info().clone();
    drop(session);

    let measured: Vec<&OpCall> = recorded
        .calls
        .iter()
        .filter(|c| c.run >= request.warmup)
        .collect();
    let mut warnings = Vec::new();
    if measured.is_empty() {
        warnings.push(format!(
            "{} recorded no op executions in the profiled runs",
            kind.name()
        ));
    }
    let runs = request.runs as f64;
    let mut per_run_sum = vec![0.0f64; request.runs];
    for c in &measured {
        if let Some(slot) = per_run_sum.get_mut(c.run - request.warmup) {
            *slot += c.duration_us / 1e3;
        }
    }
    let total_ms: f64 = per_run_sum.iter().sum::<f64>() / runs;
    let run_wall_ms_median = median(&wall_ms);
    let op_sum_ms_median = median(&per_run_sum);
    let runtime_runs: Vec<f64> = recorded
        .run_ms
        .iter()
        .skip(request.warmup)
        .copied()
        .collect();
    // Paired per run, so a run the scheduler interrupted moves one ratio, not the medians
    // of both sides.
    let ratios: Vec<f64> = per_run_sum
        .iter()
        .zip(&wall_ms)
        .filter(|(_, w)| **w > 0.0)
        .map(|(s, w)| s / w)
        .collect();
    let timing = ProfileTiming {
        run_wall_ms_median,
        op_sum_ms_median,
        coverage: median(&ratios),
        runtime_run_ms_median: (!runtime_runs.is_empty()).then(|| median(&runtime_runs)),
    };

    let mut nodes = aggregate_nodes(&measured, runs, total_ms);
    let mut unknown_ops: Vec<String> = nodes
        .iter()
        .filter(|n| n.flops_estimate.is_none() && !is_data_movement(&n.op_type))
        .map(|n| n.op_type.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    unknown_ops.sort();
    if request.deep && !unknown_ops.is_empty() {
        warnings.push(format!(
            "no FLOP estimate for {} (op types mlgate's estimator does not know); their \
             intensity is left blank",
            unknown_ops.join(", ")
        ));
    }
    let roofline = if request.deep {
        let r = roofline(&nodes);
        if let Some(r) = &r {
            for n in &mut nodes {
                n.bound_estimate = n.intensity.map(|i| {
                    if i < r.ridge_flop_per_byte {
                        "memory"
                    } else {
                        "compute"
                    }
                    .to_string()
                });
            }
        }
        r
    } else {
        None
    };
    let by_op_type = aggregate_op_types(&nodes);
    let fusions = if request.deep {
        fusion_report(model, &nodes, &mut warnings)
    } else {
        None
    };
    let divergence = match &request.int8_build {
        Some(q) => Some(divergence(
            model,
            &q.path,
            kind,
            &catalog,
            request.threads,
            &set.inputs,
        )?),
        None => None,
    };
    if !request.deep {
        for n in &mut nodes {
            n.flops_estimate = None;
            n.flops_source = None;
            n.intensity = None;
        }
    }
    Ok(ProfileReport {
        model: model.display().to_string(),
        build_id: request.model.build.as_ref().map(|b| b.id.clone()),
        session: session_info,
        profiler: recorded.profiler,
        input_set: set.label,
        warmup: request.warmup,
        runs: request.runs,
        timing,
        by_op_type,
        nodes,
        roofline,
        fusions,
        divergence,
        warnings,
    })
}

/// The median of the finite values; 0 when there are none (no run recorded anything).
fn median(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        0.0
    } else {
        mlgate_bench::stats::median(&finite)
    }
}

fn aggregate_nodes(calls: &[&OpCall], runs: f64, total_ms: f64) -> Vec<NodeProfile> {
    let mut order: Vec<String> = Vec::new();
    let mut by_node: HashMap<String, (u64, f64, &OpCall)> = HashMap::new();
    for c in calls {
        let entry = by_node.entry(c.node.clone()).or_insert_with(|| {
            order.push(c.node.clone());
            (0, 0.0, c)
        });
        entry.0 += 1;
        entry.1 += c.duration_us / 1e3;
    }
    let mut nodes: Vec<NodeProfile> = order
        .iter()
        .filter_map(|name| {
            let (count, ms, first) = by_node.get(name)?;
            let (flops, source) =
                match estimate_flops(&first.op_type, &first.input_shapes, &first.output_shapes) {
                    Some(f) => (Some(f), Some(FlopSource::OpSemantics)),
                    None => match first.runtime_flops {
                        Some(f) => (Some(f), Some(FlopSource::RuntimeCostModel)),
                        None => (None, None),
                    },
                };
            let intensity = match (flops, first.bytes) {
                (Some(f), Some(b)) if b > 0 && f > 0.0 => Some(f / b as f64),
                _ => None,
            };
            Some(NodeProfile {
                node: name.clone(),
                op_type: first.op_type.clone(),
                calls_per_run: *count as f64 / runs,
                ms_per_run: ms / runs,
                share: if total_ms > 0.0 {
                    ms / runs / total_ms
                } else {
                    0.0
                },
                input_shapes: first.input_shapes.clone(),
                output_shapes: first.output_shapes.clone(),
                flops_estimate: flops,
                flops_source: source,
                bytes_estimate: first.bytes,
                intensity,
                bound_estimate: None,
            })
        })
        .collect();
    nodes.sort_by(|a, b| b.ms_per_run.total_cmp(&a.ms_per_run));
    nodes
}

fn aggregate_op_types(nodes: &[NodeProfile]) -> Vec<OpTypeProfile> {
    let mut by_type: BTreeMap<&str, OpTypeProfile> = BTreeMap::new();
    for n in nodes {
        let row = by_type
            .entry(n.op_type.as_str())
            .or_insert_with(|| OpTypeProfile {
                op_type: n.op_type.clone(),
                nodes: 0,
                calls_per_run: 0.0,
                ms_per_run: 0.0,
                share: 0.0,
                flops_estimate: Some(0.0),
                bytes_estimate: Some(0.0),
            });
        row.nodes += 1;
        row.calls_per_run += n.calls_per_run;
        row.ms_per_run += n.ms_per_run;
        row.share += n.share;
        row.flops_estimate = match (row.flops_estimate, n.flops_estimate) {
            (Some(a), Some(f)) => Some(a + f * n.calls_per_run),
            _ => None,
        };
        row.bytes_estimate = match (row.bytes_estimate, n.bytes_estimate) {
            (Some(a), Some(b)) => Some(a + b as f64 * n.calls_per_run),
            _ => None,
        };
    }
    let mut rows: Vec<OpTypeProfile> = by_type.into_values().collect();
    rows.sort_by(|a, b| b.ms_per_run.total_cmp(&a.ms_per_run));
    rows
}

/// Ops that move or reinterpret data without arithmetic: zero FLOPs, not "unknown".
fn is_data_movement(op: &str) -> bool {
    matches!(
        op,
        "Reshape"
            | "Transpose"
            | "Concat"
            | "Gather"
            | "GatherElements"
            | "Slice"
            | "Split"
            | "Flatten"
            | "Squeeze"
            | "Unsqueeze"
            | "Identity"
            | "Cast"
            | "Shape"
            | "Expand"
            | "Pad"
            | "Tile"
            | "ConstantOfShape"
            | "DequantizeLinear"
            | "QuantizeLinear"
            | "ReorderInput"
            | "ReorderOutput"
            | "MoveAxis"
            | "AxisOp"
            | "Dropout"
    )
}

fn numel(shape: &[i64]) -> Option<f64> {
    shape
        .iter()
        .try_fold(1.0f64, |acc, &d| (d >= 0).then_some(acc * d as f64))
}

/// FLOPs of one execution from the op's ONNX semantics (and ONNX Runtime's fused
/// contrib ops), the input and output shapes: a multiply-add counts two, an element-wise
/// op one per output element, normalizations a handful per element. `None` when the op
/// type is unknown or the shapes are missing.
pub fn estimate_flops(op: &str, inputs: &[Vec<i64>], outputs: &[Vec<i64>]) -> Option<f64> {
    let out = outputs.first().and_then(|s| numel(s));
    let first_in = inputs.first().and_then(|s| numel(s));
    let weight_per_output = |w: &Vec<i64>| -> Option<f64> {
        // Conv weights are [M, C/group, k...]: each output element takes C/group · Πk MACs.
        numel(w.get(1..)?)
    };
    match op {
        "Conv" | "FusedConv" | "ConvInteger" | "NhwcConv" | "NhwcFusedConv" => {
            Some(2.0 * out? * weight_per_output(inputs.get(1)?)?)
        }
        "QLinearConv" => Some(2.0 * out? * weight_per_output(inputs.get(3)?)?),
        "ConvTranspose" => Some(2.0 * first_in? * weight_per_output(inputs.get(1)?)?),
        "MatMul"
        | "FusedMatMul"
        | "MatMulInteger"
        | "MatMulNBits"
        | "Gemm"
        | "FusedGemm"
        | "QLinearMatMul"
        | "MatMulIntegerToFloat"
        | "DynamicQuantizeMatMul"
        | "QGemm" => {
            // K = elements of A per row of the output: |A| / (|Y| / N).
            let y = outputs.first()?;
            let n = *y.last()? as f64;
            let a = numel(inputs.first()?)?;
            if n <= 0.0 || out? <= 0.0 {
                return None;
            }
            let k = a / (out? / n);
            Some(2.0 * out? * k)
        }
        "Add" | "Sub" | "Mul" | "Div" | "Relu" | "LeakyRelu" | "Clip" | "Sigmoid" | "Tanh"
        | "HardSigmoid" | "HardSwish" | "Max" | "Min" | "Pow" | "Sqrt" | "Exp" | "Log" | "Erf"
        | "Neg" | "Abs" | "Where" | "PRelu" | "Elu" | "Gelu" | "FastGelu" | "BiasGelu"
        | "QuickGelu" | "Sum" | "Mean" | "Floor" | "Ceil" | "Round" | "Equal" | "Less"
        | "Greater" | "Not" | "And" | "Or" | "Reciprocal" => Some(out?),
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" | "ReduceMean"
        | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ArgMax" | "ArgMin" | "ReduceL2" => {
            Some(first_in?)
        }
        "BatchNormalization" | "InstanceNormalization" => Some(2.0 * first_in?),
        "Softmax" | "LogSoftmax" => Some(5.0 * first_in?),
        "LayerNormalization"
        | "SkipLayerNormalization"
        | "SimplifiedLayerNormalization"
        | "SkipSimplifiedLayerNormalization" => Some(8.0 * first_in?),
        "DynamicQuantizeLinear" => Some(3.0 * first_in?),
        op if is_data_movement(op) => Some(0.0),
        _ => None,
    }
}

/// The machine figures for the labels: a measured copy bandwidth and the best attained
/// op throughput of this profile.
fn roofline(nodes: &[NodeProfile]) -> Option<Roofline> {
    let bandwidth = copy_bandwidth_gb_s()?;
    let attained = nodes
        .iter()
        .filter(|n| n.share >= 0.01 && n.ms_per_run > 0.0 && n.calls_per_run > 0.0)
        .filter_map(|n| {
            let flops = n.flops_estimate? * n.calls_per_run;
            Some(flops / (n.ms_per_run * 1e-3) / 1e9)
        })
        .fold(0.0f64, f64::max);
    if attained <= 0.0 {
        return None;
    }
    Some(Roofline {
        copy_bandwidth_gb_s: bandwidth,
        attained_gflop_s: attained,
        ridge_flop_per_byte: attained / bandwidth,
        method: "bandwidth measured by five 64 MiB buffer copies in this process (best, read \
                 plus written bytes); compute roof = the highest estimated FLOP rate an op \
                 of this profile attained; an op is labelled memory-bound when its estimated \
                 FLOPs per byte is below their ratio. Estimates, not measurements of the op."
            .into(),
    })
}

/// Best of five copies between two 64 MiB buffers, GB/s of bytes read plus written.
fn copy_bandwidth_gb_s() -> Option<f64> {
    const LEN: usize = 16 << 20; // f32 elements: 64 MiB
    let src: Vec<f32> = (0..LEN).map(|i| i as f32).collect();
    let mut dst = vec![0.0f32; LEN];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let started = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&mut dst);
        best = best.min(started.elapsed().as_secs_f64());
    }
    (best > 0.0).then(|| 2.0 * (LEN * 4) as f64 / best / 1e9)
}

/// Op counts before and after the runtime's rewrites, and unfused patterns in an ONNX file.
fn fusion_report(
    model: &Path,
    nodes: &[NodeProfile],
    warnings: &mut Vec<String>,
) -> Option<FusionReport> {
    let info = match mlgate_ir::inspect(model) {
        Ok(i) => i,
        Err(e) => {
            warnings.push(format!("no fusion analysis: {e}"));
            return None;
        }
    };
    let mut ran: BTreeMap<String, u64> = BTreeMap::new();
    for n in nodes {
        *ran.entry(n.op_type.clone()).or_default() += 1;
    }
    let mut types: Vec<String> = info.ops.keys().chain(ran.keys()).cloned().collect();
    types.sort();
    types.dedup();
    let op_counts = types
        .iter()
        .map(|t| OpCount {
            op_type: t.clone(),
            in_file: info.ops.get(t).copied().unwrap_or(0),
            ran: ran.get(t).copied().unwrap_or(0),
        })
        .collect();
    let runtime_ops = ran
        .keys()
        .filter(|t| !info.ops.contains_key(*t))
        .cloned()
        .collect();
    let missed = match mlgate_ir::onnx::read_model(model) {
        Ok(m) => m
            .graph
            .as_ref()
            .map(|g| missed_fusions(g, &ran))
            .unwrap_or_default(),
        Err(_) => Vec::new(), // not ONNX: only the counts above
    };
    Some(FusionReport {
        op_counts,
        runtime_ops,
        missed,
    })
}

/// Producer → single consumer patterns a converter usually folds.
fn missed_fusions(
    graph: &mlgate_ir::onnx::proto::GraphProto,
    ran: &BTreeMap<String, u64>,
) -> Vec<MissedFusion> {
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for input in &n.input {
            consumers.entry(input.as_str()).or_default().push(i);
        }
    }
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name()).collect();
    let patterns: [(&str, &str, &str); 3] = [
        (
            "Conv",
            "BatchNormalization",
            "fold the BatchNormalization into the Conv's weights and bias at export \
             (PyTorch: model.eval() before export; onnxsim or the converter's constant \
             folding)",
        ),
        (
            "MatMul",
            "Add",
            "export the layer as Gemm (or let the runtime fuse it): a MatMul followed by a \
             bias Add costs a second pass over the output",
        ),
        (
            "Conv",
            "Add",
            "a Conv followed by a constant Add: fold the constant into the Conv's bias",
        ),
    ];
    let mut out = Vec::new();
    for (first, second, advice) in patterns {
        let mut examples = Vec::new();
        let mut count = 0;
        for n in graph.node.iter().filter(|n| n.op_type() == first) {
            let Some(y) = n.output.first() else { continue };
            let Some(users) = consumers.get(y.as_str()) else {
                continue;
            };
            if users.len() != 1 {
                continue;
            }
            let user = &graph.node[users[0]];
            if user.op_type() != second {
                continue;
            }
            // A bias Add: its other input is a constant.
            if second == "Add"
                && !user
                    .input
                    .iter()
                    .any(|i| i != y && initializers.contains(i.as_str()))
            {
                continue;
            }
            count += 1;
            if examples.len() < 5 {
                examples.push(n.name().to_string());
            }
        }
        if count > 0 {
            let still_running = ran.get(second).copied().unwrap_or(0);
            out.push(MissedFusion {
                pattern: format!("{first} + {second}"),
                count,
                examples,
                runtime_fused: Some(still_running == 0),
                advice: advice.into(),
            });
        }
    }
    out
}

fn describe_inputs(info: &crate::ModelInfo) -> String {
    info.inputs
        .iter()
        .map(|t| format!("{} {}", t.name, t.shape_text()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the float and the quantized model with every float tensor both compute exposed as
/// an output, on the same inputs, and compares them tensor by tensor.
fn divergence(
    float_model: &Path,
    quantized_model: &Path,
    kind: BackendKind,
    catalog: &RuntimeCatalog,
    threads: Option<usize>,
    inputs: &[Tensor],
) -> Result<DivergenceReport> {
    let read = |p: &Path| {
        mlgate_ir::onnx::read_model(p).map_err(|e| Error::Invalid {
            what: "--int8-build",
            value: p.display().to_string(),
            hint: format!(
                "per-layer divergence needs two ONNX models (the float one and its quantized \
                 variant): {e}"
            ),
        })
    };
    let mut f = read(float_model)?;
    let mut q = read(quantized_model)?;
    // A variant takes the same inputs; anything else would compare unrelated tensors that
    // happen to share a name.
    let (fi, qi) = (
        crate::inspect(float_model)?,
        crate::inspect(quantized_model)?,
    );
    let signature = |info: &crate::ModelInfo| -> Vec<(String, String)> {
        info.inputs
            .iter()
            .map(|t| (t.name.clone(), t.shape_text()))
            .collect()
    };
    if signature(&fi) != signature(&qi) {
        return Err(Error::Invalid {
            what: "--int8-build",
            value: quantized_model.display().to_string(),
            hint: format!(
                "its inputs ({}) differ from those of {} ({}): is it a variant of this model?",
                describe_inputs(&qi),
                float_model.display(),
                describe_inputs(&fi)
            ),
        });
    }
    let produced = |m: &mlgate_ir::onnx::proto::ModelProto| -> Vec<(String, String)> {
        m.graph
            .iter()
            .flat_map(|g| &g.node)
            .flat_map(|n| {
                n.output
                    .iter()
                    .filter(|o| !o.is_empty())
                    .map(|o| (o.clone(), n.op_type().to_string()))
            })
            .collect()
    };
    let in_q: HashSet<String> = produced(&q).into_iter().map(|(n, _)| n).collect();
    let shared: Vec<(String, String)> = produced(&f)
        .into_iter()
        .filter(|(n, _)| in_q.contains(n))
        .collect();
    if shared.is_empty() {
        return Err(Error::Invalid {
            what: "--int8-build",
            value: quantized_model.display().to_string(),
            hint: format!(
                "it shares no tensor names with {}: is it a variant of this model?",
                float_model.display()
            ),
        });
    }
    let names: Vec<String> = shared.iter().map(|(n, _)| n.clone()).collect();
    let dir = tempfile::tempdir().map_err(|e| Error::Host {
        what: "cannot create a temporary directory for the divergence run".into(),
        hint: format!("{e}; check that TMPDIR is writable"),
    })?;
    let run = |m: &mut mlgate_ir::onnx::proto::ModelProto, file: &str| -> Result<Vec<Tensor>> {
        if let Some(g) = m.graph.as_mut() {
            let existing: HashSet<String> = g.output.iter().map(|o| o.name().to_string()).collect();
            for n in names.iter().filter(|n| !existing.contains(*n)) {
                g.output.push(mlgate_ir::onnx::proto::ValueInfoProto {
                    name: Some(n.clone()),
                    ..Default::default()
                });
            }
        }
        let path = dir.path().join(file);
        mlgate_ir::onnx::write_model(&path, m)?;
        let options = SessionOptions {
            intra_op_threads: threads,
            ..SessionOptions::default()
        };
        let mut s = catalog
            .load(kind, &path, &options)
            .map_err(Error::runtime)?;
        s.run(inputs).map_err(Error::runtime)
    };
    let f_out = run(&mut f, "float.onnx")?;
    let q_out = run(&mut q, "quantized.onnx")?;
    let by_name = |v: &[Tensor]| -> HashMap<String, Vec<f32>> {
        v.iter()
            .filter_map(|t| match t.data() {
                TensorData::F32(x) => Some((t.name().to_string(), x.clone())),
                _ => None,
            })
            .collect()
    };
    let (fm, qm) = (by_name(&f_out), by_name(&q_out));
    let mut layers = Vec::new();
    for (name, op) in &shared {
        let (Some(a), Some(b)) = (fm.get(name), qm.get(name)) else {
            continue;
        };
        if a.len() != b.len() || a.is_empty() {
            continue;
        }
        let (mut dot, mut na, mut nb, mut diff, mut max_abs) = (0.0f64, 0.0, 0.0, 0.0, 0.0f64);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x), f64::from(y));
            dot += x * y;
            na += x * x;
            nb += y * y;
            diff += (x - y) * (x - y);
            max_abs = max_abs.max((x - y).abs());
        }
        layers.push(LayerDivergence {
            tensor: name.clone(),
            op_type: op.clone(),
            relative_l2: if na > 0.0 {
                (diff / na).sqrt()
            } else {
                diff.sqrt()
            },
            cosine: if na > 0.0 && nb > 0.0 {
                dot / (na.sqrt() * nb.sqrt())
            } else {
                1.0
            },
            max_abs,
        });
    }
    let largest_jump = layers
        .windows(2)
        .max_by(|a, b| {
            (a[1].relative_l2 - a[0].relative_l2).total_cmp(&(b[1].relative_l2 - b[0].relative_l2))
        })
        .map(|w| w[1].tensor.clone());
    Ok(DivergenceReport {
        float_model: float_model.display().to_string(),
        quantized_model: quantized_model.display().to_string(),
        backend: kind,
        layers,
        largest_jump,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_and_matmul_flops_follow_their_shapes() {
        // 3x3 conv, 3 → 16 channels, 112x112 output: 2 · 16·112·112 · 3·3·3.
        let conv = estimate_flops(
            "Conv",
            &[vec![1, 3, 224, 224], vec![16, 3, 3, 3], vec![16]],
            &[vec![1, 16, 112, 112]],
        );
        assert_eq!(conv, Some(2.0 * 16.0 * 112.0 * 112.0 * 27.0));
        // Depthwise: weights [32, 1, 3, 3], so 9 MACs per output element.
        let dw = estimate_flops(
            "FusedConv",
            &[vec![1, 32, 56, 56], vec![32, 1, 3, 3]],
            &[vec![1, 32, 56, 56]],
        );
        assert_eq!(dw, Some(2.0 * 32.0 * 56.0 * 56.0 * 9.0));
        // Batched MatMul [2, 8, 64] x [64, 32] → [2, 8, 32]: K = 64.
        let mm = estimate_flops("MatMul", &[vec![2, 8, 64], vec![64, 32]], &[vec![2, 8, 32]]);
        assert_eq!(mm, Some(2.0 * 2.0 * 8.0 * 32.0 * 64.0));
        // Gemm with transA: A is [K, M] = [128, 4], Y [4, 10]: K = 128.
        let gemm = estimate_flops("Gemm", &[vec![128, 4], vec![128, 10]], &[vec![4, 10]]);
        assert_eq!(gemm, Some(2.0 * 40.0 * 128.0));
        assert_eq!(
            estimate_flops("Relu", &[vec![1, 10]], &[vec![1, 10]]),
            Some(10.0)
        );
        assert_eq!(
            estimate_flops("Reshape", &[vec![1, 10]], &[vec![10]]),
            Some(0.0)
        );
        assert_eq!(estimate_flops("SomeCustomOp", &[], &[vec![1]]), None);
        assert_eq!(estimate_flops("Conv", &[vec![1, 3, 8, 8]], &[]), None);
    }

    #[test]
    fn nodes_average_over_runs_and_share_the_total() {
        let call = |run, node: &str, op: &str, us| OpCall {
            run,
            node: node.into(),
            op_type: op.into(),
            duration_us: us,
            input_shapes: vec![vec![1, 4], vec![4, 2]],
            output_shapes: vec![vec![1, 2]],
            bytes: Some(64),
            runtime_flops: None,
            provider: None,
        };
        let calls = [
            call(3, "a", "MatMul", 300.0),
            call(3, "b", "Relu", 100.0),
            call(4, "a", "MatMul", 500.0),
            call(4, "b", "Relu", 100.0),
        ];
        let refs: Vec<&OpCall> = calls.iter().collect();
        let nodes = aggregate_nodes(&refs, 2.0, 0.5);
        assert_eq!(nodes[0].node, "a");
        assert!((nodes[0].ms_per_run - 0.4).abs() < 1e-12);
        assert!((nodes[0].share - 0.8).abs() < 1e-12);
        assert_eq!(nodes[0].calls_per_run, 1.0);
        assert_eq!(nodes[0].flops_estimate, Some(2.0 * 2.0 * 4.0));
        assert_eq!(nodes[0].intensity, Some(16.0 / 64.0));
        let types = aggregate_op_types(&nodes);
        assert_eq!(types[0].op_type, "MatMul");
        assert!((types.iter().map(|t| t.share).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
