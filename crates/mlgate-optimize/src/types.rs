//! Element types of a graph's values, as far as they can be known without shapes: declared
//! types (graph inputs and outputs, `value_info`, initializers) and a small table of how each
//! op's outputs follow from its inputs and attributes. A value whose type cannot be told is
//! absent from the map.

use std::collections::{HashMap, HashSet};

use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::type_proto;
use mlgate_ir::onnx::proto::{GraphProto, NodeProto, ValueInfoProto};

/// Element type (`TensorProto.DataType` as i32) of every value whose type is known.
pub(crate) type Types = HashMap<String, i32>;

/// The element type a `ValueInfoProto` declares, if it is a tensor with one.
pub(crate) fn declared(v: &ValueInfoProto) -> Option<i32> {
    match v.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => t.elem_type.filter(|&e| e != 0),
        _ => None,
    }
}

fn is_non_tensor(v: &ValueInfoProto) -> bool {
    v.r#type
        .as_ref()
        .and_then(|t| t.value.as_ref())
        .is_some_and(|t| !matches!(t, type_proto::Value::TensorType(_)))
}

/// Sets the element type a `ValueInfoProto` declares (tensors only).
pub(crate) fn set_declared(v: &mut ValueInfoProto, elem: DataType) {
    if let Some(type_proto::Value::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = Some(elem as i32);
    }
}

/// Types of the top-level values of `graph`. Declared types win over inferred ones; nodes are
/// visited in order (ONNX graphs are topologically sorted).
pub(crate) fn infer(graph: &GraphProto) -> Types {
    let mut types = Types::new();
    // Values declared as something other than a tensor (sequences, maps): never typed.
    let mut not_tensors = HashSet::new();
    for v in graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info)
    {
        match declared(v) {
            Some(t) => {
                types.insert(v.name().to_string(), t);
            }
            None if is_non_tensor(v) => {
                not_tensors.insert(v.name());
            }
            None => {}
        }
    }
    for t in &graph.initializer {
        if let Some(dt) = t.data_type.filter(|&d| d != 0) {
            types.insert(t.name().to_string(), dt);
        }
    }
    for n in &graph.node {
        let inputs: Vec<Option<i32>> = n
            .input
            .iter()
            .map(|i| types.get(i.as_str()).copied())
            .collect();
        for (name, t) in n.output.iter().zip(output_types(n, &inputs)) {
            if let Some(t) = t {
                if !name.is_empty() && !not_tensors.contains(name.as_str()) {
                    types.entry(name.clone()).or_insert(t);
                }
            }
        }
    }
    types
}

const FLOAT: i32 = DataType::Float as i32;
const INT64: i32 = DataType::Int64 as i32;
const INT32: i32 = DataType::Int32 as i32;
const UINT8: i32 = DataType::Uint8 as i32;
const BOOL: i32 = DataType::Bool as i32;

/// Ops whose every output is int64 (indices, shapes, counts).
const INT64_OUT: &[&str] = &[
    "Shape",
    "Size",
    "ArgMax",
    "ArgMin",
    "NonZero",
    "NonMaxSuppression",
];

/// Comparisons and logic: bool outputs.
const BOOL_OUT: &[&str] = &[
    "Equal",
    "Greater",
    "GreaterOrEqual",
    "Less",
    "LessOrEqual",
    "And",
    "Or",
    "Xor",
    "Not",
    "IsNaN",
    "IsInf",
];

/// Ops that make a tensor from nothing (or from an input's shape only) with a `dtype`
/// attribute defaulting to float (the `*Like` ops default to their input's type).
const DTYPE_ATTR: &[&str] = &["RandomNormal", "RandomUniform"];
const DTYPE_ATTR_LIKE: &[&str] = &[
    "RandomNormalLike",
    "RandomUniformLike",
    "EyeLike",
    "Bernoulli",
];
/// Window and filter generators: `output_datatype`, default float.
const OUTPUT_DATATYPE_ATTR: &[&str] = &[
    "HannWindow",
    "HammingWindow",
    "BlackmanWindow",
    "MelWeightMatrix",
];

