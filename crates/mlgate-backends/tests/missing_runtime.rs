//! With no runtime library anywhere, loading says how to install one. A separate test
//! binary: ONNX Runtime, once loaded in a process, stays loaded.

use std::path::Path;

use mlgate_backends::{BackendError, BackendKind, RuntimeCatalog, RuntimeConfig, SessionOptions};

#[test]
fn missing_libraries_explain_how_to_install() {
    // Each runtime's variable is searched before the empty home; with one set, the test
    // would find a library instead of checking the message. This is the binary's only test,
    // so changing its environment races nothing.
    std::env::remove_var("ORT_DYLIB_PATH");
    std::env::remove_var("LITERT_LIB_PATH");
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        mlgate_home: Some(dir.path().to_owned()),
        python: Some("/nonexistent/python3".into()),
        ..Default::default()
    };
    let registry = RuntimeCatalog::new(&config);
    for (kind, cmd) in [
        (BackendKind::OnnxRuntime, "mlgate runtime install ort"),
        (BackendKind::LiteRt, "mlgate runtime install litert"),
    ] {
        let e = registry
            .get(kind)
            .unwrap()
            .load(Path::new("model"), &SessionOptions::default())
            .err()
            .unwrap();
        assert!(matches!(e, BackendError::LibraryMissing { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains(cmd) && text.contains(&dir.path().display().to_string()),
            "{text}"
        );
    }
    let e = registry
        .get(BackendKind::CoreMl)
        .unwrap()
        .load(Path::new("m.mlpackage"), &SessionOptions::default());
    if !cfg!(target_os = "macos") {
        assert_eq!(
            e.err().unwrap().to_string(),
            "coreml is not available: CoreML execution needs macOS; inspecting CoreML models works everywhere (mlgate inspect)"
        );
    }
}
