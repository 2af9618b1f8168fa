//! Detection tiers and synthesis on hand-made model summaries: names and shapes alone,
//! adversarial cases, determinism, value ranges and errors. Graph evidence is tested on real
//! files in `tests/`.

use std::collections::BTreeMap;
use std::path::Path;

use mlgate_ir::tensor::{f16_to_f32, Tensor, TensorData};
use mlgate_ir::{DType, Dim, FormatDetails, ModelFormat, ModelInfo, Quantization, TensorInfo};

use crate::*;

/// No file behind it: detection falls back to op names, so only names and shapes speak.
const NO_FILE: &str = "/nonexistent/mlgate-tasks-test.onnx";

fn dim(s: &str) -> Dim {
    match s.parse::<u64>() {
        Ok(n) => Dim::Fixed(n),
        Err(_) if s == "?" => Dim::Unknown,
        Err(_) => Dim::Symbolic(s.to_string()),
    }
}

fn input(name: &str, dtype: DType, shape: &[&str]) -> TensorInfo {
    TensorInfo {
        tensor_name: None,
        name: name.into(),
        dtype,
        shape: Some(shape.iter().map(|s| dim(s)).collect()),
        quantization: None,
    }
}

fn model(format: ModelFormat, inputs: Vec<TensorInfo>, ops: &[(&str, u64)]) -> ModelInfo {
    ModelInfo {
        path: NO_FILE.into(),
        format,
        producer: None,
        inputs,
        outputs: vec![],
        ops: ops.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        param_count: 0,
        param_bytes: 0,
        file_size: 0,
        sha256: String::new(),
        metadata: BTreeMap::new(),
        details: FormatDetails::Onnx {
            ir_version: 8,
            opsets: BTreeMap::new(),
            producer_name: String::new(),
            producer_version: String::new(),
            graph_name: String::new(),
            initializer_count: 0,
            initializer_bytes: 0,
            external_data_files: vec![],
        },
    }
}

fn onnx(inputs: Vec<TensorInfo>) -> ModelInfo {
    model(ModelFormat::Onnx, inputs, &[])
}

fn report(info: &ModelInfo) -> TaskReport {
    detect(info, Path::new(NO_FILE))
}

fn synth(info: &ModelInfo, o: &SynthesisOptions) -> SynthesizedInputs {
    synthesize(info, Path::new(NO_FILE), o).unwrap_or_else(|e| panic!("{e}"))
}

fn values(t: &Tensor) -> Vec<f64> {
    t.data().to_f64_vec()
}

fn has(r: &TaskReport, needle: &str) -> bool {
    r.evidence.iter().any(|e| e.contains(needle))
}

// ---- names tier -----------------------------------------------------------------------

#[test]
fn names_give_medium_confidence_and_a_warning() {
    let info = onnx(vec![
        input("input_ids", DType::I64, &["batch", "sequence"]),
        input("attention_mask", DType::I64, &["batch", "sequence"]),
        input("token_type_ids", DType::I64, &["batch", "sequence"]),
    ]);
    let r = report(&info);
    assert_eq!((r.task, r.confidence), (Task::Nlp, Confidence::Medium));
    assert!(
        has(&r, "name: 'input_ids' is a usual name for token ids"),
        "{r:#?}"
    );
    let w = r.warning.unwrap();
    assert!(
        w.contains("medium confidence") && w.contains("tensor names") && w.contains("--task"),
        "{w}"
    );
    let roles: Vec<InputRole> = r.inputs.iter().map(|i| i.role).collect();
    assert_eq!(
        roles,
        [
            InputRole::TokenIds,
            InputRole::AttentionMask,
            InputRole::TokenTypeIds
        ]
    );

    let info = onnx(vec![input(
        "pixel_values",
        DType::F32,
        &["batch", "num_channels", "height", "width"],
    )]);
    let r = report(&info);
    assert_eq!((r.task, r.confidence), (Task::Vision, Confidence::Medium));

    let info = onnx(vec![input(
        "input_features",
        DType::F32,
        &["batch", "80", "frames"],
    )]);
    let r = report(&info);
    assert_eq!(
        (r.task, r.role_of("input_features")),
        (Task::Audio, Some(InputRole::Spectrogram))
    );
}

