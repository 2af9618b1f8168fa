//! `mlgate profile` and `mlgate insights` end to end on the fixture models: per-op times
//! that account for the measured run, FLOP estimates beside them, per-layer divergence of an
//! int8 variant, a clear refusal for a runtime whose profiler mlgate does not read, and insights whose
//! numbers are the comparisons explore stored. `needs_downloads` profiles on ONNX Runtime.

use mlgate_testkit::{sandbox, stderr, stdout, Sandbox};
use serde_json::Value;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Shares of the op types whose name contains `needle`.
fn share_of(report: &Value, needle: &str) -> f64 {
    report["by_op_type"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["op_type"].as_str().unwrap().contains(needle))
        .map(|r| f(&r["share"]))
        .sum()
}

/// Every node's share sums to one, and the op types partition the nodes.
fn check_consistency(report: &Value) {
    let nodes = report["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty(), "{report}");
    let total: f64 = nodes.iter().map(|n| f(&n["share"])).sum();
    assert!((total - 1.0).abs() < 1e-9, "shares sum to {total}");
    let by_type: usize = report["by_op_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["nodes"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(by_type, nodes.len());
    // Sorted by time, largest first.
    let times: Vec<f64> = nodes.iter().map(|n| f(&n["ms_per_run"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[test]
fn tract_profile_of_the_cnn_accounts_for_the_run() {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let cnn = cnn.to_str().unwrap();
    let v = s.json_ok(&[
        "profile",
        cnn,
        "--backend",
        "tract",
        "--runs",
        "5",
        "--deep",
    ]);
    assert_eq!(v["schema"], "mlgate.profile/v1");
    assert_eq!(v["session"]["backend"], "tract");
    assert_eq!(v["runs"], 5);
    check_consistency(&v);
    // tract's profile is mlgate's clock around each op evaluation: the ops are nearly the
    // whole run, and never more than it.
    let coverage = f(&v["timing"]["coverage"]);
    assert!(
        (0.5..=1.02).contains(&coverage),
        "per-op sum / run = {coverage}: {}",
        v["timing"]
    );
    // tract's cost model gives its matrix products FLOPs; the roofline is stated.
    let with_flops = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["flops_estimate"].as_f64().is_some_and(|x| x > 0.0))
        .count();
    assert!(with_flops > 0, "no FLOP estimate at all: {}", v["nodes"]);
    assert!(
        f(&v["roofline"]["copy_bandwidth_gb_s"]) > 0.1,
        "{}",
        v["roofline"]
    );
    let fusions = &v["fusions"];
    assert!(
        fusions["op_counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["op_type"] == "Conv" && c["in_file"].as_u64().unwrap() > 0),
        "{fusions}"
    );

    // The table a person reads: the coverage sentence, the estimate labels.
    let o = s.run(&[
        "profile",
        cnn,
        "--backend",
        "tract",
        "--runs",
        "3",
        "--top",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("per-op times sum to"), "{text}");
    assert!(text.contains("op type") && text.contains("share"), "{text}");
    assert!(
        !text.contains("(est.)"),
        "estimates only with --deep:\n{text}"
    );
}

#[test]
fn an_int8_variant_diverges_layer_by_layer_from_its_float_parent() {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let import = s.json_ok(&[
        "import",
        "--model",
        cnn.to_str().unwrap(),
        "--target",
        "tract_cpu",
    ]);
    let root = import["build"]["id"].as_str().unwrap().to_string();
    let variant = s.json_ok(&[
        "optimize",
        &root[..12],
        "--pass",
        "quantize",
        "--method",
        "int8",
    ]);
    let int8 = variant["build"]["id"].as_str().unwrap().to_string();
    let v = s.json_ok(&[
        "profile",
        &root[..12],
        "--runs",
        "2",
        "--int8-build",
        &int8[..12],
    ]);
    assert!(v["build_id"].as_str().unwrap().starts_with(&root[..12]));
    let d = &v["divergence"];
    let layers = d["layers"].as_array().unwrap();
    assert!(layers.len() >= 5, "{d}");
    // Quantization error is real and bounded: every compared tensor differs a little, none
    // is unrelated to the float one.
    for l in layers {
        let rel = f(&l["relative_l2"]);
        assert!(rel > 0.0 && rel < 0.5, "{l}");
        assert!(f(&l["cosine"]) > 0.85, "{l}");
    }
    assert!(d["largest_jump"].is_string(), "{d}");

    // A model that is not a variant of this one takes other inputs: a clear error, exit 2.
    let mlp = s.fixtures().join("tiny_mlp.onnx");
    let o = s.run(&[
        "profile",
        &root[..12],
        "--runs",
        "1",
        "--int8-build",
        mlp.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("is it a variant of"), "{}", stderr(&o));
}

#[test]
fn bad_arguments_are_refused_before_anything_runs() {
    let s = sandbox!();
    let o = s.run(&["profile", "missing.onnx"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.onnx"), "{}", stderr(&o));
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let o = s.run(&["profile", cnn.to_str().unwrap(), "--runs", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_tflite_model_is_refused_naming_the_runtimes_that_profile() {
    let s = sandbox!();
    let tflite = s.fixtures().join("twin_cnn.tflite");
    let o = s.run(&["profile", tflite.to_str().unwrap(), "--runs", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("per-op profilers of ONNX Runtime and tract") && err.contains("litert"),
        "{err}"
    );
}

/// `explore` on three fixtures (two vision models, one nlp) with accuracy checks; the
/// insights table must be the medians of what explore reported.
#[test]
fn insights_are_the_medians_of_what_explore_stored() {
    let s = sandbox!();
    let models = s.fixtures();
    s.json_ok(&["init"]);
    let empty = s.run(&["insights"]);
    assert_eq!(empty.status.code(), Some(0), "{}", stderr(&empty));
    assert!(stdout(&empty).contains("no recorded comparisons yet"));

    let mut reports = Vec::new();
    for (file, task) in [
        ("vision_cnn.onnx", "vision"),
        ("vision_cnn_slow.onnx", "vision"),
        ("nlp_encoder.onnx", "nlp"),
    ] {
        let path = models.join(file);
        let r = s.json_ok(&[
            "explore",
            path.to_str().unwrap(),
            "--target",
            "tract_cpu",
            "--methods",
            "int8,prune_0.50",
            "--max-time",
            "1",
            "--check-accuracy",
            "--accuracy-samples",
            "2",
            "--cosine-threshold",
            "0",
            "--top1-threshold",
            "0",
        ]);
        reports.push((task, r));
    }
    let all = s.json_ok(&["insights"]);
    let vision = s.json_ok(&["insights", "--task", "vision"]);
    assert!(vision["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["task"] == "vision"));

    for method in ["int8", "prune(0.50)"] {
        for task in ["vision", "nlp"] {
            let mut latency = Vec::new();
            let mut size = Vec::new();
            for (t, r) in &reports {
                if *t != task {
                    continue;
                }
                let base = f(&r["rows"][0]["size_bytes"]);
                for row in r["rows"].as_array().unwrap() {
                    if row["label"] != method {
                        continue;
                    }
                    if let Some(d) = row["latency"]["relative_delta"].as_f64() {
                        latency.push(1.0 + d);
                        size.push(f(&row["size_bytes"]) / base);
                    }
                }
            }
            let row = all["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["method"] == method && r["task"] == task)
                .unwrap_or_else(|| panic!("no {method}/{task} row: {all}"));
            let median = |mut v: Vec<f64>| {
                v.sort_by(f64::total_cmp);
                let m = v.len() / 2;
                if v.len() % 2 == 1 {
                    v[m]
                } else {
                    (v[m - 1] + v[m]) / 2.0
                }
            };
            assert_eq!(row["comparisons"].as_u64().unwrap() as usize, latency.len());
            assert_eq!(row["models"].as_u64().unwrap() as usize, latency.len());
            assert!((f(&row["latency_ratio"]["median"]) - median(latency.clone())).abs() < 1e-12);
            assert!((f(&row["size_ratio"]["median"]) - median(size)).abs() < 1e-12);
            assert_eq!(row["accuracy_checks"], row["comparisons"], "{row}");
            assert_eq!(row["backend"], "tract");
        }
    }
    // One recommendation per task; every check passed at zero thresholds, so a method is
    // left out only for being measured slower (int8 is, on tract), never recommended.
    let recs = all["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 2, "{all}");
    for rec in recs {
        if let Some(m) = rec["method"].as_str() {
            let row = all["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["method"] == m && r["task"] == rec["task"])
                .unwrap();
            assert_eq!(row["significantly_slower"], 0, "{rec} rests on {row}");
        } else {
            assert!(rec["reason"].as_str().unwrap().contains("slower"), "{rec}");
        }
    }

    let o = s.run(&["insights"]);
    let text = stdout(&o);
    assert!(text.contains("for a new vision model on tract"), "{text}");
    assert!(text.contains("latency × median"), "{text}");
}

mod needs_downloads {
    use super::*;

    fn ort_sandbox() -> Sandbox {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime"]);
        s
    }

    /// The acceptance: Conv is the bulk of the CNN's time on ONNX Runtime, and the
    /// per-op times sum to within 15% of the measured inference time.
    #[test]
    fn onnxruntime_profile_of_the_cnn_is_mostly_conv_and_sums_to_the_run() {
        let s = ort_sandbox();
        let cnn = s.fixtures().join("vision_cnn.onnx");
        let v = s.json_ok(&[
            "profile",
            cnn.to_str().unwrap(),
            "--backend",
            "onnxruntime",
            "--runs",
            "20",
            "--deep",
        ]);
        assert_eq!(v["session"]["backend"], "onnxruntime");
        check_consistency(&v);
        let conv = share_of(&v, "Conv");
        assert!(
            conv > 0.5,
            "Conv ops are {conv} of the time: {}",
            v["by_op_type"]
        );
        let coverage = f(&v["timing"]["coverage"]);
        assert!(
            (0.85..=1.15).contains(&coverage),
            "per-op sum / measured run = {coverage}: {}",
            v["timing"]
        );
        assert!(v["timing"]["runtime_run_ms_median"].as_f64().is_some());
        // ONNX Runtime's op semantics give every Conv an estimate.
        for n in v["nodes"].as_array().unwrap() {
            if n["op_type"].as_str().unwrap().contains("Conv") {
                assert_eq!(n["flops_source"], "op_semantics", "{n}");
                assert!(f(&n["flops_estimate"]) > 0.0, "{n}");
                assert!(n["bound_estimate"].is_string(), "{n}");
            }
        }
    }
}
