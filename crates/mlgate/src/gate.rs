//! The CI gate: `mlgate compare`, `ci-check`, `validate` and `ci`.
//!
//! One path for all of them: resolve the models (files or builds), resolve the limits
//! (flags > `config.toml` / `budget.toml` > defaults, see [`mlgate_ci::thresholds`]),
//! measure both sides now with the A/B engine (or, only when asked, read stored numbers),
//! and let `mlgate-ci` judge every check. Errors are errors: nothing here turns a failure to
//! measure into a pass.
//!
//! Entry points, from the one-call gate down to its parts:
//! - [`ci_check`]: two models (files or builds) → a [`GateReport`] with the [`Verdict`].
//! - [`ci`]: the pipeline gate against a tagged baseline in a workspace, writing
//!   `ci_report.json`; [`write_report_files`] adds JUnit and Markdown.
//! - [`validate`]: absolute budgets on one model, measured now.
//! - [`thresholds`], [`resolve_model`] and [`run_gate`]: the steps `ci_check` takes, for a
//!   tool that wants the full A/B result as well (`mlgate compare` does this).
//!
//! A [`Verdict`] is `pass`, `fail`, `skip` or `error`; [`Verdict::blocks`] says whether a
//! pipeline should stop. Each of its [`Check`]s says what was measured, the rule, the
//! numbers with their interval, and where the limit came from.

use std::path::{Path, PathBuf};

use mlgate_backends::RuntimeConfig;
use mlgate_registry::{Budget, CiConfig, RegistryError};
use serde::{Deserialize, Serialize};

pub use mlgate_ci::report::{github_annotations, junit, markdown, markdown_verdict};
pub use mlgate_ci::{
    BudgetEvidence, CachedProvenance, CachedRun, Check, CheckKind, CheckStatus, CiReport, Evidence,
    GateReport, LatencyEvidence, Measured, MemoryEvidence, SizeEvidence, Subject, ThresholdFlags,
    Thresholds, ValidateReport, Verdict, VerdictStatus, CI_CHECK_SCHEMA, CI_SCHEMA,
    VALIDATE_SCHEMA,
};

use crate::benchmark::{BenchConfig, CompareConfig, CompareResult, InputSpec, Metric, Progress};
use crate::model::ModelRef;
use crate::workspace::{Build, ImportRequest, Workspace};
use crate::{Error, ModelFormat, ModelInfo, Result};

/// A model the user named: a file or package, or a build of the workspace.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// What runs: the file, or the build's verified artifact.
    pub path: PathBuf,
    /// The build it is, when the reference named one.
    pub build: Option<Build>,
    /// The tag the reference named, if it was one.
    pub tag: Option<String>,
    /// The model, read once.
    pub info: ModelInfo,
}

impl ResolvedModel {
    /// The model behind `model`, parsed.
    ///
    /// # Errors
    /// [`Error::Model`] when the file cannot be read or parsed.
    pub fn read(model: ModelRef) -> Result<ResolvedModel> {
        let info = crate::inspect(&model.path)?;
        Ok(ResolvedModel {
            path: model.path,
            build: model.build,
            tag: model.tag,
            info,
        })
    }

    /// Where it is and what it is in the workspace, without the parsed model.
    pub fn model_ref(&self) -> ModelRef {
        ModelRef {
            path: self.path.clone(),
            build: self.build.clone(),
            tag: self.tag.clone(),
        }
    }

    /// How a report names this model: path, build id and name, tag, format, size.
    pub fn subject(&self) -> Subject {
        Subject {
            path: self.path.clone(),
            build_id: self.build.as_ref().map(|b| b.id.clone()),
            name: self.build.as_ref().map(|b| b.name.clone()),
            tag: self.tag.clone(),
            format: self.info.format.name().to_string(),
            size_bytes: self
                .build
                .as_ref()
                .map(|b| b.size_bytes)
                .unwrap_or(self.info.file_size),
        }
    }
}

/// Resolves a model argument (see [`crate::model::resolve`]) and reads the model once.
///
/// # Errors
/// As [`crate::model::resolve`], and [`Error::Model`] when the model cannot be parsed.
pub fn resolve_model(ws: Option<&Workspace>, reference: &str) -> Result<ResolvedModel> {
    ResolvedModel::read(crate::model::resolve(ws, reference)?)
}

fn build_model(ws: &Workspace, build: Build, reference: &str) -> Result<ResolvedModel> {
    ResolvedModel::read(ModelRef::from_build(ws, build, reference)?)
}

