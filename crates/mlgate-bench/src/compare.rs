//! The A/B engine: is the candidate slower than the baseline, on this machine, now?
//!
//! Both models are loaded in this process and measured in randomized, interleaved blocks:
//! each round runs one block of the baseline and one of the candidate, in an order drawn by
//! a coin (AB or BA), so drift, frequency changes and background load hit both sides alike.
//! A pair of adjacent blocks is the unit of evidence; runs inside a block are not assumed
//! independent.
//!
//! The verdict is a double gate on the relative shift of the chosen metric:
//! - **regression** only if the shift is significant (p < α, default 0.01) **and** its 95%
//!   interval lies entirely above `+threshold`; **improvement** is the mirror image;
//! - **no change** when the interval lies inside ±threshold;
//! - otherwise **inconclusive**, which first extends the runs up to the time budget.
//!
//! How the shift and its interval are estimated:
//! - p50: each pair gives `ln(median of candidate block / median of baseline block)`. The
//!   Wilcoxon signed-rank test on these gives p; the one-sample Hodges-Lehmann estimate
//!   and its distribution-free interval (the test inverted) give the shift, `exp(·) − 1`.
//! - p90, p95, p99, mean: "relative shift of p95" means `p95(candidate)/p95(baseline) − 1`
//!   over all samples of each side. Its interval comes from a paired block bootstrap
//!   (pairs resampled whole, both sides pooled, percentile ratio taken), and p from the same
//!   bootstrap distribution. A tail percentile is only gated once each side has the samples
//!   to bound it (132 for p95, 662 for p99); before that the verdict is inconclusive.
//!
//! Looks at the data are few and spaced geometrically (at the minimum time, then ×1.5 up to
//! the budget). Every look is a chance to stop on a fluke, so α is spent across them: each
//! look tests at `α / K`, where K is the number of looks the schedule can take (a Bonferroni
//! split; conservative, and the whole comparison's false-alarm rate stays ≤ α).
//!
//! Every comparison draws a fresh seed (recorded in the result; `seed` replays a run's
//! schedule and bootstrap exactly), so no fixed first-position imbalance repeats from run to
//! run. The seed also decides which side is loaded, bound and warmed first.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mlgate_backends::{BackendKind, RuntimeCatalog, Session, SessionInfo, SessionOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

use crate::fingerprint::MeasurementEnvironment;
use crate::harness::InputSet;
use crate::hypothesis::{
    block_bootstrap_ratio, hodges_lehmann_one_sample, metric_of, wilcoxon_signed_rank,
};
use crate::memory::PhaseMemory;
use crate::stats::{self, min_samples_for, LatencySummary, Stability};
use crate::{BenchError, Metric, Progress, ProgressUpdate, Result};

/// Settings of a comparison. Times are seconds; `threshold` is a fraction (0.05 = 5%).
///
/// Defaults: p50, threshold 5%, α = 0.01, 95% interval; warmup 5 runs and 0.5 s per side;
/// blocks of about 50 ms (at least 3 runs); first look after 4 s and 10 block pairs, last at
/// 15 s. On the CNN fixture on a 2-core machine that is one comparison in at most 15 s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CompareConfig {
    pub metric: Metric,
    pub threshold: f64,
    pub alpha: f64,
    pub confidence: f64,
    pub warmup_runs: u64,
    pub warmup_min_time_s: f64,
    pub min_time_s: f64,
    pub max_time_s: f64,
    /// Target duration of one block; the run count per block follows from the warmup.
    pub block_time_s: f64,
    pub min_block_runs: usize,
    /// No verdict before this many block pairs.
    pub min_pairs: usize,
    pub bootstrap_resamples: usize,
    /// Seeds the load order, the AB/BA schedule and the bootstrap. `None`: a fresh seed per
    /// comparison (recorded in [`Comparison::seed`], so any run can be replayed).
    pub seed: Option<u64>,
    /// When the warm-up shows the budget cannot bound the metric (a slow model, a tail
    /// percentile), extend `max_time_s` to what can decide instead of ending inconclusive
    /// (`--max-time auto`).
    #[serde(default)]
    pub extend_to_decide: bool,
    /// Independently loaded sessions per side in `compare_models` (at least 1; default 2),
    /// so load-to-load differences enter the interval.
    #[serde(default = "default_sessions")]
    pub sessions_per_side: usize,
}

fn default_sessions() -> usize {
    2
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            metric: Metric::P50,
            threshold: 0.05,
            alpha: 0.01,
            confidence: 0.95,
            warmup_runs: 5,
            warmup_min_time_s: 0.5,
            min_time_s: 4.0,
            max_time_s: 15.0,
            block_time_s: 0.05,
            min_block_runs: 3,
            min_pairs: 10,
            bootstrap_resamples: 4000,
            seed: None,
            extend_to_decide: false,
            sessions_per_side: default_sessions(),
        }
    }
}

/// A seed nobody chose: the standard library's per-process random hash keys (from the OS)
/// mixed with the clock, so two comparisons in one process differ too.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

impl CompareConfig {
    /// The seed of this comparison: the configured one, else a fresh one.
    pub fn seed_or_fresh(&self) -> u64 {
        self.seed.unwrap_or_else(fresh_seed)
    }

    /// Looks the schedule can take: the first at `min_time_s`, then every ×1.5, and the
    /// last at `max_time_s`. The significance level of one look is `alpha / planned_looks`.
    pub fn planned_looks(&self) -> usize {
        let max = self.max_time_s.max(0.0);
        let mut t = self.min_time_s.min(max);
        let mut looks = 1;
        // At least one block pair separates looks; the cap guards absurd settings.
        while t < max && looks < 64 {
            t = if t <= 0.0 { max } else { (t * 1.5).min(max) };
            looks += 1;
        }
        looks
    }

