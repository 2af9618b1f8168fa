//! The registry under stress, on the real binary: parallel imports and benchmark writes on
//! one workspace, processes killed with SIGKILL at the dangerous moments of an import,
//! artifacts corrupted on disk, and user text that looks like SQL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// `mlgate ARGS` in `dir`, a temporary directory, finding the workspace from there.
fn cmd(dir: &Path, args: &[&str]) -> Command {
    mlgate_testkit::discovering(env!("CARGO_BIN_EXE_mlgate"), dir, args)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cmd(dir, args).output().expect("run mlgate")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = run(dir, &all);
    assert!(
        o.status.success(),
        "{args:?}\nstdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    serde_json::from_str(&text(&o.stdout)).expect("valid JSON")
}

fn builds(dir: &Path) -> Vec<Value> {
    ok_json(dir, &["log", "--limit", "1000"])["builds"]
        .as_array()
        .unwrap()
        .clone()
}

/// Every entry under `artifacts/sha256/` with whether its content matches its name.
fn artifacts(ws: &Path) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let dir = ws.join("artifacts/sha256");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let ok = mlgate_ir::content_hash(&e.path()).is_ok_and(|h| h == name);
        out.push((name, ok));
    }
    out.sort();
    out
}

fn models(root: &Path) -> PathBuf {
    let dir = root.join("models");
    mlgate_ir::fixtures::write_all(&dir).unwrap();
    dir
}

/// Invariants after any crash: every artifact is complete, every build's artifact is present
/// and intact, and `verify` finds no error.
fn assert_consistent(root: &Path) {
    let ws = root.join(".mlgate");
    let stored = artifacts(&ws);
    for (name, ok) in &stored {
        assert!(ok, "artifact {name} does not match its hash");
    }
    for b in builds(root) {
        let hash = b["build"]["artifact_hash"].as_str().unwrap();
        assert!(
            stored.iter().any(|(n, _)| n == hash),
            "build {} points at missing artifact {hash}",
            b["build"]["id"]
        );
    }
    let v = run(root, &["verify"]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "verify: {}\n{}",
        text(&v.stdout),
        text(&v.stderr)
    );
}

