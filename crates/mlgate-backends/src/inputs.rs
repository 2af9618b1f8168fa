//! Checking user inputs against a session's declared inputs, and making synthetic ones.

use std::collections::BTreeMap;
use std::path::Path;

use mlgate_ir::rng::{XorShift64Star, GOLDEN_GAMMA};
use mlgate_ir::tensor::{element_count, f32_to_f16, Tensor, TensorData};
use mlgate_ir::{DType, Dim, TensorInfo};

use crate::{BackendError, BackendKind, Result};

/// Matches `inputs` to `declared` by name and checks dtype, rank and fixed dimensions, and
/// that a symbolic dimension has one value across all inputs. Returns the tensors in
/// `declared` order. Runtimes give poor messages (or crash) on such mistakes, so this runs
/// before any of them sees the data.
pub fn validate_inputs<'t>(
    backend: BackendKind,
    model: &Path,
    declared: &[TensorInfo],
    inputs: &'t [Tensor],
) -> Result<Vec<&'t Tensor>> {
    let err = |detail: String| BackendError::Input {
        backend,
        model: model.to_owned(),
        detail,
    };
    let expected = || {
        declared
            .iter()
            .map(|d| match &d.tensor_name {
                Some(alias) => format!("{} (tensor {alias}) {}{}", d.name, d.dtype, d.shape_text()),
                None => format!("{} {}{}", d.name, d.dtype, d.shape_text()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };

    // Keyed by the declared name; a tensor may be given by its tensor name instead (a TFLite
    // signature's `input` is also `serving_default_input:0`, as Python LiteRT saves it).
    let mut by_name: BTreeMap<&str, &Tensor> = BTreeMap::new();
    let mut unknown: Vec<&str> = Vec::new();
    for t in inputs {
        let Some(d) = declared.iter().find(|d| d.is_called(t.name())) else {
            unknown.push(t.name());
            continue;
        };
        if by_name.insert(d.name.as_str(), t).is_some() {
            return Err(err(match &d.tensor_name {
                Some(alias) => format!(
                    "input '{}' is given twice (it is also called '{alias}')",
                    d.name
                ),
                None => format!("input '{}' is given twice", d.name),
            }));
        }
    }
    if !unknown.is_empty() {
        return Err(err(format!(
            "unknown input(s) {}; the model's inputs are: {}",
            unknown.join(", "),
            expected()
        )));
    }
    let missing: Vec<&str> = declared
        .iter()
        .map(|d| d.name.as_str())
        .filter(|n| !by_name.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(err(format!(
            "missing input(s) {}; the model's inputs are: {}",
            missing.join(", "),
            expected()
        )));
    }

    let mut symbols: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    let mut ordered = Vec::with_capacity(declared.len());
    for d in declared {
        let t = by_name[d.name.as_str()];
        if t.dtype() != d.dtype {
            return Err(err(format!(
                "input '{}' is {}, the model expects {}",
                d.name,
                t.dtype(),
                d.dtype
            )));
        }
        if let Some(dims) = &d.shape {
            let shape = t.shape();
            let mismatch = || {
                err(format!(
                    "input '{}' has shape {:?}, the model expects {}",
                    d.name,
                    shape,
                    d.shape_text()
                ))
            };
            if dims.len() != shape.len() {
                return Err(mismatch());
            }
            for (dim, &actual) in dims.iter().zip(shape) {
                match dim {
                    Dim::Fixed(n) if *n != actual as u64 => return Err(mismatch()),
                    Dim::Symbolic(s) => match symbols.get(s.as_str()) {
                        Some(&(v, other)) if v != actual => {
                            return Err(err(format!(
                            "dimension '{s}' is {v} in input '{other}' but {actual} in input '{}'",
                            d.name
                        )))
                        }
                        Some(_) => {}
                        None => {
                            symbols.insert(s, (actual, &d.name));
                        }
                    },
                    _ => {}
                }
            }
        }
        ordered.push(t);
    }
    Ok(ordered)
}

/// Deterministic inputs for `declared`: floats in [-1, 1), integers in [0, 8) (small, so
/// index-like inputs stay in range), alternating bools. Dynamic dimensions take the value in
/// `dims` for their name, else 1. An error names an input whose dtype cannot be made
/// (strings, complex, ...).
pub fn synthetic_inputs(
    declared: &[TensorInfo],
    dims: &BTreeMap<String, usize>,
    seed: u64,
) -> Result<Vec<Tensor>, String> {
    let mut rng = XorShift64Star::new(seed.wrapping_mul(GOLDEN_GAMMA));
    declared
        .iter()
        .map(|d| {
            let shape: Vec<usize> = match &d.shape {
                None => Vec::new(),
                Some(ds) => ds
                    .iter()
                    .map(|dim| match dim {
                        Dim::Fixed(n) => usize::try_from(*n)
                            .map_err(|_| format!("input '{}': dimension {n} is too large", d.name)),
                        Dim::Symbolic(s) => Ok(dims.get(s).copied().unwrap_or(1)),
                        Dim::Unknown => Ok(1),
                    })
                    .collect::<Result<_, String>>()?,
            };
            let n = element_count(&shape)
                .ok_or_else(|| format!("input '{}': shape {shape:?} is too large", d.name))?;
            let mut unit = || rng.uniform() * 2.0 - 1.0;
            let data = match d.dtype {
                DType::F32 => TensorData::F32((0..n).map(|_| unit() as f32).collect()),
                DType::F64 => TensorData::F64((0..n).map(|_| unit()).collect()),
                DType::F16 => TensorData::F16((0..n).map(|_| f32_to_f16(unit() as f32)).collect()),
                DType::Bool => TensorData::Bool((0..n).map(|i| i % 2 == 0).collect()),
                ref int if int.is_integer() => {
                    let bytes: Vec<u8> = (0..n)
                        .flat_map(|_| small_int_le(int, rng.next_u64() % 8))
                        .collect();
                    TensorData::from_le_bytes(int, &bytes).ok_or_else(|| {
                        format!("input '{}': dtype {int} is not supported", d.name)
                    })?
                }
                ref other => {
                    return Err(format!(
                        "input '{}': cannot make synthetic {other} data",
                        d.name
                    ))
                }
            };
            Tensor::new(d.name.clone(), shape, data).map_err(|e| e.to_string())
        })
        .collect()
}

fn small_int_le(dtype: &DType, v: u64) -> Vec<u8> {
    let size = dtype.size_bytes().unwrap_or(1) as usize;
    v.to_le_bytes()[..size.min(8)].to_vec()
}

/// How far `actual` is from `expected`: `‖a − e‖₂ / ‖e‖₂` (or the absolute norm when `e` is
/// all zeros). NaNs in the same places count as equal. `None` when shapes differ.
pub fn relative_l2(actual: &Tensor, expected: &Tensor) -> Option<f64> {
    if actual.shape() != expected.shape() || actual.len() != expected.len() {
        return None;
    }
    let (mut diff, mut norm) = (0f64, 0f64);
    for i in 0..actual.len() {
        let (a, e) = (actual.data().get_f64(i)?, expected.data().get_f64(i)?);
        if a.is_nan() && e.is_nan() || a == e {
            norm += if e.is_finite() { e * e } else { 0.0 };
            continue;
        }
        let d = a - e;
        diff += if d.is_finite() { d * d } else { f64::INFINITY };
        norm += e * e;
    }
    Some(if norm > 0.0 {
        (diff / norm).sqrt()
    } else {
        diff.sqrt()
    })
}

/// Largest `|a − e|` over all elements; NaNs in the same places count as equal, a NaN
/// against a number as infinitely far. `None` when shapes differ.
pub fn max_abs_diff(actual: &Tensor, expected: &Tensor) -> Option<f64> {
    if actual.shape() != expected.shape() || actual.len() != expected.len() {
        return None;
    }
    let mut worst = 0f64;
    for i in 0..actual.len() {
        let (a, e) = (actual.data().get_f64(i)?, expected.data().get_f64(i)?);
        if (a.is_nan() && e.is_nan()) || a == e {
            continue;
        }
        let d = (a - e).abs();
        worst = worst.max(if d.is_nan() { f64::INFINITY } else { d });
    }
    Some(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, dtype: DType, shape: Option<Vec<Dim>>) -> TensorInfo {
        TensorInfo {
            tensor_name: None,
            name: name.into(),
            dtype,
            shape,
            quantization: None,
        }
    }

    fn declared() -> Vec<TensorInfo> {
        vec![
            info(
                "x",
                DType::F32,
                Some(vec![Dim::Symbolic("batch".into()), Dim::Fixed(3)]),
            ),
            info(
                "mask",
                DType::I64,
                Some(vec![Dim::Symbolic("batch".into())]),
            ),
        ]
    }

    fn check(inputs: &[Tensor]) -> String {
        match validate_inputs(BackendKind::Tract, Path::new("m.onnx"), &declared(), inputs) {
            Ok(v) => v.iter().map(|t| t.name()).collect::<Vec<_>>().join(","),
            Err(e) => e.to_string(),
        }
    }

    fn f32s(name: &str, shape: Vec<usize>) -> Tensor {
        Tensor::zeros(name, &DType::F32, shape).unwrap()
    }

    fn i64s(name: &str, shape: Vec<usize>) -> Tensor {
        Tensor::zeros(name, &DType::I64, shape).unwrap()
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(
            check(&[i64s("mask", vec![2]), f32s("x", vec![2, 3])]),
            "x,mask"
        );
        let e = check(&[f32s("x", vec![2, 3])]);
        assert!(
            e.contains("missing input(s) mask") && e.contains("x f32[batch, 3]"),
            "{e}"
        );
        let e = check(&[
            f32s("x", vec![2, 3]),
            i64s("mask", vec![2]),
            f32s("y", vec![1]),
        ]);
        assert!(e.contains("unknown input(s) y"), "{e}");
        let e = check(&[f32s("x", vec![2, 3]), f32s("mask", vec![2])]);
        assert!(e.contains("'mask' is f32, the model expects i64"), "{e}");
        let e = check(&[f32s("x", vec![2, 4]), i64s("mask", vec![2])]);
        assert!(
            e.contains("shape [2, 4], the model expects [batch, 3]"),
            "{e}"
        );
        let e = check(&[f32s("x", vec![2, 3]), i64s("mask", vec![5])]);
        assert!(
            e.contains("dimension 'batch' is 2 in input 'x' but 5"),
            "{e}"
        );
        let e = check(&[f32s("x", vec![2, 3]), f32s("x", vec![2, 3])]);
        assert!(e.contains("given twice"), "{e}");
    }

    #[test]
    fn an_input_may_be_given_by_its_tensor_name() {
        let mut declared = declared();
        declared[0].name = "input".into();
        declared[0].tensor_name = Some("serving_default_input:0".into());
        let run = |inputs: &[Tensor]| {
            validate_inputs(
                BackendKind::LiteRt,
                Path::new("m.tflite"),
                &declared,
                inputs,
            )
            .map(|v| v.iter().map(|t| t.name()).collect::<Vec<_>>().join(","))
            .map_err(|e| e.to_string())
        };
        for name in ["input", "serving_default_input:0"] {
            assert_eq!(
                run(&[i64s("mask", vec![2]), f32s(name, vec![2, 3])]).unwrap(),
                format!("{name},mask")
            );
        }
        let e = run(&[
            f32s("input", vec![2, 3]),
            f32s("serving_default_input:0", vec![2, 3]),
            i64s("mask", vec![2]),
        ])
        .unwrap_err();
        assert!(
            e.contains("'input' is given twice (it is also called 'serving_default_input:0')"),
            "{e}"
        );
        let e = run(&[f32s("x", vec![2, 3]), i64s("mask", vec![2])]).unwrap_err();
        assert!(
            e.contains("input (tensor serving_default_input:0) f32[batch, 3]"),
            "{e}"
        );
    }

    #[test]
    fn synthetic_inputs_follow_the_declaration() {
        let dims = BTreeMap::from([("batch".to_string(), 4)]);
        let ts = synthetic_inputs(&declared(), &dims, 7).unwrap();
        assert_eq!(ts[0].shape(), &[4, 3]);
        assert_eq!(ts[1].shape(), &[4]);
        assert_eq!(check(&ts), "x,mask");
        assert_eq!(
            ts,
            synthetic_inputs(&declared(), &dims, 7).unwrap(),
            "deterministic"
        );
        let s = ts[0].stats();
        assert!(s.min.unwrap() >= -1.0 && s.max.unwrap() < 1.0);
        assert!(synthetic_inputs(&[info("s", DType::String, None)], &dims, 0).is_err());
    }

    #[test]
    fn comparisons() {
        let a = Tensor::new("a", vec![2], TensorData::F32(vec![1.0, f32::NAN])).unwrap();
        let b = Tensor::new("b", vec![2], TensorData::F32(vec![1.0, f32::NAN])).unwrap();
        assert_eq!(relative_l2(&a, &b), Some(0.0));
        let c = Tensor::new("c", vec![2], TensorData::F32(vec![3.0, 4.0])).unwrap();
        let d = Tensor::new("d", vec![2], TensorData::F32(vec![3.0, 4.5])).unwrap();
        assert!((relative_l2(&d, &c).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(max_abs_diff(&d, &c), Some(0.5));
        assert_eq!(max_abs_diff(&a, &c), Some(f64::INFINITY));
        assert_eq!(relative_l2(&a, &f32s("z", vec![3])), None);
    }
}
