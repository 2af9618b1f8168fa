//! Palettization: each weight becomes a lookup table of `2^nbits` float values (k-means
//! centroids) and one index per value, packed `32 / nbits` to a uint32 word. The graph rebuilds
//! the weight from them with standard ops (BitShift, Mod, GatherElements; opset 11), so any
//! ONNX runtime loads the result; runtimes fold that subgraph at load, so the saving is in the
//! file, not in resident memory.

use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::{GraphProto, ModelProto, NodeProto, TensorProto};

use crate::graph::{self, attr_int, attr_string, float_values, node, Names};
use crate::{kmeans, OptimizeError, PassReport, Result, MIN_WEIGHT_ELEMENTS};

pub(crate) fn palettize(
    model: &mut ModelProto,
    nbits: u8,
    group_size: Option<usize>,
) -> Result<PassReport> {
    let opset = crate::opset::default_opset(model);
    if opset < 11 {
        return Err(OptimizeError::unsupported(format!(
            "palettization needs opset 11 or later (BitShift, GatherElements); this model is \
             opset {opset}: convert it with onnx.version_converter first"
        )));
    }
    let graph = model.graph.as_mut().expect("checked by optimize_onnx");
    let eligible = graph::weight_initializers(graph, MIN_WEIGHT_ELEMENTS);
    let mut report = PassReport::new();
    report.tensors_skipped = graph.initializer.len() - eligible.len();
    let mut names = Names::of(graph);
    let mut unpack: Vec<NodeProto> = Vec::new();
    let mut new_inits: Vec<TensorProto> = Vec::new();
    let mut renamed: Vec<(String, String)> = Vec::new();
    let mut fallback_groups = 0usize;
    for &i in &eligible {
        let w = &graph.initializer[i];
        let values = float_values(w)?.expect("float weight");
        if values.iter().any(|v| !v.is_finite()) {
            report.tensors_skipped += 1;
            continue;
        }
        let axis = channel_axis(graph, w.name());
        let channels = w.dims[axis] as usize;
        let group = match group_size {
            Some(g) if g < channels && channels.is_multiple_of(g) => g,
            Some(g) if g < channels => {
                fallback_groups += 1;
                channels
            }
            _ => channels,
        };
        let layout = Layout::new(&w.dims, axis, group);
        let grouped = layout.group_major(&values);
        let per_group = grouped.len() / layout.groups;
        let levels = 1usize << nbits;
        let mut lut = vec![0f32; layout.groups * levels];
        let mut indices = Vec::with_capacity(grouped.len());
        for (g, chunk) in grouped.chunks(per_group).enumerate() {
            let c = kmeans::centroids(chunk, levels);
            lut[g * levels..g * levels + c.len()].copy_from_slice(&c);
            // Unused entries repeat the last centroid (never indexed).
            for j in c.len()..levels {
                lut[g * levels + j] = *c.last().expect("at least one value");
            }
            indices.extend(chunk.iter().map(|&v| kmeans::nearest(&c, v) as u32));
        }
        let words = pack(&indices, nbits);
        let base = w.name().to_string();
        let words_name = names.fresh(&format!("{base}_indices"));
        let lut_name = names.fresh(&format!("{base}_palette"));
        let words_t = graph::u32_tensor(&words_name, &[words.len() as i64], &words);
        let lut_t = graph::f32_tensor(&lut_name, &[layout.groups as i64, levels as i64], &lut);
        report.weight_bytes_before += graph::data_bytes(w);
        report.weight_bytes_after += graph::data_bytes(&words_t) + graph::data_bytes(&lut_t);
        report.tensors_changed += 1;
        new_inits.push(words_t);
        new_inits.push(lut_t);
        let rebuilt = names.fresh(&format!("{base}_palettized"));
        let before = unpack.len();
        emit_unpack(
            &mut names,
            &mut unpack,
            &mut new_inits,
            &words_name,
            &lut_name,
            indices.len(),
            words.len(),
            nbits,
            &layout,
            &w.dims,
            &rebuilt,
        );
        report.nodes_added += unpack.len() - before;
        renamed.push((base, rebuilt));
    }
    if report.tensors_changed == 0 {
        return Err(OptimizeError::unsupported(format!(
            "the model has no weights to palettize: it takes float weights of Conv, \
             ConvTranspose, MatMul, Gemm and Gather with at least {MIN_WEIGHT_ELEMENTS} values"
        )));
    }
    for n in graph.node.iter_mut() {
        for input in n.input.iter_mut() {
            if let Some((_, to)) = renamed.iter().find(|(from, _)| from == input) {
                *input = to.clone();
            }
        }
    }
    unpack.append(&mut graph.node);
    graph.node = unpack;
    graph.initializer.extend(new_inits);
    graph::drop_unused_initializers(graph);
    let tables = match group_size {
        Some(g) => format!("one table per {g} output channels"),
        None => "one table per tensor".into(),
    };
    report.notes.push(format!(
        "{} weights as {}-entry lookup tables ({tables}) with {nbits}-bit indices packed into \
         uint32 words",
        report.tensors_changed,
        1 << nbits
    ));
    if fallback_groups > 0 {
        report.notes.push(format!(
            "{fallback_groups} weights whose channel count is not a multiple of the group size \
             got one table per tensor"
        ));
    }
    report.notes.push(
        "runtimes rebuild the float weights at load (constant folding): the file shrinks, \
         resident memory does not"
            .into(),
    );
    Ok(report)
}

