//! `mlgate report`: what the workspace knows about one build, or two (`A..B`), gathered for
//! one page — the build card and lineage, the latency distribution of the latest benchmark
//! from its raw samples, every benchmark of the lineage over time, sizes against latencies,
//! stored accuracy checks, cold start and memory, the environment of every number, and a
//! recommendation derived from those numbers alone.
//!
//! Nothing here measures: every number is a stored benchmark's, and every percentile and
//! interval is recomputed from its raw samples by the bench crate's statistics (nearest-rank
//! percentiles, distribution-free order-statistic intervals; a percentile with too few
//! samples is withheld, `value_ms: None`). An `A..B` report sets two stored series side by
//! side; it is not an interleaved comparison (that is `mlgate compare`).
//!
//! The CLI renders a [`BuildReport`] as one self-contained HTML page, Markdown or JSON
//! (`mlgate.report/v1`).
//!
//! ```
//! use mlgate::build_report::{self, ReportSubject};
//! use mlgate::workspace::ImportRequest;
//! use mlgate::{Workspace, WorkspaceOptions};
//! # let dir = tempfile::tempdir()?;
//! # let model = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
//! let options = WorkspaceOptions { dir: Some(dir.path().join(".mlgate")), start: None };
//! let (ws, _) = Workspace::init(&options)?;
//! let build = ws.import(&ImportRequest { model, target: "tract_cpu".into(), ..Default::default() })?;
//! let subject: ReportSubject = build.build.id.parse()?;
//! let report = build_report::report(&ws, &subject)?;
//! assert!(report.builds[0].latest.is_none()); // not benchmarked yet, and the report says so
//! assert!(!report.recommendation.enough_data);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;

use mlgate_bench::stats;

use crate::benchmark::{ColdStart, LatencySummary, MeasurementEnvironment};
use crate::optimize::OutputAccuracy;
use crate::workspace::{Benchmark, Build, BuildRef, BuildSummary, BASELINE_TAG};
use crate::{Error, Result, Workspace};

/// How much slower than the baseline's p50 a variant may be and still be recommended: the
/// gate's default latency threshold (10%).
pub const LATENCY_TOLERANCE: f64 = 0.10;

/// Benchmarks per build read for the history.
pub const HISTORY_LIMIT: usize = 100;

/// Confidence of every interval recomputed here (the harness's default).
const CONFIDENCE: f64 = 0.95;

/// What a report is about: one build, or two (`A..B`: A the baseline, B the candidate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSubject {
    /// One build, by tag, id or id prefix.
    Build(String),
    /// `A..B`: the gate's page for a candidate B against a baseline A.
    Pair(String, String),
}

impl std::str::FromStr for ReportSubject {
    type Err = Error;

    /// `BUILD` or `A..B`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty reference or an `A..B` with an empty side.
    fn from_str(text: &str) -> Result<ReportSubject> {
        let bad = |hint: &str| Error::Invalid {
            what: "report subject",
            value: text.to_string(),
            hint: hint.to_string(),
        };
        match text.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (a.trim(), b.trim());
                if a.is_empty() || b.is_empty() || b.contains("..") {
                    return Err(bad("write BUILD or A..B with a build on each side"));
                }
                Ok(ReportSubject::Pair(a.to_string(), b.to_string()))
            }
            None if text.trim().is_empty() => Err(bad("name a build: a tag, an id or a prefix")),
            None => Ok(ReportSubject::Build(text.trim().to_string())),
        }
    }
}

/// `mlgate report --format json`: every fact the HTML and Markdown pages show.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BuildReport {
    /// `build` for one build, `pair` for `A..B`.
    pub subject: SubjectKind,
    /// The build reported on, or A then B.
    pub builds: Vec<BuildFacts>,
    /// What the numbers are set against, and why that build.
    pub baseline: Option<BaselineRef>,
    /// Every build of the lineage trees of the builds reported on, parents before children.
    pub lineage: Vec<LineageEntry>,
    /// Every benchmark of those builds (at most [`HISTORY_LIMIT`] per build), oldest first.
    pub history: Vec<HistoryPoint>,
    /// Stored accuracy checks involving any build of the lineage, oldest first.
    pub accuracy: Vec<AccuracyEntry>,
    /// For `A..B`: the two latest benchmarks set side by side.
    pub pair: Option<PairFacts>,
    /// A deployment recommendation from the numbers above, or why there is none.
    pub recommendation: Recommendation,
    /// What the workspace's history says about optimizing models of the (first) build's
    /// task: `mlgate insights --task TASK`.
    pub insights: crate::insights::InsightsReport,
    /// When the report was made.
    #[serde(with = "crate::workspace::time::rfc3339")]
    #[schemars(with = "crate::workspace::time::Rfc3339")]
    pub generated_at: i64,
}

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// One build.
    Build,
    /// Two builds, `A..B`.
    Pair,
}

