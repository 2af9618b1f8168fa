//! Output validation after an inference: a model that returns NaNs, zeros or a constant is
//! broken (or was fed nonsense), and its timings mean nothing.

use std::collections::BTreeMap;
use std::fmt;

use mlgate_ir::tensor::Tensor;
use mlgate_ir::{Dim, TensorInfo};
use serde::{Deserialize, Serialize};

/// What a failed check does: `soft` reports warnings, `strict` (`--strict-output`) fails the
/// run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    #[default]
    Soft,
    Strict,
}

/// The kinds of trouble an output can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputIssueKind {
    /// A declared output is absent, or an undeclared one appeared.
    Missing,
    /// NaN or infinite values.
    NonFinite,
    AllZero,
    /// Every element has the same value.
    Constant,
    /// The shape contradicts the model's declaration (or the input sizes it depends on).
    Shape,
    /// Class scores that cannot come from a working classifier: all equal, exploded, or a
    /// softmax saturated to exactly one-hot.
    DegenerateScores,
}

/// One problem with one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputIssue {
    pub output: String,
    pub kind: OutputIssueKind,
    /// What was seen, in words: `output 'logits': 12 of 1000 values are NaN`.
    pub message: String,
}

impl fmt::Display for OutputIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Strict mode's failure: every issue found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model's outputs look broken ({}): {}; run without --strict-output to see them as warnings", .issues.len(), join(.issues))]
pub struct OutputCheckFailure {
    pub issues: Vec<OutputIssue>,
}

