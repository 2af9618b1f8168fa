//! Synthesised inputs run on real runtimes: no shape or dtype error on tract or ONNX Runtime,
//! on every fixture and on third-party models, at every rung of the sequence ladder; and the
//! fixtures' outputs pass validation.

use std::path::Path;

use mlgate_backends::{BackendKind, RuntimeCatalog, SessionOptions};
use mlgate_tasks::{check_outputs, synthesize_ladder, SynthesisOptions, SynthesizedInputs, Task};

use mlgate_testkit::inspect;

/// ONNX Runtime, which must be installed (see `mlgate_testkit::require_backend`).
fn ort(registry: &RuntimeCatalog) -> BackendKind {
    mlgate_testkit::require_backend(registry, BackendKind::OnnxRuntime).kind()
}

/// Runs every set on `kind`; returns the output issues of each run, as text.
fn run(
    registry: &RuntimeCatalog,
    kind: BackendKind,
    model: &Path,
    sets: &[SynthesizedInputs],
) -> Vec<String> {
    let mut session = registry
        .load(kind, model, &SessionOptions::default())
        .unwrap_or_else(|e| panic!("{kind}: {}: {e}", model.display()));
    let mut issues = Vec::new();
    for set in sets {
        let outputs = session.run(&set.tensors).unwrap_or_else(|e| {
            panic!(
                "{kind}: {} (sequence length {:?}): {e}\ninputs: {}",
                model.display(),
                set.seq_len,
                set.choices.join("\n  ")
            )
        });
        for i in check_outputs(session.outputs(), &outputs, &set.dims) {
            issues.push(format!("{kind} seq {:?}: {}", set.seq_len, i.message));
        }
    }
    issues
}