/// How to measure.
#[derive(Debug, Clone, Default)]
pub struct GateSettings {
    /// Runtime name; `None`: the build's (from its target), else the first that runs the
    /// format (tract for ONNX).
    pub backend: Option<String>,
    /// Intra-op threads; `None`: the runtime's default.
    pub threads: Option<usize>,
    /// Time budget of the A/B comparison, seconds (default 15).
    pub max_time_s: Option<f64>,
    /// Extend the time budget to what the metric needs to decide (`--max-time auto`).
    pub extend_to_decide: bool,
    /// Replays a comparison's load order, schedule and bootstrap.
    pub seed: Option<u64>,
    /// Independently loaded sessions per side (default 2): more loads narrow the interval
    /// of a model whose latency depends on the load.
    pub sessions_per_side: Option<usize>,
    /// Every session in a fresh worker process ([`crate::benchmark::CompareRequest::worker`]).
    pub worker: Option<crate::benchmark::WorkerCommand>,
    /// Sequence length for models with token inputs, and the prompt length of GGUF
    /// decoders (default 128).
    pub seq_len: Option<usize>,
    /// GGUF decoders: what one request yields to gate on (default TPOT).
    pub llm_metric: Option<mlgate_bench::llm::LlmMetric>,
    /// GGUF decoders: tokens generated per request (default: what the metric needs).
    pub generate_tokens: Option<usize>,
    /// Use the builds' stored benchmarks instead of measuring now (explicit opt-in).
    pub use_cached: bool,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
    /// Also gate the candidate's outputs against the baseline's on this many synthesized
    /// samples (`--check-accuracy`); `None`: accuracy is not checked.
    pub accuracy_samples: Option<usize>,
    /// Inputs of the accuracy check from a dataset (`--dataset`: an `.npz` with samples on
    /// the first axis, or a directory of `.npy` files or images) instead of synthesized.
    pub accuracy_dataset: Option<PathBuf>,
}

impl GateSettings {
    /// These settings with the runtime filled in from the builds when the user named none:
    /// a build's target names the runtime that measures it (`onnxruntime_cpu` → ONNX
    /// Runtime), the baseline's first. Files and builds without one keep `None`, the
    /// format's default.
    pub fn with_build_backend(&self, models: &[&ResolvedModel]) -> GateSettings {
        let mut settings = self.clone();
        if settings.backend.is_none() {
            settings.backend = models
                .iter()
                .find_map(|m| m.build.as_ref().and_then(|b| b.backend.clone()));
        }
        settings
    }
}

/// The limits of this run: flags over the workspace's `config.toml` and `budget.toml`
/// (when there is a workspace) over the defaults. Every value carries its source.
///
/// # Errors
/// [`Error::Registry`] when `config.toml` or `budget.toml` cannot be read or parsed;
/// [`Error::Threshold`] for a limit that cannot be used (negative, not a number), naming
/// where it came from.
///
/// ```
/// use mlgate::gate::ThresholdFlags;
/// let flags = ThresholdFlags { latency_regression_pct: Some(5.0), ..Default::default() };
/// let thresholds = mlgate::gate::thresholds(None, &flags)?;
/// assert_eq!(thresholds.latency_regression_pct.value, 5.0);
/// assert_eq!(thresholds.size_regression_pct.value, 5.0); // the default
/// # Ok::<(), mlgate::Error>(())
/// ```
pub fn thresholds(ws: Option<&Workspace>, flags: &ThresholdFlags) -> Result<Thresholds> {
    let (config, config_path, budget, budget_path) = match ws {
        Some(ws) => {
            let state = ws.budget()?;
            (ws.ci_config()?, ws.config_path(), state.budget, state.path)
        }
        None => (
            CiConfig::default(),
            PathBuf::from("config.toml"),
            Budget::default(),
            PathBuf::from("budget.toml"),
        ),
    };
    Ok(mlgate_ci::Thresholds::resolve(
        flags,
        &config,
        &config_path,
        &budget,
        &budget_path,
    )?)
}

/// The A/B engine's settings for a gate.
pub fn compare_config(thresholds: &Thresholds, settings: &GateSettings) -> CompareConfig {
    let mut config = CompareConfig {
        metric: thresholds.metric.value,
        threshold: thresholds.latency_regression_pct.value / 100.0,
        seed: settings.seed,
        extend_to_decide: settings.extend_to_decide,
        ..CompareConfig::default()
    };
    if let Some(n) = settings.sessions_per_side {
        config.sessions_per_side = n;
    }
    if let Some(s) = settings.max_time_s {
        config.max_time_s = s;
        config.min_time_s = config.min_time_s.min(s / 2.0);
    }
    config
}

/// What a gate decided and on what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateOutcome {
    /// The decision and every check behind it.
    pub verdict: Verdict,
    /// The two models, the limits in force and the measurements.
    pub evidence: Evidence,
    /// The full A/B result (raw samples included) when both sides were measured now.
    pub comparison: Option<CompareResult>,
}