/// The output-channel axis of a weight: 1 for a `[K, N]` MatMul/Gemm weight, 0 otherwise
/// (Conv `[M, C, ...]`, Gemm with transB `[N, K]`, an embedding table `[V, D]`).
fn channel_axis(graph: &GraphProto, name: &str) -> usize {
    let first = graph
        .node
        .iter()
        .find_map(|n| n.input.iter().position(|i| i == name).map(|pos| (n, pos)));
    match first {
        Some((n, 1)) if n.op_type() == "MatMul" => 1,
        Some((n, 1)) if n.op_type() == "Gemm" && graph::int_attr(n, "transB", 0) == 0 => 1,
        _ => 0,
    }
}

/// How a weight's values are grouped: `groups` tables, each over `group` consecutive channels
/// of `axis`.
struct Layout {
    dims: Vec<usize>,
    axis: usize,
    groups: usize,
    group: usize,
}

impl Layout {
    fn new(dims: &[i64], axis: usize, group: usize) -> Layout {
        let dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
        Layout {
            groups: dims[axis] / group,
            dims,
            axis,
            group,
        }
    }

    /// Values reordered so each group's values are contiguous: for axis 0 that is the
    /// tensor's own order; for axis 1 of `[K, N]`, `[G, K, group]`.
    fn group_major(&self, values: &[f32]) -> Vec<f32> {
        if self.axis == 0 || self.groups == 1 {
            return values.to_vec();
        }
        let (k, n) = (self.dims[0], self.dims[1]);
        let mut out = Vec::with_capacity(values.len());
        for g in 0..self.groups {
            for r in 0..k {
                let row = &values[r * n..(r + 1) * n];
                out.extend_from_slice(&row[g * self.group..(g + 1) * self.group]);
            }
        }
        out
    }
}