#[test]
fn parallel_imports_and_benchmark_writes_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let models = models(&root);
    let pkg = mlgate_testkit::committed("coreml/mil_conv.mlpackage");
    let mut jobs: Vec<(PathBuf, &str)> = mlgate_ir::fixtures::ALL
        .iter()
        .map(|f| (models.join(f.file_name), "onnxruntime_cpu"))
        .collect();
    jobs.push((pkg.clone(), "apple_m1"));
    // Two duplicates race their originals: same build id, one row, one artifact.
    jobs.push((models.join("vision_cnn.onnx"), "onnxruntime_cpu"));
    jobs.push((pkg, "apple_m1"));
    assert_eq!(jobs.len(), 8);

    // No workspace yet: all eight also race to create it.
    let children: Vec<Child> = jobs
        .iter()
        .map(|(model, target)| {
            cmd(
                &root,
                &[
                    "import",
                    "--model",
                    model.to_str().unwrap(),
                    "--target",
                    target,
                    "--json",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut created_notes = 0;
    let mut ids = Vec::new();
    for child in children {
        let o = child.wait_with_output().unwrap();
        let err = text(&o.stderr);
        assert!(o.status.success(), "import failed: {err}");
        assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
        if err.contains("created mlgate workspace") {
            created_notes += 1;
        }
        let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
        ids.push(v["build"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        created_notes, 1,
        "exactly one process reports creating the workspace"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);

    let listed = builds(&root);
    assert_eq!(listed.len(), 6, "one row per distinct build");
    let stored = artifacts(&root.join(".mlgate"));
    assert_eq!(stored.len(), 6, "{stored:?}");
    assert!(stored.iter().all(|(_, ok)| *ok));
    assert!(std::fs::read_dir(root.join(".mlgate/artifacts/tmp"))
        .unwrap()
        .next()
        .is_none());

    // Second round: library threads record benchmarks while eight more processes import
    // (duplicates) and read, all on the same database.
    let ws_dir = root.join(".mlgate");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ws_dir = ws_dir.clone();
            let ids = ids.clone();
            std::thread::spawn(move || {
                let ws = mlgate::Workspace::open(&mlgate::WorkspaceOptions {
                    dir: Some(ws_dir),
                    start: None,
                })
                .unwrap();
                for i in 0..25 {
                    let id = &ids[(t + i) % ids.len()];
                    ws.record_benchmark(
                        id,
                        &mlgate::workspace::NewBenchmark {
                            backend: "tract".into(),
                            p50_ms: 1.0 + i as f64,
                            p95_ms: None,
                            memory_mb: None,
                            n: 3,
                            samples_ms: vec![1.0, 2.0, 3.0],
                            statistics: serde_json::json!({}),
                            settings: serde_json::json!({"thread": t}),
                            fingerprint: serde_json::json!({}),
                            created_at: None,
                        },
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<Child> = (0..8)
        .map(|i| {
            let (model, target) = &jobs[i];
            let args: Vec<&str> = if i % 2 == 0 {
                vec![
                    "import",
                    "--model",
                    model.to_str().unwrap(),
                    "--target",
                    target,
                ]
            } else {
                vec!["status"]
            };
            cmd(&root, &args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for t in threads {
        t.join().expect("benchmark writer");
    }
    for r in readers {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let status = ok_json(&root, &["status"]);
    assert_eq!(status["builds"], 6);
    assert_eq!(status["benchmarks"], 100);
    // Every invocation is in the history, none lost to a busy database.
    let history = ok_json(&root, &["history", "--limit", "1000"]);
    assert!(history["entries"].as_array().unwrap().len() >= 8 + 8 + 2);
    assert_consistent(&root);
}

/// Start an import that stops at `point`, wait until it says it is there, SIGKILL it.
fn kill_import_at(root: &Path, model: &Path, point: &str) {
    let mut child = cmd(
        root,
        &[
            "import",
            "--model",
            model.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
        ],
    )
    .env("MLGATE_TEST_PAUSE_AT", point)
    .env("MLGATE_TEST_PAUSE_MS", "60000")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reached = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line == format!("mlgate-test-pause: {point}") {
            reached = true;
            break;
        }
    }
    assert!(reached, "the import never reached {point}");
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no cleanup runs.
    let status = child.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn an_import_killed_at_any_step_leaves_a_consistent_registry() {
    for point in ["artifact-written", "artifact-stored", "build-inserted"] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let models = models(&root);
        let existing = models.join("tiny_mlp.onnx");
        let victim = models.join("vision_cnn.onnx");
        let o = run(
            &root,
            &[
                "import",
                "--model",
                existing.to_str().unwrap(),
                "--target",
                "onnxruntime_cpu",
            ],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));

        kill_import_at(&root, &victim, point);

        // The killed import left no row, and nothing half-written under sha256/.
        let listed = builds(&root);
        assert_eq!(listed.len(), 1, "{point}: {listed:?}");
        assert_consistent(&root);
        let stored = artifacts(&root.join(".mlgate"));
        let leftovers = std::fs::read_dir(root.join(".mlgate/artifacts/tmp"))
            .unwrap()
            .count();
        match point {
            // Killed before the rename: the copy is only a temporary file.
            "artifact-written" => {
                assert_eq!(stored.len(), 1);
                assert_eq!(leftovers, 1);
            }
            // Killed after the rename: a complete artifact no row refers to yet.
            _ => {
                assert_eq!(stored.len(), 2);
                assert_eq!(leftovers, 0);
            }
        }
        let report = ok_json(&root, &["verify"]);
        let kinds: Vec<&str> = report["report"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds
                .iter()
                .all(|k| *k == "temporary_file" || *k == "orphan_artifact"),
            "{point}: {kinds:?}"
        );

        // Running the import again completes it.
        let o = run(
            &root,
            &[
                "import",
                "--model",
                victim.to_str().unwrap(),
                "--target",
                "onnxruntime_cpu",
            ],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(builds(&root).len(), 2);
        assert_consistent(&root);
    }
}

#[test]
fn a_corrupted_artifact_is_caught_on_read_and_by_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let models = models(&root);
    let model = models.join("tiny_mlp.onnx");
    let v = ok_json(
        &root,
        &[
            "import",
            "--model",
            model.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
        ],
    );
    let id = v["build"]["id"].as_str().unwrap().to_string();
    let hash = v["build"]["artifact_hash"].as_str().unwrap().to_string();
    let pkg = mlgate_testkit::committed("coreml/mil_conv.mlpackage");
    let p = ok_json(
        &root,
        &[
            "import",
            "--model",
            pkg.to_str().unwrap(),
            "--target",
            "apple_m1",
        ],
    );
    let pkg_id = p["build"]["id"].as_str().unwrap().to_string();
    let pkg_hash = p["build"]["artifact_hash"].as_str().unwrap().to_string();
    assert_eq!(run(&root, &["verify"]).status.code(), Some(0));

    // Flip one byte in the middle of the stored model.
    let stored = root.join(".mlgate/artifacts/sha256").join(&hash);
    let mut bytes = std::fs::read(&stored).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();
    // And one file inside the stored package.
    let weight = root
        .join(".mlgate/artifacts/sha256")
        .join(&pkg_hash)
        .join("Data/com.apple.CoreML/weights/weight.bin");
    std::fs::write(&weight, b"not the weights").unwrap();

    // Reading the build's artifact fails, naming the build.
    for args in [vec!["log", &id[..8]], vec!["diff", &id[..8], &pkg_id[..8]]] {
        let o = run(&root, &args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&id) && err.contains("corrupted"), "{err}");
        assert!(err.contains("mlgate verify"), "{err}");
    }

    // verify reports both builds, exits 2, and changes nothing.
    let o = run(&root, &["verify"]);
    assert_eq!(o.status.code(), Some(2));
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(out.contains(&id) && out.contains(&pkg_id), "{out}");
    assert!(err.contains(&id) && err.contains(&pkg_id), "{err}");
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        bytes,
        "verify alone never changes a file"
    );
    let o = run(&root, &["verify", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_str(&text(&o.stdout)).expect("one JSON document");
    assert_eq!(v["schema"], "mlgate.verify/v1");
    assert_eq!(v["report"]["problems"].as_array().unwrap().len(), 2);

    // Repair asks first; without a terminal it needs --yes and does not wait.
    let o = run(&root, &["verify", "--repair"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--yes"), "{}", text(&o.stderr));
    // The sources are unchanged, so both artifacts are restored; the damaged copies are
    // kept aside, not deleted.
    let o = run(&root, &["verify", "--repair", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("restored"), "{}", text(&o.stdout));
    assert_eq!(
        std::fs::read_dir(root.join(".mlgate/artifacts/corrupt"))
            .unwrap()
            .count(),
        2
    );
    assert!(run(&root, &["log", &id]).status.success());
    assert_consistent(&root);
}

#[test]
fn names_and_paths_are_data_never_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let models = models(&root);
    // A model whose path is hostile too.
    let odd_dir = root.join("it's; DROP TABLE builds; --");
    std::fs::create_dir_all(&odd_dir).unwrap();
    let odd = odd_dir.join("model %_'.onnx");
    std::fs::copy(models.join("tiny_mlp.onnx"), &odd).unwrap();
    let evil = "'; DROP TABLE builds; --";
    let v = ok_json(
        &root,
        &[
            "import",
            "--model",
            odd.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
            "--name",
            evil,
            "--notes",
            "\" OR 1=1; DELETE FROM tags; --",
        ],
    );
    assert_eq!(v["build"]["name"], evil);
    let id = v["build"]["id"].as_str().unwrap().to_string();
    let other = ok_json(
        &root,
        &[
            "import",
            "--model",
            models.join("vision_cnn.onnx").to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
        ],
    );
    let other_id = other["build"]["id"].as_str().unwrap().to_string();

    let tag = "x'); DELETE FROM tags; --";
    let o = run(&root, &["tag", "create", &id, tag]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(ok_json(&root, &["log", tag])["build"]["id"], id.as_str());

    let names = |args: &[&str]| -> Vec<String> {
        ok_json(&root, args)["builds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["build"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&["log", "--name", evil]), [evil]);
    assert_eq!(names(&["log", "--name", "' OR '1'='1"]).len(), 0);
    // LIKE wildcards in a filter match themselves.
    assert_eq!(names(&["log", "--source", "%_'"]), [evil]);
    assert_eq!(names(&["log", "--source", "%"]).len(), 1);
    assert!(
        ok_json(&root, &["history", "--filter", "' OR 1=1 --"])["entries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let o = run(&root, &["log", "'; DROP TABLE builds; --"]);
    assert_eq!(o.status.code(), Some(2));

    // Everything is still there.
    assert_eq!(names(&["log"]).len(), 2);
    let tags = ok_json(&root, &["tag", "list"]);
    assert_eq!(tags["tags"][0]["name"], tag);
    let table = text(&run(&root, &["log"]).stdout);
    assert!(table.contains(evil), "{table}");
    assert!(text(&run(&root, &["log", &other_id]).stdout).contains("vision_cnn"));
    assert_consistent(&root);

    // Control characters would forge output lines: refused, naming the value.
    let o = run(
        &root,
        &[
            "import",
            "--model",
            odd.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
            "--name",
            "a\nb",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("control characters"),
        "{}",
        text(&o.stderr)
    );
}