/// One build reported on: the card and its latest benchmark.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BuildFacts {
    /// The build (format, target, backend, task, size, ...).
    pub build: Build,
    /// Tags pointing at it.
    pub tags: Vec<String>,
    /// The build it was derived from.
    pub parent: Option<BuildRef>,
    /// The builds derived from it.
    pub children: Vec<BuildRef>,
    /// How many benchmarks of it are stored.
    pub benchmark_count: usize,
    /// Its newest benchmark with raw samples; `None`: never benchmarked.
    pub latest: Option<BenchmarkFacts>,
}

/// One stored benchmark, recomputed from its raw samples.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BenchmarkFacts {
    /// The registry's id of the benchmark.
    pub benchmark_id: i64,
    /// When it was measured.
    #[serde(with = "crate::workspace::time::rfc3339")]
    #[schemars(with = "crate::workspace::time::Rfc3339")]
    pub created_at: i64,
    /// The runtime that ran it.
    pub backend: String,
    /// Which input set (`default`, `seq_len=64`, ...), when recorded.
    pub input_set: Option<String>,
    /// The machine that measured it.
    pub hostname: String,
    /// Percentiles with their intervals, mean, spread, outliers, from the raw samples.
    pub summary: LatencySummary,
    /// The raw samples counted into bins (for `A..B`, both sides share the bin edges).
    pub histogram: Vec<HistogramBin>,
    /// The empirical distribution function: sorted raw samples, ms. With more than
    /// [`ECDF_POINTS`] samples, that many order statistics at evenly spaced ranks (the
    /// smallest and largest always among them), so tails are never trimmed.
    pub ecdf_ms: Vec<f64>,
    /// Load, first inference and peak memory while loading, when stored.
    pub cold_start: Option<ColdStart>,
    /// Peak RSS of the process from the first inference to the last timed run, MB (10^6
    /// bytes), when measured.
    pub inference_peak_rss_mb: Option<f64>,
    /// CPU, OS, runtime and its version, mlgate version: where the numbers come from.
    pub environment: Option<MeasurementEnvironment>,
}

/// Samples in `[low_ms, high_ms)` (the last bin includes its upper edge).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HistogramBin {
    /// Lower edge, ms.
    pub low_ms: f64,
    /// Upper edge, ms.
    pub high_ms: f64,
    /// Samples in the bin.
    pub count: u64,
}

/// The build the others are set against.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BaselineRef {
    /// Its id.
    pub build_id: String,
    /// Why it is the baseline: `tag mlgate-baseline`, `parent` or `A of A..B`.
    pub reason: String,
}

/// One build of the lineage, with its latest p50.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LineageEntry {
    /// The build.
    pub build: BuildRef,
    /// Its parent's id.
    pub parent_id: Option<String>,
    /// Steps from the root.
    pub depth: usize,
    /// Stored size, bytes.
    pub size_bytes: u64,
    /// Whether the report is about it.
    pub subject: bool,
    /// Whether it is the baseline.
    pub baseline: bool,
    /// Its newest benchmark's point, if it has one.
    pub latest: Option<HistoryPoint>,
}

