//! Graph facts from an ONNX model: conv ranks, embedding tables, and how each input is used.
//!
//! Subgraphs (If branches, Loop bodies) are flattened into one node list: their nodes name
//! outer values directly, so a walk from an input follows into them without special cases.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::{AttributeProto, GraphProto, NodeProto, TensorProto};

use super::{looks_like_mel_filterbank, Embedding, GraphFacts, InputUse, PixelRange};

/// A walk from one input stops after this many nodes: far enough to pass preprocessing,
/// bounded on huge graphs.
const MAX_WALK_NODES: usize = 512;
/// Hops a value may be traced back through value-preserving ops.
const MAX_TRACE_BACK: usize = 16;
/// Constants longer than this are weights, not preprocessing parameters.
const MAX_SMALL_CONST: usize = 64;

pub(super) fn analyse(path: &Path, facts: &mut GraphFacts) -> Result<(), String> {
    let model = mlgate_ir::onnx::read_model(path).map_err(|e| e.to_string())?;
    let Some(graph) = model.graph.as_ref() else {
        return Err("the model has no graph".into());
    };
    let g = Flat::new(graph);

    for node in &g.nodes {
        if is_conv(op(node)) {
            *facts.conv_ranks.entry(g.conv_rank(node)).or_default() += 1;
        }
    }
    facts.embeddings = g.embeddings();
    facts.mel_filterbank = g.mel_filterbank();
    for input in &g.graph_inputs {
        facts.inputs.insert(input.to_string(), g.walk_from(input));
    }
    Ok(())
}

fn op(node: &NodeProto) -> &str {
    node.op_type.as_deref().unwrap_or("")
}

fn is_conv(op: &str) -> bool {
    matches!(
        op,
        "Conv" | "ConvInteger" | "QLinearConv" | "ConvTranspose" | "NhwcConv" | "FusedConv"
    )
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
}

/// A value whose shape is known without running the model.
struct Const<'m> {
    dims: Vec<i64>,
    tensor: Option<&'m TensorProto>,
}

/// The model's graphs as one list of nodes, with lookups by value name.
struct Flat<'m> {
    nodes: Vec<&'m NodeProto>,
    consts: HashMap<&'m str, Const<'m>>,
    producers: HashMap<&'m str, usize>,
    consumers: HashMap<&'m str, Vec<(usize, usize)>>,
    /// Inputs of the main graph that are not initializers, in declaration order.
    graph_inputs: Vec<&'m str>,
    /// A subgraph output → the output of the If node it becomes (by position).
    aliases: HashMap<&'m str, Vec<&'m str>>,
}

