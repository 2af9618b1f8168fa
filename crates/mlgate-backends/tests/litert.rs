//! LiteRT on the mediapipe 0.10.14 models, including one that needs a custom op.

use std::collections::BTreeMap;

use mlgate_backends::inputs::synthetic_inputs;
use mlgate_backends::{BackendError, BackendKind, SessionOptions};

/// Needs `Landmarks2TransformMatrix`, which only mediapipe provides.
const NEEDS_CUSTOM_OP: &str = "face_landmark_with_attention.tflite";

#[test]
fn tflite_models_are_refused_by_onnx_runtimes() {
    let dir = tempfile::tempdir().unwrap();
    let [_, model] = mlgate_ir::fixtures::twin::write(dir.path()).unwrap();
    let e = mlgate_testkit::runtimes()
        .load(BackendKind::Tract, &model, &SessionOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("tract runs ONNX models, but"), "{e}");
    assert!(e.to_string().contains("is TFLite; use litert"), "{e}");
}

mod needs_downloads {
    use super::*;

    #[test]
    fn mediapipe_models_run() {
        let dir = mlgate_testkit::testdata("mediapipe");
        let registry = mlgate_testkit::runtimes();
        let litert = mlgate_testkit::require_backend(&registry, BackendKind::LiteRt);
        let models = mlgate_testkit::files(&dir, ".tflite");
        assert!(
            models.len() >= 10,
            "expected the mediapipe models in {}",
            dir.display()
        );
        let options = SessionOptions {
            intra_op_threads: Some(1),
            ..Default::default()
        };
        for model in models.iter().filter(|m| !m.ends_with(NEEDS_CUSTOM_OP)) {
            let mut s = litert
                .load(model, &options)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.info().runtime_version.as_deref(), Some("2.3.0"));
            let inputs = synthetic_inputs(s.inputs(), &BTreeMap::new(), 5).unwrap();
            let first = s.run(&inputs).unwrap();
            assert_eq!(first.len(), s.outputs().len());
            for t in &first {
                let stats = t.stats();
                assert_eq!(
                    stats.nan_count,
                    0,
                    "{}: {} has NaNs",
                    model.display(),
                    t.name()
                );
            }
            s.prepare(&inputs).unwrap();
            s.run_prepared().unwrap();
            s.run_prepared().unwrap();
            assert_eq!(
                s.take_outputs().unwrap(),
                first,
                "{}: not deterministic",
                model.display()
            );
            eprintln!(
                "{}: {} outputs",
                model.file_name().unwrap().to_string_lossy(),
                first.len()
            );
        }
    }

    #[test]
    fn a_missing_custom_op_is_named() {
        let dir = mlgate_testkit::testdata("mediapipe");
        let registry = mlgate_testkit::runtimes();
        let litert = mlgate_testkit::require_backend(&registry, BackendKind::LiteRt);
        let model = mlgate_testkit::files(&dir, NEEDS_CUSTOM_OP)
            .pop()
            .expect("the custom-op model");
        let e = litert
            .load(&model, &SessionOptions::default())
            .err()
            .expect("must fail");
        match &e {
            BackendError::UnsupportedOp { ops, .. } => {
                assert_eq!(ops, &["Landmarks2TransformMatrix"])
            }
            other => panic!("expected UnsupportedOp, got {other}"),
        }
        let text = e.to_string();
        assert!(
            text.starts_with("litert: ") && text.contains(NEEDS_CUSTOM_OP),
            "{text}"
        );
    }
}