    /// The significance level each look tests at (see [`CompareConfig::planned_looks`]).
    pub fn alpha_per_look(&self) -> f64 {
        self.alpha / self.planned_looks() as f64
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(BenchError::Config(m));
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return bad(format!(
                "threshold must be a percentage ≥ 0, not {}",
                self.threshold * 100.0
            ));
        }
        let unit = |v: f64| v > 0.0 && v < 1.0;
        if !unit(self.alpha) || !unit(self.confidence) {
            return bad("alpha and confidence must be between 0 and 1".into());
        }
        for (name, v) in [
            ("min time", self.min_time_s),
            ("max time", self.max_time_s),
            ("warmup time", self.warmup_min_time_s),
            ("block time", self.block_time_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be finite and not negative, not {v}"));
            }
        }
        if self.max_time_s <= 0.0 {
            return bad("max time must be positive".into());
        }
        if self.sessions_per_side == 0 || self.sessions_per_side > 8 {
            return bad(format!(
                "sessions per side must be 1 to 8, not {}",
                self.sessions_per_side
            ));
        }
        if self.min_pairs < 2 || self.min_block_runs == 0 {
            return bad("need at least 2 block pairs and 1 run per block".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    Improvement,
    NoChange,
    Inconclusive,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::NoChange => "no change",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Side {
    /// The gated metric over all of this side's timed samples, in ms (`None`: too few).
    pub metric_ms: Option<f64>,
    pub summary: LatencySummary,
    pub stability: Stability,
    pub warmup_samples_ns: Vec<u64>,
    /// Timed latencies in run order; block `k` is `samples_ns[k·block_runs..(k+1)·block_runs]`.
    pub samples_ns: Vec<u64>,
}

/// The verdict and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    pub verdict: Verdict,
    /// Why, in words, with the numbers.
    pub reason: String,
    pub metric: Metric,
    pub threshold: f64,
    pub alpha: f64,
    pub confidence: f64,
    /// Estimated relative shift of the metric, candidate vs baseline (0.05 = 5% slower).
    /// NaN (JSON `null`) when there was too little data to estimate it, as are the interval
    /// and the p-value.
    #[schemars(with = "Option<f64>")]
    pub relative_delta: f64,
    #[schemars(with = "Option<f64>")]
    pub ci_low: f64,
    #[schemars(with = "Option<f64>")]
    pub ci_high: f64,
    /// `metric(candidate)/metric(baseline) − 1` over all samples, for reference.
    pub observed_delta: Option<f64>,
    #[schemars(with = "Option<f64>")]
    pub p_value: f64,
    /// The level `p_value` was tested at: `alpha` split across the planned looks.
    pub alpha_per_look: f64,
    /// The seed of the load order, schedule and bootstrap; pass it back to replay the run.
    pub seed: u64,
    /// The test and interval method, in words.
    pub method: String,
    /// Independently loaded sessions of (baseline, candidate) the blocks rotated over.
    pub sessions_per_side: (usize, usize),
    /// Block pairs measured, runs per block, looks taken.
    pub pairs: usize,
    pub block_runs: usize,
    pub looks: usize,
    /// Schedule: `B` = baseline first in that round, `C` = candidate first.
    pub schedule: String,
    pub elapsed_s: f64,
    pub baseline: Side,
    pub candidate: Side,
    pub warnings: Vec<String>,
}

/// The statistical core, separated from the clock so it can be tested on made-up series.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub verdict: Verdict,
    pub reason: String,
    pub relative_delta: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    pub method: String,
    /// What the user should know about this analysis (e.g. correlated pairs).
    pub notes: Vec<String>,
}

fn pct(v: f64) -> String {
    format!("{:+.2}%", v * 100.0)
}

/// Judges block pairs (milliseconds; `baseline[k]` and `candidate[k]` adjacent in time),
/// each side measured on one loaded session.
pub fn analyze(
    baseline: &[Vec<f64>],
    candidate: &[Vec<f64>],
    config: &CompareConfig,
    seed: u64,
) -> Analysis {
    analyze_loads(baseline, candidate, (1, 1), config, seed)
}

/// The sessions round `k` runs when each side has `na` and `nb` loads: baseline `k mod na`
/// against candidate `⌊k/na⌋ mod nb`, so every pairing of loads recurs.
fn sessions_of_round(k: usize, (na, nb): (usize, usize)) -> (usize, usize) {
    (k % na, (k / na) % nb)
}

/// Below this p, a side's sessions are taken to differ (one-way ANOVA of their block
/// medians), and the between-load variance enters the interval.
const LOAD_TEST_ALPHA: f64 = 0.05;

/// One side's load-to-load variation: a one-way ANOVA of the log block medians grouped by
/// the session (load) that ran them. Interleaving spreads drift over every session alike,
/// so what separates the groups is the load itself (memory layout, allocation, packing).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LoadVariation {
    sessions: usize,
    /// exp(largest − smallest session mean) − 1: how far apart the loads are.
    spread: f64,
    p_value: f64,
    /// Between-load variance component (log scale, method of moments, ≥ 0).
    variance: f64,
}

fn load_variation(by_session: &[Vec<f64>]) -> Option<LoadVariation> {
    let groups: Vec<&Vec<f64>> = by_session.iter().filter(|g| g.len() >= 2).collect();
    let g = groups.len();
    let n: usize = groups.iter().map(|v| v.len()).sum();
    if g < 2 || n <= g {
        return None;
    }
    let grand = groups.iter().flat_map(|v| v.iter()).sum::<f64>() / n as f64;
    let means: Vec<f64> = groups
        .iter()
        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
        .collect();
    let ssb: f64 = groups
        .iter()
        .zip(&means)
        .map(|(v, m)| v.len() as f64 * (m - grand).powi(2))
        .sum();
    let ssw: f64 = groups
        .iter()
        .zip(&means)
        .map(|(v, m)| v.iter().map(|x| (x - m).powi(2)).sum::<f64>())
        .sum();
    let (df_between, df_within) = ((g - 1) as f64, (n - g) as f64);
    let (msb, msw) = (ssb / df_between, ssw / df_within);
    let p_value = if msw > 0.0 {
        FisherSnedecor::new(df_between, df_within)
            .map(|f| f.sf(msb / msw))
            .unwrap_or(f64::NAN)
    } else if msb > 0.0 {
        0.0
    } else {
        1.0
    };
    let sum_sq: f64 = groups.iter().map(|v| (v.len() * v.len()) as f64).sum();
    let n0 = (n as f64 - sum_sq / n as f64) / df_between;
    let (lo, hi) = means
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &m| {
            (l.min(m), h.max(m))
        });
    Some(LoadVariation {
        sessions: g,
        spread: (hi - lo).exp_m1(),
        p_value,
        variance: ((msb - msw) / n0).max(0.0),
    })
}

