//! The default domain's opset, and raising it where a pass needs newer ops (int4 blocks need
//! `DequantizeLinear` with `block_size`, opset 21). Only the changes between opsets 13 and 21
//! that alter how an existing node is written are converted; a model that would need more is
//! refused with a message, never silently changed in meaning.

use mlgate_ir::onnx::proto::{ModelProto, NodeProto, OperatorSetIdProto};

use crate::graph::{self, Names};
use crate::{OptimizeError, Result};

/// Version of the default (`""` / `ai.onnx`) domain; 1 when the model does not say.
pub(crate) fn default_opset(model: &ModelProto) -> i64 {
    model
        .opset_import
        .iter()
        .find(|o| o.domain().is_empty() || o.domain() == "ai.onnx")
        .and_then(|o| o.version)
        .unwrap_or(1)
}

/// Reductions whose `axes` moved from an attribute to an input in opset 18.
const REDUCE_18: &[&str] = &[
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSumSquare",
];

/// Ops whose meaning changed between 13 and 21 in a way this converter does not rewrite.
const NOT_CONVERTED: &[&str] = &["GroupNormalization", "DFT", "Scan"];

/// Raises the default opset to `target` (and the IR version to what it needs), converting the
/// nodes whose form changed on the way. Nothing happens when the model is already there.
pub(crate) fn upgrade(model: &mut ModelProto, target: i64, why: &str) -> Result<()> {
    let current = default_opset(model);
    if current >= target {
        return Ok(());
    }
    if current < 13 {
        return Err(OptimizeError::unsupported(format!(
            "{why} needs opset {target}; this model is opset {current}, older than the 13 mlgate \
             can raise from: convert it first (onnx.version_converter.convert_version(model, \
             {target}))"
        )));
    }
    let graph = model.graph.as_mut().expect("checked by optimize_onnx");
    if graph
        .node
        .iter()
        .any(|n| graph::subgraphs(n).next().is_some())
    {
        return Err(OptimizeError::unsupported(format!(
            "{why} needs opset {target}; this model is opset {current} and has control flow \
             (If/Loop/Scan), whose subgraphs mlgate does not convert yet: convert it first \
             (onnx.version_converter.convert_version(model, {target}))"
        )));
    }
    if let Some(n) = graph
        .node
        .iter()
        .find(|n| is_default(n) && NOT_CONVERTED.contains(&n.op_type()))
    {
        return Err(OptimizeError::unsupported(format!(
            "{why} needs opset {target}; this model is opset {current} and its {} changed \
             meaning on the way, which mlgate does not convert: convert it first \
             (onnx.version_converter.convert_version(model, {target}))",
            n.op_type()
        )));
    }
    let mut names = Names::of(graph);
    let mut new_inits = Vec::new();
    for n in graph.node.iter_mut().filter(|n| is_default(n)) {
        let op = n.op_type().to_string();
        if current < 18 && REDUCE_18.contains(&op.as_str()) {
            if let Some(pos) = n.attribute.iter().position(|a| a.name() == "axes") {
                let axes = n.attribute.remove(pos).ints;
                let name = names.fresh(&format!("{}_axes", n.name()));
                new_inits.push(graph::i64_tensor(&name, &[axes.len() as i64], &axes));
                n.input.truncate(1);
                n.input.push(name);
            }
        }
        if current < 18 && op == "Split" && n.input.get(1).is_none_or(|s| s.is_empty()) {
            // Opset 18: an even split must say into how many parts.
            if !n.attribute.iter().any(|a| a.name() == "num_outputs") {
                n.attribute
                    .push(graph::attr_int("num_outputs", n.output.len() as i64));
            }
        }
        if current < 16 && op == "RoiAlign" {
            // Opset 16 added the mode with a new default; the old behaviour is named.
            if !n
                .attribute
                .iter()
                .any(|a| a.name() == "coordinate_transformation_mode")
            {
                n.attribute.push(graph::attr_string(
                    "coordinate_transformation_mode",
                    "output_half_pixel",
                ));
            }
        }
        if current < 20 && op == "GridSample" {
            // Opset 20 renamed the interpolation modes.
            for a in n.attribute.iter_mut().filter(|a| a.name() == "mode") {
                let renamed = match a.s.as_deref() {
                    Some(b"bilinear") => Some("linear"),
                    Some(b"bicubic") => Some("cubic"),
                    _ => None,
                };
                if let Some(m) = renamed {
                    a.s = Some(m.as_bytes().to_vec());
                }
            }
        }
    }
    graph.initializer.extend(new_inits);
    for o in model.opset_import.iter_mut() {
        if o.domain().is_empty() || o.domain() == "ai.onnx" {
            o.version = Some(target);
        }
    }
    if !model
        .opset_import
        .iter()
        .any(|o| o.domain().is_empty() || o.domain() == "ai.onnx")
    {
        model.opset_import.push(OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(target),
        });
    }
    // Opset 21 and the 4-bit types arrived with IR version 10.
    let ir_needed = if target >= 21 { 10 } else { 8 };
    if model.ir_version.unwrap_or(0) < ir_needed {
        model.ir_version = Some(ir_needed);
    }
    Ok(())
}

fn is_default(n: &NodeProto) -> bool {
    n.domain().is_empty() || n.domain() == "ai.onnx"
}
