//! The workspace commands end to end, on the real binary: init, import, log (list, tree,
//! detail, CSV), diff, tags, baseline, budget, history, status — and their errors, which exit
//! 2 naming the value and what to do.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// `mlgate ARGS` in `dir`, a temporary directory, finding the workspace from there.
fn mlgate(dir: &Path, args: &[&str]) -> Output {
    mlgate_testkit::discovering(env!("CARGO_BIN_EXE_mlgate"), dir, args)
        .output()
        .expect("run mlgate")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run, expect exit 0, return stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let o = mlgate(dir, args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}\nstdout: {}\nstderr: {}",
        out(&o),
        err(&o)
    );
    out(&o)
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&ok(dir, &all)).expect("valid JSON")
}

/// Run, expect exit `code`, return stderr (checked to name each of `mentions`).
fn fails(dir: &Path, args: &[&str], code: i32, mentions: &[&str]) -> String {
    let o = mlgate(dir, args);
    let e = err(&o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}\nstdout: {}\nstderr: {e}",
        out(&o)
    );
    for m in mentions {
        assert!(e.contains(m), "{args:?}: `{e}` does not mention `{m}`");
    }
    assert!(!e.contains("panicked"), "{e}");
    e
}

struct Project {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    models: PathBuf,
}

fn project() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let models = root.join("models");
    mlgate_ir::fixtures::write_all(&models).unwrap();
    Project {
        _tmp: tmp,
        root,
        models,
    }
}

fn import(p: &Project, file: &str, extra: &[&str]) -> Value {
    let model = p.models.join(file);
    let model = model.to_str().unwrap();
    let mut args = vec!["import", "--model", model, "--target", "onnxruntime_cpu"];
    args.extend_from_slice(extra);
    json(&p.root, &args)
}