fn join(issues: &[OutputIssue]) -> String {
    issues
        .iter()
        .map(|i| i.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Scores beyond this magnitude are an overflow, not a confident prediction.
const EXPLODED: f64 = 1e6;

/// Every problem with `outputs` (as a session returns them) against `declared` (the
/// model's outputs). `dims` holds the values of named dimensions used for the inputs
/// ([`crate::SynthesizedInputs::dims`]), so an output `[batch, seq, 128]` is checked against
/// them; pass an empty map to check fixed dimensions only.
pub fn check_outputs(
    declared: &[TensorInfo],
    outputs: &[Tensor],
    dims: &BTreeMap<String, usize>,
) -> Vec<OutputIssue> {
    let mut issues = Vec::new();
    let by_name = |name: &str| declared.iter().find(|d| d.is_called(name));
    let names_match = outputs.iter().all(|o| by_name(o.name()).is_some());
    for d in declared {
        if names_match && !outputs.iter().any(|o| d.is_called(o.name())) {
            issues.push(issue(
                &d.name,
                OutputIssueKind::Missing,
                "the model declares it but the run did not return it".into(),
            ));
        }
    }
    if !names_match && outputs.len() != declared.len() {
        issues.push(OutputIssue {
            output: String::new(),
            kind: OutputIssueKind::Missing,
            message: format!(
                "the run returned {} outputs, the model declares {}",
                outputs.len(),
                declared.len()
            ),
        });
    }
    for (i, out) in outputs.iter().enumerate() {
        let decl = if names_match {
            by_name(out.name())
        } else {
            declared.get(i)
        };
        if let Some(d) = decl {
            if let Some(msg) = shape_problem(d, out.shape(), dims) {
                issues.push(issue(out.name(), OutputIssueKind::Shape, msg));
            }
        }
        check_values(out, &mut issues);
    }
    issues
}

/// [`check_outputs`], then by `mode`: the issues as warning lines (soft), or an error when
/// there are any (strict).
pub fn validate_outputs(
    declared: &[TensorInfo],
    outputs: &[Tensor],
    dims: &BTreeMap<String, usize>,
    mode: OutputMode,
) -> Result<Vec<String>, OutputCheckFailure> {
    let issues = check_outputs(declared, outputs, dims);
    match mode {
        OutputMode::Strict if !issues.is_empty() => Err(OutputCheckFailure { issues }),
        _ => Ok(issues.into_iter().map(|i| i.message).collect()),
    }
}

fn issue(output: &str, kind: OutputIssueKind, detail: String) -> OutputIssue {
    OutputIssue {
        output: output.to_string(),
        kind,
        message: format!("output '{output}': {detail}"),
    }
}

fn shape_problem(
    d: &TensorInfo,
    actual: &[usize],
    dims: &BTreeMap<String, usize>,
) -> Option<String> {
    let declared = d.shape.as_ref()?;
    let problem = || {
        Some(format!(
            "shape {actual:?} contradicts the declared {}",
            d.shape_text()
        ))
    };
    if declared.len() != actual.len() {
        return problem();
    }
    for (dim, &a) in declared.iter().zip(actual) {
        let expected = match dim {
            Dim::Fixed(n) => Some(*n),
            Dim::Symbolic(s) => dims.get(s).map(|&v| v as u64),
            Dim::Unknown => None,
        };
        if expected.is_some_and(|e| e != a as u64) {
            return problem();
        }
    }
    None
}

fn check_values(out: &Tensor, issues: &mut Vec<OutputIssue>) {
    // Integer and bool outputs (labels, indices, masks) are legitimately constant or zero.
    if !out.dtype().is_float() || out.is_empty() {
        return;
    }
    let name = out.name();
    let s = out.stats();
    if s.nan_count + s.inf_count > 0 {
        let mut parts = Vec::new();
        if s.nan_count > 0 {
            parts.push(format!("{} NaN", s.nan_count));
        }
        if s.inf_count > 0 {
            parts.push(format!("{} infinite", s.inf_count));
        }
        issues.push(issue(
            name,
            OutputIssueKind::NonFinite,
            format!("{} of {} values", parts.join(" and "), s.count),
        ));
        return;
    }
    if s.count >= 2 && s.min == s.max {
        let v = s.min.unwrap_or(0.0);
        if v == 0.0 {
            issues.push(issue(
                name,
                OutputIssueKind::AllZero,
                format!("all {} values are zero", s.count),
            ));
        } else {
            issues.push(issue(
                name,
                OutputIssueKind::Constant,
                format!("all {} values equal {v}", s.count),
            ));
        }
        return;
    }
    if let Some(msg) = degenerate_scores(out) {
        issues.push(issue(name, OutputIssueKind::DegenerateScores, msg));
    }
}

/// Class scores: `[N, C]` or `[N, C, 1, 1]` with at least two classes.
fn score_rows(shape: &[usize]) -> Option<(usize, usize)> {
    match *shape {
        [n, c] | [n, c, 1, 1] if c >= 2 && n >= 1 => Some((n, c)),
        [c] if c >= 2 => Some((1, c)),
        _ => None,
    }
}

fn degenerate_scores(out: &Tensor) -> Option<String> {
    let (rows, classes) = score_rows(out.shape())?;
    let data = out.data();
    for r in 0..rows {
        let row: Vec<f64> = (0..classes)
            .filter_map(|c| data.get_f64(r * classes + c))
            .collect();
        let max_abs = row.iter().fold(0f64, |m, v| m.max(v.abs()));
        if max_abs > EXPLODED {
            return Some(format!(
                "class scores reach {max_abs:e} in row {r}: the activations overflowed"
            ));
        }
        if row.windows(2).all(|w| w[0] == w[1]) {
            return Some(format!("all {classes} class scores are equal in row {r}"));
        }
        let ones = row.iter().filter(|v| **v == 1.0).count();
        let zeros = row.iter().filter(|v| **v == 0.0).count();
        if ones == 1 && zeros == classes - 1 {
            return Some(format!(
                "the probabilities in row {r} are exactly one-hot: the softmax saturated"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlgate_ir::tensor::TensorData;
    use mlgate_ir::DType;

    fn decl(name: &str, dims: Vec<Dim>) -> TensorInfo {
        TensorInfo {
            tensor_name: None,
            name: name.into(),
            dtype: DType::F32,
            shape: Some(dims),
            quantization: None,
        }
    }

    fn t(name: &str, shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::new(name, shape, TensorData::F32(v)).unwrap()
    }

    fn kinds(declared: &[TensorInfo], outputs: &[Tensor]) -> Vec<OutputIssueKind> {
        check_outputs(declared, outputs, &BTreeMap::new())
            .into_iter()
            .map(|i| i.kind)
            .collect()
    }

    #[test]
    fn healthy_outputs_pass() {
        let d = [decl("logits", vec![Dim::Fixed(1), Dim::Fixed(3)])];
        assert!(kinds(&d, &[t("logits", vec![1, 3], vec![0.1, -2.0, 3.5])]).is_empty());
        let probs = t("logits", vec![1, 3], vec![0.7, 0.2, 0.1]);
        assert_eq!(
            validate_outputs(&d, &[probs], &BTreeMap::new(), OutputMode::Strict),
            Ok(vec![])
        );
    }

    #[test]
    fn broken_values_are_named() {
        use OutputIssueKind::*;
        let d = [decl(
            "y",
            vec![Dim::Symbolic("batch".into()), Dim::Fixed(4)],
        )];
        let cases = [
            (vec![1.0, f32::NAN, 2.0, 3.0], NonFinite),
            (vec![1.0, f32::INFINITY, 2.0, 3.0], NonFinite),
            (vec![0.0; 4], AllZero),
            (vec![0.25; 4], Constant),
            (vec![0.0, 1.0, 0.0, 0.0], DegenerateScores),
            (vec![0.0, 3e7, 1.0, 2.0], DegenerateScores),
        ];
        for (values, kind) in cases {
            let got = kinds(&d, &[t("y", vec![1, 4], values.clone())]);
            assert_eq!(got, vec![kind], "{values:?}");
        }
        // A single value is no evidence of anything.
        let d1 = [decl("p", vec![Dim::Fixed(1), Dim::Fixed(1)])];
        assert!(kinds(&d1, &[t("p", vec![1, 1], vec![0.0])]).is_empty());
    }

    #[test]
    fn integer_outputs_may_be_zero() {
        let d = [TensorInfo {
            tensor_name: None,
            name: "label".into(),
            dtype: DType::I64,
            shape: Some(vec![Dim::Fixed(2)]),
            quantization: None,
        }];
        let out = Tensor::new("label", vec![2], TensorData::I64(vec![0, 0])).unwrap();
        assert!(kinds(&d, &[out]).is_empty());
    }

    #[test]
    fn shapes_are_checked_against_declaration_and_input_dims() {
        let d = [decl(
            "h",
            vec![
                Dim::Symbolic("batch".into()),
                Dim::Symbolic("seq".into()),
                Dim::Fixed(2),
            ],
        )];
        let out = t("h", vec![1, 3, 2], vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
        let dims = BTreeMap::from([("batch".to_string(), 1), ("seq".to_string(), 3)]);
        assert!(check_outputs(&d, std::slice::from_ref(&out), &dims).is_empty());
        let dims = BTreeMap::from([("seq".to_string(), 4)]);
        let issues = check_outputs(&d, &[out], &dims);
        assert_eq!(issues[0].kind, OutputIssueKind::Shape);
        assert!(
            issues[0].message.contains("[batch, seq, 2]"),
            "{}",
            issues[0].message
        );
        let wrong_rank = t("h", vec![6], vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
        assert_eq!(kinds(&d, &[wrong_rank]), vec![OutputIssueKind::Shape]);
    }

    #[test]
    fn missing_outputs_and_strict_mode() {
        let d = [
            decl("a", vec![Dim::Fixed(2)]),
            decl("b", vec![Dim::Fixed(2)]),
        ];
        let only_a = [t("a", vec![2], vec![1.0, 2.0])];
        assert_eq!(kinds(&d, &only_a), vec![OutputIssueKind::Missing]);
        let zeros = [
            t("a", vec![2], vec![0.0, 0.0]),
            t("b", vec![2], vec![1.0, 2.0]),
        ];
        let soft = validate_outputs(&d, &zeros, &BTreeMap::new(), OutputMode::Soft).unwrap();
        assert_eq!(soft, ["output 'a': all 2 values are zero"]);
        let e = validate_outputs(&d, &zeros, &BTreeMap::new(), OutputMode::Strict).unwrap_err();
        assert!(
            e.to_string().contains("output 'a': all 2 values are zero"),
            "{e}"
        );
        assert!(e.to_string().contains("--strict-output"), "{e}");
    }
}
