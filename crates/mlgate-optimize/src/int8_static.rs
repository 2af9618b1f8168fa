//! Static int8 in QDQ form: the activations entering and leaving Conv, MatMul and Gemm pass
//! through QuantizeLinear → DequantizeLinear with a uint8 scale and zero point fixed ahead of
//! time from calibration data, the weights are int8 initializers (symmetric, zero point 0)
//! read through DequantizeLinear, and biases are int32 at the product's scale. Runtimes that
//! understand QDQ (ONNX Runtime) fuse each group into an integer kernel (QLinearConv,
//! QLinearMatMul, QGemm); any other runtime computes the same numbers in float.
//!
//! This crate never runs a model. Calibration is three steps, the middle one the caller's:
//! [`calibration_model`] exposes the tensors that need ranges as graph outputs, the caller
//! runs it on its samples and feeds every value to a [`RangeCollector`], and
//! [`quantize_static`] writes the variant from the [`ActivationRanges`] that come out.

use std::collections::{BTreeMap, HashMap, HashSet};

use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::{
    type_proto, GraphProto, ModelProto, NodeProto, TensorProto, TypeProto, ValueInfoProto,
};

use crate::graph::{self, attr_int, float_values, node, raw_tensor, Names};
use crate::{Method, OptimizeError, PassReport, Result};

/// How activation ranges are taken from the calibration samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// The smallest and largest value seen.
    MinMax,
    /// The range clipped at this percentile of |x| (e.g. 99.999): a few outliers no longer
    /// stretch the scale of every other value.
    Percentile(f64),
}

/// The percentile `--calibrate percentile` uses when none is given.
pub const DEFAULT_PERCENTILE: f64 = 99.999;
/// Bins of the |x| histogram of percentile calibration.
pub const HISTOGRAM_BINS: usize = 2048;
/// Weights with fewer values stay float (as in dynamic int8).
const MIN_ELEMENTS: usize = 64;

const FLOAT: i32 = DataType::Float as i32;

impl Calibration {
    /// `minmax`, or `p` and the percentile (`p99.999`), as method ids write it.
    pub fn id(&self) -> String {
        match self {
            Calibration::MinMax => "minmax".into(),
            Calibration::Percentile(p) => format!("p{p}"),
        }
    }

    pub(crate) fn parse_id(s: &str) -> Option<Calibration> {
        if s == "minmax" {
            return Some(Calibration::MinMax);
        }
        let p: f64 = s.strip_prefix('p')?.parse().ok()?;
        Some(Calibration::Percentile(p))
    }

    /// Passes over the samples a [`RangeCollector`] needs: 1 for MinMax; 2 for a percentile
    /// (the first finds each tensor's largest |x|, which fixes the histogram's bins).
    pub fn passes(&self) -> usize {
        match self {
            Calibration::MinMax => 1,
            Calibration::Percentile(_) => 2,
        }
    }
}

/// What [`calibration_model`] returns: a copy of the model that also outputs every float
/// tensor static int8 needs a range for.
#[derive(Debug, Clone)]
pub struct CalibrationPlan {
    /// The model with the exposed tensors as its outputs (its own outputs are dropped).
    pub model: ModelProto,
    /// The calibration model's outputs, in order: the tensors their values are ranges of.
    pub outputs: Vec<String>,
    /// Graph inputs that need a range too: the caller takes it from the samples themselves.
    pub inputs: Vec<String>,
}

impl CalibrationPlan {
    /// Every tensor a range is needed for (inputs first), the names a [`RangeCollector`]
    /// takes.
    pub fn tensors(&self) -> Vec<String> {
        self.inputs.iter().chain(&self.outputs).cloned().collect()
    }
}

/// One op static int8 rewrites.
struct Site {
    node: usize,
    kind: Kind,
    weight: usize,
    /// The node whose output gets Q → DQ: the op itself, or the Relu that is the only reader
    /// of its output (quantizing after the Relu lets ONNX Runtime fold it into the integer
    /// op, and a Relu's output starts at 0, the uint8 zero point).
    out_node: usize,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    MatMul,
    Gemm { trans_b: bool },
    Conv,
}

