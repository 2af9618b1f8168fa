//! What every pass needs from an ONNX graph: weights as numbers, who consumes a value, fresh
//! names, and new tensors and nodes.

use std::collections::{HashMap, HashSet};

use mlgate_ir::onnx::proto::attribute_proto::AttributeType;
use mlgate_ir::onnx::proto::tensor_proto::{DataLocation, DataType};
use mlgate_ir::onnx::proto::{AttributeProto, GraphProto, NodeProto, TensorProto};

use crate::{OptimizeError, Result};

/// Passes rewrite weights in memory; weights kept in external files would have to be
/// rewritten there too, which no pass does yet.
pub(crate) fn require_inline_data(graph: &GraphProto) -> Result<()> {
    if let Some(t) = graph
        .initializer
        .iter()
        .find(|t| t.data_location == Some(DataLocation::External as i32))
    {
        return Err(OptimizeError::unsupported(format!(
            "weight '{}' is stored in an external data file; passes need the weights inside \
             the .onnx file (save it with onnx.save(model, path, save_as_external_data=False), \
             possible below 2 GB)",
            t.name()
        )));
    }
    Ok(())
}

/// Values of a float32 initializer, from `raw_data` or `float_data`. `None` for other types.
pub(crate) fn float_values(t: &TensorProto) -> Result<Option<Vec<f32>>> {
    if t.data_type != Some(DataType::Float as i32) {
        return Ok(None);
    }
    let n = element_count(t)?;
    let values: Vec<f32> = match t.raw_data.as_deref() {
        Some(raw) if !raw.is_empty() || t.float_data.is_empty() => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        _ => t.float_data.clone(),
    };
    if values.len() != n {
        return Err(OptimizeError::malformed(format!(
            "weight '{}' holds {} values for shape {:?}",
            t.name(),
            values.len(),
            t.dims
        )));
    }
    Ok(Some(values))
}

/// Number of elements a tensor's dims describe.
pub(crate) fn element_count(t: &TensorProto) -> Result<usize> {
    t.dims.iter().try_fold(1usize, |acc, &d| {
        usize::try_from(d)
            .ok()
            .and_then(|d| acc.checked_mul(d))
            .ok_or_else(|| {
                OptimizeError::malformed(format!("weight '{}' has shape {:?}", t.name(), t.dims))
            })
    })
}

/// Bytes an initializer's data takes in the file (what a pass saves or spends).
pub(crate) fn data_bytes(t: &TensorProto) -> u64 {
    let typed = t.float_data.len() * 4
        + t.int32_data.len() * 4
        + t.int64_data.len() * 8
        + t.double_data.len() * 8
        + t.uint64_data.len() * 8;
    (t.raw_data.as_ref().map_or(0, Vec::len) + typed) as u64
}

/// A tensor of any element type from little-endian bytes.
pub(crate) fn raw_tensor(name: &str, dims: &[i64], dtype: DataType, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.to_vec(),
        data_type: Some(dtype as i32),
        raw_data: Some(raw),
        ..Default::default()
    }
}

pub(crate) fn f32_tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, DataType::Float, raw)
}

pub(crate) fn i64_tensor(name: &str, dims: &[i64], values: &[i64]) -> TensorProto {
    let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, DataType::Int64, raw)
}

pub(crate) fn u32_tensor(name: &str, dims: &[i64], values: &[u32]) -> TensorProto {
    let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, DataType::Uint32, raw)
}

pub(crate) fn node(
    op: &str,
    name: String,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        name: Some(name),
        op_type: Some(op.to_string()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

pub(crate) fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

pub(crate) fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// An integer attribute of a node, or `default`.
pub(crate) fn int_attr(node: &NodeProto, name: &str, default: i64) -> i64 {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.i)
        .unwrap_or(default)
}

pub(crate) fn float_attr(node: &NodeProto, name: &str, default: f32) -> f32 {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.f)
        .unwrap_or(default)
}

/// Fresh value and node names: never one the graph (or any subgraph) already uses.
pub(crate) struct Names {
    used: HashSet<String>,
    counter: usize,
}

impl Names {
    pub(crate) fn of(graph: &GraphProto) -> Names {
        let mut used = HashSet::new();
        collect_names(graph, &mut used);
        Names { used, counter: 0 }
    }

    pub(crate) fn fresh(&mut self, base: &str) -> String {
        loop {
            self.counter += 1;
            let name = format!("{base}__mlgate{}", self.counter);
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }
}

fn collect_names(graph: &GraphProto, used: &mut HashSet<String>) {
    for t in &graph.initializer {
        used.insert(t.name().to_string());
    }
    for v in graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info)
    {
        used.insert(v.name().to_string());
    }
    for n in &graph.node {
        used.insert(n.name().to_string());
        used.extend(n.input.iter().cloned());
        used.extend(n.output.iter().cloned());
        for g in subgraphs(n) {
            collect_names(g, used);
        }
    }
}

pub(crate) fn subgraphs(node: &NodeProto) -> impl Iterator<Item = &GraphProto> {
    node.attribute
        .iter()
        .flat_map(|a| a.g.iter().chain(a.graphs.iter()))
}

/// Every value name some subgraph reads (they may name outer-scope initializers).
pub(crate) fn names_used_in_subgraphs(graph: &GraphProto) -> HashSet<String> {
    fn walk(g: &GraphProto, out: &mut HashSet<String>) {
        for n in &g.node {
            out.extend(n.input.iter().cloned());
            for sg in subgraphs(n) {
                walk(sg, out);
            }
        }
    }
    let mut out = HashSet::new();
    for n in &graph.node {
        for sg in subgraphs(n) {
            walk(sg, &mut out);
        }
    }
    out
}

