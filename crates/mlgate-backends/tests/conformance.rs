//! ONNX backend test cases on tract and ONNX Runtime. Counts are printed; the floors catch
//! regressions in mlgate's plumbing (input/output mapping, dtype conversion), not in the
//! runtimes, so they sit a little under what the pinned runtimes achieve.
//!
//! Suites, each under `$MLGATE_TESTDATA` (`cargo xtask test` provides them):
//! - `onnx-backend/{simple,pytorch-operator,pytorch-converted}`: shipped in the onnx wheel
//!   (`cargo xtask fetch-testdata`);
//! - `onnx-node`: the operator cases, which no onnx distribution ships any more; write them
//!   with `python tests/support/gen_onnx_node_cases.py $MLGATE_TESTDATA/onnx-node`.
//!
//! `MLGATE_CONFORMANCE_FILTER=substring` narrows the cases (and disables the floors);
//! `MLGATE_CONFORMANCE_REPORT=prefix` writes `prefix.<suite>.<backend>.tsv` per case.

use std::path::Path;

use mlgate_backends::conformance::{run_conformance, Outcome, Tolerance};
use mlgate_backends::{BackendKind, SessionOptions};

/// (suite directory, minimum cases, pass-rate floor for onnxruntime, for tract)
const SUITES: &[(&str, usize, f64, f64)] = &[
    // Measured with ONNX Runtime 1.31.1 and tract 0.23.9: 15 and 3 of 23, 24 and 35 of 35,
    // 59 and 79 of 82, 1355 and 1007 of 1884. ONNX Runtime has dropped kernels for old
    // opsets and IR version 14; tract has no sequences and no string inputs.
    ("onnx-backend/simple", 20, 0.6, 0.1),
    ("onnx-backend/pytorch-operator", 30, 0.6, 0.9),
    ("onnx-backend/pytorch-converted", 60, 0.65, 0.9),
    ("onnx-node", 1000, 0.65, 0.5),
];

fn run_suite(dir: &Path, suite: &str, min_cases: usize, floors: [(BackendKind, f64); 2]) {
    let filter = std::env::var("MLGATE_CONFORMANCE_FILTER").ok();
    let registry = mlgate_testkit::runtimes();
    let options = SessionOptions {
        intra_op_threads: Some(1),
        ..Default::default()
    };
    for (kind, floor) in floors {
        let backend = mlgate_testkit::require_backend(&registry, kind);
        let report = run_conformance(
            backend,
            dir,
            filter.as_deref(),
            &options,
            &Tolerance::default(),
        )
        .unwrap();
        let total = report.cases.len();
        eprintln!(
            "{suite} on {kind} {}: {} passed, {} failed, {} errors of {total}",
            report.runtime_version.as_deref().unwrap_or("?"),
            report.passed,
            report.failed,
            report.errors
        );
        if let Ok(out) = std::env::var("MLGATE_CONFORMANCE_REPORT") {
            let lines: Vec<String> = report
                .cases
                .iter()
                .map(|c| match &c.outcome {
                    Outcome::Pass => format!("{}\tpass", c.name),
                    Outcome::Fail { detail } => format!("{}\tfail\t{detail}", c.name),
                    Outcome::Error { detail } => {
                        format!("{}\terror\t{}", c.name, detail.replace('\n', " "))
                    }
                })
                .collect();
            let name = suite.replace('/', "-");
            std::fs::write(format!("{out}.{name}.{kind}.tsv"), lines.join("\n")).unwrap();
        }
        if filter.is_none() {
            assert!(
                total >= min_cases,
                "only {total} cases in {}",
                dir.display()
            );
            assert!(
                report.passed as f64 >= floor * total as f64,
                "{suite} on {kind}: only {} of {total} passed (floor {floor})",
                report.passed
            );
        }
    }
}

mod needs_downloads {
    use super::*;

    #[test]
    fn onnx_backend_test_suites() {
        for &(suite, min_cases, ort_floor, tract_floor) in SUITES {
            let dir = mlgate_testkit::testdata(suite);
            run_suite(
                &dir,
                suite,
                min_cases,
                [
                    (BackendKind::OnnxRuntime, ort_floor),
                    (BackendKind::Tract, tract_floor),
                ],
            );
        }
    }
}
