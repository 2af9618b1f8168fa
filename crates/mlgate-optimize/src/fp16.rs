//! float16: every float tensor stored and computed in half precision.
//!
//! Each float32 value of the graph gets the precision it holds after the pass: float16, or
//! float32 where it must stay so — graph inputs and outputs when `keep_io_types`, the outputs
//! of ops that need float32 (the block list), and constants only such ops read. Wherever a
//! reader expects the other precision, one Cast per value and precision is inserted before
//! the first reader. Weights are clamped into the range float16 represents safely: magnitudes
//! below 1e-7 become ±1e-7 (zeros stay zero), above 1e4 become ±1e4 (infinities stay).
//! Finally, casts that undo each other (float16 → float32 → float16) or do nothing go.

use std::collections::{BTreeMap, HashMap, HashSet};

use mlgate_ir::onnx::proto::attribute_proto::AttributeType;
use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

use crate::graph::{self, attr_int, node, raw_tensor, Names};
use crate::types::{self, Types};
use crate::{OptimizeError, PassReport, Result};

/// Below this magnitude a float16 value loses all precision (its smallest subnormal is
/// 6e-8); non-zero values are raised to it.
pub(crate) const MIN_POSITIVE: f32 = 1e-7;
/// Above this magnitude sums and products in float16 overflow easily (its largest finite
/// value is 65504); finite values are lowered to it.
pub(crate) const MAX_FINITE: f32 = 1e4;

/// Ops of the default domain that run in float32: no float16 kernel in common runtimes, or
/// results too sensitive for half precision (indices, coordinates, quantization scales).
const BLOCKED: &[&str] = &[
    "Resize",
    "TopK",
    "NonMaxSuppression",
    "RoiAlign",
    "Range",
    "CumSum",
    "Min",
    "Max",
    "Upsample",
    "RandomUniformLike",
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "TfIdfVectorizer",
];
/// Every op of this domain (the classical ML operators) stays in float32.
const ML_DOMAIN: &str = "ai.onnx.ml";

const FLOAT: i32 = DataType::Float as i32;
const FLOAT16: i32 = DataType::Float16 as i32;

/// The value to store for `v` in float16: clamped into the safe range, then rounded.
pub(crate) fn clamp(v: f32) -> f32 {
    if v == 0.0 || !v.is_finite() {
        v
    } else if v.abs() < MIN_POSITIVE {
        MIN_POSITIVE.copysign(v)
    } else if v.abs() > MAX_FINITE {
        MAX_FINITE.copysign(v)
    } else {
        v
    }
}

fn is_default_domain(n: &NodeProto) -> bool {
    n.domain().is_empty() || n.domain() == "ai.onnx"
}

fn is_blocked(n: &NodeProto) -> bool {
    n.domain() == ML_DOMAIN || (is_default_domain(n) && BLOCKED.contains(&n.op_type()))
}

/// The precision a float32 value holds after the pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Prec {
    F32,
    F16,
}

impl Prec {
    fn data_type(self) -> DataType {
        match self {
            Prec::F32 => DataType::Float,
            Prec::F16 => DataType::Float16,
        }
    }
}

/// What a reader of a float32 value expects after the pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Exactly(Prec),
    /// The reader takes any type (Cast's input, Shape): no Cast is inserted for it.
    Any,
}

fn want(n: &NodeProto, slot: usize) -> Want {
    if is_blocked(n) {
        return Want::Exactly(Prec::F32);
    }
    if is_default_domain(n)
        && slot == 0
        && matches!(n.op_type(), "Cast" | "CastLike" | "Shape" | "Size")
    {
        return Want::Any;
    }
    Want::Exactly(Prec::F16)
}

/// Producers whose output can as well stay float32 when every reader wants float32: no
/// computation happens in them, so nothing is lost.
fn is_flexible(n: &NodeProto) -> bool {
    is_default_domain(n) && matches!(n.op_type(), "Constant" | "ConstantOfShape" | "Cast")
}

