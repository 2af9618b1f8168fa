//! Running ONNX backend test cases (`<case>/model.onnx` + `test_data_set_N/{input,output}_K.pb`)
//! on a runtime and counting what passes, as ONNX's own backend test runner does.

use std::path::{Path, PathBuf};

use mlgate_ir::onnx::proto::tensor_proto::{DataLocation, DataType};
use mlgate_ir::onnx::proto::TensorProto;
use mlgate_ir::tensor::{element_count, Tensor, TensorData};
use prost::Message;
use serde::Serialize;

use crate::{Backend, BackendKind, SessionOptions};

/// Tolerances, as in `numpy.testing.assert_allclose`: `|a − e| ≤ atol + rtol·|e|`. ONNX's
/// backend tests default to rtol 1e-3, atol 1e-7.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            rtol: 1e-3,
            atol: 1e-7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// The model ran but an output differs.
    Fail {
        detail: String,
    },
    /// The case could not be run: the runtime rejected the model, or the data is of a kind
    /// mlgate does not handle (strings, sequences, ...).
    Error {
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConformanceReport {
    pub backend: BackendKind,
    pub runtime_version: Option<String>,
    pub tolerance: Tolerance,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub cases: Vec<CaseResult>,
}

/// Decodes one serialized `TensorProto` into a [`Tensor`].
pub fn tensor_from_onnx(bytes: &[u8]) -> Result<Tensor, String> {
    let p = TensorProto::decode(bytes).map_err(|e| format!("not a TensorProto: {e}"))?;
    tensor_from_proto(&p)
}

/// Converts a decoded `TensorProto` (inline data: `raw_data` or the typed fields).
pub fn tensor_from_proto(p: &TensorProto) -> Result<Tensor, String> {
    let name = p.name.clone().unwrap_or_default();
    if p.data_location == Some(DataLocation::External as i32) {
        return Err(format!(
            "tensor '{name}' keeps its data in an external file"
        ));
    }
    let shape: Vec<usize> = p
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("tensor '{name}' has dimension {d}")))
        .collect::<Result<_, _>>()?;
    let n = element_count(&shape)
        .ok_or_else(|| format!("tensor '{name}' shape {shape:?} overflows"))?;
    let dt = p
        .data_type
        .and_then(|v| DataType::try_from(v).ok())
        .unwrap_or(DataType::Undefined);
    let dtype = match dt {
        DataType::Float => mlgate_ir::DType::F32,
        DataType::Uint8 => mlgate_ir::DType::U8,
        DataType::Int8 => mlgate_ir::DType::I8,
        DataType::Uint16 => mlgate_ir::DType::U16,
        DataType::Int16 => mlgate_ir::DType::I16,
        DataType::Int32 => mlgate_ir::DType::I32,
        DataType::Int64 => mlgate_ir::DType::I64,
        DataType::Bool => mlgate_ir::DType::Bool,
        DataType::Float16 => mlgate_ir::DType::F16,
        DataType::Double => mlgate_ir::DType::F64,
        DataType::Uint32 => mlgate_ir::DType::U32,
        DataType::Uint64 => mlgate_ir::DType::U64,
        other => {
            return Err(format!(
                "tensor '{name}' has type {other:?}, which mlgate does not handle"
            ))
        }
    };
    let data = if let Some(raw) = &p.raw_data {
        let want = n.checked_mul(dtype.size_bytes().unwrap_or(1) as usize);
        if want != Some(raw.len()) {
            return Err(format!(
                "tensor '{name}': raw data has {} bytes for shape {shape:?} of {dtype}",
                raw.len()
            ));
        }
        TensorData::from_le_bytes(&dtype, raw)
            .ok_or_else(|| format!("tensor '{name}': bad raw data"))?
    } else {
        // Narrow integers, bools and float16 bits are widened into int32_data.
        let narrow = |f: &dyn Fn(i32) -> Vec<u8>| -> Vec<u8> {
            p.int32_data.iter().flat_map(|&v| f(v)).collect()
        };
        let bytes: Vec<u8> = match dt {
            DataType::Float => p.float_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            DataType::Double => p.double_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            DataType::Int64 => p.int64_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            DataType::Int32 => narrow(&|v| v.to_le_bytes().to_vec()),
            DataType::Uint8 | DataType::Int8 | DataType::Bool => narrow(&|v| vec![v as u8]),
            DataType::Uint16 | DataType::Int16 | DataType::Float16 => {
                narrow(&|v| (v as u16).to_le_bytes().to_vec())
            }
            DataType::Uint32 => p
                .uint64_data
                .iter()
                .flat_map(|&v| (v as u32).to_le_bytes())
                .collect(),
            DataType::Uint64 => p.uint64_data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            _ => Vec::new(),
        };
        TensorData::from_le_bytes(&dtype, &bytes)
            .ok_or_else(|| format!("tensor '{name}': bad typed data"))?
    };
    Tensor::new(name, shape, data).map_err(|e| e.to_string())
}

