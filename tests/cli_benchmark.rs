//! `mlgate benchmark` and `mlgate compare` end to end on fixture models with short times:
//! output shape, JSON envelopes and exit codes. Verdicts that depend on timing noise are not
//! asserted, except the sure one: +300% compute is a regression at a 5% threshold.

use std::path::Path;

use mlgate_testkit::{json, sandbox, stderr, stdout};

#[test]
fn benchmark_table_and_json() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(
        &dir,
        &[
            "benchmark",
            "tiny_mlp.onnx",
            "--min-time",
            "0.3",
            "--max-time",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "tiny_mlp.onnx on tract",
        "cold start: load",
        "p50",
        "p99",
        "throughput",
        "outliers",
        "machine:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    let timeline = tempfile::NamedTempFile::new().unwrap();
    let t = timeline.path().to_str().unwrap();
    let out = s.run_in(
        &dir,
        &[
            "benchmark",
            "tiny_mlp.onnx",
            "--runs",
            "50",
            "--warmup",
            "2",
            "--json",
            "--timeline",
            t,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["schema"], "mlgate.benchmark/v1");
    let r = &v["result"];
    assert_eq!(r["session"]["backend"], "tract");
    assert!(r["environment"]["cores"].as_u64().unwrap() >= 1);
    assert!(r["cold_start"]["load_ms"].as_f64().unwrap() > 0.0);
    let run = &r["runs"][0];
    assert_eq!(
        run["samples_ns"].as_array().unwrap().len(),
        50,
        "exactly --runs samples, none dropped"
    );
    assert_eq!(run["summary"]["n"], 50);
    let p99 = run["summary"]["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["percentile"] == 99.0)
        .unwrap();
    assert_eq!(p99["sufficient"], false, "50 samples cannot bound p99");
    assert!(p99["value_ms"].is_null());
    let p50 = &run["summary"]["percentiles"][0];
    assert!(
        p50["value_ms"].as_f64().unwrap() > 0.0
            && p50["ci_low_ms"].as_f64().unwrap() <= p50["value_ms"].as_f64().unwrap()
    );
    assert!(run["throughput"]["inferences_per_s"].as_f64().unwrap() > 0.0);
    // The timeline is JSON Lines.
    let lines = std::fs::read_to_string(timeline.path()).unwrap();
    for line in lines.lines() {
        let s: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(s["rss_bytes"].is_u64());
    }
}

#[test]
fn benchmark_per_sequence_length() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(
        &dir,
        &[
            "benchmark",
            "nlp_encoder.onnx",
            "--seq-len",
            "8,32",
            "--runs",
            "20",
            "--task",
            "nlp",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["task"], "nlp");
    let runs = v["result"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["label"], "seq_len=8");
    assert_eq!(runs[1]["input_shapes"][0][1], serde_json::json!([1, 32]));
}

#[test]
fn benchmark_errors_exit_2() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(&dir, &["benchmark", "missing.onnx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.onnx"), "{}", stderr(&out));
    let out = s.run_in(&dir, &["benchmark", "tiny_mlp.onnx", "--backend", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown backend"), "{}", stderr(&out));
    let out = s.run_in(
        &dir,
        &["benchmark", "tiny_mlp.onnx", "--min-time=-1", "--json"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["schema"], "mlgate.error/v1");
    let out = s.run_in(&dir, &["benchmark", "tiny_mlp.onnx", "--seq-len", "16"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no token inputs with a sequence length"),
        "{}",
        stderr(&out)
    );
}

fn write_cnn_pair(dir: &Path) -> (String, String) {
    let base = dir.join("cnn.onnx");
    let slow = dir.join("cnn_plus300.onnx");
    mlgate_ir::onnx::write_model(&base, &mlgate_ir::fixtures::vision_cnn()).unwrap();
    mlgate_ir::onnx::write_model(
        &slow,
        &mlgate_ir::fixtures::vision_cnn_with_extra_compute(3.0),
    )
    .unwrap();
    (base.display().to_string(), slow.display().to_string())
}

#[test]
fn compare_sure_regression_exits_1() {
    let s = sandbox!();
    let (base, slow) = write_cnn_pair(s.path());
    let out = s.run(&[
        "compare",
        &base,
        &slow,
        "--threshold",
        "5",
        "--max-time",
        "6",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for needle in [
        "verdict: REGRESSION",
        "p50 shift: +",
        "CI [",
        "p = ",
        "reason:",
        "baseline",
        "candidate",
        "n = ",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// `--isolate`: every session in a worker process of its own. A model against itself is
/// still never a regression; the report says how it was measured, each worker's memory is
/// its own process's, and the workers are gone afterwards.
#[test]
fn isolated_compare_runs_each_session_in_its_own_worker_process() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(
        &dir,
        &[
            "compare",
            "tiny_mlp.onnx",
            "tiny_mlp.onnx",
            "--isolate",
            "--sessions",
            "3",
            "--max-time",
            "2",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let r = &v["result"];
    let c = &r["comparison"];
    assert!(
        c["method"]
            .as_str()
            .unwrap()
            .contains("fresh worker process"),
        "{}",
        c["method"]
    );
    assert_eq!(c["sessions_per_side"], serde_json::json!([3, 3]));
    assert_ne!(c["verdict"], "regression", "{c}");
    assert!(r["baseline"]["memory"]["method"]
        .as_str()
        .unwrap()
        .contains("worker process"));
    assert!(c["pairs"].as_u64().unwrap() > 0);

    // The worker subcommand speaks its protocol only: a bad spec is answered, not panicked.
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_mlgate"))
        .arg("bench-worker")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    writeln!(worker.stdin.take().unwrap(), "not json").unwrap();
    let o = worker.wait_with_output().unwrap();
    assert!(stdout(&o).starts_with("{\"error\""), "{}", stdout(&o));
}

#[test]
fn compare_json_shape_and_a_a() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(
        &dir,
        &[
            "compare",
            "tiny_mlp.onnx",
            "tiny_mlp.onnx",
            "--max-time",
            "2",
            "--metric",
            "p90",
            "--json",
        ],
    );
    // A model against itself is never a regression at the default threshold (10%, α split
    // across looks): exit 0, whatever noise makes of the rest.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["schema"], "mlgate.compare/v1");
    let c = &v["result"]["comparison"];
    assert_eq!(c["metric"], "p90");
    assert!(["improvement", "no_change", "inconclusive"].contains(&c["verdict"].as_str().unwrap()));
    assert!(c["reason"].as_str().unwrap().len() > 10);
    let n = c["baseline"]["summary"]["n"].as_u64().unwrap();
    assert_eq!(
        c["baseline"]["samples_ns"].as_array().unwrap().len() as u64,
        n
    );
    assert_eq!(
        c["candidate"]["summary"]["n"].as_u64().unwrap(),
        n,
        "blocks are paired"
    );
}

#[test]
fn compare_errors_exit_2() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(
        &dir,
        &[
            "compare",
            "tiny_mlp.onnx",
            "vision_cnn.onnx",
            "--max-time",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot compare"), "{}", stderr(&out));
    let out = s.run_in(
        &dir,
        &[
            "compare",
            "tiny_mlp.onnx",
            "tiny_mlp.onnx",
            "--metric",
            "p42",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = s.run_in(
        &dir,
        &[
            "compare",
            "tiny_mlp.onnx",
            "tiny_mlp.onnx",
            "--threshold=-3",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("threshold"), "{}", stderr(&out));
}

#[test]
fn benchmark_of_a_build_is_recorded_and_builds_compare_by_tag() {
    let s = sandbox!();
    let dir = s.fixtures();
    let ws = s.workspace();
    let ws = ws.to_str().unwrap();
    let model = dir.join("tiny_mlp.onnx");
    let out = s.run(&[
        "--workspace",
        ws,
        "import",
        "--model",
        model.to_str().unwrap(),
        "--target",
        "tract_cpu",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = json(&out)["build"]["id"]
        .as_str()
        .expect("build id")
        .to_string();
    let out = s.run(&["--workspace", ws, "tag", "create", &id[..8], "main-mlp"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = s.run(&[
        "--workspace",
        ws,
        "benchmark",
        "main-mlp",
        "--runs",
        "20",
        "--max-time",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("recorded benchmark #1"),
        "{}",
        stderr(&out)
    );
    let status = s.run(&["--workspace", ws, "status", "--json"]);
    assert_eq!(json(&status)["benchmarks"], 1);

    // A reference that is neither a file nor a build.
    let out = s.run(&["--workspace", ws, "benchmark", "no-such-thing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-thing"), "{}", stderr(&out));

    let out = s.run(&[
        "--workspace",
        ws,
        "compare",
        "main-mlp",
        model.to_str().unwrap(),
        "--max-time",
        "2",
        "--json",
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert_eq!(json(&out)["schema"], "mlgate.compare/v1");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let s = sandbox!();
    let dir = s.fixtures();
    let mut child = s
        .command(&["inspect", "nlp_encoder.onnx", "--json"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before mlgate writes
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
