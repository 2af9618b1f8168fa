//! tract and ONNX Runtime on real ONNX models: both run them, and agree.

use std::collections::BTreeMap;

use mlgate_backends::inputs::{relative_l2, synthetic_inputs};
use mlgate_backends::{BackendError, BackendKind, SessionOptions};
use mlgate_ir::tensor::Tensor;

#[test]
fn a_file_that_is_not_a_model_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, b"\x08\x07garbage that is not protobuf \xff\xff").unwrap();
    let registry = mlgate_testkit::runtimes();
    let e = registry
        .get(BackendKind::Tract)
        .unwrap()
        .load(&bad, &SessionOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, BackendError::Load { .. }), "{e}");
}

mod needs_downloads {
    use super::*;

    #[test]
    fn tract_and_onnxruntime_agree_on_the_light_models() {
        let dir = mlgate_testkit::testdata("onnx-light");
        let registry = mlgate_testkit::runtimes();
        let tract = registry.get(BackendKind::Tract).unwrap();
        let ort = mlgate_testkit::require_backend(&registry, BackendKind::OnnxRuntime);
        let options = SessionOptions {
            intra_op_threads: Some(1),
            ..Default::default()
        };
        let models = mlgate_testkit::files(&dir, ".onnx");
        assert!(
            models.len() >= 8,
            "expected the onnx light models in {}",
            dir.display()
        );
        for model in models {
            let mut t = tract
                .load(&model, &options)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut o = ort.load(&model, &options).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t.inputs(), o.inputs(), "{}", model.display());
            let inputs = synthetic_inputs(t.inputs(), &BTreeMap::new(), 42).unwrap();
            let a = t.run(&inputs).unwrap();
            let b = o.run(&inputs).unwrap();
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                let d = relative_l2(x, y)
                    .unwrap_or_else(|| panic!("{}: shapes differ", model.display()));
                assert!(
                    d < 1e-4,
                    "{}: output {} differs by {d:e} (relative L2)",
                    model.display(),
                    x.name()
                );
            }
            eprintln!("{}: agree", model.file_name().unwrap().to_string_lossy());
        }
    }

    /// The harness path (prepare once, run many, take outputs) gives what `run` gives, and
    /// wrong inputs are refused before the runtime sees them.
    #[test]
    fn prepared_runs_match_and_inputs_are_validated() {
        let model = mlgate_testkit::testdata("onnx-light").join("light_squeezenet.onnx");
        let registry = mlgate_testkit::runtimes();
        for kind in [BackendKind::Tract, BackendKind::OnnxRuntime] {
            let backend = mlgate_testkit::require_backend(&registry, kind);
            let mut s = backend.load(&model, &SessionOptions::default()).unwrap();
            assert_eq!(s.info().backend, kind);
            assert!(s.info().runtime_version.is_some());
            let inputs = synthetic_inputs(s.inputs(), &BTreeMap::new(), 3).unwrap();
            let once = s.run(&inputs).unwrap();
            s.prepare(&inputs).unwrap();
            for _ in 0..3 {
                s.run_prepared().unwrap();
            }
            assert_eq!(s.take_outputs().unwrap(), once, "{kind}");
            assert!(s.take_outputs().is_err(), "outputs are taken once");

            let wrong = Tensor::zeros("nope", &mlgate_ir::DType::F32, vec![1]).unwrap();
            let e = s.run(&[wrong]).unwrap_err();
            assert!(matches!(e, BackendError::Input { .. }), "{e}");
            assert!(e.to_string().contains("unknown input(s) nope"), "{e}");
        }
    }

    #[test]
    fn onnxruntime_names_a_file_that_is_not_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.onnx");
        std::fs::write(&bad, b"\x08\x07garbage that is not protobuf \xff\xff").unwrap();
        let registry = mlgate_testkit::runtimes();
        let ort = mlgate_testkit::require_backend(&registry, BackendKind::OnnxRuntime);
        let e = ort.load(&bad, &SessionOptions::default()).err().unwrap();
        assert!(e.to_string().contains("bad.onnx"), "{e}");
    }
}
