//! Every pass on the fixture models: the variant loads and runs on a real runtime and agrees
//! with its parent. tract (compiled in) runs what it supports; ONNX Runtime runs the rest in
//! `needs_downloads`.

use std::path::{Path, PathBuf};

use mlgate_backends::{BackendKind, SessionOptions};
use mlgate_ir::onnx::proto::tensor_proto::DataType;
use mlgate_ir::onnx::proto::ModelProto;
use mlgate_ir::tensor::Tensor;

use crate::{optimize_onnx, Method, OptimizeError};

pub(crate) struct Case {
    _dir: tempfile::TempDir,
    pub(crate) parent: PathBuf,
    pub(crate) inputs: Vec<Tensor>,
}

/// The fixture written to a temporary directory with synthesized inputs for it.
pub(crate) fn case(model: ModelProto) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("parent.onnx");
    mlgate_ir::onnx::write_model(&parent, &model).unwrap();
    let info = mlgate_ir::inspect(&parent).unwrap();
    let inputs = mlgate_tasks::synthesize(&info, &parent, &Default::default())
        .unwrap()
        .tensors;
    Case {
        _dir: dir,
        parent,
        inputs,
    }
}

impl Case {
    /// Applies `method` and writes the variant beside the parent.
    pub(crate) fn variant(&self, method: &Method) -> (PathBuf, crate::PassReport) {
        let model = mlgate_ir::onnx::read_model(&self.parent).unwrap();
        let (out, report) = optimize_onnx(&model, method).unwrap_or_else(|e| panic!("{e}"));
        let path = self.parent.with_file_name(format!("{}.onnx", method.id()));
        mlgate_ir::onnx::write_model(&path, &out).unwrap();
        (path, report)
    }
}

pub(crate) fn run(kind: BackendKind, path: &Path, inputs: &[Tensor]) -> Vec<Vec<f32>> {
    let catalog = mlgate_testkit::runtimes();
    let backend = if kind == BackendKind::Tract {
        catalog.get(kind).unwrap()
    } else {
        mlgate_testkit::require_backend(&catalog, kind)
    };
    let mut session = backend
        .load(path, &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{kind} cannot load {}: {e}", path.display()));
    let outputs = session
        .run(inputs)
        .unwrap_or_else(|e| panic!("{kind} cannot run {}: {e}", path.display()));
    outputs
        .iter()
        .map(|t| t.data().to_f64_vec().iter().map(|&v| v as f32).collect())
        .collect()
}

pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa.sqrt() * bb.sqrt())
}

/// The variant's outputs against the parent's on `kind`: the lowest cosine over outputs.
pub(crate) fn agreement(kind: BackendKind, case: &Case, variant: &Path) -> f64 {
    let want = run(kind, &case.parent, &case.inputs);
    let got = run(kind, variant, &case.inputs);
    want.iter()
        .zip(&got)
        .map(|(a, b)| cosine(a, b))
        .fold(1.0, f64::min)
}

fn initializer_types(path: &Path) -> Vec<(String, i32, usize)> {
    let m = mlgate_ir::onnx::read_model(path).unwrap();
    m.graph
        .unwrap()
        .initializer
        .iter()
        .map(|t| {
            (
                t.name().to_string(),
                t.data_type(),
                t.dims.iter().product::<i64>() as usize,
            )
        })
        .collect()
}

use mlgate_ir::fixtures;

#[test]
fn prune_zeroes_at_least_the_asked_share_of_eligible_weights_and_nothing_else() {
    let case = case(fixtures::vision_cnn());
    let (path, report) = case.variant(&Method::Prune { sparsity: 0.5 });
    assert!(report.tensors_changed > 5, "{report:?}");
    let before = mlgate_ir::onnx::read_model(&case.parent)
        .unwrap()
        .graph
        .unwrap();
    let after = mlgate_ir::onnx::read_model(&path).unwrap().graph.unwrap();
    let (mut zeros, mut total) = (0, 0);
    for (b, a) in before.initializer.iter().zip(&after.initializer) {
        assert_eq!(b.name(), a.name());
        let bv = crate::graph::float_values(b).unwrap().unwrap();
        let av = crate::graph::float_values(a).unwrap().unwrap();
        let eligible = b.dims.len() >= 2 && bv.len() >= crate::MIN_WEIGHT_ELEMENTS;
        if eligible {
            zeros += av.iter().filter(|v| **v == 0.0).count();
            total += av.len();
        } else {
            assert_eq!(bv, av, "skipped tensor {} changed", b.name());
        }
    }
    assert!(zeros * 2 >= total, "{zeros} zeros of {total}");
    assert!(agreement(BackendKind::Tract, &case, &path) > 0.5);
}

#[test]
fn int8_stores_int8_weights_and_runs_on_tract() {
    for model in [fixtures::vision_cnn(), fixtures::nlp_encoder()] {
        let case = case(model);
        let (path, report) = case.variant(&Method::Int8 { per_channel: false });
        assert!(
            report.weight_bytes_after * 3 < report.weight_bytes_before,
            "{report:?}"
        );
        let types = initializer_types(&path);
        assert!(types.iter().any(|(_, t, _)| *t == DataType::Int8 as i32));
        let cos = agreement(BackendKind::Tract, &case, &path);
        assert!(cos >= 0.98, "cosine {cos}");
    }
}

