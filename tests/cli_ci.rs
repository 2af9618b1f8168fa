//! The CI gate end to end on real fixture models: `mlgate ci`, `ci-check` and `validate` —
//! exit codes, what each report says, and that nothing passes without being measured.
//!
//! Every test writes its own fixtures and has its own workspace (never the developer's); only
//! the LiteRT gate, in `needs_downloads`, needs a downloaded model and runtime. Verdicts asserted are the sure ones: a model against itself is
//! never a regression, twice the compute is one at the default 10% threshold (+30% compute
//! measured only +10% on a loaded 2-core runner in a debug build: too close to the threshold
//! for a test that must never flake).

use std::ops::Deref;
use std::process::Output;

use mlgate_testkit::{json, sandbox, stderr, stdout};

/// Timings on a 2-core runner mean nothing while other tests compete for the cores, so the
/// tests of this file take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A test kit sandbox held for one test's turn, with the models and baselines the gate needs.
struct Sandbox {
    sandbox: mlgate_testkit::Sandbox,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Deref for Sandbox {
    type Target = mlgate_testkit::Sandbox;
    fn deref(&self) -> &Self::Target {
        &self.sandbox
    }
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            // A failed test poisons the lock; the next one may still run.
            _turn: ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner()),
            sandbox: sandbox!(),
        }
    }

    /// Writes a fixture model; `extra` adds that fraction of compute to the CNN.
    fn cnn(&self, name: &str, extra: f64) -> String {
        let path = self.path().join(name);
        mlgate_ir::onnx::write_model(
            &path,
            &mlgate_ir::fixtures::vision_cnn_with_extra_compute(extra),
        )
        .unwrap();
        path.display().to_string()
    }

    fn mlp(&self) -> String {
        let path = self.path().join("tiny_mlp.onnx");
        mlgate_ir::onnx::write_model(&path, &mlgate_ir::fixtures::tiny_mlp()).unwrap();
        path.display().to_string()
    }

    /// Imports `model` and tags it.
    fn baseline(&self, model: &str, tag: &str) -> String {
        let out = self.run(&[
            "import",
            "--model",
            model,
            "--target",
            "tract_cpu",
            "--json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let id = json(&out)["build"]["id"].as_str().unwrap().to_string();
        let out = self.run(&["tag", "create", &id, tag]);
        assert!(out.status.success(), "{}", stderr(&out));
        id
    }

    fn report(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.workspace().join("ci_report.json"))
            .expect("ci_report.json written");
        serde_json::from_str(&text).unwrap()
    }
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn check<'a>(report: &'a serde_json::Value, metric: &str) -> &'a serde_json::Value {
    report["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} check in {report}"))
}