/// Judges block pairs as [`analyze`] does, where each side ran on several loaded sessions
/// (`loads = (na, nb)`, rounds assigned by [`sessions_of_round`]). Loads are a random factor: when a side's sessions differ beyond
/// their noise, the pairs alone overstate what is known (every pair shares the same few
/// loads), so the between-load variance is added to the interval with Student-t quantiles
/// on the loads' degrees of freedom, and p is recomputed for it.
pub fn analyze_loads(
    baseline: &[Vec<f64>],
    candidate: &[Vec<f64>],
    loads: (usize, usize),
    config: &CompareConfig,
    seed: u64,
) -> Analysis {
    let pairs = baseline.len().min(candidate.len());
    let mut notes = Vec::new();
    let inconclusive = |reason: String| Analysis {
        verdict: Verdict::Inconclusive,
        reason,
        relative_delta: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: f64::NAN,
        method: String::new(),
        notes: Vec::new(),
    };
    if pairs < config.min_pairs {
        return inconclusive(format!(
            "only {pairs} block pairs; at least {} are needed",
            config.min_pairs
        ));
    }
    let (delta, mut low, mut high, mut p, mut method) = match config.metric {
        Metric::P50 => {
            let d: Vec<f64> = (0..pairs)
                .map(|k| (stats::median(&candidate[k]) / stats::median(&baseline[k])).ln())
                .filter(|v| v.is_finite())
                .collect();
            let (Some(test), Some(hl)) = (
                wilcoxon_signed_rank(&d),
                hodges_lehmann_one_sample(&d, config.confidence),
            ) else {
                return inconclusive(format!(
                    "{pairs} block pairs are too few for a {:.0}% interval",
                    config.confidence * 100.0
                ));
            };
            // The test and interval assume independent pairs. Heat, memory bandwidth or a
            // neighbour can hit the two models differently for a while, so adjacent
            // differences correlate; then the interval is widened and p recomputed by the
            // AR(1) variance inflation (1 + ρ)/(1 − ρ), and the method says so.
            let rho = stats::lag1_autocorrelation(&d);
            let dependent = d.len() >= 8 && rho > 2.0 / (d.len() as f64).sqrt();
            let (low, high, p, dependence) = if dependent {
                let inflate = ((1.0 + rho) / (1.0 - rho).max(1e-3)).sqrt();
                let z = stats::z_quantile(1.0 - (test.p_value / 2.0).clamp(1e-300, 0.5));
                let p = 2.0 * (1.0 - stats::normal_cdf(z / inflate));
                notes.push(format!(
                    "the per-pair differences are correlated (lag-1 ρ = {rho:.2} over {} pairs): \
                     the interval was widened ×{inflate:.2} and p recomputed for it",
                    d.len()
                ));
                (
                    hl.estimate - (hl.estimate - hl.low) * inflate,
                    hl.estimate + (hl.high - hl.estimate) * inflate,
                    p,
                    format!(
                        "; pairs correlated (lag-1 ρ = {rho:.2}): interval and p corrected by the AR(1) variance inflation ×{inflate:.2}"
                    ),
                )
            } else {
                (hl.low, hl.high, test.p_value, String::new())
            };
            (
                hl.estimate.exp_m1(),
                low.exp_m1(),
                high.exp_m1(),
                p,
                format!(
                    "p50 shift = Hodges-Lehmann shift of the per-pair log ratios of block medians; {}; \
                     its distribution-free interval (actual coverage {:.1}%){dependence}",
                    test.method,
                    hl.confidence * 100.0
                ),
            )
        }
        metric => {
            let n_a: usize = baseline[..pairs].iter().map(Vec::len).sum();
            let n_b: usize = candidate[..pairs].iter().map(Vec::len).sum();
            if let Some(p) = metric.percentile() {
                let need = min_samples_for(p);
                if n_a.min(n_b) < need {
                    return inconclusive(format!(
                        "{metric} needs {need} samples per side to be bounded; have {}",
                        n_a.min(n_b)
                    ));
                }
            }
            // Scale the resamples down for very long series so one look stays well under a
            // second, but never below 1000 (p-value resolution 0.001 against α = 0.01).
            let budget = (4e8 / (n_a + n_b).max(1) as f64) as usize;
            let resamples = config.bootstrap_resamples.min(budget).max(1000);
            let Some(b) = block_bootstrap_ratio(
                &baseline[..pairs],
                &candidate[..pairs],
                metric,
                resamples,
                config.confidence,
                seed,
            ) else {
                return inconclusive("the bootstrap had nothing to resample".into());
            };
            let mut a: Vec<f64> = baseline[..pairs].concat();
            let mut c: Vec<f64> = candidate[..pairs].concat();
            let est = metric_of(&mut c, metric) / metric_of(&mut a, metric) - 1.0;
            (
                est,
                b.low,
                b.high,
                b.p_value,
                format!(
                    "paired block bootstrap ({} resamples of {pairs} block pairs) of {metric}(candidate)/{metric}(baseline); \
                     percentile {:.0}% interval; two-sided bootstrap p",
                    b.resamples,
                    config.confidence * 100.0
                ),
            )
        }
    };
    let (na, nb) = (loads.0.max(1), loads.1.max(1));
    if na > 1 || nb > 1 {
        let log_medians = |blocks: &[Vec<f64>], candidate_side: bool, n: usize| {
            let mut by_session = vec![Vec::new(); n];
            for (k, b) in blocks[..pairs].iter().enumerate() {
                let m = stats::median(b);
                if m > 0.0 && m.is_finite() {
                    let (a, c) = sessions_of_round(k, (na, nb));
                    by_session[if candidate_side { c } else { a }].push(m.ln());
                }
            }
            load_variation(&by_session)
        };
        let sides = [
            ("baseline", log_medians(baseline, false, na)),
            ("candidate", log_medians(candidate, true, nb)),
        ];
        let (mut variance, mut df) = (0.0, 0usize);
        for (name, v) in sides {
            let Some(v) = v.filter(|v| v.p_value < LOAD_TEST_ALPHA && v.variance > 0.0) else {
                continue;
            };
            variance += v.variance / v.sessions as f64;
            df += v.sessions - 1;
            notes.push(format!(
                "{name}: latency depends on the load: its {} sessions differ by up to {} \
                 (one-way ANOVA of block medians, p = {:.1e}); the interval includes this \
                 load-to-load variance — more loads per side (--sessions) narrow it",
                v.sessions,
                pct(v.spread),
                v.p_value
            ));
        }
        if variance > 0.0 && df > 0 {
            let (est, lo, hi) = (delta.ln_1p(), low.ln_1p(), high.ln_1p());
            let q = (1.0 + config.confidence) / 2.0;
            let within = (hi - lo) / (2.0 * stats::z_quantile(q));
            let se = (within * within + variance).sqrt();
            if let Ok(t) = StudentsT::new(0.0, 1.0, df as f64) {
                let tq = t.inverse_cdf(q);
                low = (est - tq * se).exp_m1();
                high = (est + tq * se).exp_m1();
                p = p.max(2.0 * t.sf(est.abs() / se));
                method.push_str(&format!(
                    "; loads differ: between-load variance added to the interval (Student t, \
                     {df} df over {na} + {nb} sessions) and p recomputed"
                ));
            }
        }
    }
    let t = config.threshold;
    let alpha = config.alpha_per_look();
    let significant = p < alpha;
    let ci = format!(
        "{:.0}% CI [{}, {}]",
        config.confidence * 100.0,
        pct(low),
        pct(high)
    );
    let sig = format!(
        "p = {p:.2e} {} {alpha:.2e} (α = {} over {} looks)",
        if significant { "<" } else { "≥" },
        config.alpha,
        config.planned_looks()
    );
    let (verdict, reason) = if low > t && significant {
        (
            Verdict::Regression,
            format!(
                "{} is slower by {} ({ci}, entirely above +{:.1}%); significant ({sig})",
                config.metric,
                pct(delta),
                t * 100.0
            ),
        )
    } else if high < -t && significant {
        (
            Verdict::Improvement,
            format!(
                "{} is faster by {} ({ci}, entirely below −{:.1}%); significant ({sig})",
                config.metric,
                pct(delta),
                t * 100.0
            ),
        )
    } else if low >= -t && high <= t {
        (
            Verdict::NoChange,
            format!(
                "{} shift {} ({ci}) lies within ±{:.1}%{}",
                config.metric,
                pct(delta),
                t * 100.0,
                if significant {
                    "; a real but smaller change than the threshold"
                } else {
                    ""
                }
            ),
        )
    } else if low > t || high < -t {
        (
            Verdict::Inconclusive,
            format!(
                "{} shift {} ({ci}) is beyond ±{:.1}% but not significant ({sig})",
                config.metric,
                pct(delta),
                t * 100.0
            ),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "{} shift {} ({ci}) straddles the ±{:.1}% threshold; {sig}",
                config.metric,
                pct(delta),
                t * 100.0
            ),
        )
    };
    Analysis {
        verdict,
        reason,
        relative_delta: delta,
        ci_low: low,
        ci_high: high,
        p_value: p,
        method,
        notes,
    }
}