/// Outputs that stay float32 whatever the inputs: LayerNormalization's mean and inverse
/// standard deviation are computed in `stash_type` (float by default).
fn stays_f32(n: &NodeProto, output: usize) -> bool {
    is_default_domain(n)
        && n.op_type() == "LayerNormalization"
        && output >= 1
        && graph::int_attr(n, "stash_type", 1) == 1
}

struct Plan {
    /// Every value that was float32, with the precision it holds after the pass.
    held: HashMap<String, Prec>,
    /// What each graph output must be: float32 with `keep_io_types`, else float16.
    io: Prec,
    /// Initializers and nodes whose float32 data or computation becomes float16.
    work: usize,
}

impl Plan {
    fn new(graph: &GraphProto, types: &Types, keep_io_types: bool) -> Plan {
        let io = if keep_io_types { Prec::F32 } else { Prec::F16 };
        let is_f32 = |v: &str| !v.is_empty() && types.get(v) == Some(&FLOAT);
        let mut uses: HashMap<&str, Vec<Want>> = HashMap::new();
        for n in &graph.node {
            for (slot, v) in n.input.iter().enumerate() {
                if is_f32(v) {
                    uses.entry(v.as_str()).or_default().push(want(n, slot));
                }
            }
        }
        for o in &graph.output {
            if is_f32(o.name()) {
                uses.entry(o.name()).or_default().push(Want::Exactly(io));
            }
        }
        // Stays float32 when some reader wants float32 and none wants float16.
        let only_f32_readers = |v: &str| {
            uses.get(v).is_some_and(|u| {
                u.contains(&Want::Exactly(Prec::F32)) && !u.contains(&Want::Exactly(Prec::F16))
            })
        };
        let mut held: HashMap<String, Prec> = HashMap::new();
        let mut work = 0;
        for i in &graph.input {
            if is_f32(i.name()) {
                held.insert(i.name().to_string(), io);
            }
        }
        for t in &graph.initializer {
            if is_f32(t.name()) && !held.contains_key(t.name()) {
                let p = if only_f32_readers(t.name()) {
                    Prec::F32
                } else {
                    work += 1;
                    Prec::F16
                };
                held.insert(t.name().to_string(), p);
            }
        }
        for n in &graph.node {
            let mut converts = false;
            for (k, o) in n.output.iter().enumerate() {
                if !is_f32(o) || held.contains_key(o.as_str()) {
                    continue;
                }
                let p = if is_blocked(n)
                    || stays_f32(n, k)
                    || (is_flexible(n) && only_f32_readers(o))
                {
                    Prec::F32
                } else {
                    converts |= !(is_default_domain(n) && n.op_type() == "Cast");
                    Prec::F16
                };
                held.insert(o.clone(), p);
            }
            work += usize::from(converts);
        }
        Plan { held, io, work }
    }
}