impl<'m> Flat<'m> {
    fn new(main: &'m GraphProto) -> Flat<'m> {
        let mut graphs = vec![main];
        let mut i = 0;
        while let Some(g) = graphs.get(i).copied() {
            for n in &g.node {
                for a in &n.attribute {
                    graphs.extend(a.g.iter());
                    graphs.extend(a.graphs.iter());
                }
            }
            i += 1;
        }
        let mut flat = Flat {
            nodes: Vec::new(),
            consts: HashMap::new(),
            producers: HashMap::new(),
            consumers: HashMap::new(),
            graph_inputs: Vec::new(),
            aliases: HashMap::new(),
        };
        for g in &graphs {
            for t in &g.initializer {
                if let Some(name) = t.name.as_deref() {
                    flat.consts.insert(
                        name,
                        Const {
                            dims: t.dims.clone(),
                            tensor: Some(t),
                        },
                    );
                }
            }
            flat.nodes.extend(g.node.iter());
        }
        let initializers: HashSet<&str> = main
            .initializer
            .iter()
            .filter_map(|t| t.name.as_deref())
            .collect();
        flat.graph_inputs = main
            .input
            .iter()
            .filter_map(|v| v.name.as_deref())
            .filter(|n| !initializers.contains(n))
            .collect();
        for (i, n) in flat.nodes.iter().enumerate() {
            for o in &n.output {
                flat.producers.insert(o.as_str(), i);
            }
            // A branch's outputs leave under the If node's output names; without this link a
            // walk would stop at every If (torch exports `squeeze(-1)` as one).
            if op(n) == "If" {
                for a in &n.attribute {
                    for g in a.g.iter() {
                        for (sub, outer) in g.output.iter().zip(&n.output) {
                            if let Some(sub) = sub.name.as_deref() {
                                flat.aliases.entry(sub).or_default().push(outer.as_str());
                            }
                        }
                    }
                }
            }
            for (slot, v) in n.input.iter().enumerate() {
                if !v.is_empty() {
                    flat.consumers
                        .entry(v.as_str())
                        .or_default()
                        .push((i, slot));
                }
            }
        }
        // Two passes reach constants derived from constants defined later in the list (a
        // subgraph's nodes follow the outer graph's).
        for _ in 0..2 {
            for i in 0..flat.nodes.len() {
                let n = flat.nodes[i];
                let Some(out) = n.output.first().map(String::as_str) else {
                    continue;
                };
                if flat.consts.contains_key(out) {
                    continue;
                }
                if let Some(c) = flat.derived_const(n) {
                    flat.consts.insert(out, c);
                }
            }
        }
        flat
    }

    /// The constant a node produces, when its output is known without running it: Constant,
    /// ConstantOfShape of a constant shape (how stripped "light" models keep weights), and
    /// dequantization or casts of constants.
    fn derived_const(&self, n: &'m NodeProto) -> Option<Const<'m>> {
        match op(n) {
            "Constant" => {
                if let Some(t) = attr(n, "value").and_then(|a| a.t.as_ref()) {
                    return Some(Const {
                        dims: t.dims.clone(),
                        tensor: Some(t),
                    });
                }
                let len = |a: &AttributeProto| a.floats.len().max(a.ints.len()) as i64;
                for (name, scalar) in [
                    ("value_float", true),
                    ("value_int", true),
                    ("value_floats", false),
                    ("value_ints", false),
                ] {
                    if let Some(a) = attr(n, name) {
                        let dims = if scalar { vec![] } else { vec![len(a)] };
                        return Some(Const { dims, tensor: None });
                    }
                }
                None
            }
            "ConstantOfShape" => {
                let shape = self.consts.get(n.input.first()?.as_str())?;
                let dims = int_values(shape.tensor?)?;
                Some(Const { dims, tensor: None })
            }
            "DequantizeLinear" | "Cast" | "Identity" | "CastLike" => {
                let src = self.consts.get(n.input.first()?.as_str())?;
                Some(Const {
                    dims: src.dims.clone(),
                    tensor: None,
                })
            }
            _ => None,
        }
    }

    /// Spatial rank of a convolution: from `kernel_shape`, else from the weight's rank.
    fn conv_rank(&self, n: &NodeProto) -> Option<u8> {
        if let Some(k) = attr(n, "kernel_shape") {
            if !k.ints.is_empty() {
                return u8::try_from(k.ints.len()).ok();
            }
        }
        let weight_slot = if op(n) == "QLinearConv" { 3 } else { 1 };
        let w = self.consts.get(n.input.get(weight_slot)?.as_str())?;
        u8::try_from(w.dims.len().checked_sub(2)?)
            .ok()
            .filter(|r| *r > 0)
    }

    /// The constant rank-2 table a Gather reads rows of.
    fn gather_table(&self, n: &NodeProto) -> Option<(&'m str, u64, u64)> {
        if op(n) != "Gather" || attr(n, "axis").and_then(|a| a.i).unwrap_or(0) != 0 {
            return None;
        }
        let name = n.input.first()?;
        let (name, c) = self.consts.get_key_value(name.as_str())?;
        match c.dims[..] {
            [rows, width] if rows > 1 && width > 0 => Some((name, rows as u64, width as u64)),
            _ => None,
        }
    }

    /// The graph input `value` is a copy of, seen through casts and reshapes.
    fn source_input(&self, mut value: &'m str) -> Option<&'m str> {
        for _ in 0..MAX_TRACE_BACK {
            if self.graph_inputs.contains(&value) {
                return Some(value);
            }
            let n = self.nodes[*self.producers.get(value)?];
            let preserving = matches!(
                op(n),
                "Cast"
                    | "CastLike"
                    | "Reshape"
                    | "Unsqueeze"
                    | "Squeeze"
                    | "Flatten"
                    | "Identity"
                    | "Expand"
                    | "Clip"
                    | "Transpose"
                    | "Slice"
                    | "Min"
                    | "Max"
            );
            if !preserving {
                return None;
            }
            value = n.input.first()?.as_str();
        }
        None
    }

    fn embeddings(&self) -> Vec<Embedding> {
        let mut out: Vec<Embedding> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |e: Embedding| {
            if seen.insert((e.table.clone(), e.input.clone())) {
                out.push(e);
            }
        };
        for n in &self.nodes {
            if let Some((table, rows, width)) = self.gather_table(n) {
                let input = n
                    .input
                    .get(1)
                    .and_then(|i| self.source_input(i))
                    .map(str::to_string);
                push(Embedding {
                    table: table.to_string(),
                    rows,
                    width,
                    input,
                });
            }
            // ONNX Runtime's fused BERT embedding: input_ids, segment_ids, word table,
            // position table, segment table.
            if op(n) == "EmbedLayerNormalization" {
                for (table_slot, ids_slot) in [(2, Some(0)), (3, None), (4, Some(1))] {
                    let Some(name) = n.input.get(table_slot) else {
                        continue;
                    };
                    let Some(c) = self.consts.get(name.as_str()) else {
                        continue;
                    };
                    if let [rows, width] = c.dims[..] {
                        let input = ids_slot
                            .and_then(|s| n.input.get(s))
                            .and_then(|i| self.source_input(i))
                            .map(str::to_string);
                        push(Embedding {
                            table: name.clone(),
                            rows: rows.max(0) as u64,
                            width: width.max(0) as u64,
                            input,
                        });
                    }
                }
            }
        }
        out
    }

    fn mel_filterbank(&self) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| op(n) == "MatMul")
            .flat_map(|n| n.input.iter())
            .find_map(|v| {
                let c = self.consts.get(v.as_str())?;
                let dims: Vec<u64> = c.dims.iter().map(|&d| d.max(0) as u64).collect();
                looks_like_mel_filterbank(&dims)
                    .then(|| format!("'{v}' ({} × {})", dims[0], dims[1]))
            })
    }

    /// Breadth-first from `input` to the nearest significant ops. A 1-D conv stack is
    /// followed to the recurrent or dense layer it feeds, to learn how many samples make one
    /// step of that layer.
    fn walk_from(&self, input: &str) -> InputUse {
        struct Step<'s> {
            value: &'s str,
            channels_last: bool,
            past_conv: bool,
            from: Option<usize>,
        }
        let mut found = InputUse::default();
        let mut queue = VecDeque::from([Step {
            value: input,
            channels_last: false,
            past_conv: false,
            from: None,
        }]);
        let mut parent: HashMap<usize, Option<usize>> = HashMap::new();
        while let Some(step) = queue.pop_front() {
            let Some(uses) = self.consumers.get(step.value) else {
                continue;
            };
            for &(ni, slot) in uses {
                if parent.contains_key(&ni) || parent.len() > MAX_WALK_NODES {
                    continue;
                }
                parent.insert(ni, step.from);
                let n = self.nodes[ni];
                let mut channels_last = step.channels_last;
                let mut past_conv = step.past_conv;
                match op(n) {
                    o if is_conv(o) => {
                        if slot != 0 {
                            continue;
                        }
                        let rank = self.conv_rank(n);
                        if !past_conv && found.conv.is_none() {
                            found.conv = Some((o.to_string(), rank));
                            found.channels_last = channels_last || o == "NhwcConv";
                        }
                        if rank != Some(1) {
                            continue;
                        }
                        past_conv = true;
                    }
                    "Gather" if slot == 1 && !past_conv => {
                        if let Some((table, rows, width)) = self.gather_table(n) {
                            found
                                .embedding
                                .get_or_insert((table.to_string(), rows, width));
                            continue;
                        }
                    }
                    o @ ("STFT" | "DFT") if !past_conv => {
                        found.spectral.get_or_insert(o.to_string());
                        continue;
                    }
                    o @ ("LSTM" | "GRU" | "RNN" | "Gemm" | "MatMul" | "MatMulInteger"
                    | "QLinearMatMul" | "Einsum") => {
                        // LSTM/GRU/RNN slots 5 and 6 are initial_h and initial_c.
                        if matches!(o, "LSTM" | "GRU" | "RNN") && slot >= 5 && !past_conv {
                            found.recurrent_state.get_or_insert(o.to_string());
                        }
                        if past_conv {
                            let hop = self.path_stride(ni, &parent);
                            found.frame_hop = found.frame_hop.max(Some(hop)).filter(|h| *h > 1);
                        }
                        // Past a learned projection the values are features, not the input.
                        continue;
                    }
                    // These read only the shape, not the values.
                    "Shape" | "Size" | "ConstantOfShape" | "Range" | "NonZero" => continue,
                    "Transpose" => {
                        let perm = attr(n, "perm").map(|a| a.ints.as_slice());
                        channels_last |= perm == Some(&[0, 3, 1, 2][..]);
                    }
                    o @ ("Sub" | "Div" | "Mul" | "Add") => {
                        // Mixed with another computed value (an LSTM cell's c * f), the
                        // result is no longer this input; only constants preserve it. Inside
                        // a conv stack, mixing is the stack's own (|STFT|² = re² + im²).
                        let other = n.input.get(1 - slot.min(1));
                        if !past_conv
                            && other.is_some_and(|v| !self.consts.contains_key(v.as_str()))
                        {
                            continue;
                        }
                        if found.range.is_none() && found.conv.is_none() {
                            found.range = self.range_hint(n, o, slot);
                        }
                    }
                    _ => {}
                }
                for out in &n.output {
                    let aliases = self.aliases.get(out.as_str()).into_iter().flatten();
                    for value in std::iter::once(out.as_str()).chain(aliases.copied()) {
                        queue.push_back(Step {
                            value,
                            channels_last,
                            past_conv,
                            from: Some(ni),
                        });
                    }
                }
            }
        }
        found
    }