#[test]
fn adversarial_names_are_not_trusted_against_dtype_and_shape() {
    // Float "token ids": the name lies (or the ids are cast inside); shapes decide.
    let info = onnx(vec![input("input_ids", DType::F32, &["1", "16"])]);
    let r = report(&info);
    assert!(has(&r, "name: 'input_ids' sounds like token ids, but it is f32 [1, 16]; the name is not trusted"), "{r:#?}");
    assert_eq!(r.role_of("input_ids"), Some(InputRole::Features));
    assert_eq!((r.task, r.confidence), (Task::Tabular, Confidence::Low));

    // An "image" that is a rank-2 embedding.
    let info = onnx(vec![input("image_embeds", DType::F32, &["1", "512"])]);
    let r = report(&info);
    assert!(has(&r, "not trusted"), "{r:#?}");
    assert_ne!(r.task, Task::Vision);

    // A one-letter name is state only when it has the rank of state.
    let info = onnx(vec![input("c", DType::F32, &["1"])]);
    assert_ne!(report(&info).role_of("c"), Some(InputRole::State));
}

// ---- shapes tier ----------------------------------------------------------------------

#[test]
fn shapes_give_low_confidence() {
    let cases: Vec<(TensorInfo, Task, InputRole)> = vec![
        (
            input("x", DType::F32, &["1", "3", "224", "224"]),
            Task::Vision,
            InputRole::Image,
        ),
        (
            input("x", DType::F32, &["1", "256", "256", "1"]),
            Task::Vision,
            InputRole::Image,
        ),
        (
            input("x", DType::U8, &["1", "224", "224", "3"]),
            Task::Vision,
            InputRole::Image,
        ),
        (
            input("x", DType::I64, &["1", "?"]),
            Task::Nlp,
            InputRole::TokenIds,
        ),
        (
            input("x", DType::F32, &["1", "16000"]),
            Task::Audio,
            InputRole::Waveform,
        ),
        (
            input("x", DType::F32, &["batch", "samples"]),
            Task::Audio,
            InputRole::Waveform,
        ),
        (
            input("x", DType::F32, &["1", "64", "frames"]),
            Task::Audio,
            InputRole::Spectrogram,
        ),
        (
            input("x", DType::F32, &["1", "13"]),
            Task::Tabular,
            InputRole::Features,
        ),
    ];
    for (t, task, role) in cases {
        let text = t.shape_text();
        let r = report(&onnx(vec![t]));
        assert_eq!(
            (r.task, r.confidence),
            (task, Confidence::Low),
            "{text}: {r:#?}"
        );
        assert_eq!(r.role_of("x"), Some(role), "{text}");
        assert!(
            r.warning.as_deref().unwrap().contains("shapes and dtypes"),
            "{text}"
        );
    }
}

#[test]
fn a_rank_4_int_tensor_is_not_an_image() {
    let info = onnx(vec![input("x", DType::I64, &["1", "3", "224", "224"])]);
    let r = report(&info);
    assert_eq!((r.task, r.confidence), (Task::Unknown, Confidence::Low));
    assert!(r.warning.as_deref().unwrap().contains("zeros"), "{r:#?}");
    // Unknown never blocks: zeros, with a warning.
    let set = synth(&info, &SynthesisOptions::default());
    assert!(values(&set.tensors[0]).iter().all(|v| *v == 0.0));
    assert!(
        set.warnings
            .iter()
            .any(|w| w.contains("input 'x'") && w.contains("zeros")),
        "{:#?}",
        set.warnings
    );
}

#[test]
fn op_names_are_graph_evidence_when_the_file_is_not_walked() {
    let info = model(
        ModelFormat::Coreml,
        vec![input("x", DType::F32, &["1", "3", "?", "?"])],
        &[("convolution", 3), ("pooling", 1)],
    );
    let r = report(&info);
    assert_eq!((r.task, r.confidence), (Task::Vision, Confidence::High));
    assert!(
        has(&r, "convolution layers (convolution ×3) over 'x'"),
        "{r:#?}"
    );
    let info = model(
        ModelFormat::Onnx,
        vec![input("float_input", DType::F32, &["?", "4"])],
        &[
            ("ai.onnx.ml:TreeEnsembleClassifier", 1),
            ("ai.onnx.ml:ZipMap", 1),
        ],
    );
    let r = report(&info);
    assert_eq!((r.task, r.confidence), (Task::Tabular, Confidence::High));
}

