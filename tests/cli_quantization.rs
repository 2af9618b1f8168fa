//! The gate with `--check-accuracy`, and `compare-quantization`, end to end on the fixture
//! CNN and variants `mlgate optimize` made of it.

use mlgate_testkit::{json, sandbox, stderr, stdout, Sandbox};
use serde_json::Value;

/// The CNN imported for tract, and two variants: int8 (close) and 1-bit palettes (lossy).
fn cnn_with_variants(s: &Sandbox) -> (String, String, String) {
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let root = s.json_ok(&[
        "import",
        "--model",
        cnn.to_str().unwrap(),
        "--target",
        "tract_cpu",
    ]);
    let root = root["build"]["id"].as_str().unwrap().to_string();
    let id = |v: Value| v["build"]["id"].as_str().unwrap().to_string();
    let int8 = id(s.json_ok(&["optimize", &root, "--pass", "quantize", "--method", "int8"]));
    let lossy = id(s.json_ok(&["optimize", &root, "--pass", "palettize", "--nbits", "1"]));
    (root, int8, lossy)
}

fn accuracy_checks(report: &Value) -> Vec<&Value> {
    report["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "accuracy")
        .collect()
}

#[test]
fn compare_gates_accuracy_when_asked_and_only_then() {
    let s = sandbox!();
    let (root, int8, lossy) = cnn_with_variants(&s);
    // Latency is not what this test is about: a wide threshold keeps it out of the verdict.
    let gate = |cand: &str, extra: &[&str]| {
        let mut args = vec![
            "compare",
            &root,
            cand,
            "--threshold",
            "100000",
            "--max-time",
            "2",
            "--json",
        ];
        args.extend(extra);
        s.run(&args)
    };
    let o = gate(&int8, &["--check-accuracy", "--accuracy-samples", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let checks = accuracy_checks(&v);
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{checks:?}");
    assert_eq!(checks[1]["actual"]["n"], 4);

    let o = gate(&lossy, &["--check-accuracy", "--accuracy-samples", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let v = json(&o);
    let cosine = accuracy_checks(&v)
        .into_iter()
        .find(|c| c["metric"] == "accuracy.cosine[logits]")
        .unwrap()
        .clone();
    assert_eq!(cosine["status"], "fail", "{cosine}");
    assert_eq!(cosine["source"]["kind"], "default");

    // The same lossy variant without --check-accuracy: no accuracy check, no failure.
    let o = gate(&lossy, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(accuracy_checks(&json(&o)).is_empty());
    // A limit from the flag is used and named as such.
    let o = gate(
        &lossy,
        &[
            "--check-accuracy",
            "--accuracy-samples",
            "2",
            "--cosine-threshold",
            "0.1",
            "--top1-threshold",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert!(accuracy_checks(&v)
        .iter()
        .all(|c| c["source"]["kind"] == "flag"));
}

#[test]
fn compare_quantization_reports_size_latency_and_accuracy_side_by_side() {
    let s = sandbox!();
    let (root, int8, _) = cnn_with_variants(&s);
    let v = s.json_ok(&[
        "compare-quantization",
        &root,
        &int8,
        "--accuracy-samples",
        "4",
        "--max-time",
        "2",
    ]);
    assert_eq!(v["schema"], "mlgate.compare-quantization/v1");
    let (a, b) = (
        v["fp32_size_bytes"].as_u64().unwrap(),
        v["quantized_size_bytes"].as_u64().unwrap(),
    );
    assert!(b * 3 < a, "int8 should be about a quarter: {a} → {b}");
    assert!((v["size_ratio"].as_f64().unwrap() - a as f64 / b as f64).abs() < 1e-9);
    assert_eq!(v["accuracy"]["samples"], 4);
    assert!(v["latency"]["pairs"].as_u64().unwrap() > 0, "{v}");
    let o = s.run(&["compare-quantization", &root, &int8, "--max-time", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-time"), "{}", stderr(&o));
}

#[test]
fn ci_explore_gates_what_explore_recommends_and_says_so() {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let cnn = cnn.to_str().unwrap();
    let root = s.json_ok(&["import", "--model", cnn, "--target", "tract_cpu"]);
    let root = root["build"]["id"].as_str().unwrap().to_string();
    s.json_ok(&["tag", "create", &root, "main-cnn"]);
    let o = s.run(&[
        "ci",
        "--model",
        cnn,
        "--baseline",
        "main-cnn",
        "--explore",
        "--max-time",
        "2",
        "--json",
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let report = json(&o);
    let warnings = report["verdict"]["warnings"].to_string();
    assert!(warnings.contains("--explore: 3 variants"), "{warnings}");
    // The variants are the model's children in the registry.
    let log = s.json_ok(&["log"]);
    let children = log["builds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["build"]["parent_id"] == root.as_str())
        .count();
    assert_eq!(children, 3, "{log}");
    // Without --explore, nothing is swept.
    let o = s.run(&[
        "ci",
        "--model",
        cnn,
        "--baseline",
        "main-cnn",
        "--max-time",
        "2",
        "--json",
    ]);
    assert!(!json(&o)["verdict"]["warnings"]
        .to_string()
        .contains("--explore"));
}

#[test]
fn explore_takes_calibration_data_for_static_int8_and_refuses_it_without() {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let cnn = cnn.to_str().unwrap();
    let root = s.json_ok(&["import", "--model", cnn, "--target", "tract_cpu"]);
    let root = root["build"]["id"].as_str().unwrap().to_string();
    let o = s.run(&["explore", &root, "--methods", "int8_static"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--calibration-data"), "{}", stderr(&o));
    let npz = s.path().join("calibration.npz");
    let o = s.run(&[
        "infer",
        &root,
        "--seed",
        "7",
        "--save-inputs",
        npz.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = s.json_ok(&[
        "explore",
        &root,
        "--methods",
        "int8_static",
        "--calibration-data",
        npz.to_str().unwrap(),
        "--max-time",
        "2",
    ]);
    let row = &v["rows"][1];
    assert!(
        row["method"]
            .as_str()
            .unwrap()
            .starts_with("int8_static_minmax_"),
        "{row}"
    );
    assert!(row["build_id"].is_string(), "{row}");
}

#[test]
fn accuracy_and_the_gate_take_a_dataset_instead_of_synthesized_inputs() {
    let s = sandbox!();
    let (root, int8, _) = cnn_with_variants(&s);
    let npz = s.path().join("dataset.npz");
    let o = s.run(&[
        "infer",
        &root,
        "--seed",
        "3",
        "--save-inputs",
        npz.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = s.json_ok(&["accuracy", &root, &int8, "--dataset", npz.to_str().unwrap()]);
    assert_eq!(v["samples"], 1, "{v}");
    assert!(v["inputs"].as_str().unwrap().contains("dataset.npz"), "{v}");
    let o = s.run(&[
        "compare",
        &root,
        &int8,
        "--threshold",
        "100000",
        "--max-time",
        "2",
        "--dataset",
        npz.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let checks = accuracy_checks(&json(&o)).len();
    assert_eq!(checks, 2);
    let missing = s.path().join("no-such.npz");
    let o = s.run(&[
        "accuracy",
        &root,
        &int8,
        "--dataset",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such.npz"), "{}", stderr(&o));
}