/// Why latency cannot be measured on this host, if it cannot (CoreML off macOS).
fn latency_unmeasurable(format: ModelFormat) -> Option<String> {
    (format == ModelFormat::Coreml && !cfg!(target_os = "macos")).then(|| {
        "CoreML models run only on macOS; latency was not measured on this host \
         (size and budgets were gated)"
            .to_string()
    })
}

/// Measures both models now (or reads stored numbers with `use_cached`) and judges every
/// check.
///
/// # Errors
/// [`Error::Invalid`] for models of different formats, or `use_cached` without a
/// workspace or a stored benchmark; otherwise as [`crate::benchmark::compare`]. A failure
/// to measure is an error, never a pass.
pub fn run_gate(
    ws: Option<&Workspace>,
    baseline: &ResolvedModel,
    candidate: &ResolvedModel,
    thresholds: &Thresholds,
    settings: &GateSettings,
    progress: &mut dyn Progress,
) -> Result<GateOutcome> {
    let settings = &settings.with_build_backend(&[baseline, candidate]);
    let (base, cand) = (baseline.subject(), candidate.subject());
    if baseline.info.format != candidate.info.format {
        return Err(Error::Invalid {
            what: "candidate",
            value: candidate.path.display().to_string(),
            hint: format!(
                "it is a {} model and the baseline is {}; compare models of one format",
                candidate.info.format.name(),
                baseline.info.format.name()
            ),
        });
    }
    let metric = thresholds.metric.value;
    let mut checks = Vec::new();
    let mut warnings = Vec::new();
    let mut comparison = None;
    let mut latency = None;
    let mut memory = MemoryEvidence {
        baseline: None,
        candidate: None,
    };
    let skipped = latency_unmeasurable(baseline.info.format);
    let mut budget_summary = None;
    // For decoders: what the latency numbers are (TPOT, TTFT…), so checks name it.
    let mut llm_metric = None;
    if let Some(reason) = &skipped {
        checks.push(mlgate_ci::latency_skipped(
            metric,
            thresholds,
            reason.clone(),
        ));
    } else if settings.use_cached {
        let ws = ws.ok_or_else(|| Error::Invalid {
            what: "--use-cached",
            value: String::new(),
            hint: "stored numbers live in a workspace; there is none here".into(),
        })?;
        let (evidence, summary) = cached_latency(ws, baseline, candidate, thresholds, settings)?;
        checks.push(mlgate_ci::latency_check(&evidence, thresholds));
        warnings.extend(evidence.warnings.iter().cloned());
        budget_summary = Some(summary);
        latency = Some(evidence);
    } else {
        let request = crate::benchmark::CompareRequest {
            baseline: baseline.path.clone(),
            candidate: candidate.path.clone(),
            backend: settings.backend.clone(),
            threads: settings.threads,
            inputs: InputSpec {
                seq_lens: settings.seq_len.into_iter().collect(),
                ..InputSpec::default()
            },
            config: compare_config(thresholds, settings),
            runtimes: settings.runtimes.clone(),
            llm_metric: settings.llm_metric,
            generate_tokens: settings.generate_tokens,
            worker: settings.worker.clone(),
        };
        let result = crate::benchmark::measure_pair(&request, progress)?;
        let mut evidence = LatencyEvidence::from_comparison(
            &result.comparison,
            result.baseline.session.backend.name(),
        );
        evidence.llm_metric = result.requests.map(|r| r.metric);
        llm_metric = evidence.llm_metric;
        checks.push(mlgate_ci::latency_check(&evidence, thresholds));
        warnings.extend(evidence.warnings.iter().cloned());
        memory = MemoryEvidence {
            baseline: result.baseline.memory.clone(),
            candidate: result.candidate.memory.clone(),
        };
        budget_summary = Some(result.comparison.candidate.summary.clone());
        latency = Some(evidence);
        comparison = Some(result);
    }
    checks.push(mlgate_ci::size_check(
        base.size_bytes,
        cand.size_bytes,
        thresholds,
    ));
    if skipped.is_none() && !settings.use_cached {
        checks.push(mlgate_ci::memory_check(
            memory.baseline.as_ref(),
            memory.candidate.as_ref(),
            thresholds,
        ));
    }
    let budget = BudgetEvidence {
        size_bytes: cand.size_bytes,
        p50: budget_summary.as_ref().and_then(|s| s.percentile(50.0)),
        p95: budget_summary.as_ref().and_then(|s| s.percentile(95.0)),
        peak_memory_bytes: memory.candidate.as_ref().map(|m| m.peak_delta_bytes),
        latency_skipped: skipped.clone(),
        llm_metric,
    };
    checks.extend(mlgate_ci::budget_checks(thresholds, &budget));
    if let Some(samples) = settings.accuracy_samples {
        checks.extend(mlgate_ci::accuracy_checks(
            &accuracy_evidence(ws, baseline, candidate, samples, thresholds, settings)?,
            thresholds,
        ));
    }
    let verdict = Verdict::decide(checks, thresholds.fail_on_inconclusive, warnings);
    let environment = comparison.as_ref().map(|c| c.environment.clone());
    let size = SizeEvidence {
        baseline_bytes: base.size_bytes,
        candidate_bytes: cand.size_bytes,
    };
    Ok(GateOutcome {
        verdict,
        evidence: Evidence {
            baseline: base,
            candidate: cand,
            thresholds: thresholds.clone(),
            latency,
            size,
            memory,
            environment,
        },
        comparison,
    })
}

