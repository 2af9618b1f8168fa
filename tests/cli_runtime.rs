//! `mlgate doctor`, `mlgate infer` and `mlgate runtime` end to end on real runtimes.

use std::path::PathBuf;

use mlgate_ir::tensor::read_tensors;
use mlgate_testkit::{sandbox, stderr, stdout, Sandbox};

#[test]
fn doctor_reports_every_runtime() {
    let s = sandbox!();
    let out = s.run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], "mlgate.doctor/v1");
    assert_eq!(v["default_backend_ok"], true);
    let runtimes = v["runtimes"].as_array().unwrap();
    let names: Vec<&str> = runtimes
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["tract", "onnxruntime", "litert", "coreml", "candle"]
    );
    for r in runtimes {
        if r["available"] == false {
            assert!(r["install"].is_string() || r["problem"].is_string(), "{r}");
        } else if r["source"] == "built in" {
            // tract and candle are compiled in: no library, the crate's version.
            assert!(r["library"].is_null() && r["version"].is_string(), "{r}");
        } else {
            assert!(r["library"].is_string() && r["version"].is_string(), "{r}");
        }
    }
    let out = s.run(&["doctor"]);
    assert!(stdout(&out).contains("Runtimes") && stdout(&out).contains("tract"));
}

#[test]
fn doctor_says_how_to_install_a_missing_runtime() {
    let s = sandbox!();
    let out = s
        .command(&["doctor", "--json"])
        .env("MLGATE_HOME", s.path())
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("LITERT_LIB_PATH")
        // No Python to fall back on: only mlgate's own (empty) runtimes directory counts.
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let litert = &v["runtimes"][2];
    assert_eq!(litert["available"], false);
    assert_eq!(litert["install"], "mlgate runtime install litert");
    assert_eq!(v["runtimes"][1]["install"], "mlgate runtime install ort");
}

/// `infer` on tract with synthesized inputs, saved: the inputs and the outputs.
fn infer_on_tract(s: &Sandbox) -> (PathBuf, PathBuf, PathBuf) {
    let model = s.fixtures().join("nlp_encoder.onnx");
    let inputs = s.path().join("in.npz");
    let tract_out = s.path().join("tract.npz");
    let out = s.run(&[
        "infer",
        model.to_str().unwrap(),
        "--backend",
        "tract",
        "--save-inputs",
        inputs.to_str().unwrap(),
        "--output",
        tract_out.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("last_hidden_state"),
        "{}",
        stdout(&out)
    );
    let saved = read_tensors(&inputs).unwrap();
    assert_eq!(
        saved.iter().map(|t| t.name()).collect::<Vec<_>>(),
        ["input_ids", "attention_mask"]
    );
    (model, inputs, tract_out)
}

#[test]
fn infer_synthesized_saves_its_inputs() {
    infer_on_tract(&sandbox!());
}

#[test]
fn infer_bad_inputs_exit_2() {
    let s = sandbox!();
    let dir = s.fixtures();
    let inputs = s.path().join("nlp_in.npz");
    let nlp = dir.join("nlp_encoder.onnx");
    let out = s.run(&[
        "infer",
        nlp.to_str().unwrap(),
        "--save-inputs",
        inputs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The NLP inputs fed to the MLP: wrong names, said before any runtime runs.
    let mlp = dir.join("tiny_mlp.onnx");
    let out = s.run(&[
        "infer",
        mlp.to_str().unwrap(),
        "--inputs",
        inputs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("input_ids") && stderr(&out).contains("input f32[1, 784]"),
        "{}",
        stderr(&out)
    );
    // A file that is not npz at all.
    std::fs::write(s.path().join("junk.npz"), b"not a zip").unwrap();
    let out = s.run(&["infer", mlp.to_str().unwrap(), "--inputs", "junk.npz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.npz"), "{}", stderr(&out));
    // An unknown runtime name.
    let out = s.run(&["infer", mlp.to_str().unwrap(), "--backend", "tensorrt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tensorrt"), "{}", stderr(&out));
    let out = s.run(&["runtime", "install", "tensorrt"]);
    assert_eq!(out.status.code(), Some(2));
}

mod needs_downloads {
    use super::*;

    #[test]
    fn doctor_finds_the_installed_runtimes() {
        sandbox!().require_runtimes(&["onnxruntime", "litert"]);
    }

    #[test]
    fn infer_synthesized_then_replayed_on_another_runtime_agrees() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime"]);
        let (model, inputs, tract_out) = infer_on_tract(&s);
        let m = model.to_str().unwrap();
        let ort_out = s.path().join("ort.npz");
        let out = s.run(&[
            "infer",
            m,
            "--backend",
            "onnxruntime",
            "--inputs",
            inputs.to_str().unwrap(),
            "--output",
            ort_out.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(report["schema"], "mlgate.infer/v1");
        assert_eq!(report["input_source"], "file");
        let a = &read_tensors(&tract_out).unwrap()[0];
        let b = &read_tensors(&ort_out).unwrap()[0];
        let l2 = mlgate_backends::inputs::relative_l2(a, b).unwrap();
        assert!(
            l2 < 1e-4,
            "tract and onnxruntime disagree: relative L2 {l2}"
        );
    }

    #[test]
    fn infer_tflite_on_litert() {
        let s = sandbox!();
        s.require_runtimes(&["litert"]);
        let dir = mlgate_testkit::testdata("mediapipe");
        let model = dir.join("palm_detection/palm_detection_lite.tflite");
        let out = s.run(&["infer", model.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["session"]["backend"], "litert");
        assert_eq!(v["outputs"][0]["shape"], serde_json::json!([1, 2016, 18]));
        assert_eq!(v["outputs"][0]["stats"]["nan_count"], 0);

        let custom = dir.join("face_landmark/face_landmark_with_attention.tflite");
        let out = s.run(&["infer", custom.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("Landmarks2TransformMatrix"),
            "{}",
            stderr(&out)
        );
    }

    #[test]
    fn strict_output_turns_suspicious_outputs_into_exit_1() {
        // The onnx wheel's light models have constant weights: their outputs are constant.
        let s = sandbox!();
        let dir = mlgate_testkit::testdata("onnx-light");
        let model = dir.join("light_squeezenet.onnx");
        let m = model.to_str().unwrap();
        let soft = s.run(&["infer", m, "--backend", "tract"]);
        assert_eq!(soft.status.code(), Some(0), "{}", stderr(&soft));
        assert!(stderr(&soft).contains("warning:"), "{}", stderr(&soft));
        let strict = s.run(&["infer", m, "--backend", "tract", "--strict-output"]);
        assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
    }
}
