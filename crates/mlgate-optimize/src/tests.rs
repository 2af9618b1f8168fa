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

mod needs_downloads {
    use super::*;

    /// Every method on every fixture loads and runs on ONNX Runtime and agrees with the
    /// parent within the method's bound.
    #[test]
    fn every_method_runs_on_onnxruntime_and_agrees() {
        let methods: [(Method, f64); 7] = [
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