/// Judges two stored series measured separately (`--use-cached`), with the same double gate
/// as [`analyze`]. Each side's runs, in run order, are cut into the same number of
/// contiguous blocks (every run kept; a last block takes the remainder) and blocks are
/// paired by position, so a block's internal correlation stays inside it. One look: the
/// series are complete. Unlike an interleaved run, drift between the two sessions does
/// not cancel, which the method says.
pub fn analyze_stored(
    baseline_ms: &[f64],
    candidate_ms: &[f64],
    config: &CompareConfig,
    seed: u64,
) -> (Analysis, usize, usize) {
    let single_look = CompareConfig {
        min_time_s: config.max_time_s,
        ..config.clone()
    };
    let shortest = baseline_ms.len().min(candidate_ms.len());
    let pairs = (shortest / config.min_block_runs.max(1)).min(60);
    let cut = |v: &[f64]| -> Vec<Vec<f64>> {
        if pairs == 0 {
            return Vec::new();
        }
        let size = v.len() / pairs;
        (0..pairs)
            .map(|k| {
                let end = if k + 1 == pairs {
                    v.len()
                } else {
                    (k + 1) * size
                };
                v[k * size..end].to_vec()
            })
            .collect()
    };
    let mut an = analyze(&cut(baseline_ms), &cut(candidate_ms), &single_look, seed);
    if !an.method.is_empty() {
        an.method = format!(
            "stored series cut into {pairs} contiguous blocks per side, paired by position \
             (not interleaved: drift between the two sessions does not cancel); {}",
            an.method
        );
    }
    (an, pairs, shortest / pairs.max(1))
}

/// Coefficient of variation above which a comparison warns. Calibrated on idle A/A runs of
/// the CNN fixture (tract, 2-core VM, n = 200 comparisons): CV ≥ 10% in 35% of them, ≥ 15%
/// in 5.5% — so 15% marks a runner noisier than usual rather than every run.
const COMPARE_CV_WARN: f64 = 0.15;

/// Seed streams for the order decisions, so they do not reuse the schedule's coins.
const WARM_ORDER: u64 = 0x5741_524D;
pub(crate) const LOAD_ORDER: u64 = 0x4C4F_4144;

/// One timed repetition of a [`Workload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedRun {
    /// What is compared, nanoseconds: the latency of an inference, or the part of a
    /// decoder request the metric names (its TTFT, its time per output token…).
    pub value_ns: u64,
    /// What the repetition cost in wall time, nanoseconds: blocks and the time a verdict
    /// needs are sized by it.
    pub wall_ns: u64,
}

/// A unit of work the A/B engine repeats on one side and times: an inference of a
/// prepared session, a request to a decoder.
pub trait Workload {
    /// Runs one repetition and says how long it took. Called between the engine's clock
    /// readings, never inside another repetition.
    fn run_timed(&mut self) -> Result<TimedRun>;
}

/// A prepared session as a workload: one repetition is one `run_prepared`, timed around
/// the call only.
struct Inference<'a>(&'a mut dyn Session);

impl Workload for Inference<'_> {
    fn run_timed(&mut self) -> Result<TimedRun> {
        let start = Instant::now();
        self.0.run_prepared()?;
        let ns = start.elapsed().as_nanos() as u64;
        Ok(TimedRun {
            value_ns: ns,
            wall_ns: ns,
        })
    }
}

/// Warm-up of one workload: the compared values and the wall times of each repetition.
fn warm(work: &mut dyn Workload, config: &CompareConfig, max: Duration) -> Result<Vec<TimedRun>> {
    let start = Instant::now();
    let mut out = Vec::with_capacity(config.warmup_runs as usize + 64);
    let min = Duration::from_secs_f64(config.warmup_min_time_s);
    loop {
        let e = start.elapsed();
        if (out.len() as u64 >= config.warmup_runs.max(1) && e >= min)
            || (e >= max && !out.is_empty())
        {
            return Ok(out);
        }
        out.push(work.run_timed()?);
    }
}

/// Runs one block: `runs` timed repetitions into `out` (reserved by the caller).
fn block(work: &mut dyn Workload, runs: usize, out: &mut Vec<u64>) -> Result<()> {
    for _ in 0..runs {
        out.push(work.run_timed()?.value_ns);
    }
    Ok(())
}