/// The ops static int8 rewrites: Conv, MatMul (2-D weight) and Gemm (transA = 0) with a
/// constant float32 weight of at least 64 values and a computed float32 activation.
fn sites(graph: &GraphProto) -> Result<Vec<Site>> {
    let index = graph::initializer_index(graph);
    let in_subgraphs = graph::names_used_in_subgraphs(graph);
    let types = crate::types::infer(graph);
    let counts = graph::use_counts(graph);
    let mut readers: HashMap<&str, usize> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for input in &n.input {
            readers.insert(input.as_str(), i);
        }
    }
    let mut out = Vec::new();
    for (i, n) in graph.node.iter().enumerate() {
        if !(n.domain().is_empty() || n.domain() == "ai.onnx") {
            continue;
        }
        let kind = match n.op_type() {
            "MatMul" => Kind::MatMul,
            "Gemm" => Kind::Gemm {
                trans_b: graph::int_attr(n, "transB", 0) != 0,
            },
            "Conv" => Kind::Conv,
            _ => continue,
        };
        let (Some(x), Some(w), Some(y)) = (n.input.first(), n.input.get(1), n.output.first())
        else {
            continue;
        };
        let Some(&wi) = index.get(w) else { continue };
        if x.is_empty() || index.contains_key(x) || in_subgraphs.contains(w) {
            continue;
        }
        // Both sides float32 where the types are known (they are for any float weight).
        if [x, y]
            .iter()
            .any(|v| types.get(v.as_str()).is_some_and(|&t| t != FLOAT))
        {
            continue;
        }
        let t = &graph.initializer[wi];
        if t.data_type != Some(FLOAT) || graph::element_count(t)? < MIN_ELEMENTS {
            continue;
        }
        let ok = match kind {
            Kind::MatMul => t.dims.len() == 2,
            Kind::Gemm { .. } => t.dims.len() == 2 && graph::int_attr(n, "transA", 0) == 0,
            Kind::Conv => t.dims.len() >= 3,
        };
        if ok {
            let relu = readers
                .get(y.as_str())
                .copied()
                .filter(|_| counts.get(y.as_str()) == Some(&1))
                .filter(|&r| {
                    let m = &graph.node[r];
                    m.op_type() == "Relu"
                        && (m.domain().is_empty() || m.domain() == "ai.onnx")
                        && m.output.len() == 1
                        && r > i
                });
            out.push(Site {
                node: i,
                kind,
                weight: wi,
                out_node: relu.unwrap_or(i),
            });
        }
    }
    Ok(out)
}

/// The model to run on the calibration samples: its outputs are the activations entering and
/// leaving every op static int8 rewrites (first inputs and outputs of Conv, MatMul, Gemm), so
/// one run gives every value a range is taken from. Refuses a model with nothing to rewrite.
pub fn calibration_model(model: &ModelProto) -> Result<CalibrationPlan> {
    let graph = model.graph.as_ref().ok_or_else(|| {
        OptimizeError::unsupported("the model has no graph; it cannot be optimized")
    })?;
    graph::require_inline_data(graph)?;
    let mut out = model.clone();
    graph::hoist_constants(&mut out);
    let g = out.graph.as_mut().expect("checked");
    let found = sites(g)?;
    if found.is_empty() {
        return Err(no_weights());
    }
    let graph_inputs: HashSet<&str> = g.input.iter().map(|v| v.name()).collect();
    let mut seen = HashSet::new();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for s in &found {
        let n = &g.node[s.node];
        for v in [&n.input[0], &g.node[s.out_node].output[0]] {
            if !seen.insert(v.clone()) {
                continue;
            }
            if graph_inputs.contains(v.as_str()) {
                inputs.push(v.clone());
            } else {
                outputs.push(v.clone());
            }
        }
    }
    g.output = outputs.iter().map(|name| float_value_info(name)).collect();
    Ok(CalibrationPlan {
        model: out,
        outputs,
        inputs,
    })
}

