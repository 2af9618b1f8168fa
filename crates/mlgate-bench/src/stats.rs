//! Descriptive statistics of a latency series: percentiles with distribution-free confidence
//! intervals, moments, MAD, outliers (counted, never removed) and stability diagnostics.
//!
//! Percentiles are order statistics (nearest rank), so every reported latency is one that
//! was observed. Their intervals come from the binomial distribution of ranks, which holds
//! for any continuous distribution; no normality is assumed anywhere a percentile is quoted.

use mlgate_ir::rng::SplitMix64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal, StudentsT};

/// Samples needed before a percentile is reported. p90 and p99 are MLPerf LoadGen's
/// early-stopping bounds (64 and 662). p50 and p95 use the rule behind the p90 bound: the
/// smallest n with `q^n ≤ 0.9^64` (≈ 0.0012), i.e. the largest of n samples exceeds the
/// q-quantile with at least the confidence MLPerf asks of p90. That gives 10 for p50 and 132
/// for p95. Other percentiles use the same rule.
pub fn min_samples_for(percentile: f64) -> usize {
    let q = percentile / 100.0;
    if (percentile - 90.0).abs() < 1e-9 {
        return 64;
    }
    if (percentile - 99.0).abs() < 1e-9 {
        return 662;
    }
    if !(0.0..1.0).contains(&q) {
        return usize::MAX;
    }
    let target = 64.0 * 0.9f64.ln();
    (target / q.ln()).ceil().max(1.0) as usize
}