/// Compares two prepared sessions (inputs already bound) on this machine, now.
pub fn compare_sessions(
    baseline: &mut dyn Session,
    candidate: &mut dyn Session,
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<Comparison> {
    compare_session_sets(&mut [baseline], &mut [candidate], config, progress)
}

/// Warms every workload of a side, each for its share of the side's warm-up; the runs in
/// workload order.
fn warm_side(
    sessions: &mut [&mut dyn Workload],
    config: &CompareConfig,
    cap: Duration,
) -> Result<Vec<TimedRun>> {
    let n = sessions.len().max(1) as u32;
    let share = CompareConfig {
        warmup_min_time_s: config.warmup_min_time_s / n as f64,
        ..config.clone()
    };
    let mut out = Vec::new();
    for s in sessions.iter_mut() {
        out.extend(warm(&mut **s, &share, cap / n)?);
    }
    Ok(out)
}

/// Compares two models, each loaded as several independent sessions (inputs bound), on
/// this machine, now. Round `k` runs baseline session `k mod n` against candidate session
/// `⌊k/n⌋ mod n`, so every pairing of loads recurs and differences between loads (memory
/// layout, allocation) enter the pairs — and so the interval — instead of staying fixed.
pub fn compare_session_sets(
    baseline: &mut [&mut dyn Session],
    candidate: &mut [&mut dyn Session],
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<Comparison> {
    let mut a: Vec<Inference<'_>> = baseline.iter_mut().map(|s| Inference(&mut **s)).collect();
    let mut b: Vec<Inference<'_>> = candidate.iter_mut().map(|s| Inference(&mut **s)).collect();
    let mut a: Vec<&mut dyn Workload> = a.iter_mut().map(|w| w as &mut dyn Workload).collect();
    let mut b: Vec<&mut dyn Workload> = b.iter_mut().map(|w| w as &mut dyn Workload).collect();
    compare_workload_sets(&mut a, &mut b, config, progress)
}

/// The engine behind [`compare_session_sets`], for any [`Workload`]: each side's workloads
/// are its independently loaded instances, rotated as there; a block is `block_runs`
/// repetitions, sized by their wall time; the compared samples are their `value_ns`.
pub fn compare_workload_sets(
    baseline: &mut [&mut dyn Workload],
    candidate: &mut [&mut dyn Workload],
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<Comparison> {
    config.validate()?;
    if baseline.is_empty() || candidate.is_empty() {
        return Err(BenchError::Config(
            "each side needs at least one session".into(),
        ));
    }
    let (na, nb) = (baseline.len(), candidate.len());
    let seed = config.seed_or_fresh();
    let wall = Instant::now();
    let max_time = Duration::from_secs_f64(config.max_time_s);
    // Warm both, each with at most a quarter of the budget.
    progress.update(&ProgressUpdate {
        phase: "warmup",
        label: "baseline and candidate".into(),
        elapsed_s: 0.0,
        budget_s: config.max_time_s,
        runs: 0,
        rel_half_width: None,
    });
    // Which side warms first is the seed's choice too: warming is where caches and the
    // allocator settle, and the first side must not always be the same one.
    let (warm_a, warm_b) = if stats::rng(seed ^ WARM_ORDER).coin() {
        let a = warm_side(baseline, config, max_time / 4)?;
        (a, warm_side(candidate, config, max_time / 4)?)
    } else {
        let b = warm_side(candidate, config, max_time / 4)?;
        (warm_side(baseline, config, max_time / 4)?, b)
    };
    // Each side's own typical run: when one side is much slower, a pooled median would be
    // the fast side's (it warms up with more runs in the same time), blocks would be sized
    // for it, and the time a verdict needs would be underestimated by the ratio.
    let wall_of = |runs: &[TimedRun]| -> f64 {
        stats::median(&runs.iter().map(|r| r.wall_ns as f64).collect::<Vec<_>>())
    };
    let typical_a = wall_of(&warm_a);
    let typical_b = wall_of(&warm_b);
    let values = |runs: Vec<TimedRun>| -> Vec<u64> { runs.iter().map(|r| r.value_ns).collect() };
    let (warm_a, warm_b) = (values(warm_a), values(warm_b));
    let slowest_ns = typical_a.max(typical_b);
    // A slow model (one inference outlasting a block) gets one run per block, so pairs
    // accrue at the model's own pace rather than three runs at a time.
    let min_runs = if slowest_ns >= config.block_time_s * 1e9 {
        1
    } else {
        config.min_block_runs
    };
    let block_runs =
        ((config.block_time_s * 1e9 / slowest_ns.max(1.0)).ceil() as usize).clamp(min_runs, 10_000);
    // What a verdict needs, said up front: the pairs for any verdict, and for a tail the
    // runs per side that bound it.
    let need_runs = match config.metric.percentile() {
        Some(p) => min_samples_for(p).max(config.min_pairs * block_runs),
        None => config.min_pairs * block_runs,
    };
    let pair_s = block_runs as f64 * (typical_a + typical_b) / 1e9;
    let need_s = wall.elapsed().as_secs_f64() + need_runs.div_ceil(block_runs) as f64 * pair_s;
    let typical_ns = (typical_a + typical_b) / 2.0;
    let mut config = config.clone();
    let mut warnings = Vec::new();
    if need_s > config.max_time_s {
        if config.extend_to_decide {
            let extended = (need_s * 1.25).ceil();
            warnings.push(format!(
                "{} needs {need_runs} runs per side, about {need_s:.0} s at {:.2} ms per run \
                 (mean of the two sides): the budget was extended from {:.0} s to {extended:.0} s (--max-time auto)",
                config.metric,
                typical_ns / 1e6,
                config.max_time_s
            ));
            config.max_time_s = extended;
        } else {
            warnings.push(format!(
                "{} needs {need_runs} runs per side, about {need_s:.0} s at {:.2} ms per run \
                 (mean of the two sides), more than the {:.0} s budget: expect an inconclusive verdict. \
                 --max-time auto extends the budget to what can decide",
                config.metric,
                typical_ns / 1e6,
                config.max_time_s
            ));
        }
    }
    let config = &config;
    let max_time = Duration::from_secs_f64(config.max_time_s);

    let mut rng = stats::rng(seed);
    let mut blocks_a: Vec<Vec<u64>> = Vec::new();
    let mut blocks_b: Vec<Vec<u64>> = Vec::new();
    let mut schedule = String::new();
    let start = Instant::now();
    let budget = max_time.saturating_sub(wall.elapsed());
    let min_time = Duration::from_secs_f64(config.min_time_s).min(budget);
    let mut next_look = min_time;
    let mut looks = 0;
    let mut last_progress = Instant::now();
    let analysis = loop {
        let (mut a, mut b) = (
            Vec::with_capacity(block_runs),
            Vec::with_capacity(block_runs),
        );
        let (ia, ib) = sessions_of_round(blocks_a.len(), (na, nb));
        let (sa, sb) = (&mut *baseline[ia], &mut *candidate[ib]);
        if rng.coin() {
            block(sa, block_runs, &mut a)?;
            block(sb, block_runs, &mut b)?;
            schedule.push('B');
        } else {
            block(sb, block_runs, &mut b)?;
            block(sa, block_runs, &mut a)?;
            schedule.push('C');
        }
        blocks_a.push(a);
        blocks_b.push(b);
        let elapsed = start.elapsed();
        let out_of_time = elapsed >= budget;
        if (elapsed >= next_look && blocks_a.len() >= config.min_pairs) || out_of_time {
            looks += 1;
            let ms = |blocks: &[Vec<u64>]| -> Vec<Vec<f64>> {
                blocks.iter().map(|b| stats::to_ms(b)).collect()
            };
            let an = analyze_loads(
                &ms(&blocks_a),
                &ms(&blocks_b),
                (na, nb),
                config,
                seed ^ looks as u64,
            );
            if an.verdict != Verdict::Inconclusive || out_of_time {
                break an;
            }
            next_look = (elapsed.mul_f64(1.5)).min(budget);
            progress.update(&ProgressUpdate {
                phase: "comparing",
                label: format!("look {looks}: {}", an.verdict),
                elapsed_s: elapsed.as_secs_f64(),
                budget_s: budget.as_secs_f64(),
                runs: (blocks_a.len() * block_runs * 2) as u64,
                rel_half_width: Some((an.ci_high - an.ci_low) / 2.0).filter(|v| v.is_finite()),
            });
        } else if last_progress.elapsed() >= Duration::from_millis(100) {
            last_progress = Instant::now();
            progress.update(&ProgressUpdate {
                phase: "comparing",
                label: format!("{} block pairs", blocks_a.len()),
                elapsed_s: elapsed.as_secs_f64(),
                budget_s: budget.as_secs_f64(),
                runs: (blocks_a.len() * block_runs * 2) as u64,
                rel_half_width: None,
            });
        }
    };
    progress.finish();

    let side = |blocks: &[Vec<u64>], warmup: Vec<u64>| -> Side {
        let samples: Vec<u64> = blocks.concat();
        let values = stats::to_ms(&samples);
        let summary = stats::summarize(&values, config.confidence, seed);
        let metric_ms = match config.metric.percentile() {
            Some(p) => summary.percentile(p).and_then(|e| e.value_ms),
            None => Some(summary.mean_ms),
        };
        Side {
            metric_ms,
            stability: stats::stability(&values),
            summary,
            warmup_samples_ns: warmup,
            samples_ns: samples,
        }
    };
    let baseline_side = side(&blocks_a, warm_a);
    let candidate_side = side(&blocks_b, warm_b);
    let observed_delta = match (baseline_side.metric_ms, candidate_side.metric_ms) {
        (Some(a), Some(b)) if a > 0.0 => Some(b / a - 1.0),
        _ => None,
    };
    warnings.extend(analysis.notes.iter().cloned());
    for (name, s) in [("baseline", &baseline_side), ("candidate", &candidate_side)] {
        // Only what the user can act on for this comparison. Drift and phases (correlated
        // runs) hit both sides alike in interleaved blocks and cancel in the pairs; what
        // does not cancel shows as correlated per-pair differences, checked in `analyze`.
        // The per-side diagnostics stay in each side's `stability`.
        if s.stability.cv >= COMPARE_CV_WARN {
            warnings.push(format!(
                "{name}: high variation: CV {:.1}% (≥ {:.0}%); it widens the interval — a quieter \
                 runner or more time (--max-time) narrows it",
                s.stability.cv * 100.0,
                COMPARE_CV_WARN * 100.0
            ));
        }
    }
    Ok(Comparison {
        verdict: analysis.verdict,
        reason: analysis.reason,
        metric: config.metric,
        threshold: config.threshold,
        alpha: config.alpha,
        confidence: config.confidence,
        relative_delta: analysis.relative_delta,
        ci_low: analysis.ci_low,
        ci_high: analysis.ci_high,
        observed_delta,
        p_value: analysis.p_value,
        alpha_per_look: config.alpha_per_look(),
        seed,
        method: format!(
            "interleaved randomized AB/BA blocks of {block_runs} runs on {na} + {nb} independently \
             loaded sessions (baseline + candidate, rotated so every pairing recurs); {}",
            analysis.method
        ),
        sessions_per_side: (na, nb),
        pairs: blocks_a.len(),
        block_runs,
        looks,
        schedule,
        elapsed_s: wall.elapsed().as_secs_f64(),
        baseline: baseline_side,
        candidate: candidate_side,
        warnings,
    })
}

/// A model's load as part of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Loaded {
    pub model: PathBuf,
    pub session: SessionInfo,
    pub load_ms: f64,
    /// Peak memory of this model on its own: load, input binding and the first
    /// [`MEMORY_RUNS`] inferences (see [`compare_models`] for how the two sides are kept
    /// apart in one process).
    pub memory: Option<PhaseMemory>,
    /// 1 when this side was loaded first, 2 when second.
    pub load_position: u8,
}

/// Inferences inside each side's memory phase: the first run allocates the runtime's
/// working buffers, a few more catch buffers that grow lazily.
pub const MEMORY_RUNS: usize = 3;

/// `mlgate compare`: both models, the settings, the machine and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CompareResult {
    pub baseline: Loaded,
    pub candidate: Loaded,
    /// Shapes of the inputs both models ran on (empty for decoders).
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// For decoders: the request both served and the metric taken from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<crate::llm::RequestShape>,
    pub environment: MeasurementEnvironment,
    pub config: CompareConfig,
    pub comparison: Comparison,
}

/// The two models of a comparison and how to run them.
#[derive(Debug, Clone, Copy)]
pub struct ModelPair<'a> {
    pub backend: BackendKind,
    pub baseline: &'a Path,
    pub candidate: &'a Path,
    pub options: &'a SessionOptions,
}