fn float_value_info(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(FLOAT),
                shape: None,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn no_weights() -> OptimizeError {
    OptimizeError::unsupported(
        "the model has no weights int8_static can quantize: it takes constant float weights \
         of MatMul (2-D), Gemm and Conv with at least 64 values",
    )
}

/// The range of each calibrated tensor: `(low, high)` as seen (MinMax) or clipped at the
/// percentile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivationRanges {
    /// Tensor name → (low, high).
    pub ranges: BTreeMap<String, (f32, f32)>,
    /// Samples the ranges were taken from.
    pub samples: usize,
    /// How.
    pub calibration: Option<Calibration>,
}

/// Accumulates the values of calibrated tensors over every sample. MinMax keeps the smallest
/// and largest finite value. A percentile takes two passes: the first finds each tensor's
/// largest |x|; the second counts |x| into [`HISTOGRAM_BINS`] equal bins from 0 to it, and the
/// clip point is the upper edge of the bin where the cumulative count reaches the percentile
/// of all values; the range is then `[max(low, -clip), min(high, clip)]`. Both give the same
/// ranges whatever the order of the samples.
#[derive(Debug, Clone)]
pub struct RangeCollector {
    calibration: Calibration,
    index: HashMap<String, usize>,
    names: Vec<String>,
    low: Vec<f32>,
    high: Vec<f32>,
    histograms: Vec<Vec<u64>>,
    samples: usize,
}

impl RangeCollector {
    /// A collector for `tensors` (see [`CalibrationPlan::tensors`]).
    pub fn new(tensors: &[String], calibration: Calibration) -> RangeCollector {
        RangeCollector {
            calibration,
            index: tensors
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            names: tensors.to_vec(),
            low: vec![f32::INFINITY; tensors.len()],
            high: vec![f32::NEG_INFINITY; tensors.len()],
            histograms: Vec::new(),
            samples: 0,
        }
    }

    /// Passes over the samples this collector needs ([`Calibration::passes`]).
    pub fn passes(&self) -> usize {
        self.calibration.passes()
    }

    /// Counts one sample's values of `tensor` in pass `pass` (0-based). Unknown tensors and
    /// non-finite values are ignored.
    pub fn observe(&mut self, pass: usize, tensor: &str, values: &[f32]) {
        let Some(&i) = self.index.get(tensor) else {
            return;
        };
        if pass == 0 {
            for &v in values.iter().filter(|v| v.is_finite()) {
                self.low[i] = self.low[i].min(v);
                self.high[i] = self.high[i].max(v);
            }
            return;
        }
        if self.histograms.is_empty() {
            self.histograms = vec![vec![0; HISTOGRAM_BINS]; self.names.len()];
        }
        let top = self.low[i].abs().max(self.high[i].abs());
        if top.is_nan() || top <= 0.0 {
            return;
        }
        let per_bin = HISTOGRAM_BINS as f32 / top;
        let h = &mut self.histograms[i];
        for &v in values.iter().filter(|v| v.is_finite()) {
            let b = ((v.abs() * per_bin) as usize).min(HISTOGRAM_BINS - 1);
            h[b] += 1;
        }
    }

    /// Marks the end of one sample's first pass (the count the report gives).
    pub fn sample_done(&mut self) {
        self.samples += 1;
    }

    /// The ranges; a tensor never observed (or only non-finite) is an error naming it.
    pub fn finish(self) -> Result<ActivationRanges> {
        let mut ranges = BTreeMap::new();
        for (i, name) in self.names.iter().enumerate() {
            let (lo, hi) = (self.low[i], self.high[i]);
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(OptimizeError::unsupported(format!(
                    "calibration saw no finite value of '{name}'; check that the calibration \
                     samples are real inputs of this model"
                )));
            }
            let range = match self.calibration {
                Calibration::MinMax => (lo, hi),
                Calibration::Percentile(p) => match self.histograms.get(i) {
                    Some(h) => {
                        let top = lo.abs().max(hi.abs());
                        let clip = percentile_clip(h, top, p);
                        (lo.max(-clip), hi.min(clip))
                    }
                    None => (lo, hi),
                },
            };
            ranges.insert(name.clone(), range);
        }
        Ok(ActivationRanges {
            ranges,
            samples: self.samples,
            calibration: Some(self.calibration),
        })
    }
}