#[test]
fn a_model_against_its_own_baseline_passes_twenty_times() {
    let s = Sandbox::new();
    let mlp = s.mlp();
    s.baseline(&mlp, "main-mlp");
    for i in 0..20 {
        let out = s.run(&[
            "ci",
            "--model",
            &mlp,
            "--baseline",
            "main-mlp",
            "--max-time",
            "1.5",
        ]);
        assert_eq!(
            code(&out),
            Some(0),
            "A/A run {i} did not pass:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let r = s.report();
        assert_eq!(r["verdict"]["status"], "pass", "run {i}: {r}");
        assert_ne!(check(&r, "latency.p50")["status"], "fail", "run {i}");
        assert_eq!(check(&r, "size")["status"], "pass");
    }
}

#[test]
fn doubled_compute_fails_every_time_and_the_improvement_passes() {
    let s = Sandbox::new();
    let base = s.cnn("cnn.onnx", 0.0);
    let slow = s.cnn("cnn_slow.onnx", 1.0);
    s.baseline(&base, "main-cnn");
    let junit = s.path().join("junit.xml");
    let md = s.path().join("ci.md");
    let mut last = serde_json::Value::Null;
    for i in 0..3 {
        let out = s.run(&[
            "ci",
            "--model",
            &slow,
            "--baseline",
            "main-cnn",
            "--junit",
            junit.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ]);
        assert_eq!(
            code(&out),
            Some(1),
            "run {i}:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(text.contains("mlgate ci: FAIL"), "{text}");
        assert!(text.contains("report: "), "{text}");
        let r = s.report();
        assert_eq!(r["schema"], "mlgate.ci/v1");
        assert_eq!(r["verdict"]["status"], "fail");
        let latency = check(&r, "latency.p50");
        assert_eq!(latency["status"], "fail", "{latency}");
        assert_eq!(latency["limit"], 10.0);
        assert_eq!(latency["source"]["kind"], "default");
        assert!(
            latency["actual"]["low"].as_f64().unwrap() > 10.0,
            "{latency}"
        );
        // The report pins the baseline by tag and by id.
        let e = &r["evidence"];
        assert_eq!(e["baseline"]["tag"], "main-cnn");
        assert_eq!(e["baseline"]["build_id"].as_str().unwrap().len(), 64);
        assert!(e["latency"]["seed"].as_u64().is_some());
        assert!(e["environment"]["cores"].as_u64().unwrap() >= 1);
        assert!(e["latency"]["shift_pct"]["n"].as_u64().unwrap() >= 10);
        last = r;
    }
    // JUnit parses and holds the failure; Markdown holds the table.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let failed: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .map(|n| n.parent().unwrap().attribute("name").unwrap().to_string())
        .collect();
    let failed_checks: Vec<String> = last["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["metric"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed, failed_checks, "{xml}");
    assert!(failed.contains(&"latency.p50".to_string()), "{xml}");
    assert_eq!(
        suite.attribute("failures"),
        Some(failed.len().to_string().as_str())
    );
    assert_eq!(
        suite.attribute("tests"),
        Some(
            last["verdict"]["checks"]
                .as_array()
                .unwrap()
                .len()
                .to_string()
                .as_str()
        )
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("## mlgate CI: ❌ FAIL"), "{md}");
    assert!(
        md.contains("| `latency.p50` |") && md.contains("| `size` |"),
        "{md}"
    );

    // The other way round is an improvement: it passes.
    drop(s);
    let s2 = Sandbox::new();
    let base2 = s2.cnn("cnn.onnx", 0.0);
    let slow2 = s2.cnn("cnn_slow.onnx", 1.0);
    s2.baseline(&slow2, "main-cnn");
    let out = s2.run(&["ci", "--model", &base2, "--baseline", "main-cnn"]);
    assert_eq!(code(&out), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let r = s2.report();
    assert_eq!(check(&r, "latency.p50")["status"], "pass");
    assert!(
        check(&r, "latency.p50")["message"]
            .as_str()
            .unwrap()
            .contains("faster"),
        "{r}"
    );
}

#[test]
fn size_regression_and_budget_violations_fail_and_name_their_source() {
    let s = Sandbox::new();
    let base = s.cnn("cnn.onnx", 0.0);
    let slow = s.cnn("cnn_slow.onnx", 0.05); // +1.6% in bytes
    s.baseline(&base, "main-cnn");
    let out = s.run(&[
        "ci",
        "--model",
        &slow,
        "--baseline",
        "main-cnn",
        "--size-regression",
        "1",
        "--latency-regression",
        "60",
        "--max-time",
        "3",
        "--json",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let r = json(&out);
    let size = check(&r, "size");
    assert_eq!(size["status"], "fail", "{size}");
    assert_eq!(size["source"]["kind"], "flag");
    assert!(
        size["message"].as_str().unwrap().contains("+1.64%"),
        "{size}"
    );
    assert_ne!(check(&r, "latency.p50")["status"], "fail");

    // A budget from budget.toml: the failure says where the limit came from.
    let out = s.run(&["budget", "set", "--max-size", "5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = s.run(&[
        "ci",
        "--model",
        &slow,
        "--baseline",
        "main-cnn",
        "--max-time",
        "3",
    ]);
    assert_eq!(code(&out), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    let r = s.report();
    let budget = check(&r, "budget.max_size_mb");
    assert_eq!(budget["status"], "fail");
    assert_eq!(budget["source"]["kind"], "file");
    assert!(
        budget["message"].as_str().unwrap().contains("budget.toml"),
        "{budget}"
    );
    assert!(stdout(&out).contains("budget.toml"), "{}", stdout(&out));
    // The flag beats the file.
    let out = s.run(&[
        "ci",
        "--model",
        &slow,
        "--baseline",
        "main-cnn",
        "--size-budget",
        "6",
        "--max-time",
        "3",
    ]);
    assert_eq!(code(&out), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        check(&s.report(), "budget.max_size_mb")["source"]["kind"],
        "flag"
    );
}

#[test]
fn missing_baseline_skips_or_fails_as_asked_and_a_damaged_one_is_an_error() {
    let s = Sandbox::new();
    let mlp = s.mlp();
    let out = s.run(&["ci", "--model", &mlp, "--baseline", "main-nothing"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("skipped: no baseline `main-nothing`"),
        "{}",
        stdout(&out)
    );
    assert_eq!(s.report()["verdict"]["status"], "skip");
    let out = s.run(&[
        "ci",
        "--model",
        &mlp,
        "--baseline",
        "main-nothing",
        "--fail-on-missing-baseline",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));

    // Damage the baseline's stored artifact: an error naming the build, never a pass.
    let id = s.baseline(&mlp, "main-mlp");
    let artifacts = s.workspace().join("artifacts/sha256");
    let stored: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(stored.len(), 1);
    let mut bytes = std::fs::read(&stored[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&stored[0], bytes).unwrap();
    let out = s.run(&["ci", "--model", &mlp, "--baseline", "main-mlp", "--json"]);
    assert_eq!(code(&out), Some(2), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains(&id[..12]), "{}", stderr(&out));
    assert_eq!(json(&out)["schema"], "mlgate.error/v1");
    let r = s.report();
    assert_eq!(
        r["verdict"]["status"], "error",
        "the report on disk says so too"
    );
}

#[test]
fn github_actions_get_annotations_and_a_step_summary() {
    let s = Sandbox::new();
    let base = s.cnn("cnn.onnx", 0.0);
    let slow = s.cnn("cnn_slow.onnx", 0.05);
    s.baseline(&base, "main-cnn");
    let summary = s.path().join("summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let out = s.run_env(
        &[
            "ci",
            "--model",
            &slow,
            "--baseline",
            "main-cnn",
            "--size-regression",
            "1",
            "--max-time",
            "2",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("::error title=mlgate size::size "),
        "{}",
        stdout(&out)
    );
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("# earlier step\n"),
        "appended, not replaced"
    );
    assert!(
        text.contains("| `size` |") && text.contains("❌ fail"),
        "{text}"
    );
}

#[test]
fn ci_check_measures_both_now_and_uses_stored_numbers_only_when_asked() {
    let s = Sandbox::new();
    let base = s.cnn("cnn.onnx", 0.0);
    let slow = s.cnn("cnn_slow.onnx", 1.0);
    let a = s.baseline(&base, "main-cnn");
    let out = s.run(&[
        "import",
        "--model",
        &slow,
        "--target",
        "tract_cpu",
        "--json",
    ]);
    let b = json(&out)["build"]["id"].as_str().unwrap().to_string();

    let out = s.run(&["ci-check", &a[..8], &b[..8], "--json"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["schema"], "mlgate.ci-check/v1");
    assert!(r["evidence"]["latency"]["cached"].is_null());
    assert_eq!(check(&r, "latency.p50")["status"], "fail");

    // --use-cached without stored benchmarks: an error that says what to run.
    let out = s.run(&["ci-check", &a[..8], &b[..8], "--use-cached"]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("mlgate benchmark"),
        "{}",
        stderr(&out)
    );
    for id in [&a, &b] {
        let out = s.run(&["benchmark", &id[..8], "--min-time", "1", "--max-time", "3"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = s.run(&["ci-check", &a[..8], &b[..8], "--use-cached", "--json"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let r = json(&out);
    let cached = &r["evidence"]["latency"]["cached"];
    assert_eq!(cached["same_machine"], true);
    assert!(cached["baseline"]["hostname"].as_str().is_some());
    assert!(r["verdict"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("not measured now"));
    let out = s.run(&["ci-check", &a[..8], &b[..8], "--use-cached"]);
    assert!(stdout(&out).contains("stored numbers"), "{}", stdout(&out));
}

#[test]
fn validate_measures_and_judges_budgets_with_their_interval() {
    let s = Sandbox::new();
    let mlp = s.mlp();
    let id = s.baseline(&mlp, "main-mlp");
    // Nothing to validate: an error, not a pass.
    let out = s.run(&["validate", "main-mlp"]);
    assert_eq!(code(&out), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("--max-latency"), "{}", stderr(&out));
    // A generous latency budget passes; an absurd one fails; both measured now.
    let out = s.run(&[
        "validate",
        "main-mlp",
        "--max-latency",
        "1000",
        "--max-time",
        "1",
        "--json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["schema"], "mlgate.validate/v1");
    assert_eq!(check(&r, "budget.max_latency_ms")["status"], "pass");
    assert!(r["p50_ms"]["n"].as_u64().unwrap() >= 10);
    let out = s.run(&[
        "validate",
        &id[..8],
        "--max-latency",
        "0.0001",
        "--max-time",
        "1",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("over the limit 0.0001 ms from flag"),
        "{}",
        stdout(&out)
    );
    // --ci: exit code only.
    let out = s.run(&["validate", &id[..8], "--max-size", "0.0001", "--ci"]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(stdout(&out), "");
    // The measurement was recorded against the build.
    let out = s.run(&["log", &id[..8], "--json"]);
    assert!(
        !json(&out)["benchmarks"].as_array().unwrap().is_empty(),
        "{}",
        stdout(&out)
    );
}

#[test]
fn strict_and_fail_on_inconclusive_change_what_undecided_evidence_means() {
    let s = Sandbox::new();
    let base = s.cnn("cnn.onnx", 0.0);
    let slow = s.cnn("cnn_slow.onnx", 0.05);
    // 0.3 s cannot reach the 10 block pairs a verdict needs: inconclusive, by construction.
    let out = s.run(&["ci-check", &base, &slow, "--max-time", "0.3", "--json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(check(&r, "latency.p50")["status"], "inconclusive");
    assert_eq!(r["verdict"]["inconclusive"], true);
    let out = s.run(&[
        "ci-check",
        &base,
        &slow,
        "--max-time",
        "0.3",
        "--fail-on-inconclusive",
        "--json",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(json(&out)["verdict"]["reason"]
        .as_str()
        .unwrap()
        .contains("--fail-on-inconclusive"));
    let out = s.run(&[
        "ci-check",
        &base,
        &slow,
        "--strict",
        "--max-time",
        "0.3",
        "--json",
    ]);
    let r = json(&out);
    let latency = check(&r, "latency.p50");
    assert_eq!(latency["limit"], 0.0);
    assert_eq!(latency["source"]["kind"], "flag");
}

#[test]
fn coreml_is_gated_without_latency_off_macos() {
    let s = Sandbox::new();
    // CoreML: size and budgets gated; latency skipped with the reason, never a silent pass.
    let package = mlgate_testkit::committed("coreml/mil_conv.mlpackage");
    let package = package.to_str().unwrap();
    let out = s.run(&[
        "import", "--model", package, "--target", "apple_m1", "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json(&out)["build"]["id"].as_str().unwrap().to_string();
    assert!(s
        .run(&["tag", "create", &id, "main-coreml"])
        .status
        .success());
    let out = s.run(&[
        "ci",
        "--model",
        package,
        "--baseline",
        "main-coreml",
        "--size-budget",
        "100",
        "--json",
    ]);
    if cfg!(target_os = "macos") {
        assert_ne!(code(&out), Some(2), "{}", stderr(&out));
    } else {
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        let r = json(&out);
        let latency = check(&r, "latency.p50");
        assert_eq!(latency["status"], "skipped");
        assert!(
            latency["message"].as_str().unwrap().contains("macOS"),
            "{latency}"
        );
        assert_eq!(check(&r, "size")["status"], "pass");
        assert_eq!(check(&r, "budget.max_size_mb")["status"], "pass");
        let out = s.run(&["ci", "--model", package, "--baseline", "main-coreml"]);
        assert!(
            stdout(&out).contains("latency.p50 skipped: CoreML"),
            "{}",
            stdout(&out)
        );
    }
}

mod needs_downloads {
    use super::*;

    /// TFLite on LiteRT, the runtime its target names.
    #[test]
    fn tflite_is_gated_on_litert() {
        let s = Sandbox::new();
        s.require_runtimes(&["litert"]);
        let mediapipe = mlgate_testkit::testdata("mediapipe");
        let model = mediapipe.join("selfie_segmentation/selfie_segmentation.tflite");
        let model = model.to_str().unwrap();
        let out = s.run(&[
            "import",
            "--model",
            model,
            "--target",
            "litert_cpu",
            "--json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let id = json(&out)["build"]["id"].as_str().unwrap().to_string();
        assert!(s
            .run(&["tag", "create", &id, "main-tflite"])
            .status
            .success());
        let out = s.run(&[
            "ci",
            "--model",
            model,
            "--baseline",
            "main-tflite",
            "--max-time",
            "3",
            "--json",
        ]);
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        let r = json(&out);
        assert_eq!(r["evidence"]["latency"]["backend"], "litert", "{r}");
        assert_ne!(check(&r, "latency.p50")["status"], "fail");
    }
}