/// The accuracy limits in force: cosine and top-1, each from flag or file, else 0.99.
fn accuracy_limits(thresholds: &Thresholds) -> (f64, f64) {
    let limit = |l: &Option<mlgate_registry::Sourced<f64>>, default: f64| {
        l.as_ref().map_or(default, |s| s.value)
    };
    (
        limit(&thresholds.cosine_min, mlgate_ci::DEFAULT_COSINE_MIN),
        limit(&thresholds.top1_min, mlgate_ci::DEFAULT_TOP1_MIN),
    )
}

/// Both models on the same synthesized samples (see [`crate::optimize::accuracy`]); the
/// check is stored in the registry when both are builds.
fn accuracy_evidence(
    ws: Option<&Workspace>,
    baseline: &ResolvedModel,
    candidate: &ResolvedModel,
    samples: usize,
    thresholds: &Thresholds,
    settings: &GateSettings,
) -> Result<mlgate_ci::AccuracyEvidence> {
    let model_ref = |m: &ResolvedModel| crate::model::ModelRef {
        path: m.path.clone(),
        build: m.build.clone(),
        tag: m.tag.clone(),
    };
    let report = crate::optimize::accuracy(
        ws,
        &crate::optimize::AccuracyRequest {
            baseline: model_ref(baseline),
            candidate: model_ref(candidate),
            samples,
            seed: 42,
            cosine_threshold: accuracy_limits(thresholds).0,
            top1_threshold: accuracy_limits(thresholds).1,
            backend: settings.backend.clone(),
            runtimes: settings.runtimes.clone(),
            dataset: settings.accuracy_dataset.clone(),
        },
    )?;
    Ok(mlgate_ci::AccuracyEvidence {
        samples: report.samples as u64,
        backend: report.backend.name().to_string(),
        outputs: report
            .outputs
            .iter()
            .map(|o| mlgate_ci::OutputAgreement {
                output: o.output.clone(),
                cosine_mean: o.cosine_mean,
                cosine_min: o.cosine_min,
                top1: o
                    .top1
                    .as_ref()
                    .map(|t| (t.agree, t.rows, t.ci95.0, t.ci95.1)),
            })
            .collect(),
    })
}