/// One benchmark as the history shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryPoint {
    /// The build measured.
    pub build_id: String,
    /// The benchmark's id.
    pub benchmark_id: i64,
    /// When.
    #[serde(with = "crate::workspace::time::rfc3339")]
    #[schemars(with = "crate::workspace::time::Rfc3339")]
    pub created_at: i64,
    /// The runtime.
    pub backend: String,
    /// Which input set, when recorded.
    pub input_set: Option<String>,
    /// Timed runs.
    pub n: u64,
    /// p50 from the raw samples; `None`: withheld (fewer samples than the rule needs) or no
    /// samples stored.
    pub p50_ms: Option<f64>,
    /// Lower end of the p50's 95% interval.
    pub p50_ci_low_ms: Option<f64>,
    /// Upper end of the p50's 95% interval.
    pub p50_ci_high_ms: Option<f64>,
    /// The machine that measured it.
    pub hostname: String,
    /// The runtime's version, when known.
    pub runtime_version: Option<String>,
    /// The mlgate that measured it.
    pub mlgate_version: Option<String>,
    /// The CPU, when known.
    pub cpu: Option<String>,
}

/// A stored accuracy check.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccuracyEntry {
    /// The registry's id of the check.
    pub id: i64,
    /// The reference build.
    pub baseline_build_id: String,
    /// The build checked against it.
    pub candidate_build_id: String,
    /// Whether every output met the thresholds.
    pub passed: bool,
    /// When.
    #[serde(with = "crate::workspace::time::rfc3339")]
    #[schemars(with = "crate::workspace::time::Rfc3339")]
    pub created_at: i64,
    /// The machine that ran it.
    pub hostname: String,
    /// The runtime both models ran on, when recorded.
    pub backend: Option<String>,
    /// Input samples compared, when recorded.
    pub samples: Option<u64>,
    /// Per output: cosine, errors, top-1 agreement.
    pub outputs: Vec<OutputAccuracy>,
}

/// `A..B`: the latest stored benchmarks of both, side by side.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PairFacts {
    /// Says what this is: stored benchmarks, not an interleaved comparison.
    pub note: String,
    /// B's p50 / A's p50, when both are reported.
    pub p50_ratio: Option<f64>,
    /// Whether A's and B's p50 intervals overlap; `None` when either is missing.
    pub p50_intervals_overlap: Option<bool>,
    /// B's size / A's size.
    pub size_ratio: Option<f64>,
    /// Both measured by the same runtime.
    pub same_backend: Option<bool>,
    /// Both measured on the same machine.
    pub same_machine: Option<bool>,
    /// The newest accuracy check between A and B (either way round), by id.
    pub accuracy_check: Option<i64>,
}

/// A deployment recommendation derived from the report's numbers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Recommendation {
    /// In words, with the numbers it rests on; or what data is missing.
    pub text: String,
    /// The build recommended, if any.
    pub build_id: Option<String>,
    /// False when the data does not allow a recommendation.
    pub enough_data: bool,
    /// The latency tolerance applied ([`LATENCY_TOLERANCE`]).
    pub latency_tolerance: f64,
}

