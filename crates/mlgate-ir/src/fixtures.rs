//! Deterministic fixture models, written with mlgate's own ONNX writer.
//!
//! Tests, benchmarks and `cargo xtask gen-models` use these instead of downloaded models so
//! that every machine builds byte-identical files. Weights are seeded pseudo-random with He
//! scaling, so activations keep a useful magnitude through ReLU stacks: outputs are far from
//! zero and differences between runtimes are measurable.

use std::path::{Path, PathBuf};

use crate::onnx::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::rng::SplitMix64;
use crate::Result;

pub mod llama;
pub mod twin;

/// Opset all fixtures target: the first with LayerNormalization.
pub const OPSET: i64 = 17;

/// A fixture: its file name and how to build it.
pub struct Fixture {
    pub file_name: &'static str,
    pub description: &'static str,
    pub build: fn() -> ModelProto,
}

/// Every fixture `gen-models` writes.
pub const ALL: &[Fixture] = &[
    Fixture {
        file_name: "vision_cnn.onnx",
        description: "MobileNet-like CNN, 1x3x224x224 -> 1000 logits",
        build: vision_cnn,
    },
    Fixture {
        file_name: "vision_cnn_slow.onnx",
        description: "vision_cnn with ~5% more compute (residual 1x1 bottleneck)",
        build: vision_cnn_slow,
    },
    Fixture {
        file_name: "nlp_encoder.onnx",
        description: "two-block transformer encoder, input_ids/attention_mask [batch, seq]",
        build: nlp_encoder,
    },
    Fixture {
        file_name: "audio_conv.onnx",
        description: "1-D conv stack over a 16000-sample waveform -> 35 logits",
        build: audio_conv,
    },
    Fixture {
        file_name: "tiny_mlp.onnx",
        description: "MLP 784 -> 256 -> 10",
        build: tiny_mlp,
    },
];

/// Write every fixture into `dir` (created if needed); returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::IrError::io(dir, e))?;
    ALL.iter()
        .map(|f| {
            let path = dir.join(f.file_name);
            crate::onnx::write_model(&path, &(f.build)())?;
            Ok(path)
        })
        .collect()
}

/// Builds one graph: names its values, collects nodes and initializers.
pub struct GraphBuilder {
    graph: GraphProto,
    rng: SplitMix64,
    counter: usize,
}

