//! `mlgate doctor`, `mlgate infer` and `mlgate runtime` end to end on real runtimes.

mod common;

use common::{mlgate, stderr, stdout};
use mlgate_ir::tensor::read_tensors;

fn runtimes_required() -> bool {
    std::env::var("MLGATE_REQUIRE_RUNTIMES").as_deref() == Ok("1")
}

#[test]
fn doctor_reports_every_runtime() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mlgate(&["doctor", "--json"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], "mlgate.doctor/v1");
    assert_eq!(v["default_backend_ok"], true);
    let runtimes = v["runtimes"].as_array().unwrap();
    let names: Vec<&str> = runtimes
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tract", "onnxruntime", "litert", "coreml"]);
    for r in runtimes {
        if r["available"] == false {
            assert!(r["install"].is_string() || r["problem"].is_string(), "{r}");
        } else if r["backend"] != "tract" {
            assert!(r["library"].is_string() && r["version"].is_string(), "{r}");
        }
    }
    if runtimes_required() {
        for r in &runtimes[1..3] {
            assert_eq!(r["available"], true, "{r}");
        }
    }
    let out = mlgate(&["doctor"], tmp.path());
    assert!(stdout(&out).contains("Runtimes") && stdout(&out).contains("tract"));
}

#[test]
fn doctor_says_how_to_install_a_missing_runtime() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mlgate"))
        .args(["doctor", "--json"])
        .env("MLGATE_HOME", tmp.path())
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

#[test]
fn infer_synthesized_then_replayed_on_another_runtime_agrees() {
    let Some(dir) = common::testdata("fixtures") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in.npz");
    let tract_out = tmp.path().join("tract.npz");
    let model = dir.join("nlp_encoder.onnx");
    let m = model.to_str().unwrap();
    let out = mlgate(
        &[
            "infer",
            m,
            "--backend",
            "tract",
            "--save-inputs",
            inputs.to_str().unwrap(),
            "--output",
            tract_out.to_str().unwrap(),
        ],
        tmp.path(),
    );
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

    let ort_out = tmp.path().join("ort.npz");
    let out = mlgate(
        &[
            "infer",
            m,
            "--backend",
            "onnxruntime",
            "--inputs",
            inputs.to_str().unwrap(),
            "--output",
            ort_out.to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    if out.status.code() == Some(2)
        && !runtimes_required()
        && stderr(&out).contains("runtime install")
    {
        eprintln!("note: ONNX Runtime not installed; skipping the cross-runtime half");
        return;
    }
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
    let Some(dir) = common::testdata("mediapipe") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let model = dir.join("palm_detection/palm_detection_lite.tflite");
    let out = mlgate(&["infer", model.to_str().unwrap(), "--json"], tmp.path());
    if out.status.code() == Some(2) && !runtimes_required() {
        eprintln!("note: LiteRT not installed; skipping");
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["session"]["backend"], "litert");
    assert_eq!(v["outputs"][0]["shape"], serde_json::json!([1, 2016, 18]));
    assert_eq!(v["outputs"][0]["stats"]["nan_count"], 0);

    let custom = dir.join("face_landmark/face_landmark_with_attention.tflite");
    let out = mlgate(&["infer", custom.to_str().unwrap()], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Landmarks2TransformMatrix"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn infer_bad_inputs_exit_2() {
    let Some(dir) = common::testdata("fixtures") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("nlp_in.npz");
    let nlp = dir.join("nlp_encoder.onnx");
    let out = mlgate(
        &[
            "infer",
            nlp.to_str().unwrap(),
            "--save-inputs",
            inputs.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The NLP inputs fed to the MLP: wrong names, said before any runtime runs.
    let mlp = dir.join("tiny_mlp.onnx");
    let out = mlgate(
        &[
            "infer",
            mlp.to_str().unwrap(),
            "--inputs",
            inputs.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("input_ids") && stderr(&out).contains("input f32[1, 784]"),
        "{}",
        stderr(&out)
    );
    // A file that is not npz at all.
    std::fs::write(tmp.path().join("junk.npz"), b"not a zip").unwrap();
    let out = mlgate(
        &["infer", mlp.to_str().unwrap(), "--inputs", "junk.npz"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.npz"), "{}", stderr(&out));
    // An unknown runtime name.
    let out = mlgate(
        &["infer", mlp.to_str().unwrap(), "--backend", "tensorrt"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tensorrt"), "{}", stderr(&out));
    let out = mlgate(&["runtime", "install", "tensorrt"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn strict_output_turns_suspicious_outputs_into_exit_1() {
    // The onnx wheel's light models have constant weights: their outputs are constant.
    let Some(dir) = common::testdata("onnx-light") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let model = dir.join("light_squeezenet.onnx");
    let m = model.to_str().unwrap();
    let soft = mlgate(&["infer", m, "--backend", "tract"], tmp.path());
    assert_eq!(soft.status.code(), Some(0), "{}", stderr(&soft));
    assert!(stderr(&soft).contains("warning:"), "{}", stderr(&soft));
    let strict = mlgate(
        &["infer", m, "--backend", "tract", "--strict-output"],
        tmp.path(),
    );
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
}