/// Gathers the report of `subject` from the workspace: reads only, measures nothing.
///
/// # Errors
/// [`Error::Registry`] for an unknown or ambiguous build, or a database that cannot be read.
pub fn report(ws: &Workspace, subject: &ReportSubject) -> Result<BuildReport> {
    let (kind, refs): (SubjectKind, Vec<&str>) = match subject {
        ReportSubject::Build(b) => (SubjectKind::Build, vec![b.as_str()]),
        ReportSubject::Pair(a, b) => (SubjectKind::Pair, vec![a.as_str(), b.as_str()]),
    };
    let subjects: Vec<Build> = refs
        .iter()
        .map(|r| ws.resolve_build(r))
        .collect::<Result<_>>()?;

    // Every build of the lineage trees involved, once, parents before children.
    let mut tree: Vec<BuildSummary> = Vec::new();
    for b in &subjects {
        if tree.iter().any(|s| s.build.root_id == b.root_id) {
            continue;
        }
        let mut part = ws.tree(&b.root_id)?;
        if part.is_empty() {
            part.push(BuildSummary {
                build: b.clone(),
                latest: None,
            });
        }
        tree.extend(part);
    }
    let ids: Vec<String> = tree.iter().map(|s| s.build.id.clone()).collect();

    // Benchmarks of every build, newest first per build.
    let mut benchmarks: HashMap<String, Vec<Benchmark>> = HashMap::new();
    for id in &ids {
        benchmarks.insert(id.clone(), ws.benchmarks(id, HISTORY_LIMIT)?);
    }
    let mut history: Vec<HistoryPoint> = benchmarks.values().flatten().map(point_of).collect();
    history.sort_by_key(|p| (p.created_at, p.benchmark_id));

    // The baseline.
    let tag = ws.tags()?.into_iter().find(|t| t.tag.name == BASELINE_TAG);
    let baseline = match kind {
        SubjectKind::Pair => Some(BaselineRef {
            build_id: subjects[0].id.clone(),
            reason: "A of A..B".into(),
        }),
        SubjectKind::Build => match tag.filter(|t| ids.contains(&t.tag.build_id)) {
            Some(t) => Some(BaselineRef {
                build_id: t.tag.build_id,
                reason: format!("tag {BASELINE_TAG}"),
            }),
            None => subjects[0].parent_id.clone().map(|p| BaselineRef {
                build_id: p,
                reason: "parent".into(),
            }),
        },
    };

    // The latest benchmark of each subject, with shared histogram edges for a pair.
    let latest: Vec<Option<&Benchmark>> = subjects
        .iter()
        .map(|b| {
            benchmarks
                .get(&b.id)
                .and_then(|v| v.iter().find(|m| !m.samples_ms.is_empty()))
        })
        .collect();
    let range = latest
        .iter()
        .flatten()
        .flat_map(|m| m.samples_ms.iter().copied())
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        });
    let most = latest
        .iter()
        .flatten()
        .map(|m| m.samples_ms.len())
        .max()
        .unwrap_or(0);
    let bins = ((most as f64).sqrt().round() as usize).clamp(5, 40);

    let all_tags = ws.tags()?;
    let mut builds = Vec::new();
    for (b, latest) in subjects.iter().zip(&latest) {
        let parent = b.parent_id.as_ref().and_then(|p| {
            tree.iter()
                .find(|s| &s.build.id == p)
                .map(|s| BuildRef::from(&s.build))
        });
        let children = tree
            .iter()
            .filter(|s| s.build.parent_id.as_deref() == Some(b.id.as_str()))
            .map(|s| BuildRef::from(&s.build))
            .collect();
        builds.push(BuildFacts {
            build: b.clone(),
            tags: all_tags
                .iter()
                .filter(|t| t.tag.build_id == b.id)
                .map(|t| t.tag.name.clone())
                .collect(),
            parent,
            children,
            benchmark_count: benchmarks.get(&b.id).map_or(0, Vec::len),
            latest: latest.map(|m| facts_of(m, range, bins)),
        });
    }

    // The lineage, with depths and each build's newest point.
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut lineage = Vec::new();
    for s in &tree {
        let d = s
            .build
            .parent_id
            .as_deref()
            .and_then(|p| depth.get(p))
            .map_or(0, |d| d + 1);
        depth.insert(&s.build.id, d);
        let latest = benchmarks
            .get(&s.build.id)
            .and_then(|v| v.first())
            .map(point_of);
        lineage.push(LineageEntry {
            build: BuildRef::from(&s.build),
            parent_id: s.build.parent_id.clone(),
            depth: d,
            size_bytes: s.build.size_bytes,
            subject: subjects.iter().any(|x| x.id == s.build.id),
            baseline: baseline.as_ref().is_some_and(|x| x.build_id == s.build.id),
            latest,
        });
    }

    let accuracy: Vec<AccuracyEntry> = ws
        .accuracy_checks(&ids)?
        .into_iter()
        .map(|c| AccuracyEntry {
            id: c.id,
            baseline_build_id: c.check.baseline_build_id,
            candidate_build_id: c.check.candidate_build_id,
            passed: c.check.passed,
            created_at: c.created_at,
            hostname: c.hostname,
            backend: c.check.settings["backend"].as_str().map(str::to_string),
            samples: c.check.settings["samples"].as_u64(),
            outputs: serde_json::from_value(c.check.metrics).unwrap_or_default(),
        })
        .collect();

    let pair = (kind == SubjectKind::Pair).then(|| pair_facts(&builds, &accuracy));
    let recommendation = recommend(kind, &subjects, baseline.as_ref(), &lineage, &accuracy);
    let insights = crate::insights::insights(
        ws,
        &crate::insights::InsightsRequest {
            task: builds.first().and_then(|b| b.build.task.clone()),
            backend: None,
        },
    )?;

    Ok(BuildReport {
        subject: kind,
        builds,
        baseline,
        lineage,
        history,
        accuracy,
        pair,
        recommendation,
        insights,
        generated_at: crate::workspace::time::now_ms(),
    })
}

