//! Where the runtime tests find models and runtime libraries.
//!
//! Models: `$MLGATE_TESTDATA` (default `<workspace>/target/testdata`, the directory `cargo
//! xtask fetch-testdata` fills) with `onnx-light/`, `onnx-node/` and `mediapipe/` below it.
//! Libraries: the normal discovery (`$MLGATE_HOME/runtimes`, `ORT_DYLIB_PATH`,
//! `LITERT_LIB_PATH`, the active Python's packages); `mlgate runtime install ort litert`
//! puts them in place.
//!
//! Absent data or libraries skip a test with a note, unless `MLGATE_REQUIRE_TESTDATA=1` or
//! `MLGATE_REQUIRE_RUNTIMES=1` make them failures (as CI should).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mlgate_backends::{Backend, BackendKind, RuntimeCatalog, RuntimeConfig};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn testdata(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("MLGATE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/testdata"));
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("MLGATE_REQUIRE_TESTDATA").as_deref() == Ok("1") {
        panic!(
            "{} is missing: run `cargo xtask fetch-testdata`",
            dir.display()
        );
    }
    eprintln!("note: {} is missing; skipping", dir.display());
    None
}

pub fn registry() -> RuntimeCatalog {
    RuntimeCatalog::new(&RuntimeConfig::from_env())
}

/// The backend `kind` if its runtime is usable here; otherwise a note (or a panic when
/// `MLGATE_REQUIRE_RUNTIMES=1`).
pub fn backend(registry: &RuntimeCatalog, kind: BackendKind) -> Option<&dyn Backend> {
    let b = registry.get(kind)?;
    let status = b.probe();
    if status.available {
        return Some(b);
    }
    let why = status.problem.unwrap_or_default();
    if std::env::var("MLGATE_REQUIRE_RUNTIMES").as_deref() == Ok("1") {
        panic!("{kind} is required but unavailable: {why}");
    }
    eprintln!("note: {kind} unavailable ({why}); skipping");
    None
}

/// Files under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
