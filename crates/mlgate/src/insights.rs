//! `mlgate insights`: what the workspace's history says about which optimization pays off.
//!
//! Every figure rests on stored results only: the interleaved latency comparisons `explore`
//! records between a build and its variant (never on benchmarks taken at different times),
//! the builds' sizes, and the accuracy checks between the two. Rows group by method, task
//! and runtime, and say how many models (lineages) and comparisons each rests on.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::explore::LATENCY_WEIGHT;
use crate::workspace::{Build, BuildFilter, Workspace};
use crate::Result;

/// Which history to summarise.
#[derive(Debug, Clone, Default)]
pub struct InsightsRequest {
    /// Only models of this task (`vision`, `nlp`, ...); `None`: every task.
    pub task: Option<String>,
    /// Only comparisons on this runtime; `None`: every runtime.
    pub backend: Option<String>,
}

/// The outcome of `mlgate insights` (`mlgate.insights/v1`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InsightsReport {
    /// One row per method, task and runtime, best median latency ratio first.
    pub rows: Vec<InsightRow>,
    /// Per task (and runtime): the method the history favours, with its evidence.
    pub recommendations: Vec<Recommendation>,
    /// Comparisons the rows rest on (the latest per build pair and runtime).
    pub comparisons_used: usize,
    /// How the figures are computed, in words.
    pub method: String,
}

/// What one technique did across the models it was tried on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InsightRow {
    /// The optimization (`fp16`, `int8`, `palettize(4)`), calibration hashes left out.
    pub method: String,
    /// The parent model's task (`unknown` when not recorded).
    pub task: String,
    /// The runtime the comparisons ran on.
    pub backend: String,
    /// Distinct models (lineage roots) behind the row.
    pub models: usize,
    /// Comparisons behind the row.
    pub comparisons: usize,
    /// Variant p50 / parent p50 from each interleaved comparison (1 + the shift): below 1
    /// is faster.
    pub latency_ratio: Spread,
    /// Comparisons whose interval says faster / slower (the rest: no significant change).
    pub significantly_faster: usize,
    /// See `significantly_faster`.
    pub significantly_slower: usize,
    /// Variant size / parent size.
    pub size_ratio: Spread,
    /// The lowest output cosine of each accuracy check between parent and variant, when
    /// any was made.
    pub accuracy_cosine: Option<Spread>,
    /// Accuracy checks behind the row, and how many passed.
    pub accuracy_checks: usize,
    /// See `accuracy_checks`.
    pub accuracy_passed: usize,
}

/// Median and range of a figure over the models of a row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many values.
    pub n: usize,
}

impl Spread {
    fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Spread {
            median: mlgate_bench::stats::median_sorted(&v),
            min: v[0],
            max: v[v.len() - 1],
            n: v.len(),
        })
    }
}

/// The method the history favours for a task on a runtime.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    /// The task.
    pub task: String,
    /// The runtime.
    pub backend: String,
    /// The favoured method, or `None` when no method qualifies (then `reason` says why).
    pub method: Option<String>,
    /// Why, with the figures it rests on.
    pub reason: String,
}

