//! Detection on real files: the generated fixtures, ONNX model-zoo CNNs, silero VAD, the
//! mediapipe TFLite models and the committed CoreML models.

use std::path::Path;

use mlgate_tasks::{Confidence, InputRole, Task, TaskReport};

use mlgate_testkit::inspect;

/// The report, printed so `--nocapture` shows what detection saw.
fn detect(path: &Path) -> TaskReport {
    let report = mlgate_tasks::detect(&inspect(path), path);
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
    report
}

fn expect(path: &Path, task: Task, confidence: Confidence) -> TaskReport {
    let report = detect(path);
    assert_eq!(
        (report.task, report.confidence),
        (task, confidence),
        "{}: {report:#?}",
        path.display()
    );
    assert!(!report.evidence.is_empty(), "{}", path.display());
    if confidence == Confidence::High {
        assert_eq!(report.warning, None, "{}", path.display());
    } else {
        let w = report.warning.as_deref().unwrap_or_default();
        assert!(w.contains("--task"), "{}: {w}", path.display());
    }
    report
}

fn has(report: &TaskReport, needle: &str) -> bool {
    report.evidence.iter().any(|e| e.contains(needle))
}

#[test]
fn fixtures() {
    let fixtures = mlgate_testkit::Fixtures::new();
    let dir = fixtures.path();
    let r = expect(&dir.join("vision_cnn.onnx"), Task::Vision, Confidence::High);
    assert!(has(&r, "'input' feeds a 2-D Conv (NCHW)"), "{r:#?}");
    assert!(has(&r, "17 2-D convolutions"), "{r:#?}");
    expect(
        &dir.join("vision_cnn_slow.onnx"),
        Task::Vision,
        Confidence::High,
    );

    let r = expect(&dir.join("nlp_encoder.onnx"), Task::Nlp, Confidence::High);
    assert!(
        has(&r, "indexes embedding table 'token_embedding"),
        "{r:#?}"
    );
    assert!(has(&r, "(4096 × 128)"), "{r:#?}");
    assert!(has(&r, "sequences up to 512 tokens"), "{r:#?}");
    assert!(has(&r, "attention pattern"), "{r:#?}");
    assert_eq!(r.role_of("attention_mask"), Some(InputRole::AttentionMask));

    let r = expect(&dir.join("audio_conv.onnx"), Task::Audio, Confidence::High);
    assert!(has(&r, "'waveform' feeds a 1-D Conv"), "{r:#?}");
    assert!(!has(&r, "2-D"), "{r:#?}");

    // A flat float vector through dense layers only: tabular, but flattened images look the
    // same, so only medium confidence and a warning.
    let r = expect(
        &dir.join("tiny_mlp.onnx"),
        Task::Tabular,
        Confidence::Medium,
    );
    assert!(has(&r, "only dense layers (Gemm ×2)"), "{r:#?}");
    assert_eq!(r.role_of("input"), Some(InputRole::Features));
}

#[test]
fn committed_coreml_models_are_vision() {
    let dir = mlgate_testkit::committed("coreml");
    let r = expect(&dir.join("conv_nn.mlmodel"), Task::Vision, Confidence::High);
    assert!(has(&r, "convolution layers (convolution ×1)"), "{r:#?}");
    let r = expect(
        &dir.join("image_pipeline.mlmodel"),
        Task::Vision,
        Confidence::High,
    );
    assert!(has(&r, "declared an image input"), "{r:#?}");
    let r = expect(
        &dir.join("mil_conv.mlpackage"),
        Task::Vision,
        Confidence::High,
    );
    assert_eq!(r.role_of("x"), Some(InputRole::Image));
}

#[test]
fn coreml_inputs_take_the_models_default_sizes() {
    let dir = mlgate_testkit::committed("coreml");
    for (file, input, shape) in [
        ("conv_nn.mlmodel", "input", vec![1, 3, 8, 8]),
        ("mil_conv.mlpackage", "x", vec![1, 3, 8, 8]),
        ("image_pipeline.mlmodel", "image", vec![1, 3, 16, 16]),
    ] {
        let path = dir.join(file);
        let info = inspect(&path);
        let set = mlgate_tasks::synthesize(&info, &path, &Default::default()).unwrap();
        let t = set.tensors.iter().find(|t| t.name() == input).unwrap();
        assert_eq!(t.shape(), &shape[..], "{file}: {:#?}", set.choices);
    }
}

