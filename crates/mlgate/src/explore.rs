//! `mlgate explore`: make the usual variants of a model, measure each against the float
//! baseline on this machine (interleaved, with intervals), optionally check their accuracy,
//! and name the one to ship.
//!
//! Scoring: `0.6 × (baseline latency / variant latency) + 0.4 × (baseline size / variant
//! size)`. The latency ratio comes from the A/B engine's estimate of the shift of the median;
//! a shift whose 95% interval contains zero is not a speed-up and scores 1.0, so noise is
//! never credited. The highest score above 1.0 is *recommended*, the smallest remaining
//! variant scoring above 1.0 is *aggressive*, the rest are *skip*; a variant below the accuracy
//! thresholds, or one the target's runtime cannot run, is *skip* with the reason.

use std::path::PathBuf;

use mlgate_backends::RuntimeConfig;
use mlgate_bench::{CompareConfig, Progress, ProgressUpdate, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::benchmark::{CompareRequest, InputSpec};
use crate::model::ModelRef;
use crate::optimize::{self, AccuracyRequest, Method, OptimizeRequest};
use crate::workspace::{Build, Comparison, Workspace};
use crate::{Error, Result};

/// Weight of the latency ratio in the score; the size ratio gets the rest.
pub const LATENCY_WEIGHT: f64 = 0.6;
/// Methods explored by default, and with `--fast`.
pub const DEFAULT_METHODS: [&str; 3] = ["fp16", "int8", "int4"];
/// Methods explored with `--fast`: one quick, nearly lossless variant.
pub const FAST_METHODS: [&str; 1] = ["fp16"];

/// `mlgate explore`.
#[derive(Debug, Clone)]
pub struct ExploreRequest {
    /// A build, or a model file imported first as the fp32 baseline.
    pub model: PathBuf,
    /// Target of a file's import (default `onnxruntime_cpu` when ONNX Runtime is installed,
    /// else `tract_cpu`); its runtime measures every variant.
    pub target: Option<String>,
    /// Method ids (`fp16`, `int8`, `int8_perchannel`, `int4`, `palettize_4`, `prune_0.50`);
    /// empty: [`DEFAULT_METHODS`], or [`FAST_METHODS`] when `fast`.
    pub methods: Vec<String>,
    /// fp16 only, with a shorter measurement per variant.
    pub fast: bool,
    /// Seconds of interleaved measurement per variant (default 6, `fast` 3).
    pub max_time_s: Option<f64>,
    /// Check each variant's outputs against the baseline; below the thresholds is *skip*.
    pub check_accuracy: bool,
    /// Lowest acceptable mean cosine similarity per output.
    pub cosine_threshold: f64,
    /// Lowest acceptable top-1 agreement of classifier-like outputs.
    pub top1_threshold: f64,
    /// Input samples of each accuracy check.
    pub accuracy_samples: usize,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
    /// Calibration data (see `mlgate optimize --calibration-data`): with it, `int8_static`
    /// joins the default methods and may be named in `methods`.
    pub calibration_data: Option<PathBuf>,
}

/// The measured shift of a variant's median latency against the baseline's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyShift {
    /// Relative shift (−0.30 = 30% faster), with its 95% interval.
    pub relative_delta: Option<f64>,
    /// Lower end of the 95% interval of the shift.
    pub ci_low: Option<f64>,
    /// Upper end of the 95% interval of the shift.
    pub ci_high: Option<f64>,
    /// The A/B engine's verdict at its threshold.
    pub verdict: Verdict,
    /// Whether the interval excludes zero (the only case the score uses the shift).
    pub significant: bool,
    /// The baseline's median over all its timed runs, in ms.
    pub baseline_p50_ms: Option<f64>,
    /// The variant's median over all its timed runs, in ms.
    pub variant_p50_ms: Option<f64>,
    /// Block pairs measured and seconds taken.
    pub pairs: usize,
    /// The comparison's seed; `mlgate compare --seed` replays it.
    pub seed: u64,
}