    /// Product of the time strides of the 1-D convs and pools on the walk's path to node
    /// `end`: the input samples one step of `end` consumes.
    fn path_stride(&self, end: usize, parent: &HashMap<usize, Option<usize>>) -> u64 {
        let mut hop = 1u64;
        let mut at = parent.get(&end).copied().flatten();
        for _ in 0..=MAX_WALK_NODES {
            let Some(ni) = at else { break };
            let n = self.nodes[ni];
            let one_d = match op(n) {
                o if is_conv(o) => self.conv_rank(n) == Some(1),
                "MaxPool" | "AveragePool" => {
                    attr(n, "kernel_shape").is_some_and(|k| k.ints.len() == 1)
                }
                _ => false,
            };
            if one_d {
                let stride = attr(n, "strides")
                    .and_then(|a| a.ints.first().copied())
                    .unwrap_or(1);
                hop = hop.saturating_mul(u64::try_from(stride).unwrap_or(1).max(1));
            }
            at = parent.get(&ni).copied().flatten();
        }
        hop
    }

    /// The input range implied by preprocessing baked into the graph: scaling by 1/255 or
    /// subtracting 0-255 means says pixels; subtracting means below 1 says [0, 1].
    fn range_hint(&self, n: &NodeProto, op: &str, slot: usize) -> Option<(PixelRange, String)> {
        let other = n.input.get(1 - slot.min(1))?;
        let c = self.consts.get(other.as_str())?;
        let values = float_values(c.tensor?)?;
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let max_abs = values.iter().fold(0f32, |m, v| m.max(v.abs()));
        let shown = values
            .iter()
            .take(3)
            .map(|v| format!("{v:.4}"))
            .collect::<Vec<_>>()
            .join(", ");
        let why = |what: &str| format!("the graph {what} {shown}");
        match op {
            "Div" if slot == 0 && max_abs >= 100.0 => {
                Some((PixelRange::Pixels, why("divides the input by")))
            }
            "Mul" if max_abs > 0.0 && max_abs <= 0.01 => {
                Some((PixelRange::Pixels, why("multiplies the input by")))
            }
            "Sub" | "Add" if max_abs >= 50.0 => {
                Some((PixelRange::Pixels, why("offsets the input by")))
            }
            "Sub" if slot == 0 && values.iter().all(|v| *v > 0.0 && *v <= 1.0) => {
                Some((PixelRange::Unit, why("subtracts")))
            }
            _ => None,
        }
    }
}