/// Latency from the builds' latest stored benchmarks (`--use-cached`), said so loudly.
fn cached_latency(
    ws: &Workspace,
    baseline: &ResolvedModel,
    candidate: &ResolvedModel,
    thresholds: &Thresholds,
    settings: &GateSettings,
) -> Result<(LatencyEvidence, mlgate_bench::LatencySummary)> {
    let latest = |m: &ResolvedModel| -> Result<mlgate_registry::Benchmark> {
        let build = m.build.as_ref().ok_or_else(|| Error::Invalid {
            what: "--use-cached",
            value: m.path.display().to_string(),
            hint: "stored numbers belong to builds; import the file (mlgate import) or drop --use-cached"
                .into(),
        })?;
        ws.benchmarks(&build.id, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid {
                what: "--use-cached",
                value: build.name.clone(),
                hint: format!(
                    "build {} has no stored benchmark; run `mlgate benchmark {}` first, or drop --use-cached",
                    build.short_id(),
                    build.short_id()
                ),
            })
    };
    let (a, b) = (latest(baseline)?, latest(candidate)?);
    let config = compare_config(thresholds, settings);
    let seed = config.seed_or_fresh();
    let (analysis, pairs, block_runs) =
        mlgate_bench::compare::analyze_stored(&a.samples_ms, &b.samples_ms, &config, seed);
    let summarize = |s: &[f64]| mlgate_bench::stats::summarize(s, config.confidence, seed);
    let (sa, sb) = (summarize(&a.samples_ms), summarize(&b.samples_ms));
    let measured = |s: &mlgate_bench::LatencySummary| -> Option<Measured> {
        metric_value(s, thresholds.metric.value).map(|(v, lo, hi)| Measured {
            value: v,
            low: lo,
            high: hi,
            confidence: Some(s.confidence),
            n: Some(s.n as u64),
        })
    };
    let run = |bm: &mlgate_registry::Benchmark| CachedRun {
        benchmark_id: bm.id,
        hostname: bm.hostname.clone(),
        machine_id: bm.machine_id.clone(),
        measured_at: mlgate_registry::time::format_utc(bm.created_at),
        backend: bm.backend.clone(),
        n: bm.n,
    };
    let same_machine = a.machine_id == b.machine_id;
    let mut warnings = vec![format!(
        "latency from stored benchmarks (--use-cached), not measured now: baseline #{} on {} at {}, candidate #{} on {} at {}",
        a.id,
        a.hostname,
        mlgate_registry::time::format_utc(a.created_at),
        b.id,
        b.hostname,
        mlgate_registry::time::format_utc(b.created_at)
    )];
    if !same_machine {
        warnings.push(
            "the two stored benchmarks come from different machines: their difference mixes the change with the hardware"
                .into(),
        );
    }
    warnings.extend(analysis.notes.iter().cloned());
    if a.backend != b.backend {
        warnings.push(format!(
            "the stored benchmarks ran on different runtimes ({} vs {})",
            a.backend, b.backend
        ));
    }
    let finite = |v: f64| v.is_finite().then_some(v * 100.0);
    let evidence = LatencyEvidence {
        metric: thresholds.metric.value,
        backend: b.backend.clone(),
        baseline_ms: measured(&sa),
        candidate_ms: measured(&sb),
        shift_pct: finite(analysis.relative_delta).map(|value| Measured {
            value,
            low: finite(analysis.ci_low),
            high: finite(analysis.ci_high),
            confidence: Some(config.confidence),
            n: Some(pairs as u64),
        }),
        p_value: analysis.p_value.is_finite().then_some(analysis.p_value),
        alpha: CompareConfig {
            min_time_s: config.max_time_s,
            ..config.clone()
        }
        .alpha_per_look(),
        engine_verdict: analysis.verdict,
        reason: analysis.reason,
        method: analysis.method,
        seed: Some(seed),
        pairs,
        block_runs,
        looks: 1,
        elapsed_s: 0.0,
        warnings,
        llm_metric: None,
        cached: Some(CachedProvenance {
            baseline: run(&a),
            candidate: run(&b),
            same_machine,
        }),
    };
    Ok((evidence, sb))
}

fn metric_value(
    s: &mlgate_bench::LatencySummary,
    metric: Metric,
) -> Option<(f64, Option<f64>, Option<f64>)> {
    match metric.percentile() {
        Some(p) => {
            let e = s.percentile(p)?;
            Some((e.value_ms?, e.ci_low_ms, e.ci_high_ms))
        }
        None => Some((s.mean_ms, Some(s.mean_ci_low_ms), Some(s.mean_ci_high_ms))),
    }
}

/// `mlgate ci-check A B`: the gate between two models, in one call. `baseline` and
/// `candidate` are model paths, or builds of `ws` (tag, id or id prefix). Latency is
/// measured now, both models interleaved on the same inputs (the time budget is
/// `settings.max_time_s`, default 15 s); size, memory and budgets are judged beside it.
///
/// # Errors
/// As [`thresholds`], [`resolve_model`] and [`run_gate`]. A regression is not an error:
/// it is a verdict whose status is `fail`.
///
/// ```
/// use mlgate::benchmark::NoProgress;
/// use mlgate::gate::{GateSettings, ThresholdFlags, VerdictStatus};
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
/// let path = path.to_str().expect("UTF-8");
/// let settings = GateSettings { max_time_s: Some(1.0), ..Default::default() };
/// let flags = ThresholdFlags::default();
/// let report = mlgate::gate::ci_check(None, path, path, &flags, &settings, &mut NoProgress)?;
/// assert_eq!(report.verdict.status, VerdictStatus::Pass);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ci_check(
    ws: Option<&Workspace>,
    baseline: &str,
    candidate: &str,
    flags: &ThresholdFlags,
    settings: &GateSettings,
    progress: &mut dyn Progress,
) -> Result<GateReport> {
    let thresholds = thresholds(ws, flags)?;
    let a = resolve_model(ws, baseline)?;
    let b = resolve_model(ws, candidate)?;
    let outcome = run_gate(ws, &a, &b, &thresholds, settings, progress)?;
    Ok(GateReport::new(outcome.verdict, outcome.evidence))
}

