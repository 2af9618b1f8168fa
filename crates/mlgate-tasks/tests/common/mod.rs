//! Where test models live, following the workspace's end-to-end tests (tests/common/mod.rs):
//! third-party files under `$MLGATE_TESTDATA` (default `target/testdata`), skipped with a
//! note when absent unless `MLGATE_REQUIRE_TESTDATA=1`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mlgate_ir::ModelInfo;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn required() -> bool {
    std::env::var("MLGATE_REQUIRE_TESTDATA").as_deref() == Ok("1")
}

/// A test-data directory, or `None` (with a note) when it is absent and not required.
pub fn testdata(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("MLGATE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/testdata"));
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if required() {
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

/// The generated fixtures, written fresh into a temporary directory.
pub fn fixtures() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    mlgate_ir::fixtures::write_all(dir.path()).unwrap();
    let p = dir.path().to_path_buf();
    (dir, p)
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

pub fn inspect(path: &Path) -> ModelInfo {
    mlgate_ir::inspect(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The report, printed so `--nocapture` shows what detection saw.
pub fn detect(path: &Path) -> (ModelInfo, mlgate_tasks::TaskReport) {
    let info = inspect(path);
    let report = mlgate_tasks::detect(&info, path);
    eprintln!(
        "{}: {} ({})\n  {}\n  roles: {:?}\n  warning: {:?}",
        path.display(),
        report.task,
        report.confidence,
        report.evidence.join("\n  "),
        report
            .inputs
            .iter()
            .map(|i| format!("{}={}", i.name, i.role))
            .collect::<Vec<_>>(),
        report.warning
    );
    (info, report)
}
