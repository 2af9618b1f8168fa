//! ONNX decode → encode gives back the file's exact bytes, on every ONNX file we can get:
//! committed models that set every field onnx.proto defines, the fixtures, every model in the
//! onnx wheel's backend test data and its generated node cases, and silero-vad.
//!
//! Byte identity, not equality of the decoded models: a field the Rust types lack is dropped
//! by the first decode, so both decoded copies would lack it and compare equal. The check
//! (`mlgate_testkit::wire`) works on the wire format and says which field changed; its own
//! tests prove it reports a field the types lack.

use mlgate_testkit::wire::onnx_round_trip;

/// Checks every file; the failures, one line each.
fn round_trip_all(files: &[std::path::PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            onnx_round_trip(&bytes)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

/// `tests/data/onnx/every_field_*.onnx`, written by protobuf's reference implementation with
/// every field of every ONNX message set (`tests/support/every_onnx_field.py`, onnx 1.23.2):
/// a field the Rust types lack fails here, with no download needed.
#[test]
fn models_with_every_onnx_field_re_encode_to_their_exact_bytes() {
    let files = mlgate_testkit::files_with_ext(&mlgate_testkit::committed("onnx"), "onnx");
    assert_eq!(files.len(), 6, "{files:?}");
    let failures = round_trip_all(&files);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixtures_re_encode_to_their_exact_bytes() {
    let fixtures = mlgate_testkit::Fixtures::new();
    let files = mlgate_testkit::files_with_ext(fixtures.path(), "onnx");
    assert!(files.len() >= 6, "{files:?}");
    let failures = round_trip_all(&files);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

mod needs_downloads {
    use super::*;

    /// Files written by protobuf's reference implementation (the onnx and silero wheels),
    /// so any field mlgate's ONNX types lack shows up here.
    #[test]
    fn every_third_party_onnx_file_re_encodes_to_its_exact_bytes() {
        let mut files = Vec::new();
        for group in ["onnx-backend", "onnx-node", "silero-vad"] {
            files.extend(mlgate_testkit::files_with_ext(
                &mlgate_testkit::testdata(group),
                "onnx",
            ));
        }
        assert!(
            files.len() >= 150,
            "expected the onnx wheel's test models too, got {}",
            files.len()
        );
        let failures = round_trip_all(&files);
        eprintln!(
            "{} ONNX files round-tripped, {} byte-identical",
            files.len(),
            files.len() - failures.len()
        );
        assert!(
            failures.is_empty(),
            "{} of {} files changed in a round trip:\n{}",
            failures.len(),
            files.len(),
            failures.join("\n")
        );
    }
}