/// Integer elements of a small constant (shapes, indices).
fn int_values(t: &TensorProto) -> Option<Vec<i64>> {
    let dt = t.data_type?;
    let raw = t.raw_data.as_deref().filter(|r| !r.is_empty());
    let v: Vec<i64> = if dt == DataType::Int64 as i32 {
        match raw {
            Some(r) => r
                .chunks_exact(8)
                .take(MAX_SMALL_CONST)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            None => t.int64_data.iter().take(MAX_SMALL_CONST).copied().collect(),
        }
    } else if dt == DataType::Int32 as i32 {
        match raw {
            Some(r) => r
                .chunks_exact(4)
                .take(MAX_SMALL_CONST)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
            None => t
                .int32_data
                .iter()
                .take(MAX_SMALL_CONST)
                .map(|&x| i64::from(x))
                .collect(),
        }
    } else {
        return None;
    };
    Some(v)
}

/// Float elements of a small constant; `None` for weights and non-float tensors.
fn float_values(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type? != DataType::Float as i32 {
        return None;
    }
    let v: Vec<f32> = match t.raw_data.as_deref().filter(|r| !r.is_empty()) {
        Some(r) if r.len() <= MAX_SMALL_CONST * 4 => r
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            .collect(),
        Some(_) => return None,
        None if t.float_data.len() <= MAX_SMALL_CONST => t.float_data.clone(),
        None => return None,
    };
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlgate_ir::fixtures;

    fn facts_of(model: mlgate_ir::onnx::proto::ModelProto) -> GraphFacts {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        mlgate_ir::onnx::write_model(&path, &model).unwrap();
        let mut f = GraphFacts::default();
        analyse(&path, &mut f).unwrap();
        f
    }

    #[test]
    fn conv_ranks_tell_images_from_waveforms() {
        let f = facts_of(fixtures::vision_cnn());
        assert_eq!(f.conv_count(2), 17);
        assert_eq!(f.inputs["input"].conv, Some(("Conv".into(), Some(2))));
        assert!(!f.inputs["input"].channels_last);
        let f = facts_of(fixtures::audio_conv());
        assert_eq!(f.conv_count(1), 4);
        assert_eq!(f.inputs["waveform"].conv, Some(("Conv".into(), Some(1))));
    }

    #[test]
    fn embedding_tables_give_vocabulary_and_positions() {
        let f = facts_of(fixtures::nlp_encoder());
        let ids = &f.inputs["input_ids"];
        assert_eq!(ids.embedding.as_ref().map(|e| e.1), Some(4096));
        assert!(f.inputs["attention_mask"].embedding.is_none());
        let pos = f.position_table().expect("position table");
        assert_eq!((pos.rows, pos.width), (512, 128));
        let token: Vec<_> = f.embeddings.iter().filter(|e| e.input.is_some()).collect();
        assert_eq!(token.len(), 1);
        assert_eq!(token[0].input.as_deref(), Some("input_ids"));
    }
}