/// Accuracy of a variant against the baseline, in short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccuracySummary {
    /// Input samples compared.
    pub samples: usize,
    /// Lowest over outputs of the mean per-sample cosine.
    pub cosine: f64,
    /// Lowest top-1 agreement over classifier-like outputs.
    pub top1: Option<f64>,
    /// Whether every output met both thresholds.
    pub passed: bool,
}

/// What explore concluded about a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExploreVerdict {
    /// The fp32 model everything is measured against.
    Baseline,
    /// The best score above 1.0 among variants not measured slower.
    Recommended,
    /// The smallest variant scoring above 1.0, smaller than the recommended one.
    Aggressive,
    /// Not worth shipping, or not measurable; the row's reason says which.
    Skip,
}

impl ExploreVerdict {
    /// The verdict as tables and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            ExploreVerdict::Baseline => "baseline",
            ExploreVerdict::Recommended => "recommended",
            ExploreVerdict::Aggressive => "aggressive",
            ExploreVerdict::Skip => "skip",
        }
    }
}

/// One row of the exploration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExploreRow {
    /// Method id (`fp32` for the baseline) and as people read it.
    pub method: String,
    /// The method as people read it (`int4(b32)`).
    pub label: String,
    /// The registered variant, when the pass produced one.
    pub build_id: Option<String>,
    /// File size of the variant.
    pub size_bytes: Option<u64>,
    /// Baseline size / variant size.
    pub size_ratio: Option<f64>,
    /// The interleaved measurement against the baseline, when the variant was measured.
    pub latency: Option<LatencyShift>,
    /// Baseline latency / variant latency as scored: 1.0 unless the shift is significant.
    pub latency_ratio: Option<f64>,
    /// `0.6 × latency_ratio + 0.4 × size_ratio`, when measured.
    pub score: Option<f64>,
    /// The accuracy check, when `check_accuracy` was asked for.
    pub accuracy: Option<AccuracySummary>,
    /// What explore concluded.
    pub verdict: ExploreVerdict,
    /// Why, in words (the reason a variant was skipped, or what its score rests on).
    pub reason: String,
}

/// `mlgate explore --json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExploreReport {
    /// The fp32 build every variant descends from.
    pub baseline: Build,
    /// The runtime every variant was measured on (the target's).
    pub backend: String,
    /// The baseline first, then one row per method, in the order asked for.
    pub rows: Vec<ExploreRow>,
    /// Build id of the recommended and the aggressive variant, if any.
    pub recommended: Option<String>,
    /// Build id of the aggressive variant, if any.
    pub aggressive: Option<String>,
    /// The scoring rule, in words.
    pub scoring: String,
    /// Wall-clock seconds the exploration took.
    pub seconds: f64,
}

/// Passes progress on with each update labelled by the variant being measured.
struct Labelled<'a> {
    inner: &'a mut dyn Progress,
    label: String,
}

impl Progress for Labelled<'_> {
    fn update(&mut self, s: &ProgressUpdate) {
        let mut s = s.clone();
        s.label = self.label.clone();
        self.inner.update(&s);
    }
    fn finish(&mut self) {
        self.inner.finish();
    }
    fn warn(&mut self, message: &str) {
        self.inner.warn(message);
    }
}