/// Summarises the workspace's recorded comparisons.
///
/// # Errors
/// [`crate::Error::Registry`] when the workspace cannot be read.
pub fn insights(ws: &Workspace, request: &InsightsRequest) -> Result<InsightsReport> {
    let builds: HashMap<String, Build> = ws
        .builds(&BuildFilter::default())?
        .into_iter()
        .map(|s| (s.build.id.clone(), s.build))
        .collect();
    // The latest comparison per build pair and runtime (the list is oldest first).
    let mut latest: BTreeMap<(String, String, String), crate::workspace::StoredComparison> =
        BTreeMap::new();
    for c in ws.comparisons()? {
        let key = (
            c.comparison.baseline_build_id.clone(),
            c.comparison.candidate_build_id.clone(),
            c.comparison.backend.clone(),
        );
        latest.insert(key, c);
    }
    let candidates: Vec<String> = latest.keys().map(|(_, c, _)| c.clone()).collect();
    let checks = ws.accuracy_checks(&candidates)?;

    #[derive(Default)]
    struct Acc {
        roots: Vec<String>,
        latency: Vec<f64>,
        faster: usize,
        slower: usize,
        size: Vec<f64>,
        cosine: Vec<f64>,
        checks: usize,
        passed: usize,
    }
    let mut groups: BTreeMap<(String, String, String), Acc> = BTreeMap::new();
    let mut tasks: HashMap<String, String> = HashMap::new();
    let mut used = 0;
    for ((parent_id, child_id, backend), c) in &latest {
        let (Some(parent), Some(child)) = (builds.get(parent_id), builds.get(child_id)) else {
            continue;
        };
        let Some(delta) = c.comparison.relative_delta else {
            continue;
        };
        let task = match &parent.task {
            Some(t) => t.clone(),
            None => tasks
                .entry(parent.id.clone())
                .or_insert_with(|| detected_task(ws, parent))
                .clone(),
        };
        if request.task.as_ref().is_some_and(|t| t != &task)
            || request.backend.as_ref().is_some_and(|b| b != backend)
        {
            continue;
        }
        used += 1;
        let acc = groups
            .entry((method_family(&child.method_label()), task, backend.clone()))
            .or_default();
        if !acc.roots.contains(&parent.root_id) {
            acc.roots.push(parent.root_id.clone());
        }
        acc.latency.push(1.0 + delta);
        if c.comparison.significant {
            if delta < 0.0 {
                acc.faster += 1;
            } else {
                acc.slower += 1;
            }
        }
        if parent.size_bytes > 0 {
            acc.size
                .push(child.size_bytes as f64 / parent.size_bytes as f64);
        }
        if let Some(check) = checks.iter().rev().find(|k| {
            k.check.baseline_build_id == *parent_id && k.check.candidate_build_id == *child_id
        }) {
            acc.checks += 1;
            if check.check.passed {
                acc.passed += 1;
            }
            if let Some(cos) = lowest_cosine(&check.check.metrics) {
                acc.cosine.push(cos);
            }
        }
    }
    let mut rows: Vec<InsightRow> = groups
        .into_iter()
        .filter_map(|((method, task, backend), a)| {
            Some(InsightRow {
                method,
                task,
                backend,
                models: a.roots.len(),
                comparisons: a.latency.len(),
                latency_ratio: Spread::of(&a.latency)?,
                significantly_faster: a.faster,
                significantly_slower: a.slower,
                size_ratio: Spread::of(&a.size)?,
                accuracy_cosine: Spread::of(&a.cosine),
                accuracy_checks: a.checks,
                accuracy_passed: a.passed,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.task.as_str(), a.backend.as_str())
            .cmp(&(b.task.as_str(), b.backend.as_str()))
            .then(a.latency_ratio.median.total_cmp(&b.latency_ratio.median))
    });
    let recommendations = recommend(&rows);
    Ok(InsightsReport {
        rows,
        recommendations,
        comparisons_used: used,
        method: format!(
            "latency ratio = variant p50 / parent p50 from explore's interleaved comparisons \
             (the latest per pair and runtime); size ratio from the stored builds; accuracy \
             from the latest accuracy check between the two. A recommendation takes the \
             methods whose every accuracy check passed (at least one) and that were never measured \
             significantly slower, and ranks them by \
             {LATENCY_WEIGHT} × median speed-up + {} × median size reduction, as explore \
             scores a variant.",
            1.0 - LATENCY_WEIGHT
        ),
    })
}

/// The task of a build imported without one, detected from its artifact as `benchmark`
/// would; `unknown` when the artifact cannot be read.
fn detected_task(ws: &Workspace, build: &Build) -> String {
    let Ok(path) = ws.model_path(build) else {
        return "unknown".into();
    };
    match crate::inspect(&path) {
        Ok(info) => crate::detect_task(&info, &path, None).task.to_string(),
        Err(_) => "unknown".into(),
    }
}

/// The method label without calibration-data hashes (hex runs of 8 or more), so one
/// technique on different models groups together.
fn method_family(label: &str) -> String {
    let Some((head, rest)) = label.split_once('(') else {
        return label.to_string();
    };
    let inner = rest.trim_end_matches(')');
    let kept: Vec<&str> = inner
        .split(',')
        .filter(|part| !(part.len() >= 8 && part.chars().all(|c| c.is_ascii_hexdigit())))
        .collect();
    if kept.is_empty() {
        head.to_string()
    } else {
        format!("{head}({})", kept.join(","))
    }
}

/// The lowest per-output mean cosine of a stored accuracy check (`[{cosine_mean, ..}]`).
fn lowest_cosine(metrics: &serde_json::Value) -> Option<f64> {
    metrics
        .as_array()?
        .iter()
        .filter_map(|o| o["cosine_mean"].as_f64())
        .reduce(f64::min)
}

fn recommend(rows: &[InsightRow]) -> Vec<Recommendation> {
    let mut by_context: BTreeMap<(&str, &str), Vec<&InsightRow>> = BTreeMap::new();
    for r in rows {
        by_context
            .entry((r.task.as_str(), r.backend.as_str()))
            .or_default()
            .push(r);
    }
    by_context
        .into_iter()
        .map(|((task, backend), rows)| {
            let score = |r: &InsightRow| {
                LATENCY_WEIGHT / r.latency_ratio.median
                    + (1.0 - LATENCY_WEIGHT) / r.size_ratio.median
            };
            // As in explore, a method measured slower is never recommended.
            let qualified: Vec<&&InsightRow> = rows
                .iter()
                .filter(|r| r.accuracy_checks > 0 && r.accuracy_passed == r.accuracy_checks)
                .filter(|r| r.significantly_slower == 0)
                .collect();
            let best = qualified
                .iter()
                .max_by(|a, b| score(a).total_cmp(&score(b)));
            match best {
                Some(r) => Recommendation {
                    task: task.into(),
                    backend: backend.into(),
                    method: Some(r.method.clone()),
                    reason: format!(
                        "on {} model(s): latency ×{:.2} median [{:.2}, {:.2}], size ×{:.2} \
                         median, accuracy passed {}/{}; score {:.2}",
                        r.models,
                        r.latency_ratio.median,
                        r.latency_ratio.min,
                        r.latency_ratio.max,
                        r.size_ratio.median,
                        r.accuracy_passed,
                        r.accuracy_checks,
                        score(r)
                    ),
                },
                None => Recommendation {
                    task: task.into(),
                    backend: backend.into(),
                    method: None,
                    reason: "no method both passed every accuracy check made on it and was \
                             never measured slower than its parent; `mlgate explore \
                             --check-accuracy` records the checks"
                        .into(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_hashes_leave_the_method_family() {
        assert_eq!(method_family("int8(static,pc,0123abcd)"), "int8(static,pc)");
        assert_eq!(method_family("palettize(4,g32)"), "palettize(4,g32)");
        assert_eq!(method_family("fp16"), "fp16");
        assert_eq!(method_family("x(deadbeef99)"), "x");
    }

    #[test]
    fn spread_is_median_and_range() {
        let s = Spread::of(&[1.2, 0.5, 0.9, f64::NAN]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (0.9, 0.5, 1.2, 3));
        assert_eq!(Spread::of(&[2.0, 1.0]).unwrap().median, 1.5);
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn the_lowest_output_cosine_counts() {
        let m = serde_json::json!([{"cosine_mean": 0.99}, {"cosine_mean": 0.97}]);
        assert_eq!(lowest_cosine(&m), Some(0.97));
        assert_eq!(lowest_cosine(&serde_json::json!({})), None);
    }
}