pub(crate) fn convert(model: &mut ModelProto, keep_io_types: bool) -> Result<PassReport> {
    let graph = model.graph.as_mut().expect("checked by optimize_onnx");
    if let Some(n) = graph
        .node
        .iter()
        .find(|n| graph::subgraphs(n).next().is_some())
    {
        return Err(OptimizeError::unsupported(format!(
            "fp16 does not convert control flow yet ({} in node '{}'): its subgraphs would \
             keep float32 values the converted graph feeds float16",
            n.op_type(),
            n.name()
        )));
    }
    if let Some(s) = graph.sparse_initializer.iter().find(|s| {
        s.values
            .as_ref()
            .is_some_and(|v| v.data_type == Some(FLOAT))
    }) {
        return Err(OptimizeError::unsupported(format!(
            "weight '{}' is a sparse tensor, which fp16 does not convert yet: store it dense",
            s.values.as_ref().map_or("", |v| v.name())
        )));
    }
    let mut types = types::infer(graph);
    let mut plan = Plan::new(graph, &types, keep_io_types);
    if plan.work == 0 {
        let has_f16 = types.values().any(|&t| t == FLOAT16);
        return Err(OptimizeError::unsupported(if has_f16 {
            "the model is already float16: it holds float16 tensors and computes nothing in \
             float32 outside Casts and the ops fp16 keeps in float32; convert its float32 \
             parent instead"
        } else {
            "the model has no float32 weights or computation to convert to float16"
        }));
    }

    let mut report = PassReport::new();
    let mut names = Names::of(graph);
    let nodes_before = graph.node.len();

    // Graph outputs whose value holds the other precision: the producer writes a new name and
    // a Cast at the end writes the output's own.
    let mut output_casts = Vec::new();
    let mut seen = HashSet::new();
    let output_names: Vec<String> = graph.output.iter().map(|o| o.name().to_string()).collect();
    for o in output_names {
        if !seen.insert(o.clone()) {
            continue;
        }
        match plan.held.get(&o) {
            Some(&p) if p != plan.io => {
                let inner = names.fresh(&o);
                rename_value(graph, &o, &inner);
                plan.held.insert(inner.clone(), p);
                types.insert(inner.clone(), FLOAT);
                output_casts.push(node(
                    "Cast",
                    names.fresh(&format!("{o}_cast")),
                    &[&inner],
                    &[&o],
                    vec![attr_int("to", plan.io.data_type() as i64)],
                ));
            }
            _ => {}
        }
    }

    let mut clamped = 0usize;
    let mut kept_f32: BTreeMap<String, usize> = BTreeMap::new();
    let mut casts: HashMap<(String, Prec), String> = HashMap::new();
    let nodes = std::mem::take(&mut graph.node);
    let mut out: Vec<NodeProto> = Vec::with_capacity(nodes.len() + output_casts.len());
    for mut n in nodes {
        let touches_float = n
            .input
            .iter()
            .chain(&n.output)
            .any(|v| types.get(v.as_str()) == Some(&FLOAT));
        for slot in 0..n.input.len() {
            let v = &n.input[slot];
            let (Some(&have), Want::Exactly(need)) = (plan.held.get(v.as_str()), want(&n, slot))
            else {
                continue;
            };
            if have != need {
                let key = (v.clone(), need);
                let cast = match casts.get(&key) {
                    Some(c) => c.clone(),
                    None => {
                        let suffix = match need {
                            Prec::F32 => "fp32",
                            Prec::F16 => "fp16",
                        };
                        let c = names.fresh(&format!("{v}_{suffix}"));
                        out.push(node(
                            "Cast",
                            names.fresh(&format!("{v}_cast")),
                            &[v],
                            &[&c],
                            vec![attr_int("to", need.data_type() as i64)],
                        ));
                        casts.insert(key, c.clone());
                        c
                    }
                };
                n.input[slot] = cast;
            }
        }
        if is_blocked(&n) {
            if touches_float {
                *kept_f32.entry(n.op_type().to_string()).or_default() += 1;
            }
        } else if n
            .output
            .first()
            .is_some_and(|o| plan.held.get(o.as_str()) == Some(&Prec::F16))
        {
            clamped += retype_node(&mut n)?;
        }
        out.push(n);
    }
    out.extend(output_casts);
    graph.node = out;

    for t in graph.initializer.iter_mut() {
        if plan.held.get(t.name()) == Some(&Prec::F16) {
            let (half, c) = to_fp16(t)?;
            report.tensors_changed += 1;
            report.weight_bytes_before += graph::data_bytes(t);
            report.weight_bytes_after += graph::data_bytes(&half);
            clamped += c;
            *t = half;
        } else if t.data_type == Some(FLOAT) {
            report.tensors_skipped += 1;
        }
    }
    for v in graph.value_info.iter_mut() {
        if plan.held.get(v.name()) == Some(&Prec::F16) {
            types::set_declared(v, DataType::Float16);
        }
    }
    if !keep_io_types {
        for v in graph.input.iter_mut().chain(graph.output.iter_mut()) {
            if types::declared(v) == Some(FLOAT) {
                types::set_declared(v, DataType::Float16);
            }
        }
    }

    remove_redundant_casts(graph);
    report.nodes_added = graph.node.len().saturating_sub(nodes_before);

    if !kept_f32.is_empty() {
        let total: usize = kept_f32.values().sum();
        let list: Vec<String> = kept_f32
            .iter()
            .map(|(op, k)| format!("{op} ×{k}"))
            .collect();
        report.notes.push(format!(
            "{total} ops kept in float32 behind Casts: {}",
            list.join(", ")
        ));
    }
    report.notes.push(if keep_io_types {
        "graph inputs and outputs stay float32 (Casts at the edges): callers feed the same \
         tensors as before"
            .into()
    } else {
        "graph inputs and outputs are float16: callers feed and read half-precision tensors".into()
    });
    if clamped > 0 {
        report.notes.push(format!(
            "{clamped} constant values were clamped into float16's safe range (magnitudes \
             {MIN_POSITIVE:e} to {MAX_FINITE:e}; zeros and infinities unchanged)"
        ));
    }
    Ok(report)
}

