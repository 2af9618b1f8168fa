//! Models as converters write them, run out of the box: a TFLite file whose `serving_default`
//! signature renames its tensors and leaves the batch open, and the same CNN as ONNX.
//! `infer` and `benchmark` need no input files; inputs may be named by signature name or by
//! tensor name; and the three runtimes agree on identical inputs.

use std::path::{Path, PathBuf};

use mlgate_ir::fixtures::twin;
use mlgate_ir::tensor::{read_tensors, write_npz, Tensor};
use mlgate_testkit::{sandbox, stderr, stdout, Sandbox};

#[path = "real_models/corpus.rs"]
mod corpus;

/// Relative L2 the float runtimes must agree within on the same inputs.
const FLOAT_AGREEMENT: f64 = 1e-4;

/// `mlgate infer MODEL ARGS --json --output OUT`: the report and the outputs.
fn infer(s: &Sandbox, model: &Path, args: &[&str], out: &Path) -> (serde_json::Value, Vec<Tensor>) {
    let mut all = vec![
        "infer",
        model.to_str().unwrap(),
        "--json",
        "--output",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = s.run(&all);
    assert_eq!(o.status.code(), Some(0), "{all:?}: {}", stderr(&o));
    let report = serde_json::from_str(&stdout(&o)).unwrap();
    (report, read_tensors(out).unwrap())
}

fn rel_l2(a: &Tensor, b: &Tensor) -> f64 {
    mlgate_backends::inputs::relative_l2(a, b).expect("comparable outputs")
}

fn twins(dir: &Path) -> (PathBuf, PathBuf) {
    let [onnx, tflite] = twin::write(dir).unwrap();
    (onnx, tflite)
}

/// Exporters declare output and intermediate shapes with symbols of their own
/// (`[batch, sequence, Addhidden_dim_2]`, `unk__3`); with the concrete inputs mlgate feeds,
/// tract used to refuse them ("Impossible to unify Val(1) with Sym(batch)").
#[test]
fn tract_runs_a_model_whose_declared_shapes_keep_their_symbols() {
    use mlgate_ir::fixtures::{value_info, DimSpec, GraphBuilder};
    use mlgate_ir::onnx::proto::tensor_proto::DataType;

    let s = sandbox!();
    let mut g = GraphBuilder::new("symbols", 1);
    let ids = g.input(
        "input_ids",
        DataType::Int64,
        &[DimSpec::Named("batch"), DimSpec::Named("sequence")],
    );
    let table = g.weight("emb", &[100, 8], 1.0);
    let gathered = g.node("Gather", &[&table, &ids], vec![]);
    let relu = g.node("Relu", &[&gathered], vec![]);
    let one = g.constant_f32("one", &[8], vec![1.0; 8]);
    g.node_named("Add", &[&relu, &one], "hidden", vec![]);
    g.output(
        "hidden",
        DataType::Float,
        &[
            DimSpec::Named("batch"),
            DimSpec::Named("sequence"),
            DimSpec::Named("Addhidden_dim_2"),
        ],
    );
    let mut model = g.finish("symbols in declared shapes");
    model.graph.as_mut().unwrap().value_info.push(value_info(
        &relu,
        DataType::Float,
        &[
            DimSpec::Named("batch"),
            DimSpec::Named("sequence_1"),
            DimSpec::Named("unk__3"),
        ],
    ));
    let path = s.path().join("symbols.onnx");
    mlgate_ir::onnx::write_model(&path, &model).unwrap();
    let (r, out) = infer(
        &s,
        &path,
        &["--backend", "tract"],
        &s.path().join("out.npz"),
    );
    assert_eq!(r["session"]["backend"], "tract");
    assert_eq!(out[0].shape(), &[1, 128, 8]);
}

/// ONNX Runtime and LiteRT against tract, on the twin CNN.
mod needs_downloads {
    use super::*;

    #[test]
    fn a_converter_style_tflite_runs_with_synthesized_inputs_on_litert() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime", "litert"]);
        let (_, tflite) = twins(s.path());

        // inspect shows the signature name with the tensor name beside it.
        let o = s.run(&["inspect", tflite.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains("input (tensor serving_default_input:0)")
                && text.contains("logits (tensor StatefulPartitionedCall:0)"),
            "{text}"
        );

        // Batch 1 by default (the file says -1), the measuring runtime named in the report.
        let saved = s.path().join("in.npz");
        let (r, out) = infer(
            &s,
            &tflite,
            &["--save-inputs", saved.to_str().unwrap()],
            &s.path().join("out.npz"),
        );
        assert_eq!(r["session"]["backend"], "litert", "{r}");
        assert_eq!(r["input_source"], "synthesized");
        assert_eq!(r["inputs"][0]["name"], twin::INPUT);
        assert_eq!(r["inputs"][0]["shape"], serde_json::json!([1, 64, 64, 3]));
        assert_eq!(out[0].name(), twin::OUTPUT);
        assert_eq!(out[0].shape(), &[1, 10]);

        // --batch resizes the open dimension.
        let (r, out) = infer(&s, &tflite, &["--batch", "3"], &s.path().join("out3.npz"));
        assert_eq!(r["inputs"][0]["shape"], serde_json::json!([3, 64, 64, 3]));
        assert_eq!(out[0].shape(), &[3, 10]);
        assert!(r["warnings"].as_array().unwrap().is_empty(), "{r}");

        // An .npz keyed by tensor name, as Python LiteRT's tensor API saves it, is accepted.
        let by_tensor = s.path().join("by_tensor.npz");
        let x = read_tensors(&saved).unwrap().remove(0);
        let renamed =
            Tensor::new(twin::INPUT_TENSOR, x.shape().to_vec(), x.data().clone()).unwrap();
        write_npz(&by_tensor, &[renamed], true).unwrap();
        let (_, again) = infer(
            &s,
            &tflite,
            &["--inputs", by_tensor.to_str().unwrap()],
            &s.path().join("again.npz"),
        );
        let first = read_tensors(&s.path().join("out.npz")).unwrap();
        assert_eq!(again, first);

        // benchmark with synthesized inputs, briefly.
        let o = s.run(&[
            "benchmark",
            tflite.to_str().unwrap(),
            "--runs",
            "20",
            "--warmup",
            "2",
            "--min-time",
            "0",
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("\"litert\""), "{}", stdout(&o));
    }

    #[test]
    fn the_same_cnn_agrees_across_onnx_runtime_tract_and_litert() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime", "litert"]);
        let (onnx, tflite) = twins(s.path());
        for batch in ["1", "2"] {
            let inputs = s.path().join(format!("in{batch}.npz"));
            let (_, lite) = infer(
                &s,
                &tflite,
                &["--batch", batch, "--save-inputs", inputs.to_str().unwrap()],
                &s.path().join("litert.npz"),
            );
            // The same inputs by tensor name on LiteRT, and on the ONNX twin.
            let by_tensor = s.path().join(format!("tensor{batch}.npz"));
            let x = read_tensors(&inputs).unwrap().remove(0);
            let renamed =
                Tensor::new(twin::INPUT_TENSOR, x.shape().to_vec(), x.data().clone()).unwrap();
            write_npz(&by_tensor, &[renamed], true).unwrap();
            let (_, lite_by_tensor) = infer(
                &s,
                &tflite,
                &["--inputs", by_tensor.to_str().unwrap()],
                &s.path().join("litert2.npz"),
            );
            assert_eq!(lite, lite_by_tensor);
            for backend in ["onnxruntime", "tract"] {
                let (r, out) = infer(
                    &s,
                    &onnx,
                    &["--backend", backend, "--inputs", inputs.to_str().unwrap()],
                    &s.path().join(format!("{backend}.npz")),
                );
                assert_eq!(r["session"]["backend"], backend);
                let e = rel_l2(&out[0], &lite[0]);
                assert!(
                    e <= FLOAT_AGREEMENT,
                    "batch {batch}: {backend} vs LiteRT: relative L2 {e:e}"
                );
            }
        }
    }

    #[test]
    fn a_build_is_measured_on_the_runtime_its_target_names() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime", "litert"]);
        let (onnx, _) = twins(&s.path().join("models"));
        let o = s.run(&[
            "import",
            "--model",
            onnx.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["build"]["backend"], "onnxruntime");
        let id = v["build"]["id"].as_str().unwrap()[..12].to_string();
        let quick = ["--runs", "10", "--warmup", "1", "--min-time", "0"];
        let run = |args: &[&str]| -> serde_json::Value {
            let o = s.run(args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
            serde_json::from_str(&stdout(&o)).unwrap()
        };
        let r = run(&["infer", &id, "--json"]);
        assert_eq!(r["session"]["backend"], "onnxruntime", "infer BUILD");
        let r = run(&[&["benchmark", id.as_str(), "--json"][..], &quick].concat());
        assert_eq!(
            r["result"]["session"]["backend"], "onnxruntime",
            "benchmark BUILD"
        );
        // --backend still overrides the target.
        let r = run(&[
            &["benchmark", id.as_str(), "--backend", "tract", "--json"][..],
            &quick,
        ]
        .concat());
        assert_eq!(r["result"]["session"]["backend"], "tract");
        let r = run(&[
            "validate",
            &id,
            "--max-latency",
            "1000",
            "--max-time",
            "1",
            "--json",
        ]);
        assert!(
            r.to_string().contains("\"onnxruntime\""),
            "validate BUILD: {r}"
        );
    }
}