/// `mlgate ci`.
#[derive(Debug, Clone, Default)]
pub struct CiRequest {
    /// A model file to import as the candidate...
    pub model: Option<PathBuf>,
    /// ...or an existing build.
    pub build: Option<String>,
    /// Tag or build id of the baseline.
    pub baseline: String,
    /// Target of an imported candidate; default: the baseline's, else the format's
    /// embedded runtime (`tract_cpu` for ONNX, `litert_cpu` for TFLite).
    pub target: Option<String>,
    /// Limits given on the command line (over `config.toml` and `budget.toml`).
    pub flags: ThresholdFlags,
    /// How to measure.
    pub settings: GateSettings,
    /// A missing baseline fails the gate instead of skipping it.
    pub fail_on_missing_baseline: bool,
    /// Explore the candidate's variants first (`--explore`) and gate the recommended one;
    /// without a recommendation, the candidate itself.
    pub explore: bool,
}

/// The default target of a format when nothing names one.
fn default_target(format: ModelFormat) -> &'static str {
    match format {
        ModelFormat::Onnx => "tract_cpu",
        ModelFormat::Tflite => "litert_cpu",
        ModelFormat::Gguf => "llm_cpu",
        _ => "apple_m1",
    }
}

/// A `ci` run: the report (also on disk) and, when the gate could not run, why.
#[derive(Debug)]
pub struct CiRun {
    /// The report, as written to `ci_report.json`.
    pub report: CiReport,
    /// The error behind an `error` verdict; callers report it as such (exit 2 in the CLI).
    pub error: Option<Error>,
}

/// Runs the CI gate and writes `.mlgate/ci_report.json` — on a pass, a failure, a skip
/// and an error alike, so the artifact a pipeline uploads always says what happened.
///
/// Returns no `Result`: an error becomes an `error` verdict in the report, and the error
/// itself is in [`CiRun::error`] for the caller to report (the CLI exits 2 on it).
pub fn ci(ws: &Workspace, request: &CiRequest, progress: &mut dyn Progress) -> CiRun {
    let created_at = mlgate_registry::time::format_utc(mlgate_registry::time::now_ms());
    let (verdict, evidence, target, mut error) = match ci_inner(ws, request, progress) {
        Ok((v, e, t)) => (v, e, t, None),
        Err(e) => (
            Verdict::error(e.to_string()),
            None,
            request.target.clone(),
            Some(e),
        ),
    };
    let report = CiReport::new(
        created_at,
        request.baseline.clone(),
        request.model.clone(),
        target,
        verdict,
        evidence,
    );
    if let Err(e) = write_json(&ws.ci_report_path(), &report) {
        error.get_or_insert(e);
    }
    CiRun { report, error }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Invalid {
        what: "report",
        value: path.display().to_string(),
        hint: format!("cannot serialize: {e}"),
    })?;
    mlgate_registry::store::write_atomic(path, format!("{text}\n").as_bytes())?;
    Ok(())
}

type CiParts = (Verdict, Option<Evidence>, Option<String>);

