//! Checks and verdicts: each rule judged on its evidence, and the gate's decision over them.
//!
//! How each kind of evidence is judged:
//! - **latency** (relative): the A/B engine's double gate — a regression only when the shift
//!   is significant and its interval lies above the threshold; an interval straddling the
//!   threshold is *inconclusive*;
//! - **size** (relative and absolute): exact bytes, no interval needed;
//! - **memory** (relative and absolute): one reading of each model's peak, page-exact but
//!   not repeated, so it is compared as measured and labelled so;
//! - **latency budgets** (absolute): the percentile's distribution-free interval against the
//!   limit — *over* when the whole interval is above it, *within* when the whole interval is
//!   at or below it, *marginal* otherwise. Never a coin flip on a point estimate.

use std::fmt;

use mlgate_bench::{Metric, PercentileEstimate, PhaseMemory};
use mlgate_registry::{Constraint, Limit, LimitSource, Sourced};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::report::LatencyEvidence;
use crate::thresholds::Thresholds;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// The evidence cannot decide (an interval straddling a relative threshold).
    Inconclusive,
    /// An absolute budget whose interval straddles the limit.
    Marginal,
    /// Not evaluated, with the reason in the message (e.g. CoreML latency off macOS).
    Skipped,
    /// Reported, not gated (no limit set).
    Info,
}

impl CheckStatus {
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Inconclusive => "inconclusive",
            CheckStatus::Marginal => "marginal",
            CheckStatus::Skipped => "skipped",
            CheckStatus::Info => "info",
        }
    }

    /// Undecided evidence: passes with a warning, or fails under `--fail-on-inconclusive`.
    pub fn is_undecided(self) -> bool {
        matches!(self, CheckStatus::Inconclusive | CheckStatus::Marginal)
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Relative to a baseline, or an absolute budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Regression,
    Budget,
    Accuracy,
}

/// A measured value with its interval where it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measured {
    pub value: f64,
    /// Interval bounds at `confidence`; absent for exact or single readings.
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub confidence: Option<f64>,
    /// Samples behind the value, where it is a statistic.
    pub n: Option<u64>,
}

impl Measured {
    pub fn exact(value: f64) -> Measured {
        Measured {
            value,
            low: None,
            high: None,
            confidence: None,
            n: None,
        }
    }

    fn text(&self, unit: &str, digits: usize) -> String {
        // A relative shift carries its sign; an absolute value does not need one.
        let v = |x: f64| {
            if unit == "%" {
                format!("{x:+.digits$}{unit}")
            } else {
                format!("{x:.digits$}{unit}")
            }
        };
        match (self.low, self.high) {
            (Some(l), Some(h)) => format!(
                "{} ({:.0}% CI [{}, {}])",
                v(self.value),
                self.confidence.unwrap_or(0.95) * 100.0,
                v(l),
                v(h)
            ),
            _ => v(self.value),
        }
    }
}

/// One rule judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    /// What is measured: `latency.p50`, `size`, `memory.peak`, `budget.max_latency_ms`, ...
    pub metric: String,
    pub kind: CheckKind,
    /// The rule in words, e.g. `shift ≤ +10%` or `p50 ≤ 8 ms`.
    pub rule: String,
    /// The candidate's value (relative checks: the shift in percent), with its interval.
    pub actual: Option<Measured>,
    /// The baseline's value, for relative checks.
    pub baseline: Option<f64>,
    pub limit: Option<f64>,
    /// Unit of `actual`, `baseline` and `limit`: `%`, `ms`, `MB`, `bytes`.
    pub unit: String,
    pub source: Option<LimitSource>,
    pub status: CheckStatus,
    /// One sentence with the numbers, and for undecided or skipped checks what would settle
    /// it.
    pub message: String,
}

/// The gate's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    Pass,
    Fail,
    /// Nothing to gate against (no baseline): passes unless the user asked otherwise.
    Skip,
    /// The gate could not run (bad input, missing runtime, damaged artifact).
    Error,
}