/// Runs the exploration; every variant is registered as a child of the baseline.
pub fn explore(
    ws: &Workspace,
    req: &ExploreRequest,
    progress: &mut dyn Progress,
) -> Result<ExploreReport> {
    let started = std::time::Instant::now();
    let ids: Vec<String> = if !req.methods.is_empty() {
        req.methods.clone()
    } else if req.fast {
        FAST_METHODS.iter().map(|s| s.to_string()).collect()
    } else {
        let mut ids: Vec<String> = DEFAULT_METHODS.iter().map(|s| s.to_string()).collect();
        if req.calibration_data.is_some() {
            ids.push("int8_static".into());
        }
        ids
    };
    let methods: Vec<Method> = ids
        .iter()
        .map(|id| {
            let m = Method::parse_id(id).ok_or_else(|| Error::Invalid {
                what: "--methods",
                value: id.clone(),
                hint: "use method ids such as fp16, int8, int8_perchannel, int4, int4_b64, \
                       palettize_4, palettize_4_g16, prune_0.50"
                    .into(),
            })?;
            if matches!(m, Method::Int8Static { .. }) && req.calibration_data.is_none() {
                return Err(Error::Invalid {
                    what: "--methods",
                    value: id.clone(),
                    hint: "int8_static needs calibration data: pass --calibration-data PATH \
                           (a directory of images or .npy files, or one .npz)"
                        .into(),
                });
            }
            m.validate().map_err(Error::Optimize)?;
            Ok(m)
        })
        .collect::<Result<_>>()?;
    let max_time_s = req.max_time_s.unwrap_or(if req.fast { 3.0 } else { 6.0 });
    if !(max_time_s.is_finite() && (1.0..=600.0).contains(&max_time_s)) {
        return Err(Error::Invalid {
            what: "--max-time",
            value: max_time_s.to_string(),
            hint: "use seconds per variant from 1 to 600".into(),
        });
    }
    let baseline = optimize::parent_build(ws, &req.model, req.target.as_deref(), &req.runtimes)?;
    let backend = baseline.backend.clone().unwrap_or_else(|| "tract".into());
    let baseline_path = ws.model_path(&baseline)?;
    let mut rows = vec![(
        ExploreRow {
            method: "fp32".into(),
            label: baseline.method_label(),
            build_id: Some(baseline.id.clone()),
            size_bytes: Some(baseline.size_bytes),
            size_ratio: Some(1.0),
            latency: None,
            latency_ratio: Some(1.0),
            score: Some(1.0),
            accuracy: None,
            verdict: ExploreVerdict::Baseline,
            reason: "the model as given".into(),
        },
        false,
    )];
    for method in &methods {
        let outcome = optimize::optimize(
            ws,
            &OptimizeRequest {
                model: PathBuf::from(&baseline.id),
                target: None,
                method: method.clone(),
                name: None,
                backend: None,
                runtimes: req.runtimes.clone(),
                calibration_data: if matches!(method, Method::Int8Static { .. }) {
                    req.calibration_data.clone()
                } else {
                    None
                },
            },
        );
        let id = match &outcome {
            // Static int8's id carries the data's hash, which only the pass knows.
            Ok(o) => o.method.clone(),
            Err(_) => method.id(),
        };
        let label = mlgate_registry::method_label(Some(&id));
        let mut row = ExploreRow {
            method: id.clone(),
            label,
            build_id: None,
            size_bytes: None,
            size_ratio: None,
            latency: None,
            latency_ratio: None,
            score: None,
            accuracy: None,
            verdict: ExploreVerdict::Skip,
            reason: String::new(),
        };
        let variant = match outcome {
            Ok(o) => o.build,
            Err(e) => {
                row.reason = format!("not produced: {e}");
                rows.push((row, false));
                continue;
            }
        };
        row.build_id = Some(variant.id.clone());
        row.size_bytes = Some(variant.size_bytes);
        let size_ratio = baseline.size_bytes as f64 / variant.size_bytes.max(1) as f64;
        row.size_ratio = Some(size_ratio);
        if variant.backend.as_deref() != Some(backend.as_str()) {
            row.reason = format!(
                "{backend} (the target's runtime) cannot run it; it runs on {}",
                variant.backend.as_deref().unwrap_or("another runtime")
            );
            rows.push((row, false));
            continue;
        }
        let variant_path = ws.model_path(&variant)?;
        if req.check_accuracy {
            let acc = optimize::accuracy(
                Some(ws),
                &AccuracyRequest {
                    baseline: ModelRef::from_build(ws, baseline.clone(), &baseline.id)?,
                    candidate: ModelRef::from_build(ws, variant.clone(), &variant.id)?,
                    samples: req.accuracy_samples,
                    seed: 42,
                    cosine_threshold: req.cosine_threshold,
                    top1_threshold: req.top1_threshold,
                    backend: Some(backend.clone()),
                    runtimes: req.runtimes.clone(),
                    dataset: None,
                },
            )?;
            let summary = AccuracySummary {
                samples: acc.samples,
                cosine: acc
                    .outputs
                    .iter()
                    .map(|o| o.cosine_mean)
                    .fold(1.0, f64::min),
                top1: acc
                    .outputs
                    .iter()
                    .filter_map(|o| o.top1.as_ref().map(|t| t.rate))
                    .reduce(f64::min),
                passed: acc.passed,
            };
            let passed = summary.passed;
            row.accuracy = Some(summary);
            if !passed {
                row.reason = format!(
                    "below the accuracy thresholds (cosine {}, top-1 {})",
                    req.cosine_threshold, req.top1_threshold
                );
                rows.push((row, false));
                continue;
            }
        }
        let (shift, reason) = measure_shift(
            &baseline_path,
            &variant_path,
            &backend,
            max_time_s,
            &req.runtimes,
            &row.label,
            progress,
        )?;
        let significant = shift.significant;
        let delta = shift.relative_delta.unwrap_or(f64::NAN);
        let latency_ratio = if significant {
            1.0 / (1.0 + delta)
        } else {
            1.0
        };
        let score = LATENCY_WEIGHT * latency_ratio + (1.0 - LATENCY_WEIGHT) * size_ratio;
        // Kept so `insights` can later say which technique pays off for models like this.
        ws.record_comparison(&Comparison {
            baseline_build_id: baseline.id.clone(),
            candidate_build_id: variant.id.clone(),
            backend: backend.clone(),
            metric: "p50".into(),
            relative_delta: shift.relative_delta,
            ci_low: shift.ci_low,
            ci_high: shift.ci_high,
            significant: shift.significant,
            result: crate::benchmark::to_json(&shift),
        })?;
        row.latency = Some(shift.clone());
        row.latency_ratio = Some(latency_ratio);
        row.score = Some(score);
        let slower = significant && delta > 0.0;
        row.reason = if significant {
            format!(
                "latency ×{latency_ratio:.2} (shift {:+.1}% [{:+.1}%, {:+.1}%]), size ×{size_ratio:.2}",
                100.0 * delta,
                100.0 * shift.ci_low.unwrap_or(f64::NAN),
                100.0 * shift.ci_high.unwrap_or(f64::NAN)
            )
        } else if delta.is_finite() {
            format!(
                "latency shift not significant (interval contains 0), scored ×1.00; size ×{size_ratio:.2}"
            )
        } else {
            format!("latency shift not estimated ({reason}), scored ×1.00; size ×{size_ratio:.2}")
        };
        rows.push((row, slower));
    }
    let rows = assign_verdicts(rows);
    let pick = |v: ExploreVerdict| {
        rows.iter()
            .find(|r| r.verdict == v)
            .and_then(|r| r.build_id.clone())
    };
    Ok(ExploreReport {
        recommended: pick(ExploreVerdict::Recommended),
        aggressive: pick(ExploreVerdict::Aggressive),
        baseline,
        backend,
        rows,
        scoring: format!(
            "score = {LATENCY_WEIGHT} × latency ratio + {:.1} × size ratio (baseline / variant); \
             a latency shift whose 95% interval contains 0 scores 1.0; a variant measured \
             slower than the baseline is never recommended, only aggressive (the smallest)",
            1.0 - LATENCY_WEIGHT
        ),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The variant's median latency against the baseline's, interleaved on `backend` (the A/B
/// engine, extended to decide: a variant much slower than the baseline needs more time to
/// give enough block pairs), and the engine's reason in words.
#[allow(clippy::too_many_arguments)]
fn measure_shift(
    baseline: &std::path::Path,
    variant: &std::path::Path,
    backend: &str,
    max_time_s: f64,
    runtimes: &RuntimeConfig,
    label: &str,
    progress: &mut dyn Progress,
) -> Result<(LatencyShift, String)> {
    let config = CompareConfig {
        max_time_s,
        min_time_s: max_time_s.min(2.0),
        extend_to_decide: true,
        ..CompareConfig::default()
    };
    let mut labelled = Labelled {
        inner: progress,
        label: label.to_string(),
    };
    let result = crate::benchmark::measure_pair(
        &CompareRequest {
            baseline: baseline.to_path_buf(),
            candidate: variant.to_path_buf(),
            backend: Some(backend.to_string()),
            threads: None,
            inputs: InputSpec::default(),
            config,
            runtimes: runtimes.clone(),
            ..CompareRequest::default()
        },
        &mut labelled,
    )?;
    labelled.finish();
    let c = &result.comparison;
    let finite = |v: f64| v.is_finite().then_some(v);
    let significant =
        c.ci_high.is_finite() && c.ci_low.is_finite() && (c.ci_high < 0.0 || c.ci_low > 0.0);
    Ok((
        LatencyShift {
            relative_delta: finite(c.relative_delta),
            ci_low: finite(c.ci_low),
            ci_high: finite(c.ci_high),
            verdict: c.verdict,
            significant,
            baseline_p50_ms: c.baseline.metric_ms,
            variant_p50_ms: c.candidate.metric_ms,
            pairs: c.pairs,
            seed: c.seed,
        },
        c.reason.clone(),
    ))
}

/// `mlgate compare-quantization`.
#[derive(Debug, Clone)]
pub struct QuantizationRequest {
    /// The float model.
    pub fp32: ModelRef,
    /// Its quantized (or otherwise compressed) variant.
    pub quantized: ModelRef,
    /// Samples of the accuracy check.
    pub accuracy_samples: usize,
    /// Seconds of interleaved latency measurement.
    pub max_time_s: f64,
    /// Runtime for both (default: the variant build's, else the float build's, else the
    /// format's first).
    pub backend: Option<String>,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
}

/// Size, latency and accuracy of a quantized model next to its float original.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct QuantizationReport {
    /// The float model, as given (build id and method, or path).
    pub fp32: String,
    /// The variant, as given.
    pub quantized: String,
    /// File size of the float model.
    pub fp32_size_bytes: u64,
    /// File size of the variant.
    pub quantized_size_bytes: u64,
    /// Float size / quantized size.
    pub size_ratio: f64,
    /// The runtime both were measured on.
    pub backend: String,
    /// The variant's median latency against the float model's, interleaved.
    pub latency: LatencyShift,
    /// The engine's reason for its verdict, in words.
    pub latency_reason: String,
    /// Output agreement on synthesized samples.
    pub accuracy: optimize::AccuracyReport,
}

/// Measures a quantized model against its float original on this machine: sizes, latency
/// (interleaved, with its interval) and output agreement. It judges nothing: `compare` and
/// `ci` gate.
///
/// # Errors
/// A model that cannot be read or run on the chosen runtime, or bad sample counts.
pub fn compare_quantization(
    ws: Option<&Workspace>,
    req: &QuantizationRequest,
    progress: &mut dyn Progress,
) -> Result<QuantizationReport> {
    if !(req.max_time_s.is_finite() && (1.0..=600.0).contains(&req.max_time_s)) {
        return Err(Error::Invalid {
            what: "--max-time",
            value: req.max_time_s.to_string(),
            hint: "use seconds from 1 to 600".into(),
        });
    }
    let accuracy = optimize::accuracy(
        ws,
        &AccuracyRequest {
            baseline: req.fp32.clone(),
            candidate: req.quantized.clone(),
            samples: req.accuracy_samples,
            seed: 42,
            cosine_threshold: mlgate_ci::DEFAULT_COSINE_MIN,
            top1_threshold: mlgate_ci::DEFAULT_TOP1_MIN,
            backend: req.backend.clone(),
            runtimes: req.runtimes.clone(),
            dataset: None,
        },
    )?;
    let backend = accuracy.backend.name().to_string();
    let (latency, latency_reason) = measure_shift(
        &req.fp32.path,
        &req.quantized.path,
        &backend,
        req.max_time_s,
        &req.runtimes,
        "quantized",
        progress,
    )?;
    let size = |m: &ModelRef| -> Result<u64> { Ok(mlgate_ir::path_size(&m.path)?) };
    let (a, b) = (size(&req.fp32)?, size(&req.quantized)?);
    let describe = |m: &ModelRef| match &m.build {
        Some(b) => format!("{} ({})", b.short_id(), b.method_label()),
        None => m.path.display().to_string(),
    };
    Ok(QuantizationReport {
        fp32: describe(&req.fp32),
        quantized: describe(&req.quantized),
        fp32_size_bytes: a,
        quantized_size_bytes: b,
        size_ratio: a as f64 / b.max(1) as f64,
        backend,
        latency,
        latency_reason,
        accuracy,
    })
}

/// Verdicts over the scored rows (`slower`: measured significantly slower than the
/// baseline). The best score above 1 among variants not slower is recommended; the smallest
/// variant scoring above 1 and smaller than the recommended one is aggressive.
fn assign_verdicts(rows: Vec<(ExploreRow, bool)>) -> Vec<ExploreRow> {
    let candidate =
        |r: &ExploreRow| r.verdict == ExploreVerdict::Skip && r.score.is_some_and(|s| s > 1.0);
    let best = rows
        .iter()
        .enumerate()
        .filter(|(_, (r, slower))| candidate(r) && !slower)
        .max_by(|a, b| a.1 .0.score.unwrap().total_cmp(&b.1 .0.score.unwrap()))
        .map(|(i, _)| i);
    let best_size = best.and_then(|i| rows[i].0.size_bytes).unwrap_or(u64::MAX);
    let smallest = rows
        .iter()
        .enumerate()
        .filter(|(i, (r, _))| {
            Some(*i) != best && candidate(r) && r.size_bytes.is_some_and(|s| s < best_size)
        })
        .min_by_key(|(_, (r, _))| r.size_bytes.unwrap_or(u64::MAX))
        .map(|(i, _)| i);
    rows.into_iter()
        .enumerate()
        .map(|(i, (mut r, slower))| {
            if Some(i) == best {
                r.verdict = ExploreVerdict::Recommended;
            } else if Some(i) == smallest {
                r.verdict = ExploreVerdict::Aggressive;
            } else if r.verdict == ExploreVerdict::Skip && r.score.is_some() {
                r.reason = if slower {
                    format!("{}; slower than the baseline, so not recommended", r.reason)
                } else {
                    format!("{}; not the best score above 1.0", r.reason)
                };
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, size: u64, score: Option<f64>) -> ExploreRow {
        ExploreRow {
            method: method.into(),
            label: method.into(),
            build_id: Some(method.into()),
            size_bytes: Some(size),
            size_ratio: None,
            latency: None,
            latency_ratio: None,
            score,
            accuracy: None,
            verdict: ExploreVerdict::Skip,
            reason: String::new(),
        }
    }

    #[test]
    fn the_best_score_is_recommended_and_a_smaller_one_aggressive() {
        let rows = assign_verdicts(vec![
            (row("fp16", 50, Some(1.4)), false),
            (row("int8", 25, Some(2.1)), false),
            (row("int4", 15, Some(1.9)), false),
            (row("prune", 100, Some(0.9)), false),
        ]);
        let v: Vec<_> = rows.iter().map(|r| r.verdict).collect();
        use ExploreVerdict::*;
        assert_eq!(v, vec![Skip, Recommended, Aggressive, Skip]);
    }

    #[test]
    fn a_slower_variant_is_never_recommended_and_a_bigger_one_never_aggressive() {
        let rows = assign_verdicts(vec![
            (row("fp16", 50, Some(1.4)), false),
            (row("int8", 25, Some(1.6)), true),
        ]);
        use ExploreVerdict::*;
        assert_eq!(rows[0].verdict, Recommended);
        assert_eq!(rows[1].verdict, Aggressive);
        let rows = assign_verdicts(vec![
            (row("int8", 25, Some(2.0)), false),
            (row("fp16", 50, Some(1.4)), false),
        ]);
        assert_eq!(rows[1].verdict, Skip, "{}", rows[1].reason);
    }
}