/// A weight slot: which input of which op holds a weight a pass may rewrite.
pub(crate) fn is_weight_slot(op: &str, domain: &str, input_index: usize) -> bool {
    if !domain.is_empty() && domain != "ai.onnx" {
        return false;
    }
    matches!(
        (op, input_index),
        ("Conv" | "ConvTranspose", 1) | ("MatMul" | "Gemm", 0 | 1) | ("Gather", 0)
    )
}

/// Float initializers of at least `min_elements` values that are only ever read as weights
/// (see [`is_weight_slot`]) at the top level, and not a graph output: in graph order.
pub(crate) fn weight_initializers(graph: &GraphProto, min_elements: usize) -> Vec<usize> {
    let in_subgraphs = names_used_in_subgraphs(graph);
    let outputs: HashSet<&str> = graph.output.iter().map(|o| o.name()).collect();
    let mut uses: HashMap<&str, (usize, bool)> = HashMap::new();
    for n in &graph.node {
        for (i, input) in n.input.iter().enumerate() {
            let e = uses.entry(input.as_str()).or_insert((0, true));
            e.0 += 1;
            e.1 &= is_weight_slot(n.op_type(), n.domain(), i);
        }
    }
    graph
        .initializer
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            let name = t.name();
            t.data_type == Some(DataType::Float as i32)
                && t.dims.len() >= 2
                && element_count(t).is_ok_and(|n| n >= min_elements)
                && !in_subgraphs.contains(name)
                && !outputs.contains(name)
                && uses
                    .get(name)
                    .is_some_and(|&(count, all_weights)| count > 0 && all_weights)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Initializers by name.
pub(crate) fn initializer_index(graph: &GraphProto) -> HashMap<String, usize> {
    graph
        .initializer
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name().to_string(), i))
        .collect()
}

/// How many times each value is read by a node at the top level or any subgraph, or is a
/// graph output.
pub(crate) fn use_counts(graph: &GraphProto) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for n in &graph.node {
        for i in &n.input {
            *counts.entry(i.clone()).or_default() += 1;
        }
    }
    for name in names_used_in_subgraphs(graph) {
        *counts.entry(name).or_default() += 1;
    }
    for o in &graph.output {
        *counts.entry(o.name().to_string()).or_default() += 1;
    }
    counts
}

/// Removes initializers no node reads any more (weights a pass replaced).
pub(crate) fn drop_unused_initializers(graph: &mut GraphProto) {
    let counts = use_counts(graph);
    graph
        .initializer
        .retain(|t| counts.get(t.name()).copied().unwrap_or(0) > 0);
}

/// `v / scale` rounded to the nearest integer (ties to even) and clamped to the type.
pub(crate) fn quantize(v: f32, scale: f32, qmin: f32, qmax: f32) -> f32 {
    (v / scale).round_ties_even().clamp(qmin, qmax)
}

/// Moves the tensors of top-level `Constant` nodes (`value` attribute) into initializers, so
/// passes see weights that exporters such as PaddlePaddle's write as Constant nodes. Returns
/// how many moved. Models older than IR 4 are left alone: there, every initializer must also
/// be a graph input.
pub(crate) fn hoist_constants(model: &mut mlgate_ir::onnx::proto::ModelProto) -> usize {
    if model.ir_version.unwrap_or(0) < 4 {
        return 0;
    }
    let Some(graph) = model.graph.as_mut() else {
        return 0;
    };
    let mut moved = 0;
    let nodes = std::mem::take(&mut graph.node);
    for mut n in nodes {
        let is_constant = n.op_type() == "Constant"
            && (n.domain().is_empty() || n.domain() == "ai.onnx")
            && n.output.len() == 1
            && n.attribute.len() == 1
            && n.attribute[0].name() == "value"
            && n.attribute[0].t.is_some();
        if is_constant {
            let mut t = n.attribute[0].t.take().expect("checked");
            t.name = Some(n.output[0].clone());
            graph.initializer.push(t);
            moved += 1;
        } else {
            graph.node.push(n);
        }
    }
    moved
}

/// Symmetric int8 of a weight in its own layout: one scale, or one per index of `axis`.
pub(crate) fn symmetric_int8(
    values: &[f32],
    dims: &[i64],
    axis: Option<i64>,
) -> (Vec<i8>, Vec<f32>) {
    let (channels, inner) = match axis {
        None => (1, values.len()),
        Some(a) => {
            let a = a as usize;
            let c = dims[a] as usize;
            let inner: usize = dims[a + 1..].iter().map(|&d| d as usize).product();
            (c, inner)
        }
    };
    let channel_of = |i: usize| {
        if channels == 1 {
            0
        } else {
            (i / inner) % channels
        }
    };
    let mut max = vec![0f32; channels];
    for (i, v) in values.iter().enumerate() {
        if v.is_finite() {
            let c = channel_of(i);
            max[c] = max[c].max(v.abs());
        }
    }
    let scales: Vec<f32> = max
        .iter()
        .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    let q = values
        .iter()
        .enumerate()
        .map(|(i, &v)| quantize(v, scales[channel_of(i)], -127.0, 127.0) as i8)
        .collect();
    (q, scales)
}