#[test]
fn per_channel_int8_is_at_least_as_close_as_per_tensor() {
    let case = case(fixtures::vision_cnn());
    let (tensor, _) = case.variant(&Method::Int8 { per_channel: false });
    let (channel, _) = case.variant(&Method::Int8 { per_channel: true });
    let a = agreement(BackendKind::Tract, &case, &tensor);
    let b = agreement(BackendKind::Tract, &case, &channel);
    assert!(b >= a - 1e-4, "per-channel {b} vs per-tensor {a}");
}

#[test]
fn palettize_shrinks_weights_and_rebuilds_them_in_the_graph() {
    let case = case(fixtures::nlp_encoder());
    let (path, report) = case.variant(&Method::Palettize {
        nbits: 4,
        group_size: None,
    });
    assert!(
        report.weight_bytes_after * 6 < report.weight_bytes_before,
        "{report:?}"
    );
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&path) * 3 <= size(&case.parent));
    let _ = path;
}

#[test]
fn int4_needs_a_matmul_weight() {
    let model = mlgate_ir::fixtures::vision_cnn();
    // The CNN's only MatMul-like op is the Gemm head.
    let (out, report) = optimize_onnx(&model, &Method::Int4 { block_size: 32 }).unwrap();
    assert_eq!(report.tensors_changed, 1);
    assert_eq!(report.opset_after, 21);
    let g = out.graph.unwrap();
    assert!(g
        .initializer
        .iter()
        .any(|t| t.data_type == Some(DataType::Int4 as i32)));
}

#[test]
fn bad_parameters_are_refused_naming_the_flag() {
    let model = mlgate_ir::fixtures::tiny_mlp();
    for (method, flag) in [
        (Method::Prune { sparsity: 1.5 }, "--sparsity"),
        (Method::Prune { sparsity: 0.0 }, "--sparsity"),
        (
            Method::Palettize {
                nbits: 3,
                group_size: None,
            },
            "--nbits",
        ),
        (Method::Int4 { block_size: 24 }, "--block-size"),
    ] {
        match optimize_onnx(&model, &method) {
            Err(OptimizeError::Invalid { flag: f, .. }) => assert_eq!(f, flag),
            other => panic!("{method:?}: {other:?}"),
        }
    }
}

#[test]
fn the_same_method_gives_the_same_bytes() {
    let model = mlgate_ir::fixtures::nlp_encoder();
    for method in [
        Method::Fp16 {
            keep_io_types: true,
        },
        Method::Fp16 {
            keep_io_types: false,
        },
        Method::Int8 { per_channel: true },
        Method::Int4 { block_size: 32 },
        Method::Palettize {
            nbits: 2,
            group_size: Some(32),
        },
        Method::Prune { sparsity: 0.3 },
    ] {
        let a = optimize_onnx(&model, &method).unwrap().0;
        let b = optimize_onnx(&model, &method).unwrap().0;
        assert_eq!(
            mlgate_ir::onnx::encode(&a),
            mlgate_ir::onnx::encode(&b),
            "{method:?}"
        );
    }
}

#[test]
fn method_ids_parse_back_to_their_method() {
    for m in [
        Method::Fp16 {
            keep_io_types: true,
        },
        Method::Fp16 {
            keep_io_types: false,
        },
        Method::Int8 { per_channel: true },
        Method::Int4 { block_size: 64 },
        Method::Palettize {
            nbits: 6,
            group_size: Some(16),
        },
        Method::Prune { sparsity: 0.25 },
    ] {
        assert_eq!(Method::parse_id(&m.id()), Some(m.clone()), "{}", m.id());
    }
    assert_eq!(Method::parse_id("int4").unwrap().id(), "int4_b32");
    for bad in ["", "int2", "prune_x", "palettize_4_gx", "fp32"] {
        assert_eq!(Method::parse_id(bad), None, "{bad}");
    }
}

const FP16: Method = Method::Fp16 {
    keep_io_types: true,
};
const FP16_IO: Method = Method::Fp16 {
    keep_io_types: false,
};
const FLOAT: i32 = DataType::Float as i32;
const FLOAT16: i32 = DataType::Float16 as i32;