/// `32 / nbits` indices per word, the first in the lowest bits.
fn pack(indices: &[u32], nbits: u8) -> Vec<u32> {
    let per_word = 32 / nbits as usize;
    indices
        .chunks(per_word)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u32, |w, (j, &i)| w | (i << (j * nbits as usize)))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn emit_unpack(
    names: &mut Names,
    nodes: &mut Vec<NodeProto>,
    inits: &mut Vec<TensorProto>,
    words: &str,
    lut: &str,
    count: usize,
    word_count: usize,
    nbits: u8,
    layout: &Layout,
    dims: &[i64],
    output: &str,
) {
    let per_word = 32 / nbits as usize;
    let constant_i64 = |names: &mut Names, inits: &mut Vec<TensorProto>, tag: &str, v: &[i64]| {
        let name = names.fresh(&format!("{output}_{tag}"));
        inits.push(graph::i64_tensor(&name, &[v.len() as i64], v));
        name
    };
    let shifts_name = names.fresh(&format!("{output}_shifts"));
    let shifts: Vec<u32> = (0..per_word).map(|j| (j * nbits as usize) as u32).collect();
    inits.push(graph::u32_tensor(&shifts_name, &[per_word as i64], &shifts));
    let modulus_name = names.fresh(&format!("{output}_levels"));
    inits.push(graph::u32_tensor(&modulus_name, &[], &[1u32 << nbits]));
    let column = constant_i64(names, inits, "column", &[word_count as i64, 1]);
    let step = |names: &mut Names,
                nodes: &mut Vec<NodeProto>,
                op: &str,
                inputs: &[&str],
                attrs: Vec<mlgate_ir::onnx::proto::AttributeProto>| {
        let out = names.fresh(&format!("{output}_{}", op.to_ascii_lowercase()));
        nodes.push(node(
            op,
            names.fresh(&format!("{output}_{op}")),
            inputs,
            &[&out],
            attrs,
        ));
        out
    };
    let col = step(names, nodes, "Reshape", &[words, &column], vec![]);
    let shifted = step(
        names,
        nodes,
        "BitShift",
        &[&col, &shifts_name],
        vec![attr_string("direction", "RIGHT")],
    );
    let masked = step(names, nodes, "Mod", &[&shifted, &modulus_name], vec![]);
    let flat_shape = constant_i64(names, inits, "flat", &[(word_count * per_word) as i64]);
    let mut flat = step(names, nodes, "Reshape", &[&masked, &flat_shape], vec![]);
    if word_count * per_word != count {
        let starts = constant_i64(names, inits, "starts", &[0]);
        let ends = constant_i64(names, inits, "ends", &[count as i64]);
        flat = step(names, nodes, "Slice", &[&flat, &starts, &ends], vec![]);
    }
    let as_i64 = step(
        names,
        nodes,
        "Cast",
        &[&flat],
        vec![attr_int("to", DataType::Int64 as i64)],
    );
    let grid_shape = constant_i64(
        names,
        inits,
        "grid",
        &[layout.groups as i64, (count / layout.groups) as i64],
    );
    let grid = step(names, nodes, "Reshape", &[&as_i64, &grid_shape], vec![]);
    let mut values = step(
        names,
        nodes,
        "GatherElements",
        &[lut, &grid],
        vec![attr_int("axis", 1)],
    );
    if layout.axis == 1 && layout.groups > 1 {
        let split = constant_i64(
            names,
            inits,
            "split",
            &[layout.groups as i64, dims[0], layout.group as i64],
        );
        let split_v = step(names, nodes, "Reshape", &[&values, &split], vec![]);
        values = step(
            names,
            nodes,
            "Transpose",
            &[&split_v],
            vec![graph::attr_ints("perm", &[1, 0, 2])],
        );
    }
    let shape = constant_i64(names, inits, "shape", dims);
    nodes.push(node(
        "Reshape",
        names.fresh(&format!("{output}_Reshape")),
        &[&values, &shape],
        &[output],
        vec![],
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_puts_the_first_index_lowest() {
        assert_eq!(pack(&[1, 2, 3], 4), vec![0x321]);
        assert_eq!(pack(&[63, 1, 0, 0, 0, 2], 6), vec![63 | (1 << 6), 2]);
        assert_eq!(pack(&[1; 33], 1), vec![u32::MAX, 1]);
    }

    #[test]
    fn axis_one_groups_are_made_contiguous() {
        // [2, 4] with groups of 2 columns: group 0 = columns 0-1 of both rows.
        let l = Layout::new(&[2, 4], 1, 2);
        let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        assert_eq!(
            l.group_major(&v),
            vec![0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]
        );
    }
}

#[cfg(test)]
mod reconstruction {
    use super::*;

    /// The rebuilt weights, read back from the packed indices and tables the pass wrote.
    fn rebuilt(model: &ModelProto, original: &str, nbits: u8) -> Vec<f32> {
        let g = model.graph.as_ref().unwrap();
        let find = |suffix: &str| {
            g.initializer
                .iter()
                .find(|t| t.name().starts_with(&format!("{original}_{suffix}__")))
                .unwrap()
        };
        let words = find("indices");
        let lut = graph::float_values(find("palette")).unwrap().unwrap();
        let words: Vec<u32> = words
            .raw_data
            .as_ref()
            .unwrap()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let per_word = 32 / nbits as usize;
        let mask = (1u32 << nbits) - 1;
        words
            .iter()
            .flat_map(|w| (0..per_word).map(move |j| (w >> (j * nbits as usize)) & mask))
            .map(|i| lut[i as usize])
            .collect()
    }

    #[test]
    fn four_bit_tables_reconstruct_gaussian_weights_within_lloyd_max_error() {
        let model = mlgate_ir::fixtures::tiny_mlp();
        let (out, _) = crate::optimize_onnx(
            &model,
            &crate::Method::Palettize {
                nbits: 4,
                group_size: None,
            },
        )
        .unwrap();
        let g = model.graph.as_ref().unwrap();
        let w = g
            .initializer
            .iter()
            .find(|t| t.name().starts_with("fc1_w"))
            .unwrap();
        let values = graph::float_values(w).unwrap().unwrap();
        let got = rebuilt(&out, w.name(), 4);
        let (mut err, mut sig) = (0f64, 0f64);
        for (a, b) in values.iter().zip(&got) {
            err += f64::from(a - b).powi(2);
            sig += f64::from(*a).powi(2);
        }
        let rel = (err / sig).sqrt();
        // Lloyd-Max with 16 levels on a Gaussian: relative RMS error ≈ 0.097.
        assert!(rel < 0.11, "relative RMS error {rel}");
    }
}
