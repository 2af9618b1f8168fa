//! Dynamic int8: weights of MatMul, Gemm and Conv stored as int8 (symmetric, so their zero
//! point is 0 and omitted), activations quantized to uint8 at run time by
//! DynamicQuantizeLinear, the integer product rescaled to float — the graph ONNX Runtime's
//! own dynamic quantizer writes, so its integer kernels run it.

use std::collections::HashMap;

use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::{ModelProto, NodeProto, TensorProto};

use crate::graph::{self, attr_int, float_values, node, raw_tensor, Names};
use crate::{OptimizeError, PassReport, Result};

/// Weights with fewer values are left in float: the run-time quantization of the activation
/// costs more than the small product saves.
const MIN_ELEMENTS: usize = 64;

pub(crate) fn quantize_dynamic(model: &mut ModelProto, per_channel: bool) -> Result<PassReport> {
    let opset = crate::opset::default_opset(model);
    if opset < 11 {
        return Err(OptimizeError::unsupported(format!(
            "int8 needs opset 11 or later (DynamicQuantizeLinear); this model is opset {opset}: \
             convert it with onnx.version_converter first"
        )));
    }
    let graph = model.graph.as_mut().expect("checked by optimize_onnx");
    let mut names = Names::of(graph);
    let index = graph::initializer_index(graph);
    let in_subgraphs = graph::names_used_in_subgraphs(graph);
    let mut report = PassReport::new();
    let mut new_nodes: Vec<NodeProto> = Vec::with_capacity(graph.node.len());
    let mut new_inits: Vec<TensorProto> = Vec::new();
    // A weight read by several nodes is quantized once.
    let mut done: HashMap<(String, bool), (String, String)> = HashMap::new();
    let nodes = std::mem::take(&mut graph.node);
    for n in nodes {
        let plan = plan_node(&n, &index, &in_subgraphs, &graph.initializer)?;
        let Some(plan) = plan else {
            new_nodes.push(n);
            continue;
        };
        let w = &graph.initializer[plan.weight];
        let key = (w.name().to_string(), plan.transpose);
        let (wq_name, scale_name) = match done.get(&key) {
            Some(v) => v.clone(),
            None => {
                let values = float_values(w)?.expect("float weight");
                let q = quantize_weight(&values, &w.dims, plan.kind, plan.transpose, per_channel);
                let wq_name = names.fresh(&format!("{}_int8", w.name()));
                let scale_name = names.fresh(&format!("{}_scale", w.name()));
                let qt = raw_tensor(
                    &wq_name,
                    &q.dims,
                    DataType::Int8,
                    q.values.iter().map(|&v| v as u8).collect(),
                );
                let st = graph::f32_tensor(&scale_name, &q.scale_dims, &q.scales);
                report.weight_bytes_before += graph::data_bytes(w);
                report.weight_bytes_after += graph::data_bytes(&qt) + graph::data_bytes(&st);
                report.tensors_changed += 1;
                new_inits.push(qt);
                new_inits.push(st);
                done.insert(key, (wq_name.clone(), scale_name.clone()));
                (wq_name, scale_name)
            }
        };
        let before = new_nodes.len();
        emit(
            &n,
            &plan,
            &wq_name,
            &scale_name,
            &mut names,
            &mut new_nodes,
            &mut new_inits,
            &graph.initializer,
            &index,
        )?;
        report.nodes_added += new_nodes.len() - before - 1;
    }
    graph.node = new_nodes;
    graph.initializer.extend(new_inits);
    graph::drop_unused_initializers(graph);
    if report.tensors_changed == 0 {
        return Err(OptimizeError::unsupported(
            "the model has no weights int8 can quantize: it takes constant float weights of \
             MatMul (2-D), Gemm and Conv with at least 64 values",
        ));
    }
    report.notes.push(
        "activations are quantized to uint8 at run time (DynamicQuantizeLinear); weights are int8 \
         with zero point 0"
            .into(),
    );
    Ok(report)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    MatMul,
    Gemm,
    Conv,
}

