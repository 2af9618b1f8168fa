//! `mlgate inspect` end to end: the real binary on real models, human and JSON output, and
//! every kind of bad input exiting 2 with a message that names the file.

mod common;

use common::{mlgate, stderr, stdout};

#[test]
fn inspect_fixture_table() {
    let Some(dir) = common::testdata("fixtures") else {
        return;
    };
    let out = mlgate(&["inspect", "vision_cnn.onnx"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_vision_cnn", stdout(&out));
    let out = mlgate(&["inspect", "nlp_encoder.onnx"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_nlp_encoder", stdout(&out));
}

#[test]
fn inspect_tflite_table() {
    let Some(dir) = common::testdata("mediapipe") else {
        return;
    };
    let out = mlgate(
        &["inspect", "palm_detection/palm_detection_full.tflite"],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_palm_detection_full", stdout(&out));
}

#[test]
fn inspect_coreml_package_table() {
    let dir = common::committed("coreml");
    let out = mlgate(&["inspect", "mil_conv.mlpackage"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_mil_conv_mlpackage", stdout(&out));
}

#[test]
fn inspect_json_is_a_versioned_envelope() {
    let Some(dir) = common::testdata("fixtures") else {
        return;
    };
    let out = mlgate(&["inspect", "tiny_mlp.onnx", "--json"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["schema"], "mlgate.inspect/v1");
    assert_eq!(v["model"]["format"], "onnx");
    assert_eq!(
        v["model"]["inputs"][0]["shape"],
        serde_json::json!([1, 784])
    );
    assert_eq!(v["model"]["param_count"], 784 * 256 + 256 + 256 * 10 + 10);
    // The detected task rides along; adding it kept the schema at v1.
    assert_eq!(v["task"]["task"], "tabular");
    assert_eq!(v["task"]["confidence"], "medium");
    assert_eq!(v["task"]["inputs"][0]["role"], "features");
    assert!(v["task"]["warning"].as_str().unwrap().contains("--task"));
    // The global flag works before the subcommand too.
    let out2 = mlgate(&["--json", "inspect", "tiny_mlp.onnx"], &dir);
    assert_eq!(stdout(&out), stdout(&out2));
}

fn assert_user_error(args: &[&str], cwd: &std::path::Path, must_mention: &[&str]) {
    let out = mlgate(args, cwd);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: stdout {} stderr {}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    for m in must_mention {
        assert!(err.contains(m), "{args:?}: `{err}` does not mention `{m}`");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_inputs_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    assert_user_error(
        &["inspect", "missing.onnx"],
        d,
        &["missing.onnx", "no such file"],
    );

    std::fs::write(d.join("empty.onnx"), b"").unwrap();
    assert_user_error(&["inspect", "empty.onnx"], d, &["empty.onnx", "empty"]);

    let mut state = 0x1234_5678_9abc_def0u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(d.join("noise.onnx"), &noise).unwrap();
    assert_user_error(&["inspect", "noise.onnx"], d, &["noise.onnx"]);
    std::fs::write(d.join("noise.bin"), &noise).unwrap();
    assert_user_error(&["inspect", "noise.bin"], d, &["noise.bin"]);
    std::fs::write(d.join("noise.tflite"), &noise).unwrap();
    assert_user_error(&["inspect", "noise.tflite"], d, &["noise.tflite"]);
    std::fs::write(d.join("noise.mlmodel"), &noise).unwrap();
    assert_user_error(&["inspect", "noise.mlmodel"], d, &["noise.mlmodel"]);

    std::fs::create_dir(d.join("model.mlmodelc")).unwrap();
    assert_user_error(
        &["inspect", "model.mlmodelc"],
        d,
        &["model.mlmodelc", ".mlpackage"],
    );
    std::fs::create_dir(d.join("empty.mlpackage")).unwrap();
    assert_user_error(
        &["inspect", "empty.mlpackage"],
        d,
        &["empty.mlpackage", "Manifest.json"],
    );

    if let Some(fixtures) = common::testdata("fixtures") {
        let bytes = std::fs::read(fixtures.join("tiny_mlp.onnx")).unwrap();
        std::fs::write(d.join("truncated.onnx"), &bytes[..bytes.len() / 2]).unwrap();
        assert_user_error(&["inspect", "truncated.onnx"], d, &["truncated.onnx"]);
        std::fs::write(d.join("really_onnx.tflite"), &bytes).unwrap();
        assert_user_error(
            &["inspect", "really_onnx.tflite"],
            d,
            &["really_onnx.tflite"],
        );
    }
    if let Some(mp) = common::testdata("mediapipe") {
        let tflite = common::files_with_ext(&mp, "tflite");
        std::fs::copy(&tflite[0], d.join("renamed.onnx")).unwrap();
        assert_user_error(
            &["inspect", "renamed.onnx"],
            d,
            &["renamed.onnx", "TFLite", ".tflite"],
        );
    }
}

#[test]
fn error_json_on_stdout_with_json_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mlgate(&["inspect", "nope.onnx", "--json"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON error report");
    assert_eq!(v["schema"], "mlgate.error/v1");
    assert_eq!(v["kind"], "invalid_input");
    assert!(v["error"].as_str().unwrap().contains("nope.onnx"));
}

#[test]
fn version_and_help_list_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mlgate(&["--version"], tmp.path());
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("mlgate "));
    let out = mlgate(&["--help"], tmp.path());
    assert!(stdout(&out).contains("inspect"));
    let out = mlgate(&["no-such-command"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
}