/// Renames value `from` to `to` wherever the graph names it except in its inputs and outputs.
fn rename_value(graph: &mut GraphProto, from: &str, to: &str) {
    for n in graph.node.iter_mut() {
        for v in n.input.iter_mut().chain(n.output.iter_mut()) {
            if v == from {
                *v = to.to_string();
            }
        }
    }
    for t in graph.initializer.iter_mut().filter(|t| t.name() == from) {
        t.name = Some(to.to_string());
    }
    for v in graph.value_info.iter_mut().filter(|v| v.name() == from) {
        v.name = Some(to.to_string());
    }
}

/// Rewrites what makes a (non-blocked) node produce float32 so it produces float16: Cast's
/// `to`, Constant and ConstantOfShape values, `dtype`-like attributes. Returns how many
/// constant values were clamped.
fn retype_node(n: &mut NodeProto) -> Result<usize> {
    if !is_default_domain(n) {
        return Ok(0);
    }
    let op = n.op_type().to_string();
    let mut clamped = 0;
    match op.as_str() {
        "Cast" => {
            for a in n.attribute.iter_mut().filter(|a| a.name() == "to") {
                if a.i == Some(i64::from(FLOAT)) {
                    a.i = Some(i64::from(FLOAT16));
                }
            }
        }
        "Constant" => {
            for a in n.attribute.iter_mut() {
                let tensor = match a.name() {
                    "value" => match a.t.as_ref() {
                        Some(t) if t.data_type == Some(FLOAT) => t.clone(),
                        _ => continue,
                    },
                    "value_float" => graph::f32_tensor("", &[], &[a.f.unwrap_or(0.0)]),
                    "value_floats" => graph::f32_tensor("", &[a.floats.len() as i64], &a.floats),
                    _ => continue,
                };
                let (half, c) = to_fp16(&tensor)?;
                clamped += c;
                *a = tensor_attr("value", half);
            }
        }
        "ConstantOfShape" => match n.attribute.iter_mut().find(|a| a.name() == "value") {
            Some(a) => {
                if let Some(t) = a.t.as_ref().filter(|t| t.data_type == Some(FLOAT)) {
                    let (half, c) = to_fp16(t)?;
                    clamped += c;
                    a.t = Some(half);
                }
            }
            // The default value is a float32 zero.
            None => n
                .attribute
                .push(tensor_attr("value", fp16_tensor("", &[1], &[0.0]).0)),
        },
        _ => {
            let default_float = match op.as_str() {
                "RandomNormal" | "RandomUniform" => Some("dtype"),
                "HannWindow" | "HammingWindow" | "BlackmanWindow" | "MelWeightMatrix" => {
                    Some("output_datatype")
                }
                _ => None,
            };
            let mut found = false;
            for a in n
                .attribute
                .iter_mut()
                .filter(|a| matches!(a.name(), "dtype" | "output_datatype"))
            {
                found |= Some(a.name()) == default_float;
                if a.i == Some(i64::from(FLOAT)) {
                    a.i = Some(i64::from(FLOAT16));
                }
            }
            if let (Some(name), false) = (default_float, found) {
                n.attribute.push(attr_int(name, i64::from(FLOAT16)));
            }
        }
    }
    Ok(clamped)
}

fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Tensor as i32),
        t: Some(t),
        ..Default::default()
    }
}

/// A float16 tensor of `values` (clamped), with how many were clamped.
fn fp16_tensor(name: &str, dims: &[i64], values: &[f32]) -> (TensorProto, usize) {
    let mut clamped = 0;
    let raw = values
        .iter()
        .flat_map(|&v| {
            let c = clamp(v);
            // NaN != NaN: only count real changes.
            clamped += usize::from(c != v && !v.is_nan());
            half::f16::from_f32(c).to_bits().to_le_bytes()
        })
        .collect();
    (raw_tensor(name, dims, DataType::Float16, raw), clamped)
}

/// A float32 tensor as float16, keeping its name, dims and doc string.
fn to_fp16(t: &TensorProto) -> Result<(TensorProto, usize)> {
    let values = graph::float_values(t)?.expect("a float32 tensor");
    let (mut half, clamped) = fp16_tensor(t.name(), &t.dims, &values);
    half.doc_string = t.doc_string.clone();
    half.name = t.name.clone();
    Ok((half, clamped))
}

fn cast_to(n: &NodeProto) -> Option<i32> {
    if is_default_domain(n) && n.op_type() == "Cast" {
        n.attribute
            .iter()
            .find(|a| a.name() == "to")
            .and_then(|a| a.i)
            .map(|t| t as i32)
    } else {
        None
    }
}