struct Plan {
    kind: Kind,
    weight: usize,
    /// Gemm with transB: the weight is stored transposed to [K, N] for MatMulInteger.
    transpose: bool,
}

fn plan_node(
    n: &NodeProto,
    index: &HashMap<String, usize>,
    in_subgraphs: &std::collections::HashSet<String>,
    inits: &[TensorProto],
) -> Result<Option<Plan>> {
    if !(n.domain().is_empty() || n.domain() == "ai.onnx") {
        return Ok(None);
    }
    let kind = match n.op_type() {
        "MatMul" => Kind::MatMul,
        "Gemm" => Kind::Gemm,
        "Conv" => Kind::Conv,
        _ => return Ok(None),
    };
    let Some(&w) = n.input.get(1).and_then(|name| index.get(name)) else {
        return Ok(None);
    };
    // The activation must not itself be a constant, and the weight must not be read inside
    // a subgraph.
    if n.input.first().is_none_or(|a| index.contains_key(a))
        || in_subgraphs.contains(n.input[1].as_str())
    {
        return Ok(None);
    }
    let t = &inits[w];
    if t.data_type != Some(DataType::Float as i32) || graph::element_count(t)? < MIN_ELEMENTS {
        return Ok(None);
    }
    let transpose = match kind {
        Kind::MatMul => {
            if t.dims.len() != 2 {
                return Ok(None);
            }
            false
        }
        Kind::Gemm => {
            if t.dims.len() != 2 || graph::int_attr(n, "transA", 0) != 0 {
                return Ok(None);
            }
            graph::int_attr(n, "transB", 0) != 0
        }
        Kind::Conv => {
            if t.dims.len() < 3 {
                return Ok(None);
            }
            false
        }
    };
    Ok(Some(Plan {
        kind,
        weight: w,
        transpose,
    }))
}

struct Quantized {
    values: Vec<i8>,
    dims: Vec<i64>,
    scales: Vec<f32>,
    scale_dims: Vec<i64>,
}

