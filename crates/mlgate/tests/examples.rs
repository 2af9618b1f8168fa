//! Runs every program in the workspace's `examples/` folder, as a user would, on the fixture
//! models they write themselves: an example that fails to build, panics, exits non-zero or
//! stops printing what it promises fails CI.
//!
//! `cargo test` builds the examples (dev profile) before it runs any test; this test runs the
//! binaries it built. Run it through `cargo test -p mlgate` (or `cargo xtask test`): a run
//! filtered to this test alone (`--test examples`) does not build the examples, and the test
//! then fails saying so rather than running stale binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The examples measure latency: one at a time, so they do not slow each other down.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Generous: each example takes a few seconds; a hung one must still end the test.
const TIMEOUT: Duration = Duration::from_secs(180);

fn examples_dir() -> PathBuf {
    // This test is `<target>/<profile>/deps/examples-<hash>`; cargo puts the examples of
    // the same build in `<target>/<profile>/examples/`.
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps")
        .join("examples")
}

/// Runs example `name` with `args` and returns its stdout; fails on anything but exit 0.
fn run_example(name: &str, args: &[&str]) -> String {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let binary = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.rs"));
    let built = std::fs::metadata(&binary).and_then(|m| m.modified());
    let Ok(built) = built else {
        panic!(
            "{} is not built: run the examples through `cargo test -p mlgate` (which builds them \
             first), not with `--test examples` alone",
            binary.display()
        );
    };
    let edited = std::fs::metadata(&source)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    assert!(
        built >= edited,
        "{} is older than {}: run `cargo test -p mlgate` so cargo rebuilds it",
        binary.display(),
        source.display()
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(&binary)
        .args(args)
        // Not the developer's directory: no `.mlgate` of theirs is found or written.
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let started = Instant::now();
    while child.try_wait().expect("waiting for the example").is_none() {
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("{name} ran for more than {} s", TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("the example's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} {args:?} failed ({}) after {:.1} s\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status,
        started.elapsed().as_secs_f64()
    );
    println!("{name}: {:.1} s\n{stdout}", started.elapsed().as_secs_f64());
    stdout
}

fn assert_mentions(name: &str, stdout: &str, expected: &[&str]) {
    for text in expected {
        assert!(
            stdout.contains(text),
            "{name} did not print `{text}`:\n{stdout}"
        );
    }
}

#[test]
fn inspect_and_benchmark() {
    let out = run_example("inspect_and_benchmark", &[]);
    assert_mentions(
        "inspect_and_benchmark",
        &out,
        &["task: vision", "runtime: tract", "p50 ", "95% interval"],
    );
}

/// A model compared with itself (A/A) must pass: exit 0. A regression would exit 1 and an
/// error 2, and either fails here.
#[test]
fn gate_two_models_passes_a_model_against_itself() {
    let out = run_example("gate_two_models", &[]);
    assert_mentions("gate_two_models", &out, &["latency.p50", "size", "PASS: "]);
}

#[test]
fn registry_report() {
    let out = run_example("registry_report", &[]);
    assert_mentions(
        "registry_report",
        &out,
        &[
            "2 builds, 2 benchmarks",
            "baseline: vision_cnn",
            "vision_cnn_slow",
            "lineage:",
            "ancestry:",
        ],
    );
}

#[test]
fn custom_progress() {
    let out = run_example("custom_progress", &[]);
    assert_mentions(
        "custom_progress",
        &out,
        &["measuring", "seq_len=16", "seq_len=256", "progress updates"],
    );
}