/// The first element where `actual` is outside tolerance of `expected`, described.
pub fn compare(actual: &Tensor, expected: &Tensor, tol: &Tolerance) -> Result<(), String> {
    if actual.dtype() != expected.dtype() {
        return Err(format!(
            "'{}' is {}, expected {}",
            expected.name(),
            actual.dtype(),
            expected.dtype()
        ));
    }
    if actual.shape() != expected.shape() {
        return Err(format!(
            "'{}' has shape {:?}, expected {:?}",
            expected.name(),
            actual.shape(),
            expected.shape()
        ));
    }
    let (mut bad, mut first) = (0usize, None);
    for i in 0..expected.len() {
        let (Some(a), Some(e)) = (actual.data().get_f64(i), expected.data().get_f64(i)) else {
            break;
        };
        let ok =
            (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= tol.atol + tol.rtol * e.abs();
        if !ok {
            bad += 1;
            first.get_or_insert((i, a, e));
        }
    }
    match first {
        None => Ok(()),
        Some((i, a, e)) => Err(format!(
            "'{}': {bad} of {} elements differ; first at {i}: {a} vs expected {e}",
            expected.name(),
            expected.len()
        )),
    }
}

fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n = name
                        .strip_prefix(prefix)?
                        .strip_suffix(".pb")?
                        .parse()
                        .ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// Runs one case directory on `backend`.
pub fn run_case(
    backend: &dyn Backend,
    case: &Path,
    options: &SessionOptions,
    tol: &Tolerance,
) -> Outcome {
    let error = |detail: String| Outcome::Error { detail };
    let mut session = match backend.load(&case.join("model.onnx"), options) {
        Ok(s) => s,
        Err(e) => return error(e.to_string()),
    };
    let mut sets: Vec<PathBuf> = std::fs::read_dir(case)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    sets.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_"))
    });
    sets.sort();
    if sets.is_empty() {
        return error("no test_data_set_* directory".into());
    }
    for set in sets {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| format!("{}: {e}", path.display()))
                .and_then(|b| tensor_from_onnx(&b))
        };
        let mut inputs = Vec::new();
        for (i, path) in numbered(&set, "input_").iter().enumerate() {
            let t = match read(path) {
                Ok(t) => t,
                Err(d) => return error(d),
            };
            // Unnamed test tensors feed the model's inputs in order.
            let t = match (t.name().is_empty(), session.inputs().get(i)) {
                (true, Some(info)) => t.with_name(info.name.clone()),
                _ => t,
            };
            inputs.push(t);
        }
        let expected: Vec<Tensor> =
            match numbered(&set, "output_").iter().map(|p| read(p)).collect() {
                Ok(v) => v,
                Err(d) => return error(d),
            };
        let actual = match session.run(&inputs) {
            Ok(a) => a,
            Err(e) => return error(e.to_string()),
        };
        if actual.len() < expected.len() {
            return Outcome::Fail {
                detail: format!("{} outputs, expected {}", actual.len(), expected.len()),
            };
        }
        for (a, e) in actual.iter().zip(&expected) {
            if let Err(detail) = compare(a, e, tol) {
                return Outcome::Fail { detail };
            }
        }
    }
    Outcome::Pass
}

/// Runs every case directory under `root` (those holding a `model.onnx`) whose name
/// contains `filter`, in name order.
pub fn run_conformance(
    backend: &dyn Backend,
    root: &Path,
    filter: Option<&str>,
    options: &SessionOptions,
    tol: &Tolerance,
) -> std::io::Result<ConformanceReport> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("model.onnx").is_file())
        .filter(|p| {
            filter.is_none_or(|f| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(f))
            })
        })
        .collect();
    cases.sort();
    let mut report = ConformanceReport {
        backend: backend.kind(),
        runtime_version: backend.probe().version,
        tolerance: tol.clone(),
        passed: 0,
        failed: 0,
        errors: 0,
        cases: Vec::with_capacity(cases.len()),
    };
    for case in cases {
        let outcome = run_case(backend, &case, options, tol);
        match outcome {
            Outcome::Pass => report.passed += 1,
            Outcome::Fail { .. } => report.failed += 1,
            Outcome::Error { .. } => report.errors += 1,
        }
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        report.cases.push(CaseResult { name, outcome });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(dt: DataType, dims: Vec<i64>) -> TensorProto {
        TensorProto {
            dims,
            data_type: Some(dt as i32),
            name: Some("t".into()),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_raw_and_typed_data() {
        let mut p = proto(DataType::Float, vec![2]);
        p.float_data = vec![1.0, 2.0];
        assert_eq!(
            tensor_from_proto(&p).unwrap().data(),
            &TensorData::F32(vec![1.0, 2.0])
        );
        let mut p = proto(DataType::Int64, vec![1, 2]);
        p.raw_data = Some([3i64, -4].iter().flat_map(|v| v.to_le_bytes()).collect());
        let t = tensor_from_onnx(&p.encode_to_vec()).unwrap();
        assert_eq!(
            (t.shape(), t.data()),
            (&[1usize, 2][..], &TensorData::I64(vec![3, -4]))
        );
        let mut p = proto(DataType::Bool, vec![3]);
        p.int32_data = vec![1, 0, 1];
        assert_eq!(
            tensor_from_proto(&p).unwrap().data(),
            &TensorData::Bool(vec![true, false, true])
        );
        let mut p = proto(DataType::Float, vec![3]);
        p.raw_data = Some(vec![0; 8]);
        assert!(tensor_from_proto(&p).unwrap_err().contains("8 bytes"));
        assert!(tensor_from_proto(&proto(DataType::String, vec![1]))
            .unwrap_err()
            .contains("String"));
        assert!(tensor_from_onnx(b"\xff\xff\xff").is_err());
    }

    #[test]
    fn tolerance_like_numpy() {
        let t = |v: Vec<f32>| Tensor::new("o", vec![v.len()], TensorData::F32(v)).unwrap();
        let tol = Tolerance::default();
        assert!(compare(&t(vec![1.0005, f32::NAN]), &t(vec![1.0, f32::NAN]), &tol).is_ok());
        let e = compare(&t(vec![1.01, 2.0]), &t(vec![1.0, 2.0]), &tol).unwrap_err();
        assert!(e.contains("1 of 2 elements differ; first at 0"), "{e}");
        assert!(compare(&t(vec![1.0]), &t(vec![1.0, 2.0]), &tol)
            .unwrap_err()
            .contains("shape"));
    }
}