fn sets_for(model: &Path) -> (mlgate_ir::ModelInfo, Vec<SynthesizedInputs>) {
    let info = inspect(model);
    let sets = synthesize_ladder(&info, model, &SynthesisOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    (info, sets)
}

/// Every fixture's ladder of synthesized inputs runs on `kind` with clean outputs.
fn fixtures_run_with_clean_outputs(registry: &RuntimeCatalog, kind: BackendKind) {
    let fixtures = mlgate_testkit::Fixtures::new();
    for f in mlgate_ir::fixtures::ALL {
        let model = fixtures.model(f.file_name);
        let (_, sets) = sets_for(&model);
        if f.file_name == "nlp_encoder.onnx" {
            let lens: Vec<Option<usize>> = sets.iter().map(|s| s.seq_len).collect();
            assert_eq!(lens, [Some(16), Some(64), Some(128), Some(256)]);
            assert_eq!(sets[0].tensors[0].shape(), &[1, 16]);
            assert_eq!(sets[3].tensors[1].shape(), &[1, 256]);
        } else {
            assert_eq!(sets.len(), 1, "{}", f.file_name);
        }
        let issues = run(registry, kind, &model, &sets);
        assert!(issues.is_empty(), "{kind}: {}: {issues:#?}", f.file_name);
    }
}

#[test]
fn fixtures_run_on_tract_with_clean_outputs() {
    fixtures_run_with_clean_outputs(&mlgate_testkit::runtimes(), BackendKind::Tract);
}

#[test]
fn nlp_ladder_is_clipped_to_the_position_table() {
    let fixtures = mlgate_testkit::Fixtures::new();
    let model = fixtures.model("nlp_encoder.onnx");
    let info = inspect(&model);
    let options = SynthesisOptions {
        seq_ladder: vec![16, 512, 1024],
        ..SynthesisOptions::default()
    };
    let sets = synthesize_ladder(&info, &model, &options).unwrap();
    let lens: Vec<Option<usize>> = sets.iter().map(|s| s.seq_len).collect();
    assert_eq!(lens, [Some(16), Some(512)]);
    let registry = mlgate_testkit::runtimes();
    let issues = run(&registry, BackendKind::Tract, &model, &sets);
    assert!(issues.is_empty(), "{issues:#?}");
}

#[test]
fn task_override_still_runs() {
    // Forcing vision on the MLP cannot make its flat input an image; it stays runnable.
    let fixtures = mlgate_testkit::Fixtures::new();
    let model = fixtures.model("tiny_mlp.onnx");
    let info = inspect(&model);
    for task in [Task::Audio, Task::Vision, Task::Unknown] {
        let options = SynthesisOptions {
            task: Some(task),
            ..SynthesisOptions::default()
        };
        let sets = synthesize_ladder(&info, &model, &options).unwrap();
        assert_eq!(sets[0].task.task, task);
        let registry = mlgate_testkit::runtimes();
        run(&registry, BackendKind::Tract, &model, &sets);
    }
}

mod needs_downloads {
    use super::*;

    #[test]
    fn fixtures_run_on_onnxruntime_with_clean_outputs() {
        let registry = mlgate_testkit::runtimes();
        let ort = ort(&registry);
        fixtures_run_with_clean_outputs(&registry, ort);
    }

    #[test]
    fn third_party_onnx_models_run_on_onnxruntime() {
        let registry = mlgate_testkit::runtimes();
        let ort = ort(&registry);
        let mut models = Vec::new();
        for group in ["silero-vad", "onnx-light"] {
            models.extend(mlgate_testkit::files_with_ext(
                &mlgate_testkit::testdata(group),
                "onnx",
            ));
        }
        for model in models {
            let (_, sets) = sets_for(&model);
            let issues = run(&registry, ort, &model, &sets);
            // The "light" zoo models replace their weights by constants, so their outputs are
            // flat, and validation must say so; what matters here is that the inputs are accepted.
            let light = model.to_string_lossy().contains("light_");
            if light {
                assert!(
                    !issues.is_empty(),
                    "{}: constant weights, yet no issue",
                    model.display()
                );
            } else {
                assert!(issues.is_empty(), "{}: {issues:#?}", model.display());
            }
        }
    }

    #[test]
    fn silero_vad_inputs_follow_the_streaming_contract() {
        let dir = mlgate_testkit::testdata("silero-vad");
        let (_, sets) = sets_for(&dir.join("silero_vad.onnx"));
        let names: Vec<&str> = sets[0].tensors.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["input", "state", "sr"]);
        // A streaming model: one 512-sample step of its conv stack per call, not a whole second
        // (16000 samples would reach its LSTM as 31 frames and fail).
        assert_eq!(sets[0].tensors[0].shape(), &[1, 512]);
        assert_eq!(sets[0].tensors[1].shape(), &[2, 1, 128]);
        assert_eq!(
            sets[0].tensors[2].data(),
            &mlgate_ir::tensor::TensorData::I64(vec![16000])
        );
    }

    #[test]
    fn silero_vad_runs_on_tract() {
        // The other silero exports fail inside tract whatever the inputs: it types both If
        // branches (8 and 16 kHz, squeeze or not) against each other, and the OpenVINO export
        // trips its graph compaction. This one has no If.
        let dir = mlgate_testkit::testdata("silero-vad");
        let model = dir.join("silero_vad_16k_sequence.onnx");
        let (_, sets) = sets_for(&model);
        assert_eq!(sets[0].tensors[0].shape(), &[1, 576]);
        let registry = mlgate_testkit::runtimes();
        let issues = run(&registry, BackendKind::Tract, &model, &sets);
        assert!(issues.is_empty(), "{issues:#?}");
    }

    /// Issue #3's bar: every ONNX fixture gives the same outputs on tract and ONNX Runtime,
    /// within 1e-4 relative L2, on the task-aware inputs (every rung of the NLP ladder).
    #[test]
    fn fixtures_agree_between_tract_and_onnxruntime() {
        let fixtures = mlgate_testkit::Fixtures::new();
        let registry = mlgate_testkit::runtimes();
        let ort = ort(&registry);
        let mut compared = 0;
        for f in mlgate_ir::fixtures::ALL {
            let model = fixtures.model(f.file_name);
            let (_, sets) = sets_for(&model);
            let mut tract = registry
                .load(BackendKind::Tract, &model, &SessionOptions::default())
                .unwrap();
            let mut onnxruntime = registry
                .load(ort, &model, &SessionOptions::default())
                .unwrap();
            for set in &sets {
                let a = tract.run(&set.tensors).unwrap();
                let b = onnxruntime.run(&set.tensors).unwrap();
                assert_eq!(a.len(), b.len(), "{}", f.file_name);
                for (x, y) in a.iter().zip(&b) {
                    let l2 = mlgate_backends::inputs::relative_l2(x, y).unwrap_or_else(|| {
                        panic!("{}: {} is not comparable", f.file_name, x.name())
                    });
                    assert!(
                        l2 < 1e-4,
                        "{} {} (seq {:?}): tract and onnxruntime differ by relative L2 {l2:e}",
                        f.file_name,
                        x.name(),
                        set.seq_len
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared >= 8, "compared only {compared} outputs");
    }
}