/// What each output of `n` holds, from its inputs' types (`None`: unknown).
pub(crate) fn output_types(n: &NodeProto, inputs: &[Option<i32>]) -> Vec<Option<i32>> {
    let input = |i: usize| inputs.get(i).copied().flatten();
    let attr = |name: &str| -> Option<&mlgate_ir::onnx::proto::AttributeProto> {
        n.attribute.iter().find(|a| a.name() == name)
    };
    let attr_i = |name: &str| attr(name).and_then(|a| a.i);
    let count = n.output.len();
    let all = |t: Option<i32>| vec![t; count];
    let op = n.op_type();
    if n.domain() == "ai.onnx.ml" {
        return ml_output_types(n, inputs);
    }
    if !(n.domain().is_empty() || n.domain() == "ai.onnx") {
        // Other domains (runtime contrib ops): the first input's type is the best guess.
        return all(input(0));
    }
    match op {
        _ if INT64_OUT.contains(&op) => all(Some(INT64)),
        _ if BOOL_OUT.contains(&op) => all(Some(BOOL)),
        "Cast" => all(attr_i("to").map(|t| t as i32)),
        "CastLike" => all(input(1)),
        "Constant" => all(constant_type(n)),
        "ConstantOfShape" => all(Some(
            attr("value")
                .and_then(|a| a.t.as_ref())
                .and_then(|t| t.data_type)
                .unwrap_or(FLOAT),
        )),
        "DequantizeLinear" => all(input(1)),
        "QuantizeLinear" => all(Some(input(2).unwrap_or(UINT8))),
        "DynamicQuantizeLinear" => vec![Some(UINT8), Some(FLOAT), Some(UINT8)]
            .into_iter()
            .take(count)
            .collect(),
        "MatMulInteger" | "ConvInteger" => all(Some(INT32)),
        "QLinearMatMul" | "QLinearConv" => all(input(7)),
        "Where" => all(input(1)),
        "TopK" => vec![input(0), Some(INT64)]
            .into_iter()
            .take(count)
            .collect(),
        "Unique" => {
            let mut v = vec![Some(INT64); count];
            if let Some(first) = v.first_mut() {
                *first = input(0);
            }
            v
        }
        "MaxPool" => {
            // The optional second output holds int64 indices.
            let mut v = vec![Some(INT64); count];
            if let Some(first) = v.first_mut() {
                *first = input(0);
            }
            v
        }
        "OneHot" => all(input(2)),
        "Range" => all(input(0)),
        "TfIdfVectorizer" => all(Some(FLOAT)),
        _ if DTYPE_ATTR.contains(&op) => all(Some(attr_i("dtype").map_or(FLOAT, |t| t as i32))),
        _ if DTYPE_ATTR_LIKE.contains(&op) => all(attr_i("dtype").map(|t| t as i32).or(input(0))),
        "Multinomial" => all(Some(attr_i("dtype").map_or(INT32, |t| t as i32))),
        _ if OUTPUT_DATATYPE_ATTR.contains(&op) => {
            all(Some(attr_i("output_datatype").map_or(FLOAT, |t| t as i32)))
        }
        // Everything else (elementwise math, Gather*, Slice, Reshape, Transpose, Squeeze,
        // Unsqueeze, Concat, Expand, Tile, Pad, Split, normalizations, pooling, ...) keeps the
        // type of its first input.
        _ => all(input(0)),
    }
}