fn summary_of(samples: &[f64]) -> LatencySummary {
    stats::summarize(samples, CONFIDENCE, 0)
}

fn environment_of(b: &Benchmark) -> Option<MeasurementEnvironment> {
    serde_json::from_value(b.fingerprint.clone()).ok()
}

fn input_set_of(b: &Benchmark) -> Option<String> {
    b.settings["input_set"].as_str().map(str::to_string)
}

fn point_of(b: &Benchmark) -> HistoryPoint {
    let p50 = (!b.samples_ms.is_empty())
        .then(|| summary_of(&b.samples_ms))
        .and_then(|s| s.percentile(50.0).cloned());
    let env = environment_of(b);
    HistoryPoint {
        build_id: b.build_id.clone(),
        benchmark_id: b.id,
        created_at: b.created_at,
        backend: b.backend.clone(),
        input_set: input_set_of(b),
        n: b.n,
        p50_ms: p50.as_ref().and_then(|p| p.value_ms),
        p50_ci_low_ms: p50.as_ref().and_then(|p| p.ci_low_ms),
        p50_ci_high_ms: p50.as_ref().and_then(|p| p.ci_high_ms),
        hostname: b.hostname.clone(),
        runtime_version: env.as_ref().and_then(|e| e.runtime_version.clone()),
        mlgate_version: env.as_ref().map(|e| e.mlgate_version.clone()),
        cpu: env.and_then(|e| e.cpu_model),
    }
}

fn facts_of(b: &Benchmark, range: Option<(f64, f64)>, bins: usize) -> BenchmarkFacts {
    BenchmarkFacts {
        benchmark_id: b.id,
        created_at: b.created_at,
        backend: b.backend.clone(),
        input_set: input_set_of(b),
        hostname: b.hostname.clone(),
        summary: summary_of(&b.samples_ms),
        histogram: range.map_or_else(Vec::new, |(lo, hi)| histogram(&b.samples_ms, lo, hi, bins)),
        ecdf_ms: ecdf(&b.samples_ms),
        cold_start: serde_json::from_value(b.statistics["cold_start"].clone()).ok(),
        inference_peak_rss_mb: b.memory_mb,
        environment: environment_of(b),
    }
}

/// Order statistics kept for [`BenchmarkFacts::ecdf_ms`].
pub const ECDF_POINTS: usize = 256;

/// Sorted finite samples; at most [`ECDF_POINTS`] of them, at ranks `i (n − 1) / (k − 1)`.
fn ecdf(samples: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() <= ECDF_POINTS {
        return sorted;
    }
    let last = sorted.len() - 1;
    (0..ECDF_POINTS)
        .map(|i| sorted[i * last / (ECDF_POINTS - 1)])
        .collect()
}

