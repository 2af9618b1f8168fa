//! `mlgate inspect` agrees with the runtimes users ship: for every fixture and third-party
//! model, inputs and outputs (names, dtypes, shapes with symbolic dims) match what
//! onnxruntime and LiteRT reported (`tests/expected/io.json`, recorded by
//! `cargo xtask record-expectations`).

use std::path::PathBuf;

use serde_json::Value;

fn dims_json(t: &mlgate::TensorInfo) -> Value {
    match &t.shape {
        None => Value::Null,
        Some(dims) => Value::Array(
            dims.iter()
                .map(|d| match d {
                    mlgate::Dim::Fixed(n) => Value::from(*n),
                    mlgate::Dim::Symbolic(s) => Value::from(s.clone()),
                    mlgate::Dim::Unknown => Value::Null,
                })
                .collect(),
        ),
    }
}

/// Equal shapes, or shapes that differ only where the file declares a named dim and the
/// runtime's own shape inference narrowed it to a number (ORT does this for silero's LSTM
/// state outputs). mlgate reports what the file declares.
fn shapes_agree(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x == y || (x.is_string() && y.is_u64()))
        }
        _ => ours == theirs,
    }
}

fn compare(label: &str, ours: &[mlgate::TensorInfo], theirs: &Value, problems: &mut Vec<String>) {
    let theirs = theirs.as_array().expect("array");
    if ours.len() != theirs.len() {
        problems.push(format!(
            "{label}: {} tensors, runtime says {}",
            ours.len(),
            theirs.len()
        ));
        return;
    }
    for (o, t) in ours.iter().zip(theirs) {
        let want = (
            t["name"].as_str().unwrap(),
            t["dtype"].as_str().unwrap(),
            &t["shape"],
        );
        let got = (o.name.as_str(), o.dtype.to_string(), dims_json(o));
        if got.0 != want.0 || got.1 != want.1 || !shapes_agree(&got.2, want.2) {
            problems.push(format!("{label}: got {got:?}, runtime says {want:?}"));
        }
    }
}

/// Compares every model of `tests/expected/io.json` that `locate` finds (its key is the path
/// below the test data, e.g. `fixtures/tiny_mlp.onnx`); returns how many were compared.
fn compare_expected(locate: impl Fn(&str) -> Option<PathBuf>) -> usize {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(mlgate_testkit::workspace_root().join("tests/expected/io.json"))
            .unwrap(),
    )
    .unwrap();
    let mut problems = Vec::new();
    let mut compared = 0;
    for (rel, entry) in expected.as_object().unwrap() {
        let Some(path) = locate(rel) else {
            continue;
        };
        let info = match mlgate::inspect(&path) {
            Ok(i) => i,
            Err(e) => {
                problems.push(format!("{rel}: inspect failed: {e}"));
                continue;
            }
        };
        if entry.get("error").is_some() {
            continue; // the runtime itself refused the model; inspecting it must still work
        }
        compare(
            &format!("{rel} inputs"),
            &info.inputs,
            &entry["inputs"],
            &mut problems,
        );
        compare(
            &format!("{rel} outputs"),
            &info.outputs,
            &entry["outputs"],
            &mut problems,
        );
        compared += 1;
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
    compared
}

/// The fixtures, written fresh: the same bytes `cargo xtask gen-models` wrote when the
/// expectations were recorded.
#[test]
fn fixture_io_matches_reference_runtimes() {
    let fixtures = mlgate_testkit::Fixtures::new();
    let compared = compare_expected(|rel| rel.strip_prefix("fixtures/").map(|f| fixtures.model(f)));
    assert!(compared >= 5, "only {compared} fixtures compared");
}

mod needs_downloads {
    use super::*;

    #[test]
    fn io_matches_reference_runtimes() {
        let root = mlgate_testkit::testdata_root();
        // Each group is asked for once, so a missing one fails with what to run.
        for group in ["mediapipe", "onnx-light", "silero-vad"] {
            mlgate_testkit::testdata(group);
        }
        let fixtures = mlgate_testkit::Fixtures::new();
        let compared = compare_expected(|rel| {
            Some(match rel.strip_prefix("fixtures/") {
                Some(f) => fixtures.model(f),
                None => root.join(rel),
            })
        });
        assert!(compared >= 30, "only {compared} models compared");
    }
}

#[test]
fn coreml_matches_coremltools() {
    let dir = mlgate_testkit::committed("coreml");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let entries = expected
        .as_object()
        .expect("expected.json maps file -> facts");
    assert!(!entries.is_empty());
    for (file, facts) in entries {
        let info = mlgate::inspect(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let names: Vec<&str> = info.inputs.iter().map(|t| t.name.as_str()).collect();
        let want: Vec<&str> = facts["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{file} input names");
        let names: Vec<&str> = info.outputs.iter().map(|t| t.name.as_str()).collect();
        let want: Vec<&str> = facts["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{file} output names");
    }
}
