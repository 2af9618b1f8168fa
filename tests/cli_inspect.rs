//! `mlgate inspect` end to end: the real binary on real models, human and JSON output, and
//! every kind of bad input exiting 2 with a message that names the file.

use mlgate_testkit::{sandbox, stderr, stdout};

#[test]
fn inspect_fixture_table() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(&dir, &["inspect", "vision_cnn.onnx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_vision_cnn", stdout(&out));
    let out = s.run_in(&dir, &["inspect", "nlp_encoder.onnx"]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_nlp_encoder", stdout(&out));
}

#[test]
fn inspect_coreml_package_table() {
    let dir = mlgate_testkit::committed("coreml");
    let out = sandbox!().run_in(&dir, &["inspect", "mil_conv.mlpackage"]);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("inspect_mil_conv_mlpackage", stdout(&out));
}

#[test]
fn inspect_json_is_a_versioned_envelope() {
    let s = sandbox!();
    let dir = s.fixtures();
    let out = s.run_in(&dir, &["inspect", "tiny_mlp.onnx", "--json"]);
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
    let out2 = s.run_in(&dir, &["--json", "inspect", "tiny_mlp.onnx"]);
    assert_eq!(stdout(&out), stdout(&out2));
}

fn assert_user_error(s: &mlgate_testkit::Sandbox, args: &[&str], must_mention: &[&str]) {
    let out = s.run(args);
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
    let s = sandbox!();
    let d = s.path();
    assert_user_error(
        &s,
        &["inspect", "missing.onnx"],
        &["missing.onnx", "no such file"],
    );

    std::fs::write(d.join("empty.onnx"), b"").unwrap();
    assert_user_error(&s, &["inspect", "empty.onnx"], &["empty.onnx", "empty"]);

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
    assert_user_error(&s, &["inspect", "noise.onnx"], &["noise.onnx"]);
    std::fs::write(d.join("noise.bin"), &noise).unwrap();
    assert_user_error(&s, &["inspect", "noise.bin"], &["noise.bin"]);
    std::fs::write(d.join("noise.tflite"), &noise).unwrap();
    assert_user_error(&s, &["inspect", "noise.tflite"], &["noise.tflite"]);
    std::fs::write(d.join("noise.mlmodel"), &noise).unwrap();
    assert_user_error(&s, &["inspect", "noise.mlmodel"], &["noise.mlmodel"]);

    std::fs::create_dir(d.join("model.mlmodelc")).unwrap();
    assert_user_error(
        &s,
        &["inspect", "model.mlmodelc"],
        &["model.mlmodelc", ".mlpackage"],
    );
    std::fs::create_dir(d.join("empty.mlpackage")).unwrap();
    assert_user_error(
        &s,
        &["inspect", "empty.mlpackage"],
        &["empty.mlpackage", "Manifest.json"],
    );

    let bytes = mlgate_ir::onnx::encode(&mlgate_ir::fixtures::tiny_mlp());
    std::fs::write(d.join("truncated.onnx"), &bytes[..bytes.len() / 2]).unwrap();
    assert_user_error(&s, &["inspect", "truncated.onnx"], &["truncated.onnx"]);
    std::fs::write(d.join("really_onnx.tflite"), &bytes).unwrap();
    assert_user_error(
        &s,
        &["inspect", "really_onnx.tflite"],
        &["really_onnx.tflite"],
    );
    // A converter-style TFLite file named `.onnx`: the error names the real format.
    std::fs::write(d.join("renamed.onnx"), mlgate_ir::fixtures::twin::tflite()).unwrap();
    assert_user_error(
        &s,
        &["inspect", "renamed.onnx"],
        &["renamed.onnx", "TFLite", ".tflite"],
    );
}

#[test]
fn error_json_on_stdout_with_json_flag() {
    let out = sandbox!().run(&["inspect", "nope.onnx", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON error report");
    assert_eq!(v["schema"], "mlgate.error/v1");
    assert_eq!(v["kind"], "invalid_input");
    assert!(v["error"].as_str().unwrap().contains("nope.onnx"));
}

#[test]
fn version_and_help_list_commands() {
    let s = sandbox!();
    let out = s.run(&["--version"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("mlgate "));
    let out = s.run(&["--help"]);
    assert!(stdout(&out).contains("inspect"));
    let out = s.run(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Asserted from this module, so the snapshot keeps its file name
/// (`cli_inspect__inspect_palm_detection_full.snap`; insta names files by module path).
fn palm_detection_snapshot(text: &str) {
    insta::assert_snapshot!("inspect_palm_detection_full", text);
}

mod needs_downloads {
    use super::*;

    /// A real GGUF language model: its facts, and a truncated copy refused naming the file.
    #[test]
    fn inspect_gguf_reports_the_decoder_and_refuses_a_truncated_copy() {
        let s = sandbox!();
        let model = mlgate_testkit::testdata("smollm2").join("SmolLM2-135M-Instruct.Q4_1.gguf");
        let v = s.json_ok(&["inspect", model.to_str().unwrap()]);
        assert_eq!(v["model"]["format"], "gguf");
        let d = &v["model"]["details"];
        assert_eq!(d["architecture"], "llama", "{v}");
        assert_eq!(d["layers"], 30);
        assert_eq!(d["vocab_size"], 49152);
        assert_eq!(d["tensor_types"]["Q4_1"], 210);
        assert_eq!(v["task"]["task"], "nlp", "{v}");
        let text = stdout(&s.run(&["inspect", model.to_str().unwrap()]));
        assert!(
            text.contains("GGUF v3 (llama)") && text.contains("Q4_1 ×210"),
            "{text}"
        );
        let bytes = std::fs::read(&model).unwrap();
        let cut = s.path().join("cut.gguf");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let o = s.run(&["inspect", cut.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        let e = stderr(&o);
        assert!(e.contains("cut.gguf") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn inspect_tflite_table() {
        let dir = mlgate_testkit::testdata("mediapipe");
        let out = sandbox!().run_in(
            &dir,
            &["inspect", "palm_detection/palm_detection_full.tflite"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        palm_detection_snapshot(&stdout(&out));
    }

    /// A converter's TFLite file named `.onnx`: the error names the real format.
    #[test]
    fn a_renamed_mediapipe_model_is_named_tflite() {
        let s = sandbox!();
        let tflite =
            mlgate_testkit::files_with_ext(&mlgate_testkit::testdata("mediapipe"), "tflite");
        std::fs::copy(&tflite[0], s.path().join("renamed.onnx")).unwrap();
        assert_user_error(
            &s,
            &["inspect", "renamed.onnx"],
            &["renamed.onnx", "TFLite", ".tflite"],
        );
    }
}