/// The upper edge of the bin where the cumulative count reaches `p` percent of all values.
fn percentile_clip(hist: &[u64], top: f32, p: f64) -> f32 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return top;
    }
    let want = (p / 100.0 * total as f64).ceil() as u64;
    let mut seen = 0u64;
    for (b, &c) in hist.iter().enumerate() {
        seen += c;
        if seen >= want {
            return top * (b + 1) as f32 / hist.len() as f32;
        }
    }
    top
}

/// uint8 scale and zero point of the range `[min(0, low), max(0, high)]` (zero exactly
/// representable): `scale = (high - low) / 255`, `zero_point = round(-low / scale)`.
pub fn uint8_params(low: f32, high: f32) -> (f32, u8) {
    let (lo, hi) = (low.min(0.0), high.max(0.0));
    let scale = (hi - lo) / 255.0;
    if !(scale > 0.0 && scale.is_finite()) {
        return (1.0, 0);
    }
    let zp = (-lo / scale).round_ties_even().clamp(0.0, 255.0) as u8;
    (scale, zp)
}

/// Writes the static int8 variant of `model` from calibrated `ranges` (see the module docs).
/// `method` must be [`Method::Int8Static`]; per-channel weights need opset 13, older models
/// are raised to it where they can be.
pub fn quantize_static(
    model: &ModelProto,
    method: &Method,
    ranges: &ActivationRanges,
) -> Result<(ModelProto, PassReport)> {
    let Method::Int8Static {
        per_channel,
        calibration,
        ..
    } = method
    else {
        return Err(OptimizeError::unsupported(format!(
            "quantize_static takes the int8_static method, not {}",
            method.id()
        )));
    };
    method.validate()?;
    let graph = model.graph.as_ref().ok_or_else(|| {
        OptimizeError::unsupported("the model has no graph; it cannot be optimized")
    })?;
    graph::require_inline_data(graph)?;
    let opset_before = crate::opset::default_opset(model);
    let mut out = model.clone();
    let hoisted = graph::hoist_constants(&mut out);
    if opset_before < 10 {
        return Err(OptimizeError::unsupported(format!(
            "int8_static needs opset 10 or later (QuantizeLinear); this model is opset \
             {opset_before}: convert it with onnx.version_converter first"
        )));
    }
    if *per_channel {
        crate::opset::upgrade(
            &mut out,
            13,
            "int8_static with --per-channel (DequantizeLinear with an axis)",
        )?;
    }
    let mut report = rewrite(&mut out, *per_channel, ranges)?;
    report.method = method.id();
    report.notes.insert(
        0,
        format!(
            "activations into and out of the quantized ops are uint8 with a fixed scale and zero \
             point ({} calibration over {} sample{}); weights are int8 {} with zero point 0, \
             biases int32",
            match calibration {
                Calibration::MinMax => "min/max".to_string(),
                Calibration::Percentile(p) => format!("{p}th-percentile"),
            },
            ranges.samples,
            if ranges.samples == 1 { "" } else { "s" },
            if *per_channel {
                "per output channel"
            } else {
                "per tensor"
            }
        ),
    );
    if hoisted > 0 {
        report.notes.push(format!(
            "{hoisted} Constant nodes became initializers first, so their weights could be \
             rewritten"
        ));
    }
    report.opset_before = opset_before;
    report.opset_after = crate::opset::default_opset(&out);
    Ok((out, report))
}

/// A quantized weight: its int8 initializer, scale and zero point, and the DQ axis.
struct WeightQ {
    name: String,
    scale: String,
    zero: String,
    scales: Vec<f32>,
    axis: Option<i64>,
}