/// Removes Casts that change nothing: a float16 → float32 Cast whose only reader casts back
/// to float16 (the reader then reads the float16 value), and a Cast to the type its input
/// already has (its readers read the input). Casts that write a graph output stay. Returns
/// how many nodes went.
fn remove_redundant_casts(graph: &mut GraphProto) -> usize {
    let types = types::infer(graph);
    let counts = graph::use_counts(graph);
    let outputs: HashSet<String> = graph.output.iter().map(|o| o.name().to_string()).collect();
    let producer: HashMap<String, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.clone(), i)))
        .collect();
    let mut removed = vec![false; graph.node.len()];
    let mut replace: HashMap<String, String> = HashMap::new();
    for i in 0..graph.node.len() {
        for v in graph.node[i].input.iter_mut() {
            if let Some(r) = replace.get(v.as_str()) {
                *v = r.clone();
            }
        }
        let Some(to) = cast_to(&graph.node[i]) else {
            continue;
        };
        let Some(mut x) = graph.node[i].input.first().cloned() else {
            continue;
        };
        if to == FLOAT16 {
            if let Some(&a) = producer.get(&x) {
                let up = &graph.node[a];
                if !removed[a]
                    && cast_to(up) == Some(FLOAT)
                    && counts.get(&x) == Some(&1)
                    && !outputs.contains(&x)
                    && up
                        .input
                        .first()
                        .is_some_and(|u| types.get(u.as_str()) == Some(&FLOAT16))
                {
                    removed[a] = true;
                    x = up.input[0].clone();
                    graph.node[i].input[0] = x.clone();
                }
            }
        }
        let y = graph.node[i].output.first().cloned().unwrap_or_default();
        if types.get(&x) == Some(&to) && !outputs.contains(&y) && !y.is_empty() {
            removed[i] = true;
            replace.insert(y, x);
        }
    }
    // Values no node writes any more lose their declared types.
    let gone: HashSet<String> = graph
        .node
        .iter()
        .zip(&removed)
        .filter(|(_, &r)| r)
        .flat_map(|(n, _)| n.output.iter().cloned())
        .collect();
    graph.value_info.retain(|v| !gone.contains(v.name()));
    let mut k = 0;
    graph.node.retain(|_| {
        k += 1;
        !removed[k - 1]
    });
    removed.iter().filter(|&&r| r).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamping_keeps_values_float16_can_hold() {
        assert_eq!(clamp(1e-9), 1e-7);
        assert_eq!(clamp(-1e-9), -1e-7);
        assert_eq!(clamp(1e6), 1e4);
        assert_eq!(clamp(-1e6), -1e4);
        assert_eq!(clamp(0.0), 0.0);
        assert!(clamp(-0.0).is_sign_negative());
        assert_eq!(clamp(f32::INFINITY), f32::INFINITY);
        assert_eq!(clamp(f32::NEG_INFINITY), f32::NEG_INFINITY);
        assert!(clamp(f32::NAN).is_nan());
        assert_eq!(clamp(0.25), 0.25);
        assert_eq!(clamp(-1e4), -1e4);
    }

    /// h (float16) → Cast to float → Cast to float16 → Relu → y, plus a second float Cast of
    /// h that another node also reads.
    fn round_trip_graph() -> GraphProto {
        use mlgate_ir::fixtures::{value_info, DimSpec::Fixed};
        let to = |t: i32| vec![attr_int("to", i64::from(t))];
        GraphProto {
            input: vec![value_info("h", DataType::Float16, &[Fixed(2)])],
            output: vec![
                value_info("y", DataType::Float16, &[Fixed(2)]),
                value_info("z", DataType::Float16, &[Fixed(2)]),
                value_info("w", DataType::Float, &[Fixed(2)]),
            ],
            node: vec![
                node("Cast", "a".into(), &["h"], &["h32"], to(FLOAT)),
                node("Cast", "b".into(), &["h32"], &["h16"], to(FLOAT16)),
                node("Relu", "r".into(), &["h16"], &["y"], vec![]),
                node("Cast", "c".into(), &["h"], &["k32"], to(FLOAT)),
                node("Cast", "d".into(), &["k32"], &["z"], to(FLOAT16)),
                node("Neg", "n".into(), &["k32"], &["w"], vec![]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn casts_that_undo_each_other_go() {
        let mut g = round_trip_graph();
        assert_eq!(remove_redundant_casts(&mut g), 2);
        let names: Vec<&str> = g.node.iter().map(|n| n.name()).collect();
        // a and b go (Relu reads h); c stays, read by Neg too; d writes a graph output.
        assert_eq!(names, ["r", "c", "d", "n"]);
        assert_eq!(g.node[0].input, ["h"]);
        assert_eq!(g.node[2].input, ["k32"]);
    }

    #[test]
    fn a_tensor_is_stored_as_clamped_halves() {
        let t = graph::f32_tensor("w", &[6], &[1e-9, -1e-9, 1e6, 0.0, f32::INFINITY, 0.5]);
        let (half, clamped) = to_fp16(&t).unwrap();
        assert_eq!(half.data_type, Some(FLOAT16));
        assert_eq!(half.name(), "w");
        assert_eq!(half.dims, vec![6]);
        assert_eq!(clamped, 3);
        let got: Vec<f32> = half
            .raw_data
            .unwrap()
            .chunks_exact(2)
            .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect();
        let h = |v: f32| half::f16::from_f32(v).to_f32();
        assert_eq!(got, vec![h(1e-7), h(-1e-7), 1e4, 0.0, f32::INFINITY, 0.5]);
        assert!(got[0] > 0.0 && got[1] < 0.0);
    }
}