impl VerdictStatus {
    pub fn name(self) -> &'static str {
        match self {
            VerdictStatus::Pass => "pass",
            VerdictStatus::Fail => "fail",
            VerdictStatus::Skip => "skip",
            VerdictStatus::Error => "error",
        }
    }
}

impl fmt::Display for VerdictStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The decision, why, and every check behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    pub status: VerdictStatus,
    pub reason: String,
    pub checks: Vec<Check>,
    /// True when some check could not decide; whether that failed the gate is
    /// `fail_on_inconclusive`.
    pub inconclusive: bool,
    pub fail_on_inconclusive: bool,
    pub warnings: Vec<String>,
}

impl Verdict {
    /// Decides over `checks`: any failure fails; undecided checks fail only under
    /// `fail_on_inconclusive`, else pass with a warning each.
    pub fn decide(
        checks: Vec<Check>,
        fail_on_inconclusive: bool,
        mut warnings: Vec<String>,
    ) -> Verdict {
        let failed: Vec<&Check> = checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .collect();
        let undecided: Vec<&Check> = checks.iter().filter(|c| c.status.is_undecided()).collect();
        let inconclusive = !undecided.is_empty();
        for c in &undecided {
            warnings.push(format!("{} is {}: {}", c.metric, c.status, c.message));
        }
        let (status, reason) = if !failed.is_empty() {
            (
                VerdictStatus::Fail,
                failed
                    .iter()
                    .map(|c| c.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        } else if inconclusive && fail_on_inconclusive {
            (
                VerdictStatus::Fail,
                format!(
                    "{} could not be decided and --fail-on-inconclusive is set",
                    undecided
                        .iter()
                        .map(|c| c.metric.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        } else if inconclusive {
            (
                VerdictStatus::Pass,
                format!(
                    "no check failed; {} could not be decided (passing with a warning; \
                     --fail-on-inconclusive makes this a failure)",
                    undecided
                        .iter()
                        .map(|c| c.metric.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        } else {
            let gated = checks
                .iter()
                .filter(|c| c.status == CheckStatus::Pass)
                .count();
            (
                VerdictStatus::Pass,
                format!("all {gated} gated checks passed"),
            )
        };
        Verdict {
            status,
            reason,
            checks,
            inconclusive,
            fail_on_inconclusive,
            warnings,
        }
    }

    /// Nothing to gate against.
    pub fn skipped(reason: impl Into<String>) -> Verdict {
        Verdict {
            status: VerdictStatus::Skip,
            reason: reason.into(),
            checks: Vec::new(),
            inconclusive: false,
            fail_on_inconclusive: false,
            warnings: Vec::new(),
        }
    }

    /// The gate could not run; `message` is the error as the user sees it.
    pub fn error(message: impl Into<String>) -> Verdict {
        Verdict {
            status: VerdictStatus::Error,
            reason: message.into(),
            checks: Vec::new(),
            inconclusive: false,
            fail_on_inconclusive: false,
            warnings: Vec::new(),
        }
    }

    /// Whether the pipeline should stop: a failure or an error. (The CLI maps a failure to
    /// exit 1 and an error to exit 2.)
    pub fn blocks(&self) -> bool {
        matches!(self.status, VerdictStatus::Fail | VerdictStatus::Error)
    }

    /// Whether `check` is one this verdict failed on.
    pub fn failed_on(&self, check: &Check) -> bool {
        check.status == CheckStatus::Fail
            || (self.fail_on_inconclusive && check.status.is_undecided())
    }
}

fn pct(fraction: f64) -> f64 {
    fraction * 100.0
}

/// The latency check from the A/B engine's evidence (run with the thresholds' metric and
/// threshold).
pub fn latency_check(evidence: &LatencyEvidence, thresholds: &Thresholds) -> Check {
    use mlgate_bench::Verdict as Ab;
    let t = &thresholds.latency_regression_pct;
    let label = match evidence.llm_metric {
        Some(m) => format!("{m} {}", evidence.metric),
        None => evidence.metric.to_string(),
    };
    let status = match evidence.engine_verdict {
        Ab::Regression => CheckStatus::Fail,
        Ab::Improvement | Ab::NoChange => CheckStatus::Pass,
        Ab::Inconclusive => CheckStatus::Inconclusive,
    };
    let mut message = evidence.reason.clone();
    if status == CheckStatus::Inconclusive {
        message.push_str(&settle_hint(evidence));
    }
    Check {
        metric: match evidence.llm_metric {
            Some(m) => format!("{m}.{}", evidence.metric),
            None => format!("latency.{}", evidence.metric),
        },
        kind: CheckKind::Regression,
        rule: if t.value == 0.0 {
            format!("{label} not significantly slower (strict)")
        } else {
            format!("{label} shift ≤ +{}%", t.value)
        },
        actual: evidence.shift_pct.clone(),
        baseline: evidence.baseline_ms.as_ref().map(|m| m.value),
        limit: Some(t.value),
        unit: "%".into(),
        source: Some(t.source.clone()),
        status,
        message,
    }
}

/// What would settle an inconclusive comparison, in words.
fn settle_hint(e: &LatencyEvidence) -> String {
    let mut hints = Vec::new();
    if e.cached.is_some() {
        hints.push("measuring both now (drop --use-cached)".to_string());
    } else {
        hints.push(format!(
            "more time (--max-time; this run measured {} block pairs in {:.1} s)",
            e.pairs, e.elapsed_s
        ));
    }
    if e.metric != Metric::P50 {
        hints.push("the p50, which needs far fewer runs than a tail percentile".into());
    }
    hints.push("a quieter runner".into());
    format!("; to settle it: {}", hints.join(", or "))
}

/// A latency check that could not run, and why.
pub fn latency_skipped(
    metric: Metric,
    thresholds: &Thresholds,
    reason: impl Into<String>,
) -> Check {
    Check {
        metric: format!("latency.{metric}"),
        kind: CheckKind::Regression,
        rule: format!(
            "{metric} shift ≤ +{}%",
            thresholds.latency_regression_pct.value
        ),
        actual: None,
        baseline: None,
        limit: Some(thresholds.latency_regression_pct.value),
        unit: "%".into(),
        source: Some(thresholds.latency_regression_pct.source.clone()),
        status: CheckStatus::Skipped,
        message: reason.into(),
    }
}

/// File size, candidate against baseline: exact bytes.
pub fn size_check(baseline_bytes: u64, candidate_bytes: u64, thresholds: &Thresholds) -> Check {
    let t = &thresholds.size_regression_pct;
    let shift = if baseline_bytes == 0 {
        if candidate_bytes == 0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        pct(candidate_bytes as f64 / baseline_bytes as f64 - 1.0)
    };
    // Compared as growth·100 > limit·baseline, so an exact 5% is within a 5% limit (the
    // ratio would round above it).
    let growth = candidate_bytes as f64 - baseline_bytes as f64;
    let over = growth * 100.0 > t.value * baseline_bytes as f64;
    let status = if over {
        CheckStatus::Fail
    } else {
        CheckStatus::Pass
    };
    let message = format!(
        "size {} → {} bytes ({:+.2}%){}",
        baseline_bytes,
        candidate_bytes,
        shift,
        against_relative_limit(status, t)
    );
    Check {
        metric: "size".into(),
        kind: CheckKind::Regression,
        rule: format!("size shift ≤ +{}%", t.value),
        actual: Some(Measured::exact(shift)),
        baseline: Some(baseline_bytes as f64),
        limit: Some(t.value),
        unit: "%".into(),
        source: Some(t.source.clone()),
        status,
        message,
    }
}

/// Default limits of an accuracy check asked for without one (`--check-accuracy` alone).
pub const DEFAULT_COSINE_MIN: f64 = 0.99;
pub const DEFAULT_TOP1_MIN: f64 = 0.99;

/// One output's agreement with the baseline over the accuracy samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutputAgreement {
    pub output: String,
    /// Mean over samples of the per-sample cosine similarity, and its lowest.
    pub cosine_mean: f64,
    pub cosine_min: f64,
    /// Arg-max agreement (classifier-like outputs): agreeing rows, rows, and the Wilson 95%
    /// interval of the rate.
    pub top1: Option<(u64, u64, f64, f64)>,
}

/// Accuracy of the candidate against the baseline, as the gate judges it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccuracyEvidence {
    pub samples: u64,
    /// Runtime both ran on.
    pub backend: String,
    pub outputs: Vec<OutputAgreement>,
}

/// One check per output and measure: the mean cosine against `cosine_min`, and top-1
/// agreement (with its interval) against `top1_min`, each limit with its source (0.99 by
/// default when accuracy is checked without one).
pub fn accuracy_checks(evidence: &AccuracyEvidence, thresholds: &Thresholds) -> Vec<Check> {
    let default = |v: f64| Sourced {
        value: v,
        source: LimitSource::Default,
    };
    let cosine = thresholds
        .cosine_min
        .clone()
        .unwrap_or_else(|| default(DEFAULT_COSINE_MIN));
    let top1 = thresholds
        .top1_min
        .clone()
        .unwrap_or_else(|| default(DEFAULT_TOP1_MIN));
    let mut checks = Vec::new();
    for o in &evidence.outputs {
        let status = if o.cosine_mean >= cosine.value {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        };
        checks.push(Check {
            metric: format!("accuracy.cosine[{}]", o.output),
            kind: CheckKind::Accuracy,
            rule: format!("mean cosine ≥ {}", cosine.value),
            actual: Some(Measured {
                value: o.cosine_mean,
                low: Some(o.cosine_min),
                high: None,
                confidence: None,
                n: Some(evidence.samples),
            }),
            baseline: None,
            limit: Some(cosine.value),
            unit: String::new(),
            source: Some(cosine.source.clone()),
            status,
            message: format!(
                "output {}: mean cosine {:.5} (lowest {:.5}) over {} samples on {}, {} {} ({})",
                o.output,
                o.cosine_mean,
                o.cosine_min,
                evidence.samples,
                evidence.backend,
                if status == CheckStatus::Fail {
                    "below"
                } else {
                    "at or above"
                },
                cosine.value,
                cosine.source
            ),
        });
        if let Some((agree, rows, low, high)) = o.top1 {
            let rate = if rows == 0 {
                1.0
            } else {
                agree as f64 / rows as f64
            };
            let status = if rate >= top1.value {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            };
            checks.push(Check {
                metric: format!("accuracy.top1[{}]", o.output),
                kind: CheckKind::Accuracy,
                rule: format!("top-1 agreement ≥ {}", top1.value),
                actual: Some(Measured {
                    value: rate,
                    low: Some(low),
                    high: Some(high),
                    confidence: Some(0.95),
                    n: Some(rows),
                }),
                baseline: None,
                limit: Some(top1.value),
                unit: String::new(),
                source: Some(top1.source.clone()),
                status,
                message: format!(
                    "output {}: top-1 agreement {agree}/{rows} = {rate:.3} (Wilson 95% [{low:.3}, \
                     {high:.3}]), {} {} ({})",
                    o.output,
                    if status == CheckStatus::Fail {
                        "below"
                    } else {
                        "at or above"
                    },
                    top1.value,
                    top1.source
                ),
            });
        }
    }
    checks
}

/// Peak memory each model added (see `mlgate_bench::compare::compare_models` for how the
/// sides are kept apart). Gated only when a memory threshold is in force.
pub fn memory_check(
    baseline: Option<&PhaseMemory>,
    candidate: Option<&PhaseMemory>,
    thresholds: &Thresholds,
) -> Check {
    let limit = thresholds.memory_regression_pct.as_ref();
    let rule = match limit {
        Some(t) => format!("peak memory shift ≤ +{}%", t.value),
        None => "peak memory (reported, not gated; set --memory-threshold to gate it)".into(),
    };
    let (Some(a), Some(b)) = (baseline, candidate) else {
        return Check {
            metric: "memory.peak".into(),
            kind: CheckKind::Regression,
            rule,
            actual: None,
            baseline: None,
            limit: limit.map(|t| t.value),
            unit: "%".into(),
            source: limit.map(|t| t.source.clone()),
            status: if limit.is_some() {
                CheckStatus::Skipped
            } else {
                CheckStatus::Info
            },
            message: "no memory reading on this system (peak RSS is read from /proc on Linux)"
                .into(),
        };
    };
    let (base, cand) = (a.peak_delta_bytes as f64, b.peak_delta_bytes as f64);
    let shift = if base > 0.0 {
        pct(cand / base - 1.0)
    } else {
        0.0
    };
    let mb = |v: f64| v / 1e6;
    let status = match limit {
        None => CheckStatus::Info,
        Some(t) if shift > t.value => CheckStatus::Fail,
        Some(_) => CheckStatus::Pass,
    };
    let message = format!(
        "peak memory added {:.1} → {:.1} MB ({shift:+.2}%; one reading per model){}",
        mb(base),
        mb(cand),
        limit
            .map(|t| against_relative_limit(status, t))
            .unwrap_or_default()
    );
    Check {
        metric: "memory.peak".into(),
        kind: CheckKind::Regression,
        rule,
        actual: Some(Measured::exact(shift)),
        baseline: Some(mb(base)),
        limit: limit.map(|t| t.value),
        unit: "%".into(),
        source: limit.map(|t| t.source.clone()),
        status,
        message,
    }
}

/// What a candidate measured, for the absolute budgets.
#[derive(Debug, Clone, Default)]
pub struct BudgetEvidence<'a> {
    pub size_bytes: u64,
    pub p50: Option<&'a PercentileEstimate>,
    pub p95: Option<&'a PercentileEstimate>,
    /// Peak memory the model added, bytes.
    pub peak_memory_bytes: Option<u64>,
    /// Why latency was not measured, when it was not.
    pub latency_skipped: Option<String>,
    /// For decoders: the per-request number the percentiles are of (TPOT, TTFT…); `None`:
    /// inference latency.
    pub llm_metric: Option<mlgate_bench::llm::LlmMetric>,
}

/// Every budget in force, judged on the candidate's evidence.
pub fn budget_checks(thresholds: &Thresholds, evidence: &BudgetEvidence<'_>) -> Vec<Check> {
    thresholds
        .budgets
        .iter()
        .map(|limit| budget_check(limit, evidence))
        .collect()
}

fn budget_check(limit: &Limit, e: &BudgetEvidence<'_>) -> Check {
    let c = limit.constraint;
    let mut check = Check {
        metric: format!("budget.{}", c.key()),
        kind: CheckKind::Budget,
        rule: format!("{} ≤ {} {}", c.description(), limit.value, c.unit()),
        actual: None,
        baseline: None,
        limit: Some(limit.value),
        unit: c.unit().into(),
        source: Some(limit.source.clone()),
        status: CheckStatus::Skipped,
        message: String::new(),
    };
    let from = format!("limit {} {} from {}", limit.value, c.unit(), limit.source);
    match c {
        Constraint::MaxSizeMb => {
            judge_exact(&mut check, e.size_bytes as f64 / 1e6, limit.value);
            check.message = format!(
                "size {:.3} MB is {} the {from}",
                e.size_bytes as f64 / 1e6,
                over_or_within(check.status)
            );
        }
        Constraint::MaxMemoryMb => match e.peak_memory_bytes {
            None => check.message = "no memory reading on this system".into(),
            Some(b) => {
                judge_exact(&mut check, b as f64 / 1e6, limit.value);
                check.message = format!(
                    "peak memory added {:.1} MB (one reading) is {} the {from}",
                    b as f64 / 1e6,
                    over_or_within(check.status)
                );
            }
        },
        Constraint::MaxLatencyMs | Constraint::MaxP95Ms => {
            let (stat, estimate) = if c == Constraint::MaxLatencyMs {
                ("p50", e.p50)
            } else {
                ("p95", e.p95)
            };
            let name = match e.llm_metric {
                Some(m) => format!("{m} {stat}"),
                None => stat.to_string(),
            };
            if let Some(reason) = &e.latency_skipped {
                check.message = reason.clone();
                return check;
            }
            let Some(est) = estimate else {
                check.message = format!("no {name} was measured");
                return check;
            };
            let (Some(v), Some(lo), Some(hi)) = (est.value_ms, est.ci_low_ms, est.ci_high_ms)
            else {
                check.status = CheckStatus::Inconclusive;
                check.message = format!(
                    "{name} needs {} samples to be bounded; run longer (--max-time) to judge the {from}",
                    est.min_samples
                );
                return check;
            };
            let measured = Measured {
                value: v,
                low: Some(lo),
                high: Some(hi),
                confidence: None,
                n: None,
            };
            let (status, word) = if lo > limit.value {
                (CheckStatus::Fail, "over")
            } else if hi <= limit.value {
                (CheckStatus::Pass, "within")
            } else {
                (CheckStatus::Marginal, "marginal against")
            };
            check.status = status;
            check.message = format!(
                "{name} {} ms [{lo:.3}, {hi:.3}] is {word} the {from}{}",
                format_args!("{v:.3}"),
                if status == CheckStatus::Marginal {
                    "; the interval straddles the limit: more runs (--max-time) narrow it"
                } else {
                    ""
                }
            );
            check.actual = Some(measured);
        }
    }
    check
}

/// `, above the +5% limit (default)` or `, within …`: how a relative check ended, in words.
fn against_relative_limit(status: CheckStatus, limit: &Sourced<f64>) -> String {
    format!(
        ", {} the +{}% limit ({})",
        if status == CheckStatus::Fail {
            "above"
        } else {
            "within"
        },
        limit.value,
        limit.source
    )
}

/// An exact value (bytes, one reading) against a limit: over or within, nothing between.
fn judge_exact(check: &mut Check, value: f64, limit: f64) {
    check.actual = Some(Measured::exact(value));
    check.status = if value > limit {
        CheckStatus::Fail
    } else {
        CheckStatus::Pass
    };
}

fn over_or_within(status: CheckStatus) -> &'static str {
    if status == CheckStatus::Fail {
        "over"
    } else {
        "within"
    }
}

impl Check {
    /// `actual` in words with its unit and interval.
    pub fn actual_text(&self) -> String {
        match &self.actual {
            None => "—".into(),
            Some(m) if self.unit == "%" => m.text("%", 2),
            Some(m) if self.unit == "ms" => m.text(" ms", 3),
            Some(m) if self.unit.is_empty() => m.text("", 3),
            Some(m) => m.text(&format!(" {}", self.unit), 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(v: f64, lo: f64, hi: f64) -> PercentileEstimate {
        PercentileEstimate {
            percentile: 50.0,
            value_ms: Some(v),
            ci_low_ms: Some(lo),
            ci_high_ms: Some(hi),
            min_samples: 10,
            sufficient: true,
        }
    }

    fn with_budget(c: Constraint, value: f64) -> Thresholds {
        let mut t = Thresholds::defaults();
        t.budgets.push(Limit {
            constraint: c,
            value,
            source: LimitSource::Flag,
        });
        t
    }

    #[test]
    fn latency_budget_is_judged_by_its_interval() {
        let t = with_budget(Constraint::MaxLatencyMs, 10.0);
        let judge = |e: PercentileEstimate| {
            budget_checks(
                &t,
                &BudgetEvidence {
                    p50: Some(&e),
                    ..BudgetEvidence::default()
                },
            )[0]
            .clone()
        };
        assert_eq!(judge(est(11.0, 10.5, 11.5)).status, CheckStatus::Fail);
        assert_eq!(judge(est(9.0, 8.5, 10.0)).status, CheckStatus::Pass);
        // Point estimate above the limit, interval straddling: never a coin flip.
        let m = judge(est(10.2, 9.8, 10.6));
        assert_eq!(m.status, CheckStatus::Marginal);
        assert!(
            m.message.contains("straddles") && m.message.contains("flag"),
            "{}",
            m.message
        );
        let mut few = est(9.0, 8.0, 10.0);
        few.value_ms = None;
        few.ci_low_ms = None;
        assert_eq!(judge(few).status, CheckStatus::Inconclusive);
    }

    #[test]
    fn size_and_memory_budgets_are_exact() {
        let t = with_budget(Constraint::MaxSizeMb, 1.0);
        let over = budget_checks(
            &t,
            &BudgetEvidence {
                size_bytes: 1_000_001,
                ..BudgetEvidence::default()
            },
        );
        assert_eq!(over[0].status, CheckStatus::Fail);
        assert!(over[0].message.contains("from flag"), "{}", over[0].message);
        let t = with_budget(Constraint::MaxMemoryMb, 50.0);
        let none = budget_checks(&t, &BudgetEvidence::default());
        assert_eq!(none[0].status, CheckStatus::Skipped);
    }

    #[test]
    fn size_regression_uses_exact_bytes() {
        let t = Thresholds::defaults();
        assert_eq!(size_check(1000, 1050, &t).status, CheckStatus::Pass);
        let c = size_check(1000, 1051, &t);
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(
            c.message.contains("+5.10%") && c.message.contains("default"),
            "{}",
            c.message
        );
    }

    fn check(status: CheckStatus) -> Check {
        Check {
            metric: "m".into(),
            kind: CheckKind::Regression,
            rule: String::new(),
            actual: None,
            baseline: None,
            limit: None,
            unit: "%".into(),
            source: None,
            status,
            message: "msg".into(),
        }
    }

    #[test]
    fn verdict_fails_on_failure_and_on_undecided_only_when_asked() {
        let v = Verdict::decide(
            vec![check(CheckStatus::Pass), check(CheckStatus::Fail)],
            false,
            vec![],
        );
        assert_eq!(v.status, VerdictStatus::Fail);
        assert!(v.blocks());
        let v = Verdict::decide(
            vec![check(CheckStatus::Pass), check(CheckStatus::Inconclusive)],
            false,
            vec![],
        );
        assert_eq!(v.status, VerdictStatus::Pass);
        assert!(v.inconclusive && !v.blocks());
        assert!(
            v.warnings.iter().any(|w| w.contains("inconclusive")),
            "{:?}",
            v.warnings
        );
        let v = Verdict::decide(vec![check(CheckStatus::Marginal)], true, vec![]);
        assert_eq!(v.status, VerdictStatus::Fail);
        assert!(v.reason.contains("--fail-on-inconclusive"));
        assert!(v.failed_on(&v.checks[0]));
        assert!(!Verdict::skipped("no baseline").blocks());
        assert!(Verdict::error("boom").blocks());
    }

    #[test]
    fn accuracy_checks_use_defaults_or_the_given_limits_and_keep_the_interval() {
        let evidence = AccuracyEvidence {
            samples: 10,
            backend: "tract".into(),
            outputs: vec![OutputAgreement {
                output: "logits".into(),
                cosine_mean: 0.995,
                cosine_min: 0.98,
                top1: Some((9, 10, 0.596, 0.982)),
            }],
        };
        let checks = accuracy_checks(&evidence, &Thresholds::defaults());
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].status, CheckStatus::Pass);
        assert_eq!(checks[0].source, Some(LimitSource::Default));
        // 9/10 is below the default 0.99, with its Wilson interval kept.
        assert_eq!(checks[1].status, CheckStatus::Fail);
        let top1 = checks[1].actual.as_ref().unwrap();
        assert_eq!(
            (top1.low, top1.high, top1.n),
            (Some(0.596), Some(0.982), Some(10))
        );
        let mut t = Thresholds::defaults();
        t.cosine_min = Some(Sourced {
            value: 0.999,
            source: LimitSource::Flag,
        });
        t.top1_min = Some(Sourced {
            value: 0.9,
            source: LimitSource::Flag,
        });
        let checks = accuracy_checks(&evidence, &t);
        assert_eq!(checks[0].status, CheckStatus::Fail);
        assert_eq!(checks[1].status, CheckStatus::Pass);
        assert!(
            checks[0].message.contains("below 0.999 (flag)"),
            "{}",
            checks[0].message
        );
    }
}