impl GraphBuilder {
    pub fn new(name: &str, seed: u64) -> Self {
        GraphBuilder {
            graph: GraphProto {
                name: Some(name.to_string()),
                ..Default::default()
            },
            rng: SplitMix64::new(seed),
            counter: 0,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    pub fn input(&mut self, name: &str, elem: DataType, dims: &[DimSpec]) -> String {
        self.graph.input.push(value_info(name, elem, dims));
        name.to_string()
    }

    pub fn output(&mut self, name: &str, elem: DataType, dims: &[DimSpec]) {
        self.graph.output.push(value_info(name, elem, dims));
    }

    /// A float initializer with the given values.
    pub fn constant_f32(&mut self, prefix: &str, dims: &[i64], values: Vec<f32>) -> String {
        let name = self.fresh(prefix);
        self.graph.initializer.push(TensorProto {
            name: Some(name.clone()),
            dims: dims.to_vec(),
            data_type: Some(DataType::Float as i32),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name
    }

    pub fn constant_i64(&mut self, prefix: &str, dims: &[i64], values: Vec<i64>) -> String {
        let name = self.fresh(prefix);
        self.graph.initializer.push(TensorProto {
            name: Some(name.clone()),
            dims: dims.to_vec(),
            data_type: Some(DataType::Int64 as i32),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name
    }

    /// Normal weights with standard deviation `std`.
    pub fn weight(&mut self, prefix: &str, dims: &[i64], std: f64) -> String {
        let n: i64 = dims.iter().product();
        let values = (0..n).map(|_| (self.rng.normal() * std) as f32).collect();
        self.constant_f32(prefix, dims, values)
    }

    /// Small positive biases keep ReLUs alive.
    pub fn bias(&mut self, prefix: &str, n: i64) -> String {
        let values = (0..n)
            .map(|_| (0.01 + 0.05 * self.rng.uniform()) as f32)
            .collect();
        self.constant_f32(prefix, &[n], values)
    }

    /// Adds a node and returns the name of its (first) output.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.node_named(op, inputs, &out, attrs);
        out
    }

    /// Adds a node whose output has a chosen name (graph outputs).
    pub fn node_named(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<AttributeProto>,
    ) {
        let name = self.fresh(&format!("{op}_node"));
        self.graph.node.push(NodeProto {
            name: Some(name),
            op_type: Some(op.to_string()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            attribute: attrs,
            ..Default::default()
        });
    }

    pub fn finish(self, doc: &str) -> ModelProto {
        ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(OPSET),
            }],
            producer_name: Some("mlgate-fixtures".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            doc_string: Some(doc.into()),
            graph: Some(self.graph),
            ..Default::default()
        }
    }
}

/// A dimension in a fixture's declared input/output shape.
#[derive(Clone, Copy)]
pub enum DimSpec {
    Fixed(i64),
    Named(&'static str),
}

/// A declared tensor type: name, element type, dimensions.
pub fn value_info(name: &str, elem: DataType, dims: &[DimSpec]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                DimSpec::Fixed(n) => tensor_shape_proto::dimension::Value::DimValue(*n),
                DimSpec::Named(s) => tensor_shape_proto::dimension::Value::DimParam(s.to_string()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

pub fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

/// 2-D convolution (NCHW) with bias; `groups == c_in` makes it depthwise.
fn conv2d(
    g: &mut GraphBuilder,
    x: &str,
    c_in: i64,
    c_out: i64,
    k: i64,
    stride: i64,
    groups: i64,
) -> String {
    let fan_in = (c_in / groups) * k * k;
    let w = g.weight(
        "conv_w",
        &[c_out, c_in / groups, k, k],
        (2.0 / fan_in as f64).sqrt(),
    );
    let b = g.bias("conv_b", c_out);
    let pad = k / 2;
    g.node(
        "Conv",
        &[x, &w, &b],
        vec![
            attr_ints("kernel_shape", &[k, k]),
            attr_ints("strides", &[stride, stride]),
            attr_ints("pads", &[pad, pad, pad, pad]),
            attr_int("group", groups),
        ],
    )
}

fn relu(g: &mut GraphBuilder, x: &str) -> String {
    g.node("Relu", &[x], vec![])
}

/// Global average pool, flatten and a Gemm to `classes` logits, the graph output `logits`.
fn classifier_head(g: &mut GraphBuilder, features: &str, channels: i64, classes: i64) {
    let pooled = g.node("GlobalAveragePool", &[features], vec![]);
    let flat = g.node("Flatten", &[&pooled], vec![attr_int("axis", 1)]);
    logits_layer(g, &flat, "fc", channels, classes);
}

/// A Gemm from `[1, d_in]` to the graph output `logits` `[1, classes]`.
fn logits_layer(g: &mut GraphBuilder, x: &str, prefix: &str, d_in: i64, classes: i64) {
    let w = g.weight(
        &format!("{prefix}_w"),
        &[classes, d_in],
        (2.0 / d_in as f64).sqrt(),
    );
    let b = g.bias(&format!("{prefix}_b"), classes);
    g.node_named("Gemm", &[x, &w, &b], "logits", vec![attr_int("transB", 1)]);
    g.output(
        "logits",
        DataType::Float,
        &[DimSpec::Fixed(1), DimSpec::Fixed(classes)],
    );
}

/// Depthwise-separable stages of the CNN: (output channels, stride of the depthwise conv).
const CNN_STAGES: &[(i64, i64)] = &[
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
];

/// Spatial size where the slow variants' bottleneck sits.
const BOTTLENECK_HW: i64 = 28;

/// Multiply-accumulates of [`vision_cnn`], counted layer by layer (convs and Gemm).
pub fn vision_cnn_macs() -> u64 {
    let mut hw = 112i64; // after the stride-2 stem on 224x224
    let mut c = 32i64;
    let mut macs = hw * hw * 32 * 3 * 9;
    for &(c_out, stride) in CNN_STAGES {
        hw /= stride;
        macs += hw * hw * c * 9; // depthwise
        macs += hw * hw * c * c_out; // pointwise
        c = c_out;
    }
    macs += c * 1000;
    macs as u64
}

/// The MobileNet-like CNN of the runtime notes: stride-2 stem, 8 depthwise-separable
/// blocks, GlobalAveragePool, Gemm to 1000 logits.
pub fn vision_cnn() -> ModelProto {
    vision_cnn_with_extra_compute(0.0)
}

/// [`vision_cnn`] with about 5% more multiply-accumulates.
pub fn vision_cnn_slow() -> ModelProto {
    vision_cnn_with_extra_compute(0.05)
}

/// [`vision_cnn`] plus a residual 1x1 bottleneck (C -> m -> C at 28x28x256) sized to add
/// `extra` (a fraction, e.g. 0.05) of the base multiply-accumulates. The bottleneck feeds the
/// output through an Add, so no runtime can prune it away; its weights are small, so outputs
/// stay close to the base model's.
pub fn vision_cnn_with_extra_compute(extra: f64) -> ModelProto {
    let mut g = GraphBuilder::new("vision_cnn", 0x5EED_0001);
    let x = g.input(
        "input",
        DataType::Float,
        &[
            DimSpec::Fixed(1),
            DimSpec::Fixed(3),
            DimSpec::Fixed(224),
            DimSpec::Fixed(224),
        ],
    );
    let mut h = conv2d(&mut g, &x, 3, 32, 3, 2, 1);
    h = relu(&mut g, &h);
    let mut c = 32;
    let mut hw = 112;
    for &(c_out, stride) in CNN_STAGES {
        h = conv2d(&mut g, &h, c, c, 3, stride, c);
        h = relu(&mut g, &h);
        h = conv2d(&mut g, &h, c, c_out, 1, 1, 1);
        h = relu(&mut g, &h);
        hw /= stride;
        c = c_out;
        if extra > 0.0 && hw == BOTTLENECK_HW && c == 256 && stride == 1 {
            let per_unit = (2 * hw * hw * c) as f64; // MACs per bottleneck channel
            let m = ((extra * vision_cnn_macs() as f64) / per_unit)
                .round()
                .max(1.0) as i64;
            let w1 = g.weight("bottleneck_w", &[m, c, 1, 1], 0.02);
            let down = g.node("Conv", &[&h, &w1], vec![attr_ints("kernel_shape", &[1, 1])]);
            let down = relu(&mut g, &down);
            let w2 = g.weight("bottleneck_w", &[c, m, 1, 1], 0.02);
            let up = g.node(
                "Conv",
                &[&down, &w2],
                vec![attr_ints("kernel_shape", &[1, 1])],
            );
            h = g.node("Add", &[&h, &up], vec![]);
        }
    }
    classifier_head(&mut g, &h, c, 1000);
    g.finish("MobileNet-like vision CNN (mlgate fixture)")
}

const NLP_VOCAB: i64 = 4096;
const NLP_MAX_POSITIONS: i64 = 512;
const NLP_HIDDEN: i64 = 128;
const NLP_FFN: i64 = 512;

fn layer_norm(g: &mut GraphBuilder, x: &str) -> String {
    let scale = g.constant_f32("ln_scale", &[NLP_HIDDEN], vec![1.0; NLP_HIDDEN as usize]);
    let shift = g.constant_f32("ln_bias", &[NLP_HIDDEN], vec![0.0; NLP_HIDDEN as usize]);
    g.node(
        "LayerNormalization",
        &[x, &scale, &shift],
        vec![attr_int("axis", -1), attr_float("epsilon", 1e-5)],
    )
}

fn dense(g: &mut GraphBuilder, x: &str, d_in: i64, d_out: i64) -> String {
    let w = g.weight("dense_w", &[d_in, d_out], (1.0 / d_in as f64).sqrt());
    let y = g.node("MatMul", &[x, &w], vec![]);
    let b = g.bias("dense_b", d_out);
    g.node("Add", &[&y, &b], vec![])
}

/// A two-block transformer encoder with symbolic `batch` and `seq` dims: token and position
/// embeddings (Gather), masked single-head self-attention (MatMul, Softmax), LayerNorm and a
/// ReLU feed-forward. The vocabulary (4096) and the position table (512) bound valid inputs.
pub fn nlp_encoder() -> ModelProto {
    let mut g = GraphBuilder::new("nlp_encoder", 0x5EED_0002);
    let dims = [DimSpec::Named("batch"), DimSpec::Named("seq")];
    let ids = g.input("input_ids", DataType::Int64, &dims);
    let mask = g.input("attention_mask", DataType::Int64, &dims);

    let tok_table = g.weight("token_embedding", &[NLP_VOCAB, NLP_HIDDEN], 1.0);
    let tok = g.node("Gather", &[&tok_table, &ids], vec![attr_int("axis", 0)]);
    // positions = Range(0, seq_len): looked up from the input's runtime shape.
    let shape = g.node("Shape", &[&ids], vec![]);
    let one_idx = g.constant_i64("idx", &[], vec![1]);
    let seq_len = g.node("Gather", &[&shape, &one_idx], vec![attr_int("axis", 0)]);
    let zero = g.constant_i64("zero", &[], vec![0]);
    let step = g.constant_i64("one", &[], vec![1]);
    let positions = g.node("Range", &[&zero, &seq_len, &step], vec![]);
    let pos_table = g.weight("position_embedding", &[NLP_MAX_POSITIONS, NLP_HIDDEN], 0.5);
    let pos = g.node(
        "Gather",
        &[&pos_table, &positions],
        vec![attr_int("axis", 0)],
    );
    let mut h = g.node("Add", &[&tok, &pos], vec![]);
    h = layer_norm(&mut g, &h);

    // Additive mask bias: 0 where attended, -10000 where masked; [batch, 1, seq].
    let mask_f = g.node(
        "Cast",
        &[&mask],
        vec![attr_int("to", DataType::Float as i64)],
    );
    let one_f = g.constant_f32("one_f", &[], vec![1.0]);
    let inverted = g.node("Sub", &[&one_f, &mask_f], vec![]);
    let big_neg = g.constant_f32("neg", &[], vec![-10000.0]);
    let bias = g.node("Mul", &[&inverted, &big_neg], vec![]);
    let axes = g.constant_i64("axes", &[1], vec![1]);
    let bias = g.node("Unsqueeze", &[&bias, &axes], vec![]);

    let scale = g.constant_f32("attn_scale", &[], vec![1.0 / (NLP_HIDDEN as f32).sqrt()]);
    for _block in 0..2 {
        let q = dense(&mut g, &h, NLP_HIDDEN, NLP_HIDDEN);
        let k = dense(&mut g, &h, NLP_HIDDEN, NLP_HIDDEN);
        let v = dense(&mut g, &h, NLP_HIDDEN, NLP_HIDDEN);
        let kt = g.node("Transpose", &[&k], vec![attr_ints("perm", &[0, 2, 1])]);
        let scores = g.node("MatMul", &[&q, &kt], vec![]);
        let scores = g.node("Mul", &[&scores, &scale], vec![]);
        let scores = g.node("Add", &[&scores, &bias], vec![]);
        let probs = g.node("Softmax", &[&scores], vec![attr_int("axis", -1)]);
        let ctx = g.node("MatMul", &[&probs, &v], vec![]);
        let attn = dense(&mut g, &ctx, NLP_HIDDEN, NLP_HIDDEN);
        let res = g.node("Add", &[&h, &attn], vec![]);
        h = layer_norm(&mut g, &res);
        let ff = dense(&mut g, &h, NLP_HIDDEN, NLP_FFN);
        let ff = relu(&mut g, &ff);
        let ff = dense(&mut g, &ff, NLP_FFN, NLP_HIDDEN);
        let res = g.node("Add", &[&h, &ff], vec![]);
        h = layer_norm(&mut g, &res);
    }
    g.node_named("Identity", &[&h], "last_hidden_state", vec![]);
    g.output(
        "last_hidden_state",
        DataType::Float,
        &[
            DimSpec::Named("batch"),
            DimSpec::Named("seq"),
            DimSpec::Fixed(NLP_HIDDEN),
        ],
    );
    g.finish("Transformer encoder (mlgate fixture)")
}

/// 1-D convolution with bias over [N, C, L].
fn conv1d(g: &mut GraphBuilder, x: &str, c_in: i64, c_out: i64, k: i64, stride: i64) -> String {
    let w = g.weight(
        "conv1d_w",
        &[c_out, c_in, k],
        (2.0 / (c_in * k) as f64).sqrt(),
    );
    let b = g.bias("conv1d_b", c_out);
    g.node(
        "Conv",
        &[x, &w, &b],
        vec![
            attr_ints("kernel_shape", &[k]),
            attr_ints("strides", &[stride]),
        ],
    )
}

/// Keyword-spotting style audio model: waveform [1, 16000] -> four strided 1-D convs ->
/// global average pool -> 35 logits.
pub fn audio_conv() -> ModelProto {
    let mut g = GraphBuilder::new("audio_conv", 0x5EED_0003);
    let wav = g.input(
        "waveform",
        DataType::Float,
        &[DimSpec::Fixed(1), DimSpec::Fixed(16000)],
    );
    let axes = g.constant_i64("axes", &[1], vec![1]);
    let mut h = g.node("Unsqueeze", &[&wav, &axes], vec![]);
    for (c_in, c_out, k, s) in [
        (1, 32, 10, 5),
        (32, 64, 8, 4),
        (64, 64, 4, 2),
        (64, 128, 4, 2),
    ] {
        h = conv1d(&mut g, &h, c_in, c_out, k, s);
        h = relu(&mut g, &h);
    }
    classifier_head(&mut g, &h, 128, 35);
    g.finish("1-D conv audio classifier (mlgate fixture)")
}

/// The smallest fixture: a 784 -> 256 -> 10 MLP, for per-call overhead measurements.
pub fn tiny_mlp() -> ModelProto {
    let mut g = GraphBuilder::new("tiny_mlp", 0x5EED_0004);
    let x = g.input(
        "input",
        DataType::Float,
        &[DimSpec::Fixed(1), DimSpec::Fixed(784)],
    );
    let w1 = g.weight("fc1_w", &[256, 784], (2.0 / 784.0f64).sqrt());
    let b1 = g.bias("fc1_b", 256);
    let h = g.node("Gemm", &[&x, &w1, &b1], vec![attr_int("transB", 1)]);
    let h = relu(&mut g, &h);
    logits_layer(&mut g, &h, "fc2", 256, 10);
    g.finish("Tiny MLP (mlgate fixture)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_deterministic_and_small() {
        for f in ALL {
            let a = crate::onnx::encode(&(f.build)());
            let b = crate::onnx::encode(&(f.build)());
            assert_eq!(a, b, "{} differs between two builds", f.file_name);
            assert!(
                a.len() < 10 * 1024 * 1024,
                "{} is {} bytes",
                f.file_name,
                a.len()
            );
        }
    }

    #[test]
    fn slow_variant_adds_about_five_percent_macs() {
        let base = vision_cnn_macs() as f64;
        let model = vision_cnn_slow();
        let graph = model.graph.unwrap();
        let bottleneck: i64 = graph
            .initializer
            .iter()
            .filter(|t| t.name.as_deref().unwrap_or("").starts_with("bottleneck_w"))
            .map(|t| t.dims.iter().product::<i64>())
            .sum();
        // Each bottleneck weight is applied once per position of the feature map.
        let extra = (bottleneck * BOTTLENECK_HW * BOTTLENECK_HW) as f64;
        let ratio = extra / base;
        assert!(
            (0.045..0.055).contains(&ratio),
            "extra compute ratio {ratio}"
        );
    }

    #[test]
    fn fixtures_inspect_as_declared() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_all(dir.path()).unwrap();
        let cnn = crate::inspect(&paths[0]).unwrap();
        assert_eq!(cnn.inputs[0].shape_text(), "[1, 3, 224, 224]");
        assert_eq!(cnn.ops["Conv"], 17);
        let nlp = crate::inspect(&paths[2]).unwrap();
        assert_eq!(nlp.inputs.len(), 2);
        assert_eq!(nlp.inputs[0].shape_text(), "[batch, seq]");
        assert_eq!(nlp.ops["Softmax"], 2);
        assert!(nlp.param_count > NLP_VOCAB as u64 * NLP_HIDDEN as u64);
    }
}