fn every_fixture() -> [(&'static str, ModelProto); 4] {
    [
        ("vision_cnn", fixtures::vision_cnn()),
        ("nlp_encoder", fixtures::nlp_encoder()),
        ("audio_conv", fixtures::audio_conv()),
        ("tiny_mlp", fixtures::tiny_mlp()),
    ]
}

fn elem_type(v: &mlgate_ir::onnx::proto::ValueInfoProto) -> Option<i32> {
    crate::types::declared(v)
}

fn cast_to(n: &mlgate_ir::onnx::proto::NodeProto) -> Option<i32> {
    (n.op_type() == "Cast").then(|| crate::graph::int_attr(n, "to", 0) as i32)
}

/// No Cast float16 → float32 whose output feeds a Cast back to float16.
fn assert_no_cast_pairs(model: &ModelProto) {
    let g = model.graph.as_ref().unwrap();
    let types = crate::types::infer(g);
    for a in g.node.iter().filter(|n| cast_to(n) == Some(FLOAT)) {
        if types.get(a.input[0].as_str()) != Some(&FLOAT16) {
            continue;
        }
        for b in &g.node {
            assert!(
                !(cast_to(b) == Some(FLOAT16) && b.input.contains(&a.output[0])),
                "Cast '{}' (fp16 → fp32) feeds Cast '{}' (→ fp16)",
                a.name(),
                b.name()
            );
        }
    }
}

/// A float16 tensor's values.
fn half_values(t: &mlgate_ir::onnx::proto::TensorProto) -> Vec<f32> {
    t.raw_data
        .as_ref()
        .unwrap()
        .chunks_exact(2)
        .map(|c| mlgate_ir::tensor::f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
        .collect()
}

#[test]
fn fp16_halves_the_weights_of_every_fixture_and_casts_at_the_edges() {
    for (name, model) in every_fixture() {
        let case = case(model);
        let (path, report) = case.variant(&FP16);
        assert!(
            report.weight_bytes_after as f64 <= 0.55 * report.weight_bytes_before as f64,
            "{name}: {report:?}"
        );
        assert!(report.tensors_changed > 0, "{name}: {report:?}");
        let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
        assert!(size(&path) <= 0.55 * size(&case.parent), "{name}");
        let out = mlgate_ir::onnx::read_model(&path).unwrap();
        let g = out.graph.as_ref().unwrap();
        // Inputs and outputs keep their float32 (or int64) types.
        let parent = mlgate_ir::onnx::read_model(&case.parent).unwrap();
        let pg = parent.graph.as_ref().unwrap();
        let io = |g: &mlgate_ir::onnx::proto::GraphProto| -> Vec<(String, Option<i32>)> {
            g.input
                .iter()
                .chain(&g.output)
                .map(|v| (v.name().to_string(), elem_type(v)))
                .collect()
        };
        assert_eq!(io(g), io(pg), "{name}");
        // Every float initializer became float16.
        assert!(
            g.initializer.iter().all(|t| t.data_type != Some(FLOAT)),
            "{name}"
        );
        assert_no_cast_pairs(&out);
    }
}

/// tract runs float16 graphs, except Gemm: its Gemm expansion computes a float16 Gemm in
/// float32 and refuses the model at load ("Output mismatch after rewiring expansion ...
/// expected F16 got F32"), which rules out the CNN, the audio model and the MLP. ONNX
/// Runtime runs all four (`needs_downloads`).
#[test]
fn fp16_runs_on_tract_and_agrees() {
    let nlp = case(fixtures::nlp_encoder());
    for method in [FP16, FP16_IO] {
        let (path, _) = nlp.variant(&method);
        let cos = agreement(BackendKind::Tract, &nlp, &path);
        assert!(cos >= 0.999, "{method:?}: cosine {cos}");
    }
    let blocked = case(blocked_ops_model());
    let (path, _) = blocked.variant(&FP16);
    let cos = agreement(BackendKind::Tract, &blocked, &path);
    assert!(cos >= 0.9999, "blocked ops: cosine {cos}");
}

#[test]
fn fp16_io_makes_graph_inputs_and_outputs_float16() {
    let model = fixtures::nlp_encoder();
    let (out, report) = optimize_onnx(&model, &FP16_IO).unwrap();
    assert_eq!(report.method, "fp16_io");
    let g = out.graph.as_ref().unwrap();
    // The token ids and the mask stay int64; the hidden state becomes float16.
    assert!(g
        .input
        .iter()
        .all(|v| elem_type(v) == Some(DataType::Int64 as i32)));
    assert!(g.output.iter().all(|v| elem_type(v) == Some(FLOAT16)));
    let (out, _) = optimize_onnx(&fixtures::tiny_mlp(), &FP16_IO).unwrap();
    let g = out.graph.as_ref().unwrap();
    assert!(g
        .input
        .iter()
        .chain(&g.output)
        .all(|v| elem_type(v) == Some(FLOAT16)));
    // No Cast is needed at the edges: the graph computes in float16 from input to output.
    assert!(g.node.iter().all(|n| n.op_type() != "Cast"), "{:?}", g.node);
    assert_no_cast_pairs(&out);
}

#[test]
fn fp16_refuses_a_model_that_is_already_float16() {
    for method in [FP16, FP16_IO] {
        let (once, _) = optimize_onnx(&fixtures::tiny_mlp(), &method).unwrap();
        for again in [FP16, FP16_IO] {
            match optimize_onnx(&once, &again) {
                Err(OptimizeError::Unsupported(msg)) => {
                    assert!(msg.contains("already float16"), "{msg}")
                }
                other => panic!("{method:?} then {again:?}: {other:?}"),
            }
        }
    }
    // A model written in float16 from the start.
    let mut g = fixtures::GraphBuilder::new("half", 1);
    let x = g.input("x", DataType::Float16, &[fixtures::DimSpec::Fixed(4)]);
    let y = g.node("Relu", &[&x], vec![]);
    g.node_named("Neg", &[&y], "y", vec![]);
    g.output("y", DataType::Float16, &[fixtures::DimSpec::Fixed(4)]);
    match optimize_onnx(&g.finish("half"), &FP16) {
        Err(OptimizeError::Unsupported(msg)) => assert!(msg.contains("already float16"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fp16_refuses_control_flow_naming_the_node() {
    let mut model = fixtures::tiny_mlp();
    let g = model.graph.as_mut().unwrap();
    g.node.push(mlgate_ir::onnx::proto::NodeProto {
        name: Some("branch".into()),
        op_type: Some("If".into()),
        input: vec!["cond".into()],
        output: vec!["chosen".into()],
        attribute: vec![mlgate_ir::onnx::proto::AttributeProto {
            name: Some("then_branch".into()),
            r#type: Some(mlgate_ir::onnx::proto::attribute_proto::AttributeType::Graph as i32),
            g: Some(Default::default()),
            ..Default::default()
        }],
        ..Default::default()
    });
    match optimize_onnx(&model, &FP16) {
        Err(OptimizeError::Unsupported(msg)) => {
            assert!(msg.contains("If in node 'branch'"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
}

/// x [1, 16] → Mul → Exp → TopK(3) → Resize(×2, nearest) → Max(0.1) → + Range(0., 6., 1.)
/// → + Cast(Range(0, 6, 1)): Resize, Max, TopK and both Ranges are blocked ops, one Range
/// on floats and one on int64.
fn blocked_ops_model() -> ModelProto {
    use fixtures::{attr_int, DimSpec::Fixed};
    let mut g = fixtures::GraphBuilder::new("blocked", 7);
    let x = g.input("x", DataType::Float, &[Fixed(1), Fixed(16)]);
    let w = g.constant_f32("w", &[1], vec![0.5]);
    let h = g.node("Mul", &[&x, &w], vec![]);
    let h = g.node("Exp", &[&h], vec![]);
    let k = g.constant_i64("k", &[1], vec![3]);
    g.node_named("TopK", &[&h, &k], "top_values", vec![]);
    let scales = g.constant_f32("scales", &[2], vec![1.0, 2.0]);
    let r = g.node("Resize", &["top_values", "", &scales], vec![]);
    let floor = g.constant_f32("floor", &[1], vec![0.1]);
    let m = g.node("Max", &[&r, &floor], vec![]);
    let (s, l, d) = (
        g.constant_f32("start", &[], vec![0.0]),
        g.constant_f32("limit", &[], vec![6.0]),
        g.constant_f32("delta", &[], vec![1.0]),
    );
    let ramp = g.node("Range", &[&s, &l, &d], vec![]);
    let a = g.node("Add", &[&m, &ramp], vec![]);
    let (s, l, d) = (
        g.constant_i64("start", &[], vec![0]),
        g.constant_i64("limit", &[], vec![6]),
        g.constant_i64("delta", &[], vec![1]),
    );
    let iramp = g.node("Range", &[&s, &l, &d], vec![]);
    let iramp = g.node("Cast", &[&iramp], vec![attr_int("to", FLOAT as i64)]);
    g.node_named("Add", &[&a, &iramp], "scored", vec![]);
    g.output("scored", DataType::Float, &[Fixed(1), Fixed(6)]);
    g.output("indices", DataType::Int64, &[Fixed(1), Fixed(3)]);
    let mut model = g.finish("blocked ops");
    let graph = model.graph.as_mut().unwrap();
    let topk = graph
        .node
        .iter_mut()
        .find(|n| n.op_type() == "TopK")
        .unwrap();
    topk.output.push("indices".into());
    model
}

#[test]
fn fp16_keeps_blocked_ops_in_float32_behind_casts() {
    let (out, report) = optimize_onnx(&blocked_ops_model(), &FP16).unwrap();
    let g = out.graph.as_ref().unwrap();
    let types = crate::types::infer(g);
    for n in &g.node {
        let floats: Vec<i32> = n
            .input
            .iter()
            .chain(&n.output)
            .filter_map(|v| types.get(v.as_str()).copied())
            .filter(|&t| t == FLOAT || t == FLOAT16)
            .collect();
        match n.op_type() {
            "TopK" | "Resize" | "Max" | "Range" => {
                assert!(
                    floats.iter().all(|&t| t == FLOAT),
                    "{} {floats:?}",
                    n.name()
                )
            }
            "Mul" | "Exp" | "Add" => {
                assert!(
                    floats.iter().all(|&t| t == FLOAT16),
                    "{} {floats:?}",
                    n.name()
                )
            }
            _ => {}
        }
    }
    // The float Range's bounds, Resize's scales and Max's floor are read only by blocked ops:
    // they stay float32 without a Cast; the Mul weight becomes float16.
    let init = |prefix: &str| {
        g.initializer
            .iter()
            .find(|t| t.name().starts_with(prefix))
            .unwrap()
            .data_type()
    };
    for kept in ["scales", "floor", "start", "limit", "delta"] {
        assert!(
            [FLOAT, DataType::Int64 as i32].contains(&init(kept)),
            "{kept}"
        );
    }
    assert_eq!(init("w_"), FLOAT16);
    assert_eq!(report.tensors_changed, 1);
    assert_eq!(report.tensors_skipped, 5);
    assert!(
        report.notes[0]
            .contains("4 ops kept in float32 behind Casts: Max ×1, Range ×1, Resize ×1, TopK ×1"),
        "{:?}",
        report.notes
    );
    // The int64 Range's Cast now casts to float16.
    assert!(g
        .node
        .iter()
        .any(|n| cast_to(n) == Some(FLOAT16) && n.input[0].starts_with("range")));
    assert_no_cast_pairs(&out);
}

#[test]
fn fp16_removes_casts_that_undo_each_other() {
    use fixtures::DimSpec::Fixed;
    // A mixed model: float32 x goes through a float16 round trip before the float math.
    let mut g = fixtures::GraphBuilder::new("roundtrip", 3);
    let x = g.input("x", DataType::Float, &[Fixed(4)]);
    let h = g.input("h", DataType::Float16, &[Fixed(4)]);
    let h32 = g.node("Cast", &[&h], vec![fixtures::attr_int("to", FLOAT as i64)]);
    let h16 = g.node(
        "Cast",
        &[&h32],
        vec![fixtures::attr_int("to", FLOAT16 as i64)],
    );
    let h32b = g.node(
        "Cast",
        &[&h16],
        vec![fixtures::attr_int("to", FLOAT as i64)],
    );
    let w = g.constant_f32("w", &[4], vec![1.0, 2.0, 3.0, 4.0]);
    let y = g.node("Mul", &[&x, &w], vec![]);
    g.node_named("Add", &[&y, &h32b], "y", vec![]);
    g.output("y", DataType::Float, &[Fixed(4)]);
    let (out, _) = optimize_onnx(&g.finish("roundtrip"), &FP16).unwrap();
    assert_no_cast_pairs(&out);
    let g = out.graph.as_ref().unwrap();
    // Left: x to float16 and y back to float32; the Add reads h itself.
    let casts: Vec<_> = g.node.iter().filter(|n| n.op_type() == "Cast").collect();
    assert_eq!(casts.len(), 2, "{:?}", g.node);
    let add = g.node.iter().find(|n| n.op_type() == "Add").unwrap();
    assert_eq!(add.input[1], "h");
}

#[test]
fn fp16_stores_clamped_weights() {
    use fixtures::DimSpec::Fixed;
    let mut g = fixtures::GraphBuilder::new("clamp", 3);
    let x = g.input("x", DataType::Float, &[Fixed(6)]);
    let w = g.constant_f32("w", &[6], vec![1e-9, -1e-9, 1e6, -1e6, 0.0, f32::INFINITY]);
    g.node_named("Mul", &[&x, &w], "y", vec![]);
    g.output("y", DataType::Float, &[Fixed(6)]);
    let (out, report) = optimize_onnx(&g.finish("clamp"), &FP16).unwrap();
    let t = &out.graph.as_ref().unwrap().initializer[0];
    assert_eq!(t.data_type, Some(FLOAT16));
    let h = |v: f32| mlgate_ir::tensor::f16_to_f32(mlgate_ir::tensor::f32_to_f16(v));
    assert_eq!(
        half_values(t),
        vec![h(1e-7), h(-1e-7), 1e4, -1e4, 0.0, f32::INFINITY]
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("4 constant values were clamped")),
        "{:?}",
        report.notes
    );
}

/// `n` synthesized input sets of `case`'s model (seeds 1..=n: not the seed-0 input the
/// agreement is measured on).
pub(crate) fn samples(case: &Case, n: u64) -> Vec<Vec<Tensor>> {
    let info = mlgate_ir::inspect(&case.parent).unwrap();
    (1..=n)
        .map(|seed| {
            let options = mlgate_tasks::SynthesisOptions {
                seed,
                ..Default::default()
            };
            mlgate_tasks::synthesize(&info, &case.parent, &options)
                .unwrap()
                .tensors
        })
        .collect()
}

/// What the facade does: the calibration model run on `kind` over `samples`, every value
/// into a [`crate::RangeCollector`].
pub(crate) fn calibrate(
    kind: BackendKind,
    case: &Case,
    samples: &[Vec<Tensor>],
    calibration: crate::Calibration,
) -> crate::ActivationRanges {
    let model = mlgate_ir::onnx::read_model(&case.parent).unwrap();
    let plan = crate::calibration_model(&model).unwrap();
    let path = case.parent.with_file_name("calibration.onnx");
    mlgate_ir::onnx::write_model(&path, &plan.model).unwrap();
    let mut ranges = crate::RangeCollector::new(&plan.tensors(), calibration);
    for pass in 0..ranges.passes() {
        for sample in samples {
            for t in sample {
                if plan.inputs.iter().any(|i| i == t.name()) {
                    let v: Vec<f32> = t.data().to_f64_vec().iter().map(|&v| v as f32).collect();
                    ranges.observe(pass, t.name(), &v);
                }
            }
            let outputs = run(kind, &path, sample);
            assert_eq!(outputs.len(), plan.outputs.len());
            for (name, values) in plan.outputs.iter().zip(&outputs) {
                ranges.observe(pass, name, values);
            }
            if pass == 0 {
                ranges.sample_done();
            }
        }
    }
    ranges.finish().unwrap()
}

fn static8(per_channel: bool, calibration: crate::Calibration) -> Method {
    Method::Int8Static {
        per_channel,
        calibration,
        data: Some("0123abcd".into()),
    }
}

#[test]
fn int8_static_ids_parse_back_and_bad_percentiles_are_refused() {
    for m in [
        static8(false, crate::Calibration::MinMax),
        static8(true, crate::Calibration::Percentile(99.999)),
        Method::Int8Static {
            per_channel: true,
            calibration: crate::Calibration::MinMax,
            data: None,
        },
    ] {
        assert_eq!(Method::parse_id(&m.id()), Some(m.clone()), "{}", m.id());
    }
    assert_eq!(
        static8(true, crate::Calibration::Percentile(99.999)).id(),
        "int8_static_perchannel_p99.999_0123abcd"
    );
    assert_eq!(
        Method::parse_id("int8_static").unwrap().id(),
        "int8_static_minmax"
    );
    for bad in [
        "int8_staticx",
        "int8_static_zz",
        "int8_static_minmax_0123",
        "int8_static_",
    ] {
        assert_eq!(Method::parse_id(bad), None, "{bad}");
    }
    match static8(false, crate::Calibration::Percentile(50.0)).validate() {
        Err(OptimizeError::Invalid { flag, .. }) => assert_eq!(flag, "--calibrate"),
        other => panic!("{other:?}"),
    }
    // optimize_onnx cannot make it: it needs ranges.
    let e = optimize_onnx(
        &fixtures::tiny_mlp(),
        &static8(false, crate::Calibration::MinMax),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("calibration"), "{e}");
}

/// Every quantized op reads its activation and weight through DequantizeLinear and writes
/// through QuantizeLinear → DequantizeLinear, with the parameters the ranges give.
#[test]
fn int8_static_puts_qdq_around_every_quantized_op() {
    let model = fixtures::vision_cnn();
    let plan = crate::calibration_model(&model).unwrap();
    // The CNN: 17 Conv and the Gemm head; its input and every op output need a range.
    assert_eq!(plan.inputs, vec!["input".to_string()]);
    let convs = model
        .graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .filter(|n| matches!(n.op_type(), "Conv" | "Gemm"))
        .count();
    assert!(
        plan.outputs.len() >= convs,
        "{} < {convs}",
        plan.outputs.len()
    );
    let ranges = crate::ActivationRanges {
        ranges: plan
            .tensors()
            .into_iter()
            .map(|t| (t, (-1.0, 3.0)))
            .collect(),
        samples: 1,
        calibration: Some(crate::Calibration::MinMax),
    };
    for per_channel in [false, true] {
        let method = static8(per_channel, crate::Calibration::MinMax);
        let (out, report) = crate::quantize_static(&model, &method, &ranges).unwrap();
        assert_eq!(report.tensors_changed, convs, "{report:?}");
        assert!(report.weight_bytes_after * 3 < report.weight_bytes_before);
        assert_eq!(report.method, method.id());
        let g = out.graph.as_ref().unwrap();
        let producer = |v: &str| g.node.iter().find(|n| n.output.iter().any(|o| o == v));
        let init = |v: &str| g.initializer.iter().find(|t| t.name() == v).unwrap();
        for n in g
            .node
            .iter()
            .filter(|n| matches!(n.op_type(), "Conv" | "Gemm"))
        {
            for (slot, want) in [
                (0, DataType::Uint8),
                (1, DataType::Int8),
                (2, DataType::Int32),
            ] {
                let dq = producer(&n.input[slot]).unwrap();
                assert_eq!(
                    dq.op_type(),
                    "DequantizeLinear",
                    "{} input {slot}",
                    n.name()
                );
                if slot > 0 {
                    assert_eq!(init(&dq.input[0]).data_type, Some(want as i32));
                }
                let zp = init(&dq.input[2]);
                assert_eq!(zp.data_type, Some(want as i32), "{} input {slot}", n.name());
                if slot == 0 {
                    let q = producer(&dq.input[0]).unwrap();
                    assert_eq!(q.op_type(), "QuantizeLinear");
                    // [-1, 3]: scale 4/255, zero point 64.
                    let s = crate::graph::float_values(init(&dq.input[1]))
                        .unwrap()
                        .unwrap();
                    assert_eq!(s, vec![4.0 / 255.0]);
                    assert_eq!(zp.raw_data.as_deref(), Some(&[64u8][..]));
                }
                if slot == 1 {
                    let axis = dq
                        .attribute
                        .iter()
                        .find(|a| a.name() == "axis")
                        .and_then(|a| a.i);
                    let w = init(&dq.input[0]);
                    match (per_channel, n.op_type()) {
                        (false, _) => assert_eq!(axis, None),
                        (true, "Conv") => assert_eq!(axis, Some(0)),
                        // The Gemm head is [N, K] with transB = 1.
                        (true, _) => {
                            assert_eq!(crate::graph::int_attr(n, "transB", 0), 1);
                            assert_eq!(axis, Some(0))
                        }
                    }
                    let scales = init(&dq.input[1]);
                    let channels = if per_channel { w.dims[0] } else { 1 };
                    assert_eq!(
                        crate::graph::element_count(scales).unwrap() as i64,
                        channels
                    );
                }
            }
            // The output goes through Q → DQ before anything reads it, after the Relu that
            // is its only reader if there is one.
            let readers_of = |v: &str| -> Vec<_> {
                g.node
                    .iter()
                    .filter(|m| m.input.iter().any(|i| i == v))
                    .collect()
            };
            let mut readers = readers_of(&n.output[0]);
            assert_eq!(readers.len(), 1);
            if readers[0].op_type() == "Relu" {
                readers = readers_of(&readers[0].output[0]);
                assert_eq!(readers.len(), 1);
            }
            assert_eq!(readers[0].op_type(), "QuantizeLinear", "after {}", n.name());
        }
        // Graph outputs keep their names and stay float, read from a DequantizeLinear.
        let out_name = g.output[0].name();
        assert_eq!(out_name, model.graph.as_ref().unwrap().output[0].name());
        assert_eq!(producer(out_name).unwrap().op_type(), "DequantizeLinear");
        assert_eq!(
            report.opset_after,
            report.opset_before.max(if per_channel { 13 } else { 0 })
        );
        // Deterministic.
        let again = crate::quantize_static(&model, &method, &ranges).unwrap().0;
        assert_eq!(
            mlgate_ir::onnx::encode(&out),
            mlgate_ir::onnx::encode(&again)
        );
    }
    // Ranges of another model are refused, naming the tensor.
    let e = crate::quantize_static(
        &model,
        &static8(false, crate::Calibration::MinMax),
        &crate::ActivationRanges::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no calibration range for 'input'"), "{e}");
}

#[test]
fn int8_static_runs_on_tract_when_it_can() {
    let case = case(fixtures::vision_cnn());
    let samples = samples(&case, 4);
    let ranges = calibrate(
        BackendKind::Tract,
        &case,
        &samples,
        crate::Calibration::MinMax,
    );
    assert_eq!(ranges.samples, 4);
    let model = mlgate_ir::onnx::read_model(&case.parent).unwrap();
    let (out, _) =
        crate::quantize_static(&model, &static8(true, crate::Calibration::MinMax), &ranges)
            .unwrap();
    let path = case.parent.with_file_name("static.onnx");
    mlgate_ir::onnx::write_model(&path, &out).unwrap();
    let cos = agreement(BackendKind::Tract, &case, &path);
    assert!(cos >= 0.98, "cosine {cos}");
}

mod needs_downloads {
    use super::*;

    /// The acceptance: static int8 of the CNN, calibrated on 8 synthesized inputs,
    /// runs on ONNX Runtime with cosine ≥ 0.98 against float32 on an input it was not
    /// calibrated on; every calibration method and weight granularity.
    #[test]
    fn int8_static_runs_on_onnxruntime_and_agrees() {
        let case = case(fixtures::vision_cnn());
        let samples = samples(&case, 8);
        let mut seen = Vec::new();
        for calibration in [
            crate::Calibration::MinMax,
            crate::Calibration::Percentile(crate::DEFAULT_PERCENTILE),
        ] {
            let ranges = calibrate(BackendKind::OnnxRuntime, &case, &samples, calibration);
            let model = mlgate_ir::onnx::read_model(&case.parent).unwrap();
            for per_channel in [false, true] {
                let method = static8(per_channel, calibration);
                let (out, _) = crate::quantize_static(&model, &method, &ranges).unwrap();
                let path = case.parent.with_file_name(format!("{}.onnx", method.id()));
                mlgate_ir::onnx::write_model(&path, &out).unwrap();
                let cos = agreement(BackendKind::OnnxRuntime, &case, &path);
                seen.push(format!("{}: {cos:.5}", method.id()));
                assert!(cos >= 0.98, "{seen:?}");
            }
        }
    }

    /// The other fixtures (the transformer's MatMuls, the audio model's 1-D convs, the MLP's
    /// Gemms) calibrated on 8 synthesized inputs: within 0.98 of float32 on ONNX Runtime.
    #[test]
    fn int8_static_of_every_fixture_runs_on_onnxruntime() {
        let mut seen = Vec::new();
        for (name, model) in every_fixture() {
            let case = case(model);
            let samples = samples(&case, 8);
            let ranges = calibrate(
                BackendKind::OnnxRuntime,
                &case,
                &samples,
                crate::Calibration::MinMax,
            );
            let parent = mlgate_ir::onnx::read_model(&case.parent).unwrap();
            let method = static8(true, crate::Calibration::MinMax);
            let (out, _) = crate::quantize_static(&parent, &method, &ranges).unwrap();
            let path = case.parent.with_file_name("static.onnx");
            mlgate_ir::onnx::write_model(&path, &out).unwrap();
            let cos = agreement(BackendKind::OnnxRuntime, &case, &path);
            seen.push(format!("{name}: {cos:.5}"));
        }
        assert!(
            seen.iter()
                .all(|s| s.rsplit(' ').next().unwrap().parse::<f64>().unwrap() >= 0.98),
            "{seen:?}"
        );
    }

    #[test]
    fn blocked_ops_run_on_onnxruntime_with_the_right_result() {
        let case = case(blocked_ops_model());
        let (path, _) = case.variant(&FP16);
        let want = run(BackendKind::OnnxRuntime, &case.parent, &case.inputs);
        let got = run(BackendKind::OnnxRuntime, &path, &case.inputs);
        // By hand: the three largest exp(x / 2), each twice, at least 0.1, plus 2 * [0..6].
        let x = case.inputs[0].data().to_f64_vec();
        let mut e: Vec<f64> = x.iter().map(|v| (v * 0.5).exp()).collect();
        e.sort_by(|a, b| b.total_cmp(a));
        let by_hand: Vec<f32> = (0..6)
            .map(|i| (e[i / 2].max(0.1) + 2.0 * i as f64) as f32)
            .collect();
        for (v, w) in got[0].iter().zip(&by_hand) {
            assert!(
                (v - w).abs() <= 2e-3 * w.abs().max(1.0),
                "{:?} vs {by_hand:?}",
                got[0]
            );
        }
        assert!(cosine(&want[0], &got[0]) >= 0.9999);
        assert_eq!(want[1], got[1], "TopK indices");
    }

    #[test]
    fn fp16_io_runs_on_onnxruntime_with_float16_tensors() {
        for (name, model) in every_fixture() {
            let case = case(model);
            let (path, _) = case.variant(&FP16_IO);
            let halves: Vec<Tensor> = case
                .inputs
                .iter()
                .map(|t| match t.data() {
                    mlgate_ir::tensor::TensorData::F32(v) => Tensor::new(
                        t.name(),
                        t.shape().to_vec(),
                        mlgate_ir::tensor::TensorData::F16(
                            v.iter()
                                .map(|&x| mlgate_ir::tensor::f32_to_f16(x))
                                .collect(),
                        ),
                    )
                    .unwrap(),
                    _ => t.clone(),
                })
                .collect();
            let want = run(BackendKind::OnnxRuntime, &case.parent, &case.inputs);
            let got = run(BackendKind::OnnxRuntime, &path, &halves);
            for (a, b) in want.iter().zip(&got) {
                let cos = cosine(a, b);
                assert!(cos >= 0.999, "{name}: cosine {cos}");
            }
        }
    }

    /// Every method on every fixture loads and runs on ONNX Runtime and agrees with the
    /// parent within the method's bound.
    #[test]
    fn every_method_runs_on_onnxruntime_and_agrees() {
        let methods: [(Method, f64); 8] = [
            (FP16, 0.999),
            (Method::Int8 { per_channel: false }, 0.98),
            (Method::Int8 { per_channel: true }, 0.98),
            (Method::Int4 { block_size: 32 }, 0.9),
            (
                Method::Palettize {
                    nbits: 4,
                    group_size: None,
                },
                // The random MLP's small logits make per-tensor 4-bit visibly lossy (0.84).
                0.8,
            ),
            (
                Method::Palettize {
                    nbits: 6,
                    group_size: Some(16),
                },
                0.99,
            ),
            (
                Method::Palettize {
                    nbits: 8,
                    group_size: None,
                },
                0.998,
            ),
            (Method::Prune { sparsity: 0.5 }, 0.5),
        ];
        let mut failures = Vec::new();
        for (name, model) in [
            ("vision_cnn", fixtures::vision_cnn()),
            ("nlp_encoder", fixtures::nlp_encoder()),
            ("audio_conv", fixtures::audio_conv()),
            ("tiny_mlp", fixtures::tiny_mlp()),
        ] {
            let case = case(model);
            for (method, bound) in &methods {
                let parent = mlgate_ir::onnx::read_model(&case.parent).unwrap();
                let (out, _) = match optimize_onnx(&parent, method) {
                    Ok(v) => v,
                    // A fixture without a weight the method takes is refused, not mangled.
                    Err(OptimizeError::Unsupported(msg)) if msg.contains("no weights") => continue,
                    Err(e) => panic!("{name} {method:?}: {e}"),
                };
                let path = case.parent.with_file_name(format!("{}.onnx", method.id()));
                mlgate_ir::onnx::write_model(&path, &out).unwrap();
                let cos = agreement(BackendKind::OnnxRuntime, &case, &path);
                if cos < *bound {
                    failures.push(format!("{name} {}: cosine {cos:.5} < {bound}", method.id()));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