/// Nearest-rank percentile of sorted data: the `ceil(q·n)`-th smallest value, an observed
/// latency rather than an interpolation between two.
pub fn percentile_sorted(sorted: &[f64], percentile: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&percentile) {
        return None;
    }
    let rank = ((percentile / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// 1-based ranks `(l, u)` such that `[x(l), x(u)]` covers the q-quantile with probability at
/// least `confidence`, for any continuous distribution: the number of samples below the
/// quantile is Binomial(n, q). `None` when n is too small to bound the quantile on both sides.
pub fn percentile_ci_ranks(n: usize, q: f64, confidence: f64) -> Option<(usize, usize)> {
    if n == 0 || !(0.0 < q && q < 1.0) || !(0.0 < confidence && confidence < 1.0) {
        return None;
    }
    let b = Binomial::new(q, n as u64).ok()?;
    let tail = (1.0 - confidence) / 2.0;
    // Largest l ≥ 1 with P(B ≤ l−1) ≤ tail: binary search, the CDF is monotone.
    if b.cdf(0) > tail {
        return None;
    }
    let (mut lo, mut hi) = (0u64, n as u64); // invariant: cdf(lo) ≤ tail < cdf(hi) or hi = n
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if b.cdf(mid) <= tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let l = lo as usize + 1;
    // Smallest u with P(B ≤ u−1) ≥ 1 − tail.
    let (mut lo, mut hi) = (0u64, n as u64);
    if b.cdf(n as u64 - 1) < 1.0 - tail {
        return None; // even the maximum does not bound it from above
    }
    // invariant: cdf(lo) < 1−tail ≤ cdf(hi); cdf(0) may already satisfy it.
    if b.cdf(0) >= 1.0 - tail {
        return Some((l, 1));
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if b.cdf(mid) >= 1.0 - tail {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let u = hi as usize + 1;
    (l <= u && u <= n).then_some((l, u))
}

/// A percentile with its interval, or the reason it is not reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PercentileEstimate {
    /// e.g. 95.0 for p95.
    pub percentile: f64,
    /// Milliseconds; `None` when the series has fewer than `min_samples` samples.
    pub value_ms: Option<f64>,
    /// Distribution-free interval (order statistics) at the summary's confidence.
    pub ci_low_ms: Option<f64>,
    pub ci_high_ms: Option<f64>,
    /// Samples needed to report this percentile (see [`min_samples_for`]).
    pub min_samples: usize,
    /// `false`: too few samples, so the value is withheld rather than guessed.
    pub sufficient: bool,
}

/// Summary of one latency series. Times are milliseconds.
///
/// Without samples the statistics are NaN, which JSON writes as `null` (so the schema
/// allows `null` for them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencySummary {
    pub n: usize,
    #[schemars(with = "Option<f64>")]
    pub mean_ms: f64,
    /// Interval of the mean from a seeded bootstrap of the samples (assumes independent runs;
    /// see the autocorrelation diagnostic).
    #[schemars(with = "Option<f64>")]
    pub mean_ci_low_ms: f64,
    #[schemars(with = "Option<f64>")]
    pub mean_ci_high_ms: f64,
    /// Sample standard deviation (n − 1).
    pub std_ms: f64,
    /// Coefficient of variation, std / mean (NaN when the mean is not positive).
    #[schemars(with = "Option<f64>")]
    pub cv: f64,
    #[schemars(with = "Option<f64>")]
    pub min_ms: f64,
    #[schemars(with = "Option<f64>")]
    pub max_ms: f64,
    /// Median absolute deviation from the median (unscaled).
    #[schemars(with = "Option<f64>")]
    pub mad_ms: f64,
    /// p50, p90, p95, p99.
    pub percentiles: Vec<PercentileEstimate>,
    /// Confidence of every interval here, e.g. 0.95.
    pub confidence: f64,
    pub outliers: Outliers,
}

impl LatencySummary {
    pub fn percentile(&self, p: f64) -> Option<&PercentileEstimate> {
        self.percentiles
            .iter()
            .find(|e| (e.percentile - p).abs() < 1e-9)
    }
}

/// Samples far from the median by the modified z-score `0.6745·|x − median| / MAD > 3.5`
/// (Iglewicz and Hoaglin). Counted and flagged; every sample stays in every statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Outliers {
    pub low: usize,
    pub high: usize,
    pub rule: String,
}

/// The percentiles every summary reports.
pub const REPORTED_PERCENTILES: [f64; 4] = [50.0, 90.0, 95.0, 99.0];

/// Nanosecond samples → milliseconds, in run order.
pub fn to_ms(samples_ns: &[u64]) -> Vec<f64> {
    samples_ns.iter().map(|&ns| ns as f64 / 1e6).collect()
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (n − 1); 0 for fewer than two values.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// Median of sorted data: the mean of the two middle values for even n (used for MAD and
/// diagnostics, where an interpolated centre is harmless).
pub fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

pub fn median(values: &[f64]) -> f64 {
    median_sorted(&sorted(values))
}

/// Median absolute deviation (unscaled).
pub fn mad(values: &[f64]) -> f64 {
    let m = median(values);
    let dev: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&dev)
}

/// Summarises `values_ms` (run order preserved in the caller's copy). `seed` drives the
/// bootstrap of the mean, so the same samples always give the same summary.
pub fn summarize(values_ms: &[f64], confidence: f64, seed: u64) -> LatencySummary {
    let s = sorted(values_ms);
    let n = s.len();
    let m = mean(&s);
    let sd = std_dev(&s);
    let med = median_sorted(&s);
    let mad_v = mad(&s);
    let percentiles = REPORTED_PERCENTILES
        .iter()
        .map(|&p| {
            let min = min_samples_for(p);
            let sufficient = n >= min;
            let ci = if sufficient {
                percentile_ci_ranks(n, p / 100.0, confidence)
            } else {
                None
            };
            PercentileEstimate {
                percentile: p,
                value_ms: if sufficient {
                    percentile_sorted(&s, p)
                } else {
                    None
                },
                ci_low_ms: ci.map(|(l, _)| s[l - 1]),
                ci_high_ms: ci.map(|(_, u)| s[u - 1]),
                min_samples: min,
                sufficient,
            }
        })
        .collect();
    let (mean_lo, mean_hi) = bootstrap_mean_ci(&s, confidence, 2000, seed);
    LatencySummary {
        n,
        mean_ms: m,
        mean_ci_low_ms: mean_lo,
        mean_ci_high_ms: mean_hi,
        std_ms: sd,
        cv: if m > 0.0 { sd / m } else { f64::NAN },
        min_ms: s.first().copied().unwrap_or(f64::NAN),
        max_ms: s.last().copied().unwrap_or(f64::NAN),
        mad_ms: mad_v,
        percentiles,
        confidence,
        outliers: count_outliers(&s, med, mad_v),
    }
}

fn count_outliers(values: &[f64], med: f64, mad_v: f64) -> Outliers {
    let rule = "modified z-score 0.6745·|x − median|/MAD > 3.5 (counted, not removed)".to_string();
    if mad_v.is_nan() || mad_v <= 0.0 {
        return Outliers {
            low: 0,
            high: 0,
            rule,
        };
    }
    let z = |v: f64| 0.6745 * (v - med) / mad_v;
    Outliers {
        low: values.iter().filter(|&&v| z(v) < -3.5).count(),
        high: values.iter().filter(|&&v| z(v) > 3.5).count(),
        rule,
    }
}

/// Percentile bootstrap interval of the mean. Degenerate inputs give the mean twice.
pub fn bootstrap_mean_ci(
    values: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> (f64, f64) {
    let n = values.len();
    if n < 2 {
        let m = mean(values);
        return (m, m);
    }
    let mut rng = rng(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    (
        quantile_of_sorted(&means, tail),
        quantile_of_sorted(&means, 1.0 - tail),
    )
}

/// Type-7 (linear) quantile of sorted data, for bootstrap distributions where the resampled
/// statistics are themselves estimates and interpolation is the usual convention.
pub fn quantile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Interval of the mean from Student's t; used only to decide when to stop measuring (the
/// reported interval is the bootstrap one).
pub fn mean_t_half_width(values: &[f64], confidence: f64) -> Option<f64> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    Some(t.inverse_cdf(0.5 + confidence / 2.0) * std_dev(values) / (n as f64).sqrt())
}

/// Relative half-width of the interval of `metric` over `values_ms`, for adaptive stopping;
/// `None` while the metric cannot be bounded yet.
pub fn relative_half_width(
    values_ms: &[f64],
    metric: crate::Metric,
    confidence: f64,
) -> Option<f64> {
    match metric.percentile() {
        Some(p) => {
            let s = sorted(values_ms);
            if s.len() < min_samples_for(p) {
                return None;
            }
            let (l, u) = percentile_ci_ranks(s.len(), p / 100.0, confidence)?;
            let v = percentile_sorted(&s, p)?;
            (v > 0.0).then(|| (s[u - 1] - s[l - 1]) / 2.0 / v)
        }
        None => {
            let m = mean(values_ms);
            (m > 0.0)
                .then(|| mean_t_half_width(values_ms, confidence).map(|h| h / m))
                .flatten()
        }
    }
}

/// What is unstable about a series, in numbers and in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stability {
    pub cv: f64,
    /// Lag-1 autocorrelation of the series in run order; near 0 for independent runs.
    pub lag1_autocorrelation: f64,
    /// Median of the last third relative to the median of the first third, minus 1.
    pub drift: f64,
    /// True when no warning fired.
    pub stable: bool,
    pub warnings: Vec<String>,
}

/// CV at or above this is unstable (pyperf's rule of thumb).
pub const CV_WARN: f64 = 0.10;
/// Drift between the first and last third beyond this is reported.
pub const DRIFT_WARN: f64 = 0.03;

pub fn lag1_autocorrelation(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 3 {
        return 0.0;
    }
    let m = mean(values);
    let var: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    if var <= 0.0 {
        return 0.0;
    }
    values
        .windows(2)
        .map(|w| (w[0] - m) * (w[1] - m))
        .sum::<f64>()
        / var
}

/// Stability diagnostics of a series in run order.
pub fn stability(values_ms: &[f64]) -> Stability {
    let n = values_ms.len();
    let m = mean(values_ms);
    let cv = if m > 0.0 { std_dev(values_ms) / m } else { 0.0 };
    let r1 = lag1_autocorrelation(values_ms);
    let third = n / 3;
    let drift = if third >= 3 {
        let first = median(&values_ms[..third]);
        let last = median(&values_ms[n - third..]);
        if first > 0.0 {
            last / first - 1.0
        } else {
            0.0
        }
    } else {
        0.0
    };
    let mut warnings = Vec::new();
    if cv >= CV_WARN {
        warnings.push(format!(
            "high variation: CV {:.1}% (≥ {:.0}%); close other programs or pin the benchmark to a core",
            cv * 100.0,
            CV_WARN * 100.0
        ));
    }
    // Under independence r1 is about N(0, 1/n); 3/√n is a three-sigma band, floored at 0.2 so
    // long runs do not warn about harmless correlation.
    let r1_limit = (3.0 / (n.max(1) as f64).sqrt()).max(0.2);
    if n >= 10 && r1.abs() > r1_limit {
        warnings.push(format!(
            "runs are correlated: lag-1 autocorrelation {r1:.2} (> {r1_limit:.2}); latency moves in \
             phases (frequency scaling, background load), so intervals that assume independent runs are too narrow"
        ));
    }
    if drift.abs() > DRIFT_WARN {
        warnings.push(format!(
            "latency drifted {:+.1}% from the first to the last third of the runs (thermal throttling, \
             frequency scaling or background load)",
            drift * 100.0
        ));
    }
    Stability {
        cv,
        lag1_autocorrelation: r1,
        drift,
        stable: warnings.is_empty(),
        warnings,
    }
}

/// First run index (0-based) from which latency has settled: the medians of three
/// consecutive windows of `window` runs are all within `tolerance` of the steady level (the
/// median of the later half of the series). Requiring three windows in a row ignores a
/// lucky early window; using medians ignores a single preempted run later on. `None` if it
/// never settles. Used for "time until latency is stable" in the cold-start report.
pub fn settle_index(values: &[f64], window: usize, tolerance: f64) -> Option<usize> {
    let n = values.len();
    if window == 0 || n < window * 3 {
        return None;
    }
    let steady = median(&values[n / 2..]);
    let ok = |i: usize| (median(&values[i..i + window]) / steady - 1.0).abs() <= tolerance;
    (0..=n - 3 * window).find(|&i| ok(i) && ok(i + window) && ok(i + 2 * window))
}

/// Standard normal quantile.
pub fn z_quantile(p: f64) -> f64 {
    Normal::new(0.0, 1.0)
        .map(|d| d.inverse_cdf(p))
        .unwrap_or(f64::NAN)
}

/// Standard normal CDF.
pub fn normal_cdf(x: f64) -> f64 {
    Normal::new(0.0, 1.0).map(|d| d.cdf(x)).unwrap_or(f64::NAN)
}

/// The seeded generator for bootstraps and schedules that a recorded `seed` stands for:
/// SplitMix64 (shared with the rest of mlgate), started from the seed salted with a constant.
/// Recorded seeds replay through this exact mapping, so it never changes.
pub fn rng(seed: u64) -> SplitMix64 {
    SplitMix64::new(seed ^ 0x6A09_E667_F3BC_C908)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_samples_match_mlperf_and_the_documented_rule() {
        assert_eq!(min_samples_for(90.0), 64);
        assert_eq!(min_samples_for(99.0), 662);
        assert_eq!(min_samples_for(95.0), 132);
        assert_eq!(min_samples_for(50.0), 10);
    }

    #[test]
    fn nearest_rank_percentiles_are_observed_values() {
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile_sorted(&s, 50.0), Some(5.0));
        assert_eq!(percentile_sorted(&s, 90.0), Some(9.0));
        assert_eq!(percentile_sorted(&s, 95.0), Some(10.0));
        assert_eq!(percentile_sorted(&s, 0.0), Some(1.0));
        assert_eq!(percentile_sorted(&[], 50.0), None);
    }

    #[test]
    fn median_ci_ranks_match_the_textbook_tables() {
        // Conover, Practical Nonparametric Statistics, table of binomial ranks for the median:
        // n = 10 → (x(2), x(9)) at ≥ 95%; n = 20 → (x(6), x(15)); n = 5 cannot reach 95%
        // (the extremes cover 93.75%).
        assert_eq!(percentile_ci_ranks(10, 0.5, 0.95), Some((2, 9)));
        assert_eq!(percentile_ci_ranks(20, 0.5, 0.95), Some((6, 15)));
        assert_eq!(percentile_ci_ranks(5, 0.5, 0.95), None);
        assert_eq!(percentile_ci_ranks(6, 0.5, 0.95), Some((1, 6)));
        // p90 at the MLPerf bound: P(B ≤ 63) = 1 − 0.9^64 ≈ 0.9988 ≥ 0.975, so it is bounded.
        let (l, u) = percentile_ci_ranks(64, 0.9, 0.95).unwrap();
        assert!(l < 58 && u <= 64 && u > 58, "{l} {u}");
    }

    #[test]
    fn ci_coverage_is_at_least_nominal() {
        // [x(l), x(u)] covers the q-quantile exactly when the number B of samples below it
        // satisfies l ≤ B ≤ u−1: coverage = P(B ≤ u−1) − P(B ≤ l−1), from the binomial.
        // The ranks must also be the tightest: one rank further in on either side drops
        // that side's tail above (1 − confidence)/2, so an off-by-one fails here.
        let mut checked = 0;
        for &n in &[10usize, 33, 100, 500] {
            for &q in &[0.5, 0.9, 0.95] {
                if let Some((l, u)) = percentile_ci_ranks(n, q, 0.95) {
                    let b = Binomial::new(q, n as u64).unwrap();
                    let below = |k: usize| if k == 0 { 0.0 } else { b.cdf(k as u64 - 1) };
                    let cover = below(u) - below(l);
                    assert!(
                        cover >= 0.95 - 1e-12,
                        "n {n} q {q}: ({l}, {u}) covers {cover}"
                    );
                    assert!(
                        below(l + 1) > 0.025,
                        "n {n} q {q}: l = {l} is not the largest"
                    );
                    if u > 1 {
                        assert!(
                            1.0 - below(u - 1) > 0.025,
                            "n {n} q {q}: u = {u} is not the smallest"
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked >= 8, "only {checked} (n, q) pairs had an interval");
    }

    #[test]
    fn summary_withholds_unbounded_percentiles_and_keeps_outliers() {
        let mut v: Vec<f64> = (0..100).map(|i| 10.0 + (i % 7) as f64 * 0.01).collect();
        v[50] = 100.0; // a spike: counted, and still the maximum
        let s = summarize(&v, 0.95, 1);
        assert_eq!(s.n, 100);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.outliers.high, 1);
        let p99 = s.percentile(99.0).unwrap();
        assert!(!p99.sufficient && p99.value_ms.is_none());
        let p95 = s.percentile(95.0).unwrap();
        assert!(!p95.sufficient, "100 < 132");
        let p90 = s.percentile(90.0).unwrap();
        assert!(
            p90.sufficient
                && p90.value_ms.is_some()
                && p90.ci_low_ms.unwrap() <= p90.value_ms.unwrap()
        );
        assert!(s.mean_ms > 10.5, "the spike is in the mean: {}", s.mean_ms);
    }

    #[test]
    fn known_moments() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&v), 5.0);
        assert!((std_dev(&v) - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mad(&v), 0.5); // median 4.5; deviations 0.5 ×5, 2.5, 2.5, 4.5
        assert!((lag1_autocorrelation(&[1.0, 2.0, 3.0, 4.0, 5.0]) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn stability_names_what_is_wrong() {
        let drifting: Vec<f64> = (0..300).map(|i| 10.0 + i as f64 * 0.01).collect();
        let s = stability(&drifting);
        assert!(!s.stable);
        assert!(
            s.warnings.iter().any(|w| w.contains("drifted")),
            "{:?}",
            s.warnings
        );
        assert!(
            s.warnings.iter().any(|w| w.contains("correlated")),
            "{:?}",
            s.warnings
        );
        let mut rng = rng(3);
        let noisy: Vec<f64> = (0..300)
            .map(|_| 10.0 + (rng.next_u64() % 100) as f64 / 1000.0)
            .collect();
        assert!(stability(&noisy).stable, "{:?}", stability(&noisy).warnings);
    }

    #[test]
    fn settles_after_the_slow_first_runs() {
        let mut v = vec![50.0, 30.0, 20.0, 15.0, 12.0];
        v.extend(std::iter::repeat_n(10.0, 40));
        assert_eq!(settle_index(&v, 3, 0.1), Some(4));
        // A late preempted run does not move the answer.
        v[30] = 80.0;
        assert_eq!(settle_index(&v, 3, 0.1), Some(4));
    }
}