fn rewrite(
    model: &mut ModelProto,
    per_channel: bool,
    ranges: &ActivationRanges,
) -> Result<PassReport> {
    let graph = model.graph.as_mut().expect("checked");
    let found = sites(graph)?;
    if found.is_empty() {
        return Err(no_weights());
    }
    let range_of = |name: &str| -> Result<(f32, f32)> {
        ranges.ranges.get(name).copied().ok_or_else(|| {
            OptimizeError::unsupported(format!(
                "no calibration range for '{name}': the ranges were taken on another model; \
                 calibrate this one (calibration_model)"
            ))
        })
    };
    let mut names = Names::of(graph);
    let index = graph::initializer_index(graph);
    let mut report = PassReport::new();
    let mut new_inits: Vec<TensorProto> = Vec::new();
    let by_node: HashMap<usize, &Site> = found.iter().map(|s| (s.node, s)).collect();
    let qdq_after: HashSet<usize> = found.iter().map(|s| s.out_node).collect();
    // Activation → the DequantizeLinear output that replaces it for quantized ops.
    let mut dq_of: HashMap<String, String> = HashMap::new();
    // Values that are already the output of one of our DequantizeLinear.
    let mut is_dq: HashSet<String> = HashSet::new();
    let mut weights: HashMap<(String, Option<i64>), WeightQ> = HashMap::new();
    let nodes = std::mem::take(&mut graph.node);
    let mut new_nodes: Vec<NodeProto> = Vec::with_capacity(nodes.len() * 2);
    for (i, mut n) in nodes.into_iter().enumerate() {
        // A quantized op gets Q/DQ on its inputs and its weight; every node may then get
        // Q/DQ on its output.
        if let Some(site) = by_node.get(&i) {
            let base = if n.name().is_empty() {
                n.op_type().to_string()
            } else {
                n.name().to_string()
            };
            // The activation in.
            let x = n.input[0].clone();
            let (x_scale, _) = {
                let (lo, hi) = range_of(&x)?;
                uint8_params(lo, hi)
            };
            if !is_dq.contains(&x) {
                let dq = match dq_of.get(&x) {
                    Some(dq) => dq.clone(),
                    None => {
                        let (lo, hi) = range_of(&x)?;
                        let dq = names.fresh(&format!("{x}_dequantized"));
                        qdq_pair(
                            &x,
                            &dq,
                            lo,
                            hi,
                            &base,
                            &mut names,
                            &mut new_nodes,
                            &mut new_inits,
                        );
                        report.nodes_added += 2;
                        dq_of.insert(x.clone(), dq.clone());
                        dq
                    }
                };
                n.input[0] = dq;
            }
            // The weight.
            let w = &graph.initializer[site.weight];
            let axis = per_channel.then_some(match site.kind {
                Kind::Conv | Kind::Gemm { trans_b: true } => 0,
                Kind::MatMul | Kind::Gemm { trans_b: false } => 1,
            });
            let key = (w.name().to_string(), axis);
            if !weights.contains_key(&key) {
                let values = float_values(w)?.expect("float weight");
                let (q, scales) = graph::symmetric_int8(&values, &w.dims, axis);
                let wname = names.fresh(&format!("{}_int8", w.name()));
                let sname = names.fresh(&format!("{}_scale", w.name()));
                let zname = names.fresh(&format!("{}_zero_point", w.name()));
                let channel_dims: Vec<i64> = match axis {
                    Some(_) => vec![scales.len() as i64],
                    None => vec![],
                };
                let qt = raw_tensor(
                    &wname,
                    &w.dims,
                    DataType::Int8,
                    q.iter().map(|&v| v as u8).collect(),
                );
                let st = graph::f32_tensor(&sname, &channel_dims, &scales);
                let zt = raw_tensor(
                    &zname,
                    &channel_dims,
                    DataType::Int8,
                    vec![0u8; scales.len()],
                );
                report.weight_bytes_before += graph::data_bytes(w);
                report.weight_bytes_after +=
                    graph::data_bytes(&qt) + graph::data_bytes(&st) + graph::data_bytes(&zt);
                report.tensors_changed += 1;
                new_inits.extend([qt, st, zt]);
                weights.insert(
                    key.clone(),
                    WeightQ {
                        name: wname,
                        scale: sname,
                        zero: zname,
                        scales,
                        axis,
                    },
                );
            }
            let wq = &weights[&key];
            let w_dq = names.fresh(&format!("{}_dequantized", w.name()));
            new_nodes.push(node(
                "DequantizeLinear",
                names.fresh(&base),
                &[&wq.name, &wq.scale, &wq.zero],
                &[&w_dq],
                wq.axis.map(|a| attr_int("axis", a)).into_iter().collect(),
            ));
            report.nodes_added += 1;
            n.input[1] = w_dq;
            // The bias, as int32 at scale x_scale × w_scale, when it is a plain [channels] vector.
            if let Some(b) = n.input.get(2).filter(|b| !b.is_empty()).cloned() {
                let beta = graph::float_attr(&n, "beta", 1.0);
                let channels = match site.kind {
                    Kind::Conv => w.dims[0],
                    Kind::Gemm { trans_b: true } => w.dims[0],
                    _ => w.dims[1],
                };
                let bias = index
                    .get(&b)
                    .map(|&bi| &graph.initializer[bi])
                    .filter(|t| t.dims == [channels] && beta == 1.0);
                if let Some(bt) = bias {
                    if let Some(values) = float_values(bt)? {
                        let scales: Vec<f32> = (0..values.len())
                            .map(|c| x_scale * wq.scales[if wq.scales.len() == 1 { 0 } else { c }])
                            .collect();
                        let q: Option<Vec<i32>> = values
                            .iter()
                            .zip(&scales)
                            .map(|(&v, &s)| {
                                let q = (f64::from(v) / f64::from(s)).round();
                                (s > 0.0 && q.abs() < f64::from(i32::MAX)).then_some(q as i32)
                            })
                            .collect();
                        if let Some(q) = q {
                            let bname = names.fresh(&format!("{b}_int32"));
                            let bs = names.fresh(&format!("{b}_scale"));
                            let bz = names.fresh(&format!("{b}_zero_point"));
                            let bdq = names.fresh(&format!("{b}_dequantized"));
                            let (sdims, svals): (Vec<i64>, Vec<f32>) = if wq.scales.len() == 1 {
                                (vec![], vec![scales[0]])
                            } else {
                                (vec![channels], scales.clone())
                            };
                            let qt = raw_tensor(
                                &bname,
                                &[channels],
                                DataType::Int32,
                                q.iter().flat_map(|v| v.to_le_bytes()).collect(),
                            );
                            let st = graph::f32_tensor(&bs, &sdims, &svals);
                            let zt = raw_tensor(
                                &bz,
                                &sdims,
                                DataType::Int32,
                                vec![0u8; 4 * svals.len()],
                            );
                            report.weight_bytes_before += graph::data_bytes(bt);
                            report.weight_bytes_after += graph::data_bytes(&qt)
                                + graph::data_bytes(&st)
                                + graph::data_bytes(&zt);
                            new_inits.extend([qt, st, zt]);
                            new_nodes.push(node(
                                "DequantizeLinear",
                                names.fresh(&base),
                                &[&bname, &bs, &bz],
                                &[&bdq],
                                if sdims.is_empty() {
                                    vec![]
                                } else {
                                    vec![attr_int("axis", 0)]
                                },
                            ));
                            report.nodes_added += 1;
                            n.input[2] = bdq;
                        }
                    }
                }
            }
        }
        if qdq_after.contains(&i) {
            report.nodes_added += output_qdq(
                n,
                &range_of,
                &mut names,
                &mut new_nodes,
                &mut new_inits,
                &mut is_dq,
            )?;
        } else {
            new_nodes.push(n);
        }
    }
    graph.node = new_nodes;
    graph.initializer.extend(new_inits);
    graph::drop_unused_initializers(graph);
    Ok(report)
}