fn ci_inner(ws: &Workspace, request: &CiRequest, progress: &mut dyn Progress) -> Result<CiParts> {
    let thresholds = thresholds(Some(ws), &request.flags)?;
    // The baseline first: a missing one is a skip, a damaged one an error.
    let baseline = match ws.resolve_build(&request.baseline) {
        Ok(b) => Some(build_model(ws, b, &request.baseline)?),
        Err(Error::Registry(RegistryError::UnknownBuild { .. })) => None,
        Err(e) => return Err(e),
    };
    let candidate = match (&request.model, &request.build) {
        (Some(model), None) => {
            let info = crate::inspect(model)?;
            let target = request
                .target
                .clone()
                .or_else(|| {
                    baseline
                        .as_ref()
                        .and_then(|b| b.build.as_ref())
                        .filter(|b| b.format == info.format.name())
                        .map(|b| b.target.clone())
                })
                .unwrap_or_else(|| default_target(info.format).to_string());
            let imported = ws.import(&ImportRequest {
                model: model.clone(),
                target,
                ..ImportRequest::default()
            })?;
            let id = imported.build.id.clone();
            build_model(ws, imported.build, &id)?
        }
        (None, Some(reference)) => {
            let build = ws.resolve_build(reference)?;
            build_model(ws, build, reference)?
        }
        _ => {
            return Err(Error::Invalid {
                what: "candidate",
                value: String::new(),
                hint: "pass exactly one of --model PATH or --build ID".into(),
            })
        }
    };
    let mut notes = Vec::new();
    let candidate = if request.explore {
        let source = candidate.build.as_ref().ok_or_else(|| Error::Invalid {
            what: "--explore",
            value: candidate.path.display().to_string(),
            hint: "explore works on a build; pass --model PATH or --build ID".into(),
        })?;
        let report = crate::explore::explore(
            ws,
            &crate::explore::ExploreRequest {
                model: PathBuf::from(&source.id),
                target: None,
                methods: Vec::new(),
                fast: false,
                max_time_s: None,
                check_accuracy: request.settings.accuracy_samples.is_some(),
                cosine_threshold: accuracy_limits(&thresholds).0,
                top1_threshold: accuracy_limits(&thresholds).1,
                accuracy_samples: request.settings.accuracy_samples.unwrap_or(16),
                runtimes: request.settings.runtimes.clone(),
                calibration_data: None,
            },
            progress,
        )?;
        match &report.recommended {
            Some(id) => {
                let row = report
                    .rows
                    .iter()
                    .find(|r| r.build_id.as_deref() == Some(id));
                notes.push(format!(
                    "--explore: {} variants of {} measured; gating the recommended one, {} ({})",
                    report.rows.len() - 1,
                    source.short_id(),
                    row.map(|r| r.label.as_str()).unwrap_or("?"),
                    &id[..12]
                ));
                let build = ws.resolve_build(id)?;
                build_model(ws, build, id)?
            }
            None => {
                notes.push(format!(
                    "--explore: {} variants of {} measured, none recommended; gating the model \
                     itself",
                    report.rows.len() - 1,
                    source.short_id()
                ));
                candidate
            }
        }
    } else {
        candidate
    };
    let target = candidate.build.as_ref().map(|b| b.target.clone());
    let Some(baseline) = baseline else {
        let mut verdict = Verdict::skipped(format!(
            "skipped: no baseline `{}` in this workspace; tag one with `mlgate tag create BUILD {}` \
             (or `mlgate baseline set BUILD`)",
            request.baseline, request.baseline
        ));
        if request.fail_on_missing_baseline {
            verdict.status = VerdictStatus::Fail;
            verdict.reason = format!("{} (--fail-on-missing-baseline)", verdict.reason);
        }
        verdict.warnings.extend(notes);
        return Ok((verdict, None, target));
    };
    let mut outcome = run_gate(
        Some(ws),
        &baseline,
        &candidate,
        &thresholds,
        &request.settings,
        progress,
    )?;
    // What explore chose is said first, before the gate's own warnings.
    notes.append(&mut outcome.verdict.warnings);
    outcome.verdict.warnings = notes;
    Ok((outcome.verdict, Some(outcome.evidence), target))
}

