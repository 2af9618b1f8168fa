//! Shared helpers for the end-to-end tests: where test models live, and running the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The test-data directory prepared by `cargo xtask fetch-testdata` / `gen-models`, or
/// `None` (with a note) when it is absent and not required. `cargo xtask test` sets
/// `MLGATE_REQUIRE_TESTDATA=1`, so in CI a missing directory fails loudly instead.
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
            "{} is missing: run `cargo xtask fetch-testdata` and `cargo xtask gen-models`",
            dir.display()
        );
    }
    eprintln!(
        "note: {} is missing; skipping (run `cargo xtask test`)",
        dir.display()
    );
    None
}

/// Committed test data under `tests/data`.
pub fn committed(rel: &str) -> PathBuf {
    workspace_root().join("tests/data").join(rel)
}

pub fn mlgate(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlgate"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run mlgate")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Files below `dir` with the given extension, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()) == Some(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