#[test]
fn import_is_deduplicated_and_creates_the_workspace_once() {
    let p = project();
    let model = p.models.join("vision_cnn.onnx");
    let args = [
        "import",
        "--model",
        model.to_str().unwrap(),
        "--target",
        "onnxruntime_cpu",
        "--json",
    ];
    let first = mlgate(&p.root, &args);
    assert!(first.status.success(), "{}", err(&first));
    assert!(
        err(&first).contains("created mlgate workspace"),
        "{}",
        err(&first)
    );
    assert!(p.root.join(".mlgate/registry.db").is_file());
    assert!(p.root.join(".mlgate/.gitignore").is_file());
    let v: Value = serde_json::from_str(&out(&first)).unwrap();
    assert_eq!(v["schema"], "mlgate.import/v1");
    assert_eq!(v["created"], true);
    let id = v["build"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(v["build"]["name"], "vision_cnn");
    assert_eq!(v["build"]["imported"], true);
    assert_eq!(v["build"]["backend"], "onnxruntime");
    assert_eq!(v["build"]["root_id"], id.as_str());

    // The same model with the same settings is the same build; no second note.
    let again = mlgate(&p.root, &args);
    assert!(again.status.success());
    assert!(!err(&again).contains("created"), "{}", err(&again));
    let v2: Value = serde_json::from_str(&out(&again)).unwrap();
    assert_eq!(v2["created"], false);
    assert_eq!(v2["build"]["id"], id.as_str());

    // A different declared precision is a different build.
    let v3 = import(&p, "vision_cnn.onnx", &["--quantize", "fp16"]);
    assert_ne!(v3["build"]["id"], id.as_str());

    // From a subdirectory the workspace is found by walking up.
    let sub = p.root.join("models");
    let log = json(&sub, &["log"]);
    assert_eq!(log["schema"], "mlgate.log/v1");
    assert_eq!(log["builds"].as_array().unwrap().len(), 2);
    let artifacts = std::fs::read_dir(p.root.join(".mlgate/artifacts/sha256"))
        .unwrap()
        .count();
    assert_eq!(
        artifacts, 1,
        "one artifact for two builds of the same bytes"
    );
}

#[test]
fn log_lists_filters_exports_and_shows_one_build() {
    let p = project();
    let cnn = import(&p, "vision_cnn.onnx", &["--task", "vision"]);
    let mlp = import(
        &p,
        "tiny_mlp.onnx",
        &[
            "--name",
            "mlp",
            "--quantize",
            "int8",
            "--notes",
            "from vendor",
        ],
    );
    let cnn_id = cnn["build"]["id"].as_str().unwrap();
    let mlp_id = mlp["build"]["id"].as_str().unwrap();

    let table = ok(&p.root, &["log"]);
    assert!(
        table.contains("BUILD") && table.contains("vision_cnn [imported]"),
        "{table}"
    );
    assert!(
        table.contains(&cnn_id[..12]) && table.contains("int8"),
        "{table}"
    );

    let names = |v: &Value| -> Vec<String> {
        v["builds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["build"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&json(&p.root, &["log", "--name", "ML"])), ["mlp"]);
    assert_eq!(
        names(&json(&p.root, &["log", "--source", "vision_cnn.onnx"])),
        ["vision_cnn"]
    );
    assert_eq!(
        names(&json(&p.root, &["log", "--task", "vision"])),
        ["vision_cnn"]
    );
    assert_eq!(
        names(&json(&p.root, &["log", "--format", "tflite"])).len(),
        0
    );
    assert_eq!(names(&json(&p.root, &["log", "--limit", "1"])).len(), 1);
    assert_eq!(
        names(&json(&p.root, &["log", "--since", "1 hour ago"])).len(),
        2
    );
    assert_eq!(
        names(&json(&p.root, &["log", "--until", "2001-01-01"])).len(),
        0
    );
    assert_eq!(names(&json(&p.root, &["log", "--roots-only"])).len(), 2);

    let tree = ok(&p.root, &["log", "--tree", "--source", "tiny_mlp"]);
    assert!(
        tree.starts_with(&mlp_id[..12]) && tree.contains("int8"),
        "{tree}"
    );

    let csv_path = p.root.join("builds.csv");
    ok(&p.root, &["log", "--csv", csv_path.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.starts_with("id,name,source_path,"), "{csv}");
    assert_eq!(csv.lines().count(), 3);

    // One build by id prefix: details and the verified artifact.
    let detail = ok(&p.root, &["log", &mlp_id[..6]]);
    assert!(
        detail.contains(mlp_id) && detail.contains("from vendor"),
        "{detail}"
    );
    assert!(detail.contains("(verified)"), "{detail}");
    let v = json(&p.root, &["log", &mlp_id[..6]]);
    assert_eq!(v["schema"], "mlgate.build/v1");
    assert_eq!(v["build"]["method"], "int8");

    fails(&p.root, &["log", "abc"], 2, &["abc", "at least 4"]);
    fails(
        &p.root,
        &["log", "ffffffff"],
        2,
        &["ffffffff", "mlgate log"],
    );
    fails(
        &p.root,
        &["log", "--since", "last tuesday"],
        2,
        &["--since", "7 days ago"],
    );
}

#[test]
fn diff_shows_two_builds_side_by_side() {
    let p = project();
    let a = import(&p, "vision_cnn.onnx", &[]);
    let b = import(&p, "vision_cnn_slow.onnx", &[]);
    let (a, b) = (
        a["build"]["id"].as_str().unwrap().to_string(),
        b["build"]["id"].as_str().unwrap().to_string(),
    );
    let text = ok(&p.root, &["diff", &a[..8], &b[..8]]);
    assert!(
        text.contains("Parameters") && text.contains("Ops that differ"),
        "{text}"
    );
    let v = json(&p.root, &["diff", &a, &b]);
    assert_eq!(v["schema"], "mlgate.diff/v1");
    assert_eq!(v["a"]["model"]["format"], "onnx");
    assert!(v["b"]["model"]["param_count"].as_u64().unwrap() > 0);
}

#[test]
fn tags_resolve_move_with_force_and_keep_history() {
    let p = project();
    let a = import(&p, "vision_cnn.onnx", &[]);
    let b = import(&p, "tiny_mlp.onnx", &[]);
    let (a, b) = (
        a["build"]["id"].as_str().unwrap().to_string(),
        b["build"]["id"].as_str().unwrap().to_string(),
    );
    let said = ok(&p.root, &["tag", "create", &a[..8], "main-cnn"]);
    assert!(said.contains("Tagged build"), "{said}");
    // A tag is a build reference everywhere.
    assert_eq!(
        json(&p.root, &["log", "main-cnn"])["build"]["id"],
        a.as_str()
    );
    fails(
        &p.root,
        &["tag", "create", &b, "main-cnn"],
        2,
        &["main-cnn", "--force"],
    );
    let moved = ok(&p.root, &["tag", "create", &b, "main-cnn", "--force"]);
    assert!(moved.contains("Moved tag"), "{moved}");
    let tags = json(&p.root, &["tag", "list"]);
    assert_eq!(tags["tags"][0]["name"], "main-cnn");
    assert_eq!(tags["tags"][0]["build_id"], b.as_str());
    let history = json(&p.root, &["baseline", "history"]);
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{history}");
    assert_eq!(events[0]["previous_build_id"], a.as_str());

    fails(
        &p.root,
        &["tag", "create", &a, "mlgate-baseline"],
        2,
        &["reserved", "baseline set"],
    );
    ok(&p.root, &["tag", "delete", "main-cnn"]);
    fails(
        &p.root,
        &["tag", "delete", "main-cnn"],
        2,
        &["main-cnn", "tag list"],
    );
    fails(&p.root, &["log", "main-cnn"], 2, &["main-cnn"]);
}

#[test]
fn baseline_asks_before_replacing_and_never_waits_in_ci() {
    let p = project();
    let a = import(&p, "vision_cnn.onnx", &[]);
    let b = import(&p, "tiny_mlp.onnx", &[]);
    let (a, b) = (
        a["build"]["id"].as_str().unwrap().to_string(),
        b["build"]["id"].as_str().unwrap().to_string(),
    );
    assert!(ok(&p.root, &["baseline"]).contains("No baseline"));
    ok(&p.root, &["baseline", "set", &a[..10]]);
    assert_eq!(
        json(&p.root, &["baseline", "show"])["build"]["id"],
        a.as_str()
    );
    // stdin is not a terminal here: no prompt, no wait, a clear error naming the flag.
    fails(
        &p.root,
        &["baseline", "set", &b],
        2,
        &["--force", "terminal"],
    );
    assert_eq!(json(&p.root, &["baseline"])["build"]["id"], a.as_str());
    ok(&p.root, &["baseline", "set", &b, "--force"]);
    assert_eq!(json(&p.root, &["baseline"])["build"]["id"], b.as_str());
    // The baseline tag resolves like any tag.
    assert_eq!(
        json(&p.root, &["log", "mlgate-baseline"])["build"]["id"],
        b.as_str()
    );
    let hist = ok(&p.root, &["baseline", "history"]);
    assert!(
        hist.contains("mlgate-baseline") && hist.contains(&a[..12]),
        "{hist}"
    );
    fails(&p.root, &["baseline", "unset"], 2, &["--yes"]);
    ok(&p.root, &["baseline", "unset", "--yes"]);
    assert!(json(&p.root, &["baseline"])["build"].is_null());
}

#[test]
fn budget_merges_flags_over_the_file_and_says_where_limits_come_from() {
    let p = project();
    let a = import(&p, "vision_cnn.onnx", &[]);
    let id = a["build"]["id"].as_str().unwrap().to_string();
    let size_mb = a["build"]["size_bytes"].as_f64().unwrap() / 1e6;

    ok(
        &p.root,
        &[
            "budget",
            "set",
            "--max-latency",
            "10",
            "--max-size",
            "0.001",
        ],
    );
    let file = std::fs::read_to_string(p.root.join(".mlgate/budget.toml")).unwrap();
    assert!(
        file.contains("max_latency_ms = 10.0") && file.contains("max_size_mb = 0.001"),
        "{file}"
    );
    // Setting one constraint keeps the others.
    ok(&p.root, &["budget", "set", "--max-p95", "15"]);
    let shown = json(&p.root, &["budget", "show"]);
    assert_eq!(shown["schema"], "mlgate.budget/v1");
    assert_eq!(shown["budget"]["max_latency_ms"], 10.0);
    assert_eq!(shown["budget"]["max_p95_ms"], 15.0);

    // Size is over budget: exit 1 (a gate failed), latency pending without a benchmark.
    let o = mlgate(&p.root, &["budget", "validate", &id[..8]]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let text = out(&o);
    assert!(
        text.contains("FAIL") && text.contains("budget.toml") && text.contains("pending"),
        "{text}"
    );

    // A flag overrides the file for one run, and says so.
    let big = format!("{}", size_mb * 2.0);
    let o = mlgate(
        &p.root,
        &["budget", "validate", &id, "--max-size", &big, "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["schema"], "mlgate.budget-check/v1");
    let size = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["constraint"] == "max_size_mb")
        .unwrap()
        .clone();
    assert_eq!(size["source"]["kind"], "flag");
    assert_eq!(size["status"], "pass");

    ok(&p.root, &["budget", "clear", "--constraint", "max-size"]);
    assert!(json(&p.root, &["budget"])["budget"]["max_size_mb"].is_null());
    fails(
        &p.root,
        &["budget", "clear", "--constraint", "speed"],
        2,
        &["speed", "max-latency"],
    );
    fails(&p.root, &["budget", "clear"], 2, &["--yes"]);
    ok(&p.root, &["budget", "clear", "--yes"]);
    assert!(ok(&p.root, &["budget"]).contains("No budget constraints"));
    fails(
        &p.root,
        &["budget", "set", "--max-latency", "-3"],
        2,
        &["positive"],
    );

    // A typo in the committed file is an error naming the file, not a silently missing gate.
    std::fs::write(p.root.join(".mlgate/budget.toml"), "max_latncy_ms = 3\n").unwrap();
    fails(
        &p.root,
        &["budget", "show"],
        2,
        &["budget.toml", "max_latncy_ms"],
    );
}

#[test]
fn history_records_every_command_with_its_real_exit_code() {
    let p = project();
    let a = import(&p, "vision_cnn.onnx", &[]);
    let id = a["build"]["id"].as_str().unwrap().to_string();
    ok(&p.root, &["tag", "create", &id[..8], "v1"]);
    fails(&p.root, &["log", "deadbeef"], 2, &["deadbeef"]);
    ok(&p.root, &["status"]);

    let h = json(&p.root, &["history"]);
    assert_eq!(h["schema"], "mlgate.history/v1");
    let entries = h["entries"].as_array().unwrap();
    let commands: Vec<&str> = entries
        .iter()
        .map(|e| e["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["status", "log", "tag create", "import"], "{h}");
    let failed = &entries[1];
    assert_eq!(failed["exit_code"], 2);
    assert_eq!(failed["args"], serde_json::json!(["log", "deadbeef"]));
    assert_eq!(entries[2]["build_ids"], serde_json::json!([id.as_str()]));
    assert_eq!(entries[3]["build_ids"], serde_json::json!([id.as_str()]));

    let only = |args: &[&str]| -> Vec<String> {
        json(&p.root, args)["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["command"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(only(&["history", "--filter", "failed"]), ["log"]);
    assert_eq!(only(&["history", "--filter", "tag"]), ["tag create"]);
    assert_eq!(
        only(&["history", "--build-id", &id[..6]]),
        ["tag create", "import"]
    );
    assert_eq!(
        only(&["history", "--since", "yesterday", "--limit", "2"]).len(),
        2
    );
    assert!(only(&["history", "--since", "2999-01-01"]).is_empty());

    let text = ok(&p.root, &["history"]);
    assert!(text.contains("mlgate log deadbeef"), "{text}");

    let victim = entries[1]["id"].as_str().unwrap();
    ok(&p.root, &["history", "delete", &victim[..6]]);
    assert!(only(&["history", "--filter", "failed"]).is_empty());
    fails(&p.root, &["history", "delete", "zz"], 2, &["history id"]);
    fails(&p.root, &["history", "clear"], 2, &["--yes"]);
    ok(&p.root, &["history", "clear", "--yes"]);
    // Only the `history` listing itself remains; builds are untouched.
    assert_eq!(only(&["history"]), ["history clear"]);
    assert_eq!(
        json(&p.root, &["log"])["builds"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn status_and_benchmarks_recorded_through_the_library() {
    let p = project();
    let a = import(&p, "vision_cnn.onnx", &[]);
    let id = a["build"]["id"].as_str().unwrap().to_string();

    // What the benchmark command will do: resolve a reference, record a result.
    let ws = mlgate::Workspace::open(&mlgate::WorkspaceOptions {
        dir: Some(p.root.join(".mlgate")),
        start: None,
    })
    .unwrap();
    let build = ws.resolve_build(&id[..8]).unwrap();
    let samples: Vec<f64> = (0..50).map(|i| 2.0 + i as f64 * 0.01).collect();
    ws.record_benchmark(
        &build.id,
        &mlgate::workspace::NewBenchmark {
            backend: "tract".into(),
            p50_ms: 2.25,
            p95_ms: Some(2.45),
            memory_mb: Some(40.0),
            n: 50,
            samples_ms: samples.clone(),
            statistics: serde_json::json!({"mean": 2.245}),
            settings: serde_json::json!({"warmup": 5}),
            fingerprint: serde_json::json!({"cpu": "test"}),
            created_at: None,
        },
    )
    .unwrap();
    let stored = ws.benchmarks(&build.id, 10).unwrap();
    assert_eq!(stored[0].samples_ms, samples);
    assert_eq!(ws.touched_builds(), vec![build.id.clone()]);
    drop(ws);

    ok(&p.root, &["baseline", "set", &id]);
    ok(&p.root, &["budget", "set", "--max-latency", "2"]);
    let text = ok(&p.root, &["status"]);
    assert!(text.contains("1 builds | 1 benchmarks"), "{text}");
    assert!(
        text.contains("p50=2.25 ms") && text.contains("Baseline"),
        "{text}"
    );
    assert!(text.contains("max latency (p50)"), "{text}");
    let v = json(&p.root, &["status"]);
    assert_eq!(v["schema"], "mlgate.status/v1");
    assert_eq!(v["builds"], 1);
    assert_eq!(v["benchmarks"], 1);
    assert_eq!(v["baseline"]["build"]["id"], id.as_str());
    assert_eq!(v["baseline"]["latest"]["p50_ms"], 2.25);
    assert_eq!(v["last_benchmark"]["metric"]["n"], 50);
    assert!(ok(&p.root, &["log"]).contains("2.25 ms"));

    assert!(text.contains("Last validate: never"), "{text}");

    // Latency is now known: the budget check fails on it (p50 2.25 > 2) and exits 1.
    let o = mlgate(&p.root, &["budget", "validate", "mlgate-baseline"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    // status finds the gate in the history by its kind, not by how the CLI spells it.
    let text = ok(&p.root, &["status"]);
    assert!(text.contains("Last validate: FAILED"), "{text}");
    let v = json(&p.root, &["status"]);
    assert_eq!(v["last_validate"]["command"], "budget validate");
    assert_eq!(v["last_validate"]["exit_code"], 1);
}

#[test]
fn coreml_packages_and_format_target_checks() {
    let p = project();
    std::fs::create_dir_all(&p.root).unwrap();
    let pkg = mlgate_testkit::committed("coreml/mil_conv.mlpackage");
    let v = json(
        &p.root,
        &[
            "import",
            "--model",
            pkg.to_str().unwrap(),
            "--target",
            "apple_m1",
        ],
    );
    assert_eq!(v["build"]["format"], "coreml");
    assert_eq!(v["build"]["artifact_kind"], "directory");
    let hash = v["build"]["artifact_hash"].as_str().unwrap();
    assert!(p
        .root
        .join(".mlgate/artifacts/sha256")
        .join(hash)
        .join("Manifest.json")
        .is_file());
    ok(&p.root, &["log", v["build"]["id"].as_str().unwrap()]);

    let onnx = p.models.join("tiny_mlp.onnx");
    fails(
        &p.root,
        &[
            "import",
            "--model",
            onnx.to_str().unwrap(),
            "--target",
            "android_arm64",
        ],
        2,
        &["android_arm64", "onnxruntime_cpu"],
    );
    fails(
        &p.root,
        &[
            "import",
            "--model",
            onnx.to_str().unwrap(),
            "--target",
            "pdp11",
        ],
        2,
        &["pdp11", "unknown target"],
    );
    fails(
        &p.root,
        &[
            "import",
            "--model",
            onnx.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
            "--quantize",
            "int3",
        ],
        2,
        &["int3", "fp16"],
    );
    fails(
        &p.root,
        &[
            "import",
            "--model",
            "missing.onnx",
            "--target",
            "onnxruntime_cpu",
        ],
        2,
        &["missing.onnx"],
    );
}

#[test]
fn workspace_is_found_overridden_or_reported_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().join("empty");
    std::fs::create_dir_all(&here).unwrap();
    fails(&here, &["log"], 2, &["no mlgate workspace", "mlgate init"]);
    fails(&here, &["status", "--json"], 2, &[]);
    assert!(
        !here.join(".mlgate").exists(),
        "reading never creates a workspace"
    );

    let said = ok(&here, &["init"]);
    assert!(said.contains("Initialized"), "{said}");
    assert!(ok(&here, &["init"]).contains("already exists"));
    assert_eq!(json(&here, &["status"])["builds"], 0);

    // --workspace names the directory itself; MLGATE_WORKSPACE does the same.
    let elsewhere = tmp.path().join("ci-cache/ws");
    let models = tmp.path().join("models");
    mlgate_ir::fixtures::write_all(&models).unwrap();
    let model = models.join("tiny_mlp.onnx");
    let o = mlgate(
        &here,
        &[
            "--workspace",
            elsewhere.to_str().unwrap(),
            "import",
            "--model",
            model.to_str().unwrap(),
            "--target",
            "tract_cpu",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(elsewhere.join("registry.db").is_file());
    let via_env =
        mlgate_testkit::discovering(env!("CARGO_BIN_EXE_mlgate"), &here, &["log", "--json"])
            .env("MLGATE_WORKSPACE", &elsewhere)
            .output()
            .unwrap();
    let v: Value = serde_json::from_str(&out(&via_env)).unwrap();
    assert_eq!(v["builds"].as_array().unwrap().len(), 1);
    // The local workspace did not get the import.
    assert_eq!(json(&here, &["status"])["builds"], 0);
}