mod needs_downloads {
    use super::*;

    #[test]
    fn onnx_model_zoo_cnns_are_vision() {
        let dir = mlgate_testkit::testdata("onnx-light");
        let models = mlgate_testkit::files_with_ext(&dir, "onnx");
        assert!(!models.is_empty());
        for model in models {
            let r = expect(&model, Task::Vision, Confidence::High);
            assert!(has(&r, "2-D Conv (NCHW)"), "{r:#?}");
        }
    }

    #[test]
    fn silero_vad_is_audio_with_state_and_sample_rate() {
        let dir = mlgate_testkit::testdata("silero-vad");
        let r = expect(&dir.join("silero_vad.onnx"), Task::Audio, Confidence::High);
        assert!(has(&r, "'input' feeds a 1-D Conv"), "{r:#?}");
        assert!(has(&r, "LSTM"), "{r:#?}");
        assert_eq!(r.role_of("input"), Some(InputRole::Waveform));
        assert_eq!(r.role_of("state"), Some(InputRole::State));
        assert_eq!(r.role_of("sr"), Some(InputRole::SampleRate));
        for model in mlgate_testkit::files_with_ext(&dir, "onnx") {
            let r = expect(&model, Task::Audio, Confidence::High);
            for i in &r.inputs {
                let want = match i.name.as_str() {
                    "input" => InputRole::Waveform,
                    "sr" => InputRole::SampleRate,
                    _ => InputRole::State,
                };
                assert_eq!(i.role, want, "{}: {r:#?}", model.display());
            }
        }
    }

    #[test]
    fn mediapipe_tflite_models_are_vision_nhwc() {
        let dir = mlgate_testkit::testdata("mediapipe");
        let models = mlgate_testkit::files_with_ext(&dir, "tflite");
        assert!(models.len() >= 10, "{models:?}");
        for model in models {
            let r = expect(&model, Task::Vision, Confidence::High);
            assert!(has(&r, "2-D CONV_2D (NHWC)"), "{r:#?}");
        }
    }

    #[test]
    fn every_third_party_model_synthesizes() {
        let mut models = Vec::new();
        for (sub, ext) in [
            ("onnx-light", "onnx"),
            ("silero-vad", "onnx"),
            ("mediapipe", "tflite"),
        ] {
            models.extend(mlgate_testkit::files_with_ext(
                &mlgate_testkit::testdata(sub),
                ext,
            ));
        }
        for model in models {
            let info = inspect(&model);
            let set = mlgate_tasks::synthesize(&info, &model, &Default::default())
                .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
            assert_eq!(set.tensors.len(), info.inputs.len());
            for (t, d) in set.tensors.iter().zip(&info.inputs) {
                assert_eq!(t.name(), d.name);
                assert_eq!(t.dtype(), d.dtype, "{}", model.display());
            }
        }
    }

    #[test]
    fn tflite_metadata_sets_the_pixel_range() {
        let dir = mlgate_testkit::testdata("mediapipe");
        for (file, range) in [
            ("face_detection/face_detection_short_range.tflite", "values [-1, 1], because the model's metadata normalizes pixels with mean 127.5 and std 127.5"),
            ("palm_detection/palm_detection_full.tflite", "values [0, 1], because the model's metadata normalizes pixels with mean 0 and std 255"),
        ] {
            let path = dir.join(file);
            let info = inspect(&path);
            let set = mlgate_tasks::synthesize(&info, &path, &Default::default()).unwrap();
            assert!(set.choices[0].contains(range), "{file}: {:#?}", set.choices);
            let s = set.tensors[0].stats();
            let lo = if range.contains("[-1") { -1.0 } else { 0.0 };
            assert!(s.min.unwrap() >= lo && s.max.unwrap() <= 1.0, "{file}: {s:?}");
        }
    }
}