/// Per-tensor, or per output channel: the last axis of a [K, N] MatMul weight, the first of
/// a Conv weight.
fn quantize_weight(
    values: &[f32],
    dims: &[i64],
    kind: Kind,
    transpose: bool,
    per_channel: bool,
) -> Quantized {
    let (values, dims): (Vec<f32>, Vec<i64>) = if transpose {
        let (n, k) = (dims[0] as usize, dims[1] as usize);
        let mut t = vec![0f32; values.len()];
        for r in 0..n {
            for c in 0..k {
                t[c * n + r] = values[r * k + c];
            }
        }
        (t, vec![dims[1], dims[0]])
    } else {
        (values.to_vec(), dims.to_vec())
    };
    let axis = match (per_channel, kind) {
        (false, _) => None,
        (true, Kind::Conv) => Some(0),
        (true, _) => Some(1),
    };
    let (q, scales) = graph::symmetric_int8(&values, &dims, axis);
    let channels = scales.len();
    let scale_dims = match (channels, kind) {
        (1, _) => vec![],
        // Broadcast against the [N, M, spatial...] Conv output.
        (c, Kind::Conv) => {
            let mut d = vec![c as i64];
            d.extend(std::iter::repeat_n(1, dims.len() - 2));
            d
        }
        (c, _) => vec![c as i64],
    };
    Quantized {
        values: q,
        dims,
        scales,
        scale_dims,
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(
    n: &NodeProto,
    plan: &Plan,
    wq: &str,
    w_scale: &str,
    names: &mut Names,
    out: &mut Vec<NodeProto>,
    inits: &mut Vec<TensorProto>,
    existing: &[TensorProto],
    index: &HashMap<String, usize>,
) -> Result<()> {
    let base = if n.name().is_empty() {
        n.op_type().to_string()
    } else {
        n.name().to_string()
    };
    let x = n.input[0].as_str();
    let y = n.output[0].as_str();
    let (xq, xs, xz) = (
        names.fresh(&format!("{x}_quant")),
        names.fresh(&format!("{x}_scale")),
        names.fresh(&format!("{x}_zero_point")),
    );
    out.push(node(
        "DynamicQuantizeLinear",
        names.fresh(&base),
        &[x],
        &[&xq, &xs, &xz],
        vec![],
    ));
    let acc = names.fresh(&format!("{y}_int32"));
    match plan.kind {
        Kind::Conv => {
            // ConvInteger takes Conv's attributes except the bias.
            out.push(NodeProto {
                name: Some(names.fresh(&base)),
                op_type: Some("ConvInteger".into()),
                input: vec![xq.clone(), wq.to_string(), xz.clone()],
                output: vec![acc.clone()],
                attribute: n.attribute.clone(),
                ..Default::default()
            });
        }
        Kind::MatMul | Kind::Gemm => out.push(node(
            "MatMulInteger",
            names.fresh(&base),
            &[&xq, wq, &xz],
            &[&acc],
            vec![],
        )),
    }
    let accf = names.fresh(&format!("{y}_float"));
    out.push(node(
        "Cast",
        names.fresh(&base),
        &[&acc],
        &[&accf],
        vec![attr_int("to", DataType::Float as i64)],
    ));
    let mut scale = names.fresh(&format!("{y}_scale"));
    out.push(node(
        "Mul",
        names.fresh(&base),
        &[&xs, w_scale],
        &[&scale],
        vec![],
    ));
    if plan.kind == Kind::Gemm {
        let alpha = graph::float_attr(n, "alpha", 1.0);
        if alpha != 1.0 {
            let a = names.fresh(&format!("{y}_alpha"));
            inits.push(graph::f32_tensor(&a, &[], &[alpha]));
            let scaled = names.fresh(&format!("{y}_scale"));
            out.push(node(
                "Mul",
                names.fresh(&base),
                &[&scale, &a],
                &[&scaled],
                vec![],
            ));
            scale = scaled;
        }
    }
    let bias = n.input.get(2).filter(|b| !b.is_empty());
    let product = if bias.is_some() {
        names.fresh(&format!("{y}_product"))
    } else {
        y.to_string()
    };
    out.push(node(
        "Mul",
        names.fresh(&base),
        &[&accf, &scale],
        &[&product],
        vec![],
    ));
    if let Some(bias) = bias {
        let bias_name = match plan.kind {
            Kind::Conv => {
                // Conv's bias is [M]; the output is [N, M, spatial...].
                let b = index.get(bias).map(|&i| &existing[i]).ok_or_else(|| {
                    OptimizeError::unsupported(format!(
                        "Conv '{}' takes its bias '{bias}' from a computed value; int8 needs \
                         a constant bias",
                        n.name()
                    ))
                })?;
                let values = float_values(b)?.ok_or_else(|| {
                    OptimizeError::unsupported(format!("Conv bias '{bias}' is not float32"))
                })?;
                let rank = existing[index[n.input[1].as_str()]].dims.len();
                let mut dims = vec![values.len() as i64];
                dims.extend(std::iter::repeat_n(1, rank - 2));
                let name = names.fresh(&format!("{bias}_broadcast"));
                inits.push(graph::f32_tensor(&name, &dims, &values));
                name
            }
            Kind::Gemm => {
                let beta = graph::float_attr(n, "beta", 1.0);
                if beta == 1.0 {
                    bias.clone()
                } else {
                    let b = names.fresh(&format!("{y}_beta"));
                    inits.push(graph::f32_tensor(&b, &[], &[beta]));
                    let scaled = names.fresh(&format!("{bias}_scaled"));
                    out.push(node(
                        "Mul",
                        names.fresh(&base),
                        &[bias, &b],
                        &[&scaled],
                        vec![],
                    ));
                    scaled
                }
            }
            Kind::MatMul => unreachable!("MatMul has two inputs"),
        };
        out.push(node(
            "Add",
            names.fresh(&base),
            &[&product, &bias_name],
            &[y],
            vec![],
        ));
    }
    // Keep the original node's place in the count of added nodes: one node became several.
    Ok(())
}