/// `samples` counted into `bins` equal bins over `[lo, hi]`; one bin when `hi == lo`.
fn histogram(samples: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<HistogramBin> {
    let width = hi - lo;
    let bins = if width > 0.0 { bins.max(1) } else { 1 };
    let mut counts = vec![0u64; bins];
    for &v in samples.iter().filter(|v| v.is_finite()) {
        let i = if width > 0.0 {
            (((v - lo) / width) * bins as f64).floor() as usize
        } else {
            0
        };
        counts[i.min(bins - 1)] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| HistogramBin {
            low_ms: lo + width * i as f64 / bins as f64,
            high_ms: lo + width * (i + 1) as f64 / bins as f64,
            count,
        })
        .collect()
}

fn p50_of(f: &BenchmarkFacts) -> Option<&stats::PercentileEstimate> {
    f.summary.percentile(50.0).filter(|p| p.value_ms.is_some())
}

fn pair_facts(builds: &[BuildFacts], accuracy: &[AccuracyEntry]) -> PairFacts {
    let (a, b) = (&builds[0], &builds[1]);
    let (la, lb) = (a.latest.as_ref(), b.latest.as_ref());
    let pa = la.and_then(p50_of);
    let pb = lb.and_then(p50_of);
    let ratio = match (pa.and_then(|p| p.value_ms), pb.and_then(|p| p.value_ms)) {
        (Some(x), Some(y)) if x > 0.0 => Some(y / x),
        _ => None,
    };
    let overlap = match (pa, pb) {
        (Some(x), Some(y)) => match (x.ci_low_ms, x.ci_high_ms, y.ci_low_ms, y.ci_high_ms) {
            (Some(xl), Some(xh), Some(yl), Some(yh)) => Some(xl <= yh && yl <= xh),
            _ => None,
        },
        _ => None,
    };
    let both = |f: &dyn Fn(&BenchmarkFacts) -> String| match (la, lb) {
        (Some(x), Some(y)) => Some(f(x) == f(y)),
        _ => None,
    };
    let between = |c: &&AccuracyEntry| {
        (c.baseline_build_id == a.build.id && c.candidate_build_id == b.build.id)
            || (c.baseline_build_id == b.build.id && c.candidate_build_id == a.build.id)
    };
    PairFacts {
        note: "stored benchmarks, not an interleaved comparison: the two series were measured \
               at different times, possibly on different machines; `mlgate compare A B` \
               measures both now, interleaved"
            .into(),
        p50_ratio: ratio,
        p50_intervals_overlap: overlap,
        size_ratio: (a.build.size_bytes > 0)
            .then(|| b.build.size_bytes as f64 / a.build.size_bytes as f64),
        same_backend: both(&|f| f.backend.clone()),
        same_machine: both(&|f| f.hostname.clone()),
        accuracy_check: accuracy.iter().rev().find(between).map(|c| c.id),
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn recommend(
    kind: SubjectKind,
    subjects: &[Build],
    baseline: Option<&BaselineRef>,
    lineage: &[LineageEntry],
    accuracy: &[AccuracyEntry],
) -> Recommendation {
    let answer = |text: String, build_id: Option<String>, enough_data: bool| Recommendation {
        text,
        build_id,
        enough_data,
        latency_tolerance: LATENCY_TOLERANCE,
    };
    let tolerance_pct = LATENCY_TOLERANCE * 100.0;
    // The reference: the baseline, else the root of the subject's lineage.
    let reference_id = match baseline {
        Some(b) => b.build_id.clone(),
        None => lineage
            .iter()
            .find(|e| e.build.id == subjects[0].root_id)
            .map_or_else(|| subjects[0].id.clone(), |e| e.build.id.clone()),
    };
    let Some(reference) = lineage.iter().find(|e| e.build.id == reference_id) else {
        return answer(
            "Not enough data for a recommendation: the baseline is not in the lineage.".into(),
            None,
            false,
        );
    };
    let label = |e: &LineageEntry| {
        format!(
            "{} {} ({})",
            e.build.name,
            e.build.method,
            short(&e.build.id)
        )
    };
    let Some((ref_point, ref_p50)) = reference
        .latest
        .as_ref()
        .and_then(|p| p.p50_ms.map(|v| (p, v)))
    else {
        return answer(
            format!(
                "Not enough data for a recommendation: the baseline {} has no benchmark with a \
                 reported p50; run `mlgate benchmark {}`.",
                label(reference),
                short(&reference.build.id)
            ),
            None,
            false,
        );
    };
    let candidates: Vec<&LineageEntry> = lineage
        .iter()
        .filter(|e| e.build.id != reference.build.id)
        .filter(|e| match kind {
            SubjectKind::Pair => subjects.iter().skip(1).any(|s| s.id == e.build.id),
            SubjectKind::Build => true,
        })
        .collect();
    let measured: Vec<(&LineageEntry, f64)> = candidates
        .iter()
        .filter_map(|e| {
            let p = e.latest.as_ref()?;
            (p.backend == ref_point.backend).then_some((*e, p.p50_ms?))
        })
        .collect();
    if measured.is_empty() {
        let elsewhere: Vec<String> = candidates
            .iter()
            .filter_map(|e| e.latest.as_ref())
            .filter(|p| p.backend != ref_point.backend)
            .map(|p| p.backend.clone())
            .collect();
        let other = if elsewhere.is_empty() {
            String::new()
        } else {
            format!(
                " ({} variant benchmark(s) were measured on another runtime: {}; numbers from \
                 two runtimes are not set against each other)",
                elsewhere.len(),
                elsewhere.join(", ")
            )
        };
        return answer(
            format!(
                "Not enough data for a recommendation: no variant of {} has a benchmark with a \
                 reported p50 on {} to set against it{other}.",
                label(reference),
                ref_point.backend
            ),
            None,
            false,
        );
    }
    let limit = ref_p50 * (1.0 + LATENCY_TOLERANCE);
    let passed = |id: &str| {
        accuracy
            .iter()
            .any(|c| c.candidate_build_id == id && c.passed)
    };
    let fast: Vec<&(&LineageEntry, f64)> = measured.iter().filter(|(_, p)| *p <= limit).collect();
    let good: Vec<&(&LineageEntry, f64)> = fast
        .iter()
        .copied()
        .filter(|(e, _)| passed(&e.build.id))
        .collect();
    let best = good
        .iter()
        .filter(|(e, _)| e.size_bytes < reference.size_bytes)
        .min_by_key(|(e, _)| e.size_bytes);
    match best {
        Some((e, p50)) => answer(
            format!(
                "Deploy {}: the smallest variant within {tolerance_pct:.0}% of the baseline's \
                 p50 ({p50:.3} ms against {ref_p50:.3} ms on {}) with a passed accuracy check; \
                 {:.2}× the baseline's size ({} against {} bytes). Stored benchmarks, not an \
                 interleaved comparison: confirm with `mlgate compare`.",
                label(e),
                ref_point.backend,
                e.size_bytes as f64 / reference.size_bytes.max(1) as f64,
                e.size_bytes,
                reference.size_bytes
            ),
            Some(e.build.id.clone()),
            true,
        ),
        None if fast.is_empty() => answer(
            format!(
                "Keep {}: none of the {} measured variant(s) is within {tolerance_pct:.0}% of \
                 its p50 ({ref_p50:.3} ms on {}).",
                label(reference),
                measured.len(),
                ref_point.backend
            ),
            Some(reference.build.id.clone()),
            true,
        ),
        None if good.is_empty() => answer(
            format!(
                "Not enough data for a recommendation: {} variant(s) are within \
                 {tolerance_pct:.0}% of the baseline's p50 ({ref_p50:.3} ms), but none has a \
                 passed accuracy check; run `mlgate accuracy {} VARIANT`.",
                fast.len(),
                short(&reference.build.id)
            ),
            None,
            false,
        ),
        None => answer(
            format!(
                "Keep {}: no variant within {tolerance_pct:.0}% of its p50 and with a passed \
                 accuracy check is smaller.",
                label(reference)
            ),
            Some(reference.build.id.clone()),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_parse() {
        assert_eq!(
            "abc123".parse::<ReportSubject>().unwrap(),
            ReportSubject::Build("abc123".into())
        );
        assert_eq!(
            "a1b2..c3d4".parse::<ReportSubject>().unwrap(),
            ReportSubject::Pair("a1b2".into(), "c3d4".into())
        );
        for bad in ["", "..b", "a..", "a..b..c", " "] {
            assert!(bad.parse::<ReportSubject>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ecdf_keeps_both_extremes_and_is_sorted() {
        let small = ecdf(&[3.0, 1.0, f64::NAN, 2.0]);
        assert_eq!(small, [1.0, 2.0, 3.0]);
        let many: Vec<f64> = (0..1000).rev().map(f64::from).collect();
        let e = ecdf(&many);
        assert_eq!(e.len(), ECDF_POINTS);
        assert_eq!((e[0], e[ECDF_POINTS - 1]), (0.0, 999.0));
        assert!(e.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn histogram_counts_every_sample_once() {
        let samples = [1.0, 1.5, 2.0, 2.0, 3.0, f64::NAN];
        let h = histogram(&samples, 1.0, 3.0, 4);
        assert_eq!(h.len(), 4);
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(h[2].count, 2); // [2.0, 2.5)
        assert_eq!(h[3].count, 1); // the upper edge belongs to the last bin
        assert_eq!(h[0].low_ms, 1.0);
        assert_eq!(h[3].high_ms, 3.0);
        let flat = histogram(&[2.0, 2.0], 2.0, 2.0, 10);
        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].count, 2);
    }
}