#[test]
fn override_replaces_weak_roles_and_silences_the_warning() {
    let info = onnx(vec![
        input("x", DType::F32, &["1", "784"]),
        input("state", DType::F32, &["2", "1", "64"]),
    ]);
    let r = detect_with(&info, Path::new(NO_FILE), Some(Task::Audio));
    assert_eq!(
        (r.task, r.confidence, r.source),
        (Task::Audio, Confidence::High, TaskSource::Override)
    );
    assert_eq!(r.warning, None);
    assert!(
        r.evidence[0].starts_with("override: task set to audio by the user (detected tabular"),
        "{r:#?}"
    );
    assert_eq!(r.role_of("x"), Some(InputRole::Waveform));
    assert_eq!(r.role_of("state"), Some(InputRole::State));
    // A role the dtype cannot carry is not forced.
    let info = onnx(vec![input("x", DType::F32, &["1", "784"])]);
    let r = detect_with(&info, Path::new(NO_FILE), Some(Task::Nlp));
    assert_eq!(r.role_of("x"), Some(InputRole::Features));
    // Even graph evidence yields: a 2-D CNN over a mel spectrogram looks like vision.
    let info = model(
        ModelFormat::Coreml,
        vec![input("x", DType::F32, &["1", "1", "64", "100"])],
        &[("convolution", 3)],
    );
    assert_eq!(report(&info).role_of("x"), Some(InputRole::Image));
    let r = detect_with(&info, Path::new(NO_FILE), Some(Task::Audio));
    assert_eq!(r.role_of("x"), Some(InputRole::Spectrogram));
    let set = synthesize(
        &info,
        Path::new(NO_FILE),
        &SynthesisOptions {
            task: Some(Task::Audio),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        set.choices[0].contains("64 mel bins × 100 frames"),
        "{:#?}",
        set.choices
    );
}

// ---- synthesis ------------------------------------------------------------------------

fn nlp_info() -> ModelInfo {
    onnx(vec![
        input("input_ids", DType::I64, &["batch", "seq"]),
        input("attention_mask", DType::I64, &["batch", "seq"]),
        input("token_type_ids", DType::I32, &["batch", "seq"]),
        input("position_ids", DType::I64, &["batch", "seq"]),
    ])
}

#[test]
fn nlp_inputs_have_the_right_values() {
    let set = synth(
        &nlp_info(),
        &SynthesisOptions {
            batch: 2,
            seq_len: Some(32),
            ..Default::default()
        },
    );
    for t in &set.tensors {
        assert_eq!(t.shape(), &[2, 32], "{}", t.name());
    }
    assert_eq!(
        set.dims,
        BTreeMap::from([("batch".into(), 2), ("seq".into(), 32)])
    );
    let ids = values(&set.tensors[0]);
    // No embedding table known: ids stay below the fallback vocabulary, and skip padding 0.
    assert!(ids.iter().all(|v| (1.0..1000.0).contains(v)), "{ids:?}");
    assert!(ids.windows(2).any(|w| w[0] != w[1]), "ids vary");
    assert!(
        set.warnings
            .iter()
            .any(|w| w.contains("no embedding table")),
        "{:#?}",
        set.warnings
    );
    assert!(values(&set.tensors[1]).iter().all(|v| *v == 1.0));
    assert_eq!(set.tensors[2].dtype(), DType::I32);
    assert!(values(&set.tensors[2]).iter().all(|v| *v == 0.0));
    let pos = values(&set.tensors[3]);
    assert_eq!(&pos[..3], &[0.0, 1.0, 2.0]);
    assert_eq!(pos[32], 0.0, "positions restart in every row");
    assert_eq!(set.seq_len, Some(32));
}

#[test]
fn sequence_ladder_and_fixed_lengths() {
    let sets = synthesize_ladder(&nlp_info(), Path::new(NO_FILE), &Default::default()).unwrap();
    let lens: Vec<usize> = sets.iter().map(|s| s.tensors[0].shape()[1]).collect();
    assert_eq!(lens, DEFAULT_SEQ_LADDER);
    assert_eq!(
        synth(&nlp_info(), &Default::default()).seq_len,
        Some(DEFAULT_SEQ_LEN)
    );

    let fixed = onnx(vec![input("input_ids", DType::I32, &["1", "128"])]);
    let set = synth(
        &fixed,
        &SynthesisOptions {
            seq_len: Some(64),
            ..Default::default()
        },
    );
    assert_eq!(set.seq_ladder, [128]);
    assert_eq!(set.tensors[0].shape(), &[1, 128]);
    assert!(
        set.warnings
            .iter()
            .any(|w| w.contains("fixes the sequence length at 128")),
        "{:#?}",
        set.warnings
    );
    let sets = synthesize_ladder(&fixed, Path::new(NO_FILE), &Default::default()).unwrap();
    assert_eq!(sets.len(), 1);
}

#[test]
fn synthesis_is_deterministic_and_depends_on_names_not_models() {
    let info = onnx(vec![
        input("a", DType::F32, &["1", "3", "32", "32"]),
        input("b", DType::F32, &["1", "3", "32", "32"]),
    ]);
    let o = SynthesisOptions::default();
    let one = synth(&info, &o);
    assert_eq!(
        one.tensors,
        synth(&info, &o).tensors,
        "same seed, same data"
    );
    assert_ne!(
        one.tensors[0].data(),
        one.tensors[1].data(),
        "different names, different data"
    );
    let reseeded = synth(
        &info,
        &SynthesisOptions {
            seed: 7,
            ..Default::default()
        },
    );
    assert_ne!(
        one.tensors[0].data(),
        reseeded.tensors[0].data(),
        "different seed, different data"
    );
    // A variant of the model (other ops, other file) gets the very same inputs.
    let mut variant = model(
        ModelFormat::Onnx,
        info.inputs.clone(),
        &[("Conv", 40), ("Relu", 40)],
    );
    variant.sha256 = "feed".into();
    assert_eq!(synth(&variant, &o).tensors, one.tensors);
}

#[test]
fn images_are_structured_and_in_the_expected_range() {
    // ONNX float: ImageNet-normalized, smooth, not constant.
    let info = onnx(vec![input("x", DType::F32, &["1", "3", "64", "64"])]);
    let set = synth(&info, &Default::default());
    let v = values(&set.tensors[0]);
    let (lo, hi) = (-0.485 / 0.229 - 1e-6, (1.0 - 0.406) / 0.225 + 1e-6);
    assert!(v.iter().all(|x| (lo..=hi).contains(x)), "ImageNet range");
    let s = set.tensors[0].stats();
    assert!(s.std.unwrap() > 0.1, "{s:?}");
    assert!(
        set.choices[0].contains("ImageNet-normalized"),
        "{:#?}",
        set.choices
    );

    // TFLite float NHWC: [0, 1]; f16 too.
    let info = model(
        ModelFormat::Tflite,
        vec![input("x", DType::F16, &["1", "48", "48", "3"])],
        &[],
    );
    let set = synth(&info, &Default::default());
    let TensorData::F16(bits) = set.tensors[0].data() else {
        panic!()
    };
    assert!(bits.iter().all(|b| (0.0..=1.0).contains(&f16_to_f32(*b))));
    assert!(set.choices[0].contains("NHWC"), "{:#?}", set.choices);

    // Quantized TFLite input: raw int8 pixels over the whole range, quantization shown.
    let mut q = input("x", DType::I8, &["1", "32", "32", "3"]);
    q.quantization = Some(Quantization {
        scale: vec![0.0078125],
        zero_point: vec![0],
        axis: None,
    });
    let info = model(ModelFormat::Tflite, vec![q], &[]);
    let set = synth(&info, &Default::default());
    let v = values(&set.tensors[0]);
    assert!(v.iter().all(|x| (-128.0..=127.0).contains(x)));
    assert!(v.iter().any(|x| *x < 0.0) && v.iter().any(|x| *x > 0.0));
    assert!(
        set.choices[0].contains("real values [-1.000, 0.992]"),
        "{:#?}",
        set.choices
    );

    // Dynamic sizes: batch 1, 3 channels, 224 square; or the size asked for.
    let info = onnx(vec![input(
        "pixel_values",
        DType::F32,
        &["batch", "channels", "height", "width"],
    )]);
    assert_eq!(
        synth(&info, &Default::default()).tensors[0].shape(),
        &[1, 3, 224, 224]
    );
    let o = SynthesisOptions {
        image_size: Some(96),
        batch: 2,
        ..Default::default()
    };
    assert_eq!(synth(&info, &o).tensors[0].shape(), &[2, 3, 96, 96]);
}

#[test]
fn audio_and_auxiliary_inputs() {
    let info = onnx(vec![
        input("waveform", DType::F32, &["1", "?"]),
        input("sr", DType::I64, &[]),
        input("enable_vad", DType::Bool, &["1"]),
        input("mel", DType::F32, &["1", "frames", "80"]),
    ]);
    let set = synth(&info, &Default::default());
    assert_eq!(set.tensors[0].shape(), &[1, DEFAULT_AUDIO_SAMPLES]);
    let wav = values(&set.tensors[0]);
    assert!(wav.iter().all(|x| (-1.0..=1.0).contains(x)));
    assert!(set.tensors[0].stats().std.unwrap() > 0.05);
    assert_eq!(set.tensors[1].data(), &TensorData::I64(vec![16000]));
    assert_eq!(set.tensors[2].data(), &TensorData::Bool(vec![false]));
    assert_eq!(set.tensors[3].shape(), &[1, 100, 80]);
    assert!(values(&set.tensors[3])
        .iter()
        .all(|x| (-1.0..=1.5).contains(x)));
    assert!(
        set.choices
            .iter()
            .any(|c| c.starts_with("sr i64[]: 16000 Hz")),
        "{:#?}",
        set.choices
    );
    assert!(
        set.choices
            .iter()
            .any(|c| c.starts_with("enable_vad bool[1]: false")),
        "{:#?}",
        set.choices
    );
    let o = SynthesisOptions {
        audio_samples: Some(8000),
        ..Default::default()
    };
    assert_eq!(synth(&info, &o).tensors[0].shape(), &[1, 8000]);
}

#[test]
fn shared_symbols_get_one_value_and_explicit_dims_win() {
    let info = onnx(vec![
        input("input_ids", DType::I64, &["batch", "seq"]),
        input("state", DType::F32, &["2", "batch", "16"]),
    ]);
    let o = SynthesisOptions {
        batch: 3,
        dims: BTreeMap::from([("seq".to_string(), 7)]),
        ..Default::default()
    };
    let set = synth(&info, &o);
    assert_eq!(set.tensors[0].shape(), &[3, 7]);
    assert_eq!(set.tensors[1].shape(), &[2, 3, 16]);
}

// ---- errors ---------------------------------------------------------------------------

fn err(info: &ModelInfo, o: &SynthesisOptions) -> String {
    synthesize(info, Path::new(NO_FILE), o)
        .unwrap_err()
        .to_string()
}

#[test]
fn absurd_dimensions_are_errors_naming_the_input() {
    let info = onnx(vec![input(
        "huge",
        DType::F32,
        &["1", "3", "100000", "100000"],
    )]);
    let e = err(&info, &Default::default());
    assert!(e.contains("input 'huge'") && e.contains("limit"), "{e}");
    let info = onnx(vec![input(
        "overflow",
        DType::F64,
        &["18446744073709551615", "18446744073709551615"],
    )]);
    let e = err(&info, &Default::default());
    assert!(e.contains("input 'overflow'"), "{e}");
    let info = onnx(vec![input("x", DType::F32, &["batch", "8"])]);
    let e = err(
        &info,
        &SynthesisOptions {
            batch: usize::MAX,
            ..Default::default()
        },
    );
    assert!(e.contains("input 'x'"), "{e}");
}

#[test]
fn bad_options_and_unsupported_inputs_are_errors() {
    let info = nlp_info();
    assert!(err(
        &info,
        &SynthesisOptions {
            batch: 0,
            ..Default::default()
        }
    )
    .contains("--batch"));
    assert!(err(
        &info,
        &SynthesisOptions {
            seq_len: Some(0),
            ..Default::default()
        }
    )
    .contains("--seq-len"));
    let info = onnx(vec![input("text", DType::String, &["1"])]);
    let e = err(&info, &Default::default());
    assert!(
        e.contains("input 'text' is string") && e.contains(".npz"),
        "{e}"
    );
    let mut unranked = input("x", DType::F32, &[]);
    unranked.shape = None;
    let e = err(&onnx(vec![unranked]), &Default::default());
    assert!(e.contains("input 'x'") && e.contains("rank"), "{e}");
}

#[test]
fn detection_never_fails_on_odd_models() {
    let mut unranked = input("x", DType::F32, &[]);
    unranked.shape = None;
    for info in [
        onnx(vec![]),
        onnx(vec![unranked]),
        onnx(vec![input(
            "",
            DType::Other("sequence<map>".into()),
            &["?"],
        )]),
        model(
            ModelFormat::Tflite,
            vec![input("x", DType::F32, &["?", "?", "?", "?", "?", "?"])],
            &[],
        ),
    ] {
        let r = report(&info);
        assert!(r.warning.is_some() || r.task != Task::Unknown);
    }
}