/// Pushes `n` writing a fresh value, and Q → DQ from it to `n`'s old output name; returns
/// the nodes added.
fn output_qdq(
    mut n: NodeProto,
    range_of: &dyn Fn(&str) -> Result<(f32, f32)>,
    names: &mut Names,
    nodes: &mut Vec<NodeProto>,
    inits: &mut Vec<TensorProto>,
    is_dq: &mut HashSet<String>,
) -> Result<usize> {
    let base = if n.name().is_empty() {
        n.op_type().to_string()
    } else {
        n.name().to_string()
    };
    let y = n.output[0].clone();
    let (lo, hi) = range_of(&y)?;
    let raw = names.fresh(&format!("{y}_float"));
    n.output[0] = raw.clone();
    nodes.push(n);
    qdq_pair(&raw, &y, lo, hi, &base, names, nodes, inits);
    is_dq.insert(y);
    Ok(2)
}

/// `x → QuantizeLinear → DequantizeLinear → out` with the uint8 parameters of `[lo, hi]`.
#[allow(clippy::too_many_arguments)]
fn qdq_pair(
    x: &str,
    out: &str,
    lo: f32,
    hi: f32,
    base: &str,
    names: &mut Names,
    nodes: &mut Vec<NodeProto>,
    inits: &mut Vec<TensorProto>,
) {
    let (scale, zp) = uint8_params(lo, hi);
    let s = names.fresh(&format!("{x}_scale"));
    let z = names.fresh(&format!("{x}_zero_point"));
    let q = names.fresh(&format!("{x}_quantized"));
    inits.push(graph::f32_tensor(&s, &[], &[scale]));
    inits.push(raw_tensor(&z, &[], DataType::Uint8, vec![zp]));
    nodes.push(node(
        "QuantizeLinear",
        names.fresh(base),
        &[x, &s, &z],
        &[&q],
        vec![],
    ));
    nodes.push(node(
        "DequantizeLinear",
        names.fresh(base),
        &[&q, &s, &z],
        &[out],
        vec![],
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint8_params_keep_zero_exact() {
        let (s, z) = uint8_params(-1.0, 3.0);
        assert!((s - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(z, 64); // round(1 / (4/255)) = round(63.75)
                           // A range that excludes 0 is widened to include it.
        let (s, z) = uint8_params(2.0, 5.1);
        assert!((s - 0.02).abs() < 1e-7);
        assert_eq!(z, 0);
        let (s, z) = uint8_params(-5.1, -2.0);
        assert!((s - 0.02).abs() < 1e-7);
        assert_eq!(z, 255);
        assert_eq!(uint8_params(0.0, 0.0), (1.0, 0));
        assert_eq!(uint8_params(f32::NAN, 1.0).1, 0);
    }

    #[test]
    fn percentile_clips_an_outlier_minmax_keeps_it() {
        // 100000 values spread over [-1, 1] and one at 1000.
        let mut values: Vec<f32> = (0..100_000).map(|i| (i as f32 / 50_000.0) - 1.0).collect();
        values.push(1000.0);
        let names = vec!["t".to_string()];
        let collect = |c: Calibration| {
            let mut rc = RangeCollector::new(&names, c);
            for pass in 0..rc.passes() {
                // Two samples, in halves: the result cannot depend on how values are split.
                let (a, b) = values.split_at(40_000);
                rc.observe(pass, "t", a);
                rc.observe(pass, "t", b);
                rc.observe(pass, "unknown", &[1e9]);
            }
            rc.sample_done();
            rc.finish().unwrap().ranges["t"]
        };
        assert_eq!(collect(Calibration::MinMax), (-1.0, 1000.0));
        let (lo, hi) = collect(Calibration::Percentile(99.9));
        // Bins are 1000/2048 wide: the clip lands in the first bin above |x| = 1.
        assert_eq!(lo, -1.0);
        assert!(hi > 0.99 && hi < 1.0 + 1000.0 / 2048.0 + 1e-3, "{hi}");
        let (_, hi) = collect(Calibration::Percentile(100.0));
        assert_eq!(hi, 1000.0);
    }

    #[test]
    fn a_tensor_never_seen_is_named() {
        let rc = RangeCollector::new(&["a".to_string()], Calibration::MinMax);
        let e = rc.finish().unwrap_err().to_string();
        assert!(e.contains("'a'"), "{e}");
    }

    #[test]
    fn weights_quantize_along_the_asked_axis() {
        // [2, 3]: per axis 1, three scales from the column maxima.
        let w = [1.0, -2.0, 0.5, -4.0, 1.0, 0.25];
        let (q, s) = graph::symmetric_int8(&w, &[2, 3], Some(1));
        assert_eq!(s, vec![4.0 / 127.0, 2.0 / 127.0, 0.5 / 127.0]);
        assert_eq!(q, vec![32, -127, 127, -127, 64, 64]);
        let (_, s) = graph::symmetric_int8(&w, &[2, 3], Some(0));
        assert_eq!(s, vec![2.0 / 127.0, 4.0 / 127.0]);
        let (q, s) = graph::symmetric_int8(&w, &[2, 3], None);
        assert_eq!(s, vec![4.0 / 127.0]);
        assert_eq!(q[3], -127);
    }
}