/// The classical ML operators: float scores and features, labels as the class labels are
/// given; maps, sequences and label encodings are not typed.
fn ml_output_types(n: &NodeProto, inputs: &[Option<i32>]) -> Vec<Option<i32>> {
    let count = n.output.len();
    let input0 = inputs.first().copied().flatten();
    let typed = |t: Option<i32>| vec![t; count];
    match n.op_type() {
        "LinearClassifier" | "SVMClassifier" | "TreeEnsembleClassifier" => {
            let has = |name: &str| n.attribute.iter().any(|a| a.name() == name);
            let label = if has("classlabels_ints") || has("classlabels_int64s") {
                Some(INT64)
            } else if has("classlabels_strings") {
                Some(DataType::String as i32)
            } else {
                None
            };
            [label, Some(FLOAT)].into_iter().take(count).collect()
        }
        "Normalizer"
        | "Scaler"
        | "LinearRegressor"
        | "SVMRegressor"
        | "TreeEnsembleRegressor"
        | "FeatureVectorizer"
        | "OneHotEncoder" => typed(Some(FLOAT)),
        "ArrayFeatureExtractor" | "Binarizer" | "Imputer" | "TreeEnsemble" => typed(input0),
        _ => typed(None),
    }
}

/// The element type a Constant node's attribute gives its output.
fn constant_type(n: &NodeProto) -> Option<i32> {
    let a = n.attribute.first()?;
    match a.name() {
        "value" => a.t.as_ref().and_then(|t| t.data_type),
        "value_float" | "value_floats" => Some(FLOAT),
        "value_int" | "value_ints" => Some(INT64),
        "value_string" | "value_strings" => Some(DataType::String as i32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{attr_int, node};

    #[test]
    fn types_follow_the_table() {
        let f = Some(FLOAT);
        let i = Some(INT64);
        // A node, its inputs' types, the types its outputs should get.
        type Case = (NodeProto, Vec<Option<i32>>, Vec<Option<i32>>);
        let cases: Vec<Case> = vec![
            (
                node("Shape", "s".into(), &["x"], &["y"], vec![]),
                vec![f],
                vec![i],
            ),
            (
                node("Less", "s".into(), &["x", "z"], &["y"], vec![]),
                vec![f, f],
                vec![Some(BOOL)],
            ),
            (
                node(
                    "Cast",
                    "s".into(),
                    &["x"],
                    &["y"],
                    vec![attr_int("to", FLOAT as i64)],
                ),
                vec![i],
                vec![f],
            ),
            (
                node("Where", "s".into(), &["c", "a", "b"], &["y"], vec![]),
                vec![Some(BOOL), f, f],
                vec![f],
            ),
            (
                node("TopK", "s".into(), &["x", "k"], &["v", "i"], vec![]),
                vec![f, i],
                vec![f, i],
            ),
            (
                node("Range", "s".into(), &["a", "b", "c"], &["y"], vec![]),
                vec![i, i, i],
                vec![i],
            ),
            (
                node("ConstantOfShape", "s".into(), &["x"], &["y"], vec![]),
                vec![i],
                vec![f],
            ),
            (
                node(
                    "DynamicQuantizeLinear",
                    "s".into(),
                    &["x"],
                    &["q", "s", "z"],
                    vec![],
                ),
                vec![f],
                vec![Some(UINT8), f, Some(UINT8)],
            ),
            (
                node("Gather", "s".into(), &["t", "i"], &["y"], vec![]),
                vec![f, i],
                vec![f],
            ),
            (
                node("CustomThing", "s".into(), &["x"], &["y"], vec![]),
                vec![None],
                vec![None],
            ),
        ];
        for (n, inputs, want) in cases {
            assert_eq!(output_types(&n, &inputs), want, "{}", n.op_type());
        }
    }

    #[test]
    fn classical_ml_ops_type_labels_and_scores_apart() {
        let mut n = node(
            "TreeEnsembleClassifier",
            "t".into(),
            &["x"],
            &["label", "scores"],
            vec![crate::graph::attr_ints("classlabels_int64s", &[0, 1])],
        );
        n.domain = Some("ai.onnx.ml".into());
        assert_eq!(
            output_types(&n, &[Some(FLOAT)]),
            vec![Some(INT64), Some(FLOAT)]
        );
        n.op_type = Some("ZipMap".into());
        n.output.truncate(1);
        assert_eq!(output_types(&n, &[Some(FLOAT)]), vec![None]);
    }
}
