//! int4 weight blocks: the weight of MatMul/Gemm stored as signed 4-bit values with one float
//! scale per block of `block_size` values along the reduction axis, rebuilt in float by
//! `DequantizeLinear(axis, block_size)` (opset 21). This is the per-block scheme LLM runtimes
//! and Core ML use; ONNX Runtime may fuse it into MatMulNBits.

use std::collections::HashMap;

use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::{ModelProto, NodeProto};

use crate::graph::{self, attr_int, float_values, node, raw_tensor, Names};
use crate::{opset, OptimizeError, PassReport, Result};

/// int4 is symmetric: values in [-7, 7], so a block's largest magnitude maps to ±7 exactly.
const QMAX: f32 = 7.0;

pub(crate) fn quantize_blocks(model: &mut ModelProto, block_size: usize) -> Result<PassReport> {
    opset::upgrade(model, 21, "int4 blocks (DequantizeLinear with block_size)")?;
    let graph = model.graph.as_mut().expect("checked by optimize_onnx");
    let mut names = Names::of(graph);
    let index = graph::initializer_index(graph);
    let in_subgraphs = graph::names_used_in_subgraphs(graph);
    let mut report = PassReport::new();
    let mut dq_nodes: Vec<NodeProto> = Vec::new();
    let mut new_inits = Vec::new();
    // weight name and axis → the dequantized value's name.
    let mut done: HashMap<(String, usize), String> = HashMap::new();
    for i in 0..graph.node.len() {
        let n = &graph.node[i];
        let axis = match (n.domain(), n.op_type()) {
            ("" | "ai.onnx", "MatMul") => 0,
            ("" | "ai.onnx", "Gemm") => usize::from(graph::int_attr(n, "transB", 0) != 0),
            _ => continue,
        };
        let Some(w_name) = n.input.get(1) else {
            continue;
        };
        let Some(&wi) = index.get(w_name) else {
            continue;
        };
        let w = &graph.initializer[wi];
        if w.dims.len() != 2
            || w.data_type != Some(DataType::Float as i32)
            || in_subgraphs.contains(w_name)
            || graph::element_count(w)? < block_size
        {
            continue;
        }
        let key = (w_name.clone(), axis);
        if let Some(dq) = done.get(&key) {
            graph.node[i].input[1] = dq.clone();
            continue;
        }
        let values = float_values(w)?.expect("float weight");
        if values.iter().any(|v| !v.is_finite()) {
            report.tensors_skipped += 1;
            continue;
        }
        let (rows, cols) = (w.dims[0] as usize, w.dims[1] as usize);
        let (packed, scales, scale_dims) = quantize(&values, rows, cols, axis, block_size);
        let q_name = names.fresh(&format!("{w_name}_int4"));
        let s_name = names.fresh(&format!("{w_name}_scale"));
        let dq_name = names.fresh(&format!("{w_name}_dequantized"));
        let qt = raw_tensor(&q_name, &w.dims, DataType::Int4, packed);
        let st = graph::f32_tensor(&s_name, &scale_dims, &scales);
        report.weight_bytes_before += graph::data_bytes(w);
        report.weight_bytes_after += graph::data_bytes(&qt) + graph::data_bytes(&st);
        report.tensors_changed += 1;
        new_inits.push(qt);
        new_inits.push(st);
        dq_nodes.push(node(
            "DequantizeLinear",
            names.fresh(&format!("{w_name}_DequantizeLinear")),
            &[&q_name, &s_name],
            &[&dq_name],
            vec![
                attr_int("axis", axis as i64),
                attr_int("block_size", block_size as i64),
            ],
        ));
        graph.node[i].input[1] = dq_name.clone();
        done.insert(key, dq_name);
    }
    if report.tensors_changed == 0 {
        return Err(OptimizeError::unsupported(format!(
            "the model has no weights int4 can quantize: it takes constant 2-D float weights of \
             MatMul and Gemm with at least {block_size} values (one block)"
        )));
    }
    report.nodes_added = dq_nodes.len();
    // Dequantization reads only initializers, so it can run first.
    dq_nodes.append(&mut graph.node);
    graph.node = dq_nodes;
    graph.initializer.extend(new_inits);
    graph::drop_unused_initializers(graph);
    report.notes.push(format!(
        "MatMul/Gemm weights are int4 in blocks of {block_size} along the reduction axis with one \
         float32 scale per block; Conv and other weights stay float"
    ));
    report.notes.push(
        "ONNX Runtime fuses DequantizeLinear + MatMul into MatMulNBits, whose int8 activations \
         (session option session.qdq_matmulnbits_accuracy_level) change accuracy: measure with \
         the session options you ship"
            .into(),
    );
    Ok(report)
}

/// Blocks run along `axis` (0: down a column of [rows, cols]; 1: along a row). Returns the
/// packed int4 values (two per byte, the first in the low nibble), the scales and their dims.
fn quantize(
    values: &[f32],
    rows: usize,
    cols: usize,
    axis: usize,
    block: usize,
) -> (Vec<u8>, Vec<f32>, Vec<i64>) {
    let (blocks_r, blocks_c) = if axis == 0 {
        (rows.div_ceil(block), cols)
    } else {
        (rows, cols.div_ceil(block))
    };
    let block_of = |r: usize, c: usize| -> usize {
        if axis == 0 {
            (r / block) * blocks_c + c
        } else {
            r * blocks_c + c / block
        }
    };
    let mut max = vec![0f32; blocks_r * blocks_c];
    for r in 0..rows {
        for c in 0..cols {
            let b = block_of(r, c);
            max[b] = max[b].max(values[r * cols + c].abs());
        }
    }
    let scales: Vec<f32> = max
        .iter()
        .map(|&m| if m > 0.0 { m / QMAX } else { 1.0 })
        .collect();
    let mut packed = vec![0u8; values.len().div_ceil(2)];
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let q = graph::quantize(values[i], scales[block_of(r, c)], -QMAX, QMAX) as i8;
            let nibble = (q as u8) & 0x0F;
            packed[i / 2] |= if i.is_multiple_of(2) {
                nibble
            } else {
                nibble << 4
            };
        }
    }
    (packed, scales, vec![blocks_r as i64, blocks_c as i64])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_pack_low_nibble_first_and_scale_per_block() {
        // 4 x 2, blocks of 2 down the columns: scales per (row block, column).
        let values = [7.0, -1.0, -3.5, 0.4, 1.0, 2.0, 0.0, -4.0];
        let (packed, scales, dims) = quantize(&values, 4, 2, 0, 2);
        assert_eq!(dims, vec![2, 2]);
        assert_eq!(scales, vec![1.0, 1.0 / 7.0, 1.0 / 7.0, 4.0 / 7.0]);
        // Row 1: -3.5 → -4 (ties to even), 0.4 · 7 = 2.8 → 3.
        // Row 0: 7, -7.
        assert_eq!(packed[0], 0x97); // 7 low, -7 = 0x9 high
        assert_eq!(packed[1] & 0x0F, 0xC); // -4
        assert_eq!(packed[1] >> 4, 3);
    }
}