/// `mlgate validate BUILD`: absolute limits (flags over `budget.toml`/`config.toml`) on a
/// build (or file) measured now with the benchmark harness.
///
/// # Errors
/// [`Error::Invalid`] when no budget is in force; otherwise as [`thresholds`],
/// [`resolve_model`] and [`crate::benchmark::benchmark`].
pub fn validate(
    ws: Option<&Workspace>,
    reference: &str,
    flags: &ThresholdFlags,
    settings: &GateSettings,
    progress: &mut dyn Progress,
) -> Result<ValidateReport> {
    let thresholds = thresholds(ws, flags)?;
    let model = resolve_model(ws, reference)?;
    let settings = &settings.with_build_backend(&[&model]);
    let subject = model.subject();
    if thresholds.budgets.is_empty() {
        return Err(Error::Invalid {
            what: "budget",
            value: "(none)".into(),
            hint:
                "nothing to validate: pass --max-latency, --max-p95, --max-memory or --max-size, \
                   or set them with `mlgate budget set`"
                    .into(),
        });
    }
    let skipped = latency_unmeasurable(model.info.format);
    let needs_run = thresholds
        .budgets
        .iter()
        .any(|l| !matches!(l.constraint, mlgate_registry::Constraint::MaxSizeMb));
    let mut result = None;
    let mut decoder = None;
    if skipped.is_none() && needs_run && model.info.format == ModelFormat::Gguf {
        let shape = crate::llm::request_shape(
            settings.llm_metric,
            settings.seq_len,
            settings.generate_tokens,
        )?;
        decoder = Some(crate::llm::measure_decoder(
            &model.path,
            shape,
            settings
                .max_time_s
                .unwrap_or(BenchConfig::default().max_time_s),
            settings
                .seed
                .unwrap_or_else(mlgate_bench::compare::fresh_seed),
            progress,
        )?);
    } else if skipped.is_none() && needs_run {
        let mut config = BenchConfig::default();
        if let Some(s) = settings.max_time_s {
            config.max_time_s = s;
            config.min_time_s = config.min_time_s.min(s / 2.0);
        }
        // A build's result is recorded in the registry, as `mlgate benchmark BUILD` does.
        let report = crate::benchmark::benchmark(
            ws,
            &crate::benchmark::BenchmarkRequest {
                model: model.model_ref(),
                backend: settings.backend.clone(),
                threads: settings.threads,
                inputs: InputSpec {
                    seq_lens: settings.seq_len.into_iter().collect(),
                    ..InputSpec::default()
                },
                config,
                runtimes: settings.runtimes.clone(),
            },
            progress,
        )?
        .report;
        result = Some(report.result);
    }
    let run = result.as_ref().and_then(|r| r.runs.first());
    let memory = run
        .and_then(|r| r.memory.clone())
        .or_else(|| {
            result
                .as_ref()
                .and_then(|r| r.cold_start.load_memory.clone())
        })
        .or_else(|| decoder.as_ref().and_then(|d| d.memory.clone()));
    // The latencies budgets are judged on: inferences, or a decoder's per-request metric.
    let summary = run
        .map(|r| &r.summary)
        .or(decoder.as_ref().map(|d| &d.summary));
    let evidence = BudgetEvidence {
        size_bytes: subject.size_bytes,
        p50: summary.and_then(|s| s.percentile(50.0)),
        p95: summary.and_then(|s| s.percentile(95.0)),
        peak_memory_bytes: result.as_ref().map(peak_added).or(decoder
            .as_ref()
            .and_then(|d| d.memory.as_ref().map(|m| m.peak_delta_bytes))),
        latency_skipped: skipped.clone(),
        llm_metric: decoder.as_ref().map(|d| d.shape.metric),
    };
    let checks = mlgate_ci::budget_checks(&thresholds, &evidence);
    let verdict = Verdict::decide(checks, thresholds.fail_on_inconclusive, Vec::new());
    let measured = |p: f64| -> Option<Measured> {
        let s = summary?;
        let e = s.percentile(p)?;
        Some(Measured {
            value: e.value_ms?,
            low: e.ci_low_ms,
            high: e.ci_high_ms,
            confidence: Some(s.confidence),
            n: Some(s.n as u64),
        })
    };
    Ok(ValidateReport {
        schema: VALIDATE_SCHEMA.into(),
        mlgate_version: env!("CARGO_PKG_VERSION").into(),
        build: subject,
        verdict,
        p50_ms: measured(50.0),
        p95_ms: measured(95.0),
        peak_memory: memory,
        backend: result
            .as_ref()
            .map(|r| r.session.backend.name().to_string())
            .or(decoder.as_ref().map(|d| d.session.backend.name().to_string())),
        environment: result
            .as_ref()
            .map(|r| r.environment.clone())
            .or(decoder.as_ref().map(|d| d.environment.clone())),
        method: match (&result, &decoder) {
            (None, Some(d)) => format!(
                "measured now: {}; latency budgets judged by the percentile's interval \
                 (over / within / marginal); memory is the peak RSS of the decoder's load (one reading)",
                d.method
            ),
            (Some(r), _) => format!(
                "measured now: {}; latency budgets judged by the percentile's interval (over / within / marginal); \
                 memory is the peak RSS the model added over load and inference (one reading)",
                r.method
            ),
            (None, None) => skipped.unwrap_or_else(|| "size only: no latency or memory budget in force".into()),
        },
    })
}

/// The peak memory a model added: the larger of its load and inference phases' growth over
/// the RSS before loading.
fn peak_added(r: &mlgate_bench::BenchmarkResult) -> u64 {
    let load = r.cold_start.load_memory.as_ref();
    let base = load.map(|m| m.rss_before_bytes);
    let mut peak = load.map(|m| m.peak_delta_bytes).unwrap_or(0);
    for run in &r.runs {
        if let (Some(m), Some(b)) = (&run.memory, base) {
            peak = peak.max(m.peak_rss_bytes.saturating_sub(b));
        }
    }
    peak
}

/// Where `mlgate ci` writes its other reports.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    /// A JUnit XML file, one test case per check.
    pub junit: Option<PathBuf>,
    /// A Markdown file: the verdict and a table of the checks.
    pub markdown: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`: the Markdown is appended, as GitHub expects.
    pub step_summary: Option<PathBuf>,
}

/// Writes the JUnit and Markdown files asked for, and appends the Markdown to the step
/// summary.
///
/// # Errors
/// [`Error::Registry`] naming the file that cannot be written.
pub fn write_report_files(report: &CiReport, files: &ReportFiles) -> Result<()> {
    let io = |path: &Path, e: std::io::Error| {
        Error::Registry(RegistryError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    };
    if let Some(path) = &files.junit {
        mlgate_registry::store::write_atomic(path, junit("ci", &report.verdict).as_bytes())?;
    }
    let md = markdown(report);
    if let Some(path) = &files.markdown {
        mlgate_registry::store::write_atomic(path, md.as_bytes())?;
    }
    if let Some(path) = &files.step_summary {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        f.write_all(format!("{md}\n").as_bytes())
            .map_err(|e| io(path, e))?;
    }
    Ok(())
}