/// The start of a two-model comparison: the settings checked, the seed drawn once and
/// fixed (so the load order and the engine share it), "loading" reported.
pub(crate) fn begin_pair(
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<CompareConfig> {
    config.validate()?;
    let config = CompareConfig {
        seed: Some(config.seed_or_fresh()),
        ..config.clone()
    };
    progress.update(&ProgressUpdate {
        phase: "loading",
        label: "baseline and candidate".into(),
        elapsed_s: 0.0,
        budget_s: 0.0,
        runs: 0,
        rel_half_width: None,
    });
    Ok(config)
}

/// Loads both models on `pair.backend`, binds the same inputs to both, and compares them.
///
/// Memory, each side on its own although both live in this process: the sides are loaded
/// one after the other, in an order drawn from the seed. Before each, freed heap is handed
/// back to the OS (`malloc_trim`, glibc) so the second cannot reuse pages the first freed,
/// and `VmHWM` is reset; the side's figure is its peak over the process's RSS just before
/// it was loaded, through load, input binding and [`MEMORY_RUNS`] inferences. The other
/// model's resident memory is in "before" and so not in the delta. A primer load of the
/// baseline, dropped before either measured load, takes the process's one-time costs.
pub fn compare_models(
    registry: &RuntimeCatalog,
    pair: &ModelPair<'_>,
    set: &InputSet,
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<CompareResult> {
    let ModelPair {
        backend,
        baseline,
        candidate,
        options,
    } = *pair;
    let config = begin_pair(config, progress)?;
    let seed = config.seed_or_fresh();
    // A primer load of the baseline, dropped at once: the first model a process loads also
    // pays one-time costs (the runtime's statics, thread pools, allocator arenas) that would
    // otherwise be charged to whichever side happens to load first.
    {
        let mut primer = registry.load(backend, baseline, options)?;
        primer.prepare(&set.inputs)?;
        primer.run_prepared()?;
    }
    let baseline_first = stats::rng(seed ^ LOAD_ORDER).coin();
    let load = |model: &Path,
                is_candidate: bool|
     -> Result<(Box<dyn Session>, f64, Option<PhaseMemory>)> {
        crate::memory::release_free_heap();
        let meter = crate::memory::PeakMeter::start();
        let start = Instant::now();
        let mut session = registry.load(backend, model, options)?;
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        let bound = session.prepare(&set.inputs);
        if is_candidate {
            bound.map_err(|e| BenchError::Incomparable {
                baseline: baseline.to_owned(),
                candidate: candidate.to_owned(),
                detail: format!("the candidate does not accept the baseline's inputs: {e}"),
            })?;
        } else {
            bound?;
        }
        for _ in 0..MEMORY_RUNS {
            session.run_prepared()?;
        }
        let mut memory = meter.finish();
        if let Some(m) = memory.as_mut() {
            m.method = format!(
                "{}; phase: load, input binding and {MEMORY_RUNS} inferences of this model alone \
                 (freed heap returned to the OS first; the other model's memory is in the baseline RSS)",
                m.method
            );
        }
        Ok((session, load_ms, memory))
    };
    let ((mut a, a_ms, a_mem), (mut b, b_ms, b_mem)) = if baseline_first {
        let a = load(baseline, false)?;
        (a, load(candidate, true)?)
    } else {
        let b = load(candidate, true)?;
        (load(baseline, false)?, b)
    };
    // The further sessions of each side, loaded alternately, so load-to-load variation is
    // measured rather than frozen into one load per side.
    let mut more_a: Vec<Box<dyn Session>> = Vec::new();
    let mut more_b: Vec<Box<dyn Session>> = Vec::new();
    for _ in 1..config.sessions_per_side {
        let mut extra_a = registry.load(backend, baseline, options)?;
        extra_a.prepare(&set.inputs)?;
        let mut extra_b = registry.load(backend, candidate, options)?;
        extra_b.prepare(&set.inputs)?;
        more_a.push(extra_a);
        more_b.push(extra_b);
    }
    let environment = MeasurementEnvironment::capture(a.info());
    for w in a.info().warnings.iter().chain(&b.info().warnings) {
        progress.warn(w);
    }
    let mut sides_a: Vec<&mut dyn Session> = vec![a.as_mut()];
    sides_a.extend(more_a.iter_mut().map(|s| s.as_mut() as &mut dyn Session));
    let mut sides_b: Vec<&mut dyn Session> = vec![b.as_mut()];
    sides_b.extend(more_b.iter_mut().map(|s| s.as_mut() as &mut dyn Session));
    let comparison = compare_session_sets(&mut sides_a, &mut sides_b, &config, progress)?;
    drop((more_a, more_b));
    let position = |first: bool| if first { 1 } else { 2 };
    Ok(CompareResult {
        baseline: Loaded {
            model: baseline.to_owned(),
            session: a.info().clone(),
            load_ms: a_ms,
            memory: a_mem,
            load_position: position(baseline_first),
        },
        candidate: Loaded {
            model: candidate.to_owned(),
            session: b.info().clone(),
            load_ms: b_ms,
            memory: b_mem,
            load_position: position(!baseline_first),
        },
        input_shapes: input_shapes(set),
        requests: None,
        environment,
        config,
        comparison,
    })
}

/// Each input's name and shape, as a [`CompareResult`] lists them.
pub(crate) fn input_shapes(set: &InputSet) -> Vec<(String, Vec<usize>)> {
    set.inputs
        .iter()
        .map(|t| (t.name().to_string(), t.shape().to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block pairs with multiplicative noise; `drift(k)` scales round k for both sides.
    fn series(
        pairs: usize,
        runs: usize,
        slowdown: f64,
        drift: impl Fn(usize) -> f64,
        seed: u64,
    ) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut rng = stats::rng(seed);
        let mut noise =
            move || 1.0 + 0.03 * ((rng.next_u64() % 10_000) as f64 / 10_000.0 - 0.5) * 2.0;
        let mut a = Vec::new();
        let mut b = Vec::new();
        for k in 0..pairs {
            let level = 10.0 * drift(k);
            a.push((0..runs).map(|_| level * noise()).collect());
            b.push(
                (0..runs)
                    .map(|_| level * (1.0 + slowdown) * noise())
                    .collect(),
            );
        }
        (a, b)
    }

    #[test]
    fn drifting_a_a_series_is_never_a_regression() {
        // Latency climbs 30% over the run (thermal throttling) and jumps by 20% for a stretch
        // (a neighbour): the same on both sides, so it must cancel.
        // 1000 resamples (the floor `analyze` uses for long series) keeps this test quick.
        let config = CompareConfig {
            threshold: 0.01,
            bootstrap_resamples: 1000,
            ..CompareConfig::default()
        };
        for seed in 0..30 {
            let (a, b) = series(
                60,
                5,
                0.0,
                |k| 1.0 + 0.005 * k as f64 + if (20..30).contains(&k) { 0.2 } else { 0.0 },
                seed,
            );
            for metric in Metric::ALL {
                let c = CompareConfig {
                    metric,
                    ..config.clone()
                };
                let an = analyze(&a, &b, &c, seed);
                assert_ne!(
                    an.verdict,
                    Verdict::Regression,
                    "seed {seed} {metric}: {an:?}"
                );
                assert_ne!(
                    an.verdict,
                    Verdict::Improvement,
                    "seed {seed} {metric}: {an:?}"
                );
            }
        }
    }

    /// Two loads per side where the model's latency depends on the load (one load of each
    /// side lands 12% slower, as the slow CNN does on tract): an A/A pair whose candidate
    /// loads both landed slow. The pairs alone see +6% and call it a regression; with the
    /// loads as a random factor it is inconclusive at a 2% threshold, and the note says why.
    #[test]
    fn a_load_dependent_model_is_not_a_regression_of_two_unlucky_loads() {
        let (na, nb) = (2, 2);
        let base_load = [1.0, 1.12];
        let cand_load = [1.12, 1.12];
        let (mut a, mut b) = series(80, 3, 0.0, |_| 1.0, 7);
        for k in 0..a.len() {
            let (ia, ib) = sessions_of_round(k, (na, nb));
            a[k].iter_mut().for_each(|v| *v *= base_load[ia]);
            b[k].iter_mut().for_each(|v| *v *= cand_load[ib]);
        }
        let config = CompareConfig {
            threshold: 0.02,
            ..CompareConfig::default()
        };
        let pairs_only = analyze(&a, &b, &config, 1);
        assert_eq!(pairs_only.verdict, Verdict::Regression, "{pairs_only:?}");
        let an = analyze_loads(&a, &b, (na, nb), &config, 1);
        assert_eq!(an.verdict, Verdict::Inconclusive, "{an:?}");
        assert!(an.ci_low < 0.0 && an.ci_high > 0.12, "{an:?}");
        assert!(an.method.contains("between-load variance"), "{}", an.method);
        assert!(
            an.notes
                .iter()
                .any(|n| n.starts_with("baseline: latency depends on the load")),
            "{:?}",
            an.notes
        );
    }

    /// Loads that do not differ leave the interval as the pairs give it.
    #[test]
    fn equal_loads_leave_the_interval_alone() {
        let (a, b) = series(80, 3, 0.10, |_| 1.0, 3);
        let config = CompareConfig::default();
        let one = analyze(&a, &b, &config, 1);
        let many = analyze_loads(&a, &b, (2, 2), &config, 1);
        assert_eq!(many.verdict, Verdict::Regression, "{many:?}");
        assert!(many.notes.is_empty(), "{:?}", many.notes);
        assert_eq!((one.ci_low, one.ci_high), (many.ci_low, many.ci_high));
    }

    #[test]
    fn load_variation_matches_a_hand_computed_anova() {
        // Groups {1,2,3} and {4,5,6}: means 2 and 5 (grand 3.5), SSB = 2·3·1.5² = 13.5,
        // SSW = 4, so F = 13.5/1 on (1, 4) df, p = 0.0213; n0 = 3, component (13.5 − 1)/3.
        let v = load_variation(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]).unwrap();
        assert_eq!(v.sessions, 2);
        assert!((v.p_value - 0.021_31).abs() < 5e-5, "{v:?}");
        assert!((v.variance - 12.5 / 3.0).abs() < 1e-12, "{v:?}");
        assert!((v.spread - 3f64.exp_m1()).abs() < 1e-12, "{v:?}");
        assert_eq!(load_variation(&[vec![1.0, 2.0]]), None);
    }

    #[test]
    fn a_clear_slowdown_is_a_regression_and_the_reason_says_so() {
        let (a, b) = series(60, 5, 0.10, |_| 1.0, 1);
        let an = analyze(&a, &b, &CompareConfig::default(), 1);
        assert_eq!(an.verdict, Verdict::Regression, "{an:?}");
        assert!(an.ci_low > 0.05 && an.ci_high < 0.15, "{an:?}");
        assert!(
            an.reason.contains("slower") && an.reason.contains("above +5.0%"),
            "{}",
            an.reason
        );
        let (a, b) = series(60, 5, -0.10, |_| 1.0, 1);
        assert_eq!(
            analyze(&a, &b, &CompareConfig::default(), 1).verdict,
            Verdict::Improvement
        );
    }

    #[test]
    fn small_shift_is_no_change_and_borderline_is_inconclusive() {
        let (a, b) = series(200, 5, 0.0, |_| 1.0, 2);
        let an = analyze(&a, &b, &CompareConfig::default(), 2);
        assert_eq!(an.verdict, Verdict::NoChange, "{an:?}");
        let (a, b) = series(12, 3, 0.05, |_| 1.0, 3);
        let an = analyze(&a, &b, &CompareConfig::default(), 3);
        assert_eq!(an.verdict, Verdict::Inconclusive, "{an:?}");
        assert!(an.reason.contains("straddles"), "{}", an.reason);
    }

    #[test]
    fn alpha_is_split_across_the_planned_looks() {
        let c = CompareConfig::default();
        // Looks at 4, 6, 9, 13.5 and 15 s.
        assert_eq!(c.planned_looks(), 5);
        assert!((c.alpha_per_look() - 0.002).abs() < 1e-12);
        let one = CompareConfig {
            min_time_s: 15.0,
            ..CompareConfig::default()
        };
        assert_eq!(one.planned_looks(), 1);
    }

    #[test]
    fn correlated_pairs_widen_the_interval_and_say_so() {
        // The same level for both sides, but a slow wave (period 40 pairs) that hits the
        // candidate 3% harder at its crest: adjacent differences correlate.
        let wave = |k: usize| (k as f64 * std::f64::consts::TAU / 40.0).sin();
        let mut rng = stats::rng(9);
        let mut noise = move || 1.0 + 0.002 * ((rng.next_u64() % 1000) as f64 / 1000.0 - 0.5);
        let a: Vec<Vec<f64>> = (0..120)
            .map(|_| (0..5).map(|_| 10.0 * noise()).collect())
            .collect();
        let b: Vec<Vec<f64>> = (0..120)
            .map(|k| {
                (0..5)
                    .map(|_| 10.0 * (1.0 + 0.03 * wave(k)) * noise())
                    .collect()
            })
            .collect();
        let an = analyze(&a, &b, &CompareConfig::default(), 9);
        assert!(
            an.notes.iter().any(|n| n.contains("correlated")),
            "{:?}",
            an.notes
        );
        assert!(an.method.contains("AR(1)"), "{}", an.method);
        // Independent pairs: no note, nominal interval.
        let (a, b) = series(120, 5, 0.0, |_| 1.0, 10);
        let an = analyze(&a, &b, &CompareConfig::default(), 10);
        assert!(an.notes.is_empty(), "{:?}", an.notes);
        assert!(an
            .method
            .contains("Hodges-Lehmann shift of the per-pair log ratios"));
    }

    /// A session that spins for a fixed time per run and counts its runs.
    struct Spin {
        info: SessionInfo,
        per_run: Duration,
        runs: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Spin {
        fn new(micros: u64) -> (Spin, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
            let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let info = SessionInfo {
                backend: BackendKind::Tract,
                runtime_version: None,
                library: None,
                model: PathBuf::from("spin"),
                intra_op_threads: None,
                inter_op_threads: None,
                graph_optimization: mlgate_backends::OptLevel::default(),
                execution_provider: mlgate_backends::ExecutionProvider::Cpu,
                load_ms: 0.0,
                session_config: Vec::new(),
                warnings: Vec::new(),
            };
            let s = Spin {
                info,
                per_run: Duration::from_micros(micros),
                runs: runs.clone(),
            };
            (s, runs)
        }
    }

    impl Session for Spin {
        fn info(&self) -> &SessionInfo {
            &self.info
        }
        fn inputs(&self) -> &[mlgate_ir::TensorInfo] {
            &[]
        }
        fn outputs(&self) -> &[mlgate_ir::TensorInfo] {
            &[]
        }
        fn bind(&mut self, _: &[&mlgate_ir::tensor::Tensor]) -> mlgate_backends::Result<()> {
            Ok(())
        }
        fn run_prepared(&mut self) -> mlgate_backends::Result<()> {
            let start = Instant::now();
            while start.elapsed() < self.per_run {
                std::hint::spin_loop();
            }
            self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        fn take_outputs(&mut self) -> mlgate_backends::Result<Vec<mlgate_ir::tensor::Tensor>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn every_session_of_each_side_takes_its_turn() {
        let (mut a1, ra1) = Spin::new(200);
        let (mut a2, ra2) = Spin::new(200);
        let (mut b1, rb1) = Spin::new(200);
        let (mut b2, rb2) = Spin::new(200);
        let config = CompareConfig {
            min_time_s: 0.4,
            max_time_s: 0.8,
            warmup_min_time_s: 0.05,
            block_time_s: 0.01,
            seed: Some(3),
            ..CompareConfig::default()
        };
        let c = compare_session_sets(
            &mut [&mut a1, &mut a2],
            &mut [&mut b1, &mut b2],
            &config,
            &mut crate::NoProgress,
        )
        .unwrap();
        assert_eq!(c.sessions_per_side, (2, 2));
        assert_eq!(c.seed, 3);
        assert!(c.pairs >= 8, "{}", c.pairs);
        let runs = |r: &std::sync::Arc<std::sync::atomic::AtomicUsize>| {
            r.load(std::sync::atomic::Ordering::Relaxed)
        };
        // Blocks rotate: the two loads of a side run about equally often.
        for (x, y) in [(&ra1, &ra2), (&rb1, &rb2)] {
            let (x, y) = (runs(x), runs(y));
            assert!(
                x > 0 && y > 0 && x.abs_diff(y) <= x.max(y) / 3,
                "{x} vs {y}"
            );
        }
        assert!(
            c.method.contains("2 + 2 independently loaded sessions"),
            "{}",
            c.method
        );
    }

    #[test]
    fn tail_metrics_wait_for_enough_samples() {
        let (a, b) = series(20, 5, 0.5, |_| 1.0, 4);
        let c = CompareConfig {
            metric: Metric::P99,
            ..CompareConfig::default()
        };
        let an = analyze(&a, &b, &c, 4);
        assert_eq!(an.verdict, Verdict::Inconclusive);
        assert!(an.reason.contains("662"), "{}", an.reason);
        let (a, b) = series(150, 5, 0.5, |_| 1.0, 4);
        assert_eq!(analyze(&a, &b, &c, 4).verdict, Verdict::Regression);
    }
}
