//! ONNX decode → encode → decode is lossless on every ONNX file we can get: the fixtures,
//! every model in the onnx wheel's backend test data and its generated node cases, and silero-vad.

mod common;

#[test]
fn decode_encode_decode_is_lossless() {
    let mut files = Vec::new();
    for group in ["fixtures", "onnx-backend", "onnx-node", "silero-vad"] {
        if let Some(dir) = common::testdata(group) {
            files.extend(common::files_with_ext(&dir, "onnx"));
        }
    }
    if files.is_empty() {
        return;
    }
    let mut byte_identical = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let first =
            mlgate_ir::onnx::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let encoded = mlgate_ir::onnx::encode(&first);
        let second = mlgate_ir::onnx::decode(&encoded).unwrap();
        // NaN != NaN, so a model with NaN attribute data compares equal only as bytes.
        assert!(
            first == second || mlgate_ir::onnx::encode(&second) == encoded,
            "{} changed in a round trip",
            path.display()
        );
        if encoded == bytes {
            byte_identical += 1;
        }
    }
    eprintln!(
        "{} ONNX files round-tripped, {byte_identical} byte-identical",
        files.len()
    );
    assert!(
        files.len() >= 150,
        "expected the onnx wheel's test models too, got {}",
        files.len()
    );
}
