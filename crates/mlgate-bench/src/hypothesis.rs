//! Rank tests and shift estimates: Mann-Whitney U, the Wilcoxon signed-rank test, the
//! Hodges-Lehmann estimator with its distribution-free interval, and the paired block
//! bootstrap of a ratio of statistics. Exact null distributions are used for small samples
//! without ties, the normal approximation (tie- and continuity-corrected) otherwise.

use serde::{Deserialize, Serialize};

use crate::stats::{self, normal_cdf, quantile_of_sorted, z_quantile};
use crate::Metric;

/// The outcome of a test: its statistic, two-sided p-value and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
    pub method: String,
}

/// Samples up to this size (each) without ties get exact p-values.
const EXACT_MAX: usize = 25;

/// Midranks (1-based) of `values`, and the tie correction `Σ(t³ − t)`.
fn midranks(values: &[f64]) -> (Vec<f64>, f64) {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && values[idx[j + 1]] == values[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    (ranks, ties)
}

/// Number of arrangements of m x's and n y's with each value of U (the count of (x, y)
/// pairs with x > y), by the recurrence c(m, n, u) = c(m−1, n, u−n) + c(m, n−1, u).
fn mann_whitney_counts(m: usize, n: usize) -> Vec<f64> {
    let max_u = m * n;
    // table[i][j] = counts for (i, j), built row by row to keep memory at O(n · mn).
    let mut prev: Vec<Vec<f64>> = (0..=n)
        .map(|_| {
            let mut v = vec![0.0; max_u + 1];
            v[0] = 1.0;
            v
        })
        .collect();
    for i in 1..=m {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        let mut first = vec![0.0; max_u + 1];
        first[0] = 1.0;
        cur.push(first);
        for j in 1..=n {
            let mut v = vec![0.0; max_u + 1];
            for u in 0..=i * j {
                let a = if u >= j { prev[j][u - j] } else { 0.0 };
                v[u] = a + cur[j - 1][u];
            }
            cur.push(v);
        }
        prev = cur;
    }
    prev.swap_remove(n)
}

/// P(U ≤ u) under the null for samples of sizes m and n without ties.
pub fn mann_whitney_exact_cdf(m: usize, n: usize, u: usize) -> f64 {
    let counts = mann_whitney_counts(m, n);
    let total: f64 = counts.iter().sum();
    counts.iter().take(u + 1).sum::<f64>() / total
}

/// Two-sided Mann-Whitney U test. The statistic is U of `x` (pairs with x > y, ties half).
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<TestResult> {
    let (m, n) = (x.len(), y.len());
    if m == 0 || n == 0 {
        return None;
    }
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let (ranks, ties) = midranks(&all);
    let r1: f64 = ranks[..m].iter().sum();
    let u = r1 - (m * (m + 1)) as f64 / 2.0;
    let mn = (m * n) as f64;
    if ties == 0.0 && m <= EXACT_MAX && n <= EXACT_MAX {
        let counts = mann_whitney_counts(m, n);
        let total: f64 = counts.iter().sum();
        let k = u.round() as usize;
        let lower: f64 = counts[..=k].iter().sum::<f64>() / total;
        let upper: f64 = counts[k..].iter().sum::<f64>() / total;
        return Some(TestResult {
            statistic: u,
            p_value: (2.0 * lower.min(upper)).min(1.0),
            method: format!("Mann-Whitney U, exact (n = {m}, {n})"),
        });
    }
    let big_n = (m + n) as f64;
    let var = mn / 12.0 * ((big_n + 1.0) - ties / (big_n * (big_n - 1.0)));
    if var.is_nan() || var <= 0.0 {
        return Some(TestResult {
            statistic: u,
            p_value: 1.0,
            method: "Mann-Whitney U (all values tied)".into(),
        });
    }
    let z = ((u - mn / 2.0).abs() - 0.5).max(0.0) / var.sqrt();
    Some(TestResult {
        statistic: u,
        p_value: (2.0 * (1.0 - normal_cdf(z))).min(1.0),
        method: format!("Mann-Whitney U, normal approximation with tie and continuity correction (n = {m}, {n})"),
    })
}

/// Null distribution counts of the signed-rank statistic W+ for n nonzero differences
/// without ties: the number of subsets of {1..n} with each sum.
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0.0; max + 1];
    c[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            c[s] += c[s - k];
        }
    }
    c
}

/// P(W+ ≤ w) under the null, n nonzero differences without ties.
pub fn signed_rank_exact_cdf(n: usize, w: usize) -> f64 {
    let c = signed_rank_counts(n);
    let total: f64 = c.iter().sum();
    c.iter().take(w + 1).sum::<f64>() / total
}

/// Two-sided Wilcoxon signed-rank test that the differences `d` are centred on 0. Zeros are
/// dropped (Wilcoxon's convention); the statistic is W+, the rank sum of positive ones.
pub fn wilcoxon_signed_rank(d: &[f64]) -> Option<TestResult> {
    let nz: Vec<f64> = d
        .iter()
        .copied()
        .filter(|v| *v != 0.0 && v.is_finite())
        .collect();
    let n = nz.len();
    if n == 0 {
        return None;
    }
    let abs: Vec<f64> = nz.iter().map(|v| v.abs()).collect();
    let (ranks, ties) = midranks(&abs);
    let w: f64 = nz
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    if ties == 0.0 && n <= EXACT_MAX {
        let c = signed_rank_counts(n);
        let total: f64 = c.iter().sum();
        let k = w.round() as usize;
        let lower = c[..=k].iter().sum::<f64>() / total;
        let upper = c[k..].iter().sum::<f64>() / total;
        return Some(TestResult {
            statistic: w,
            p_value: (2.0 * lower.min(upper)).min(1.0),
            method: format!("Wilcoxon signed-rank, exact (n = {n})"),
        });
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0;
    if var.is_nan() || var <= 0.0 {
        return Some(TestResult {
            statistic: w,
            p_value: 1.0,
            method: "Wilcoxon signed-rank (degenerate)".into(),
        });
    }
    let z = ((w - mean).abs() - 0.5).max(0.0) / var.sqrt();
    Some(TestResult {
        statistic: w,
        p_value: (2.0 * (1.0 - normal_cdf(z))).min(1.0),
        method: format!("Wilcoxon signed-rank, normal approximation with tie and continuity correction (n = {n})"),
    })
}

/// A shift estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShiftEstimate {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Coverage the interval actually has (exact for small n, nominal otherwise).
    pub confidence: f64,
}

/// One-sample Hodges-Lehmann estimate of the centre of `d`: the median of the Walsh averages
/// `(d_i + d_j)/2, i ≤ j`, with the distribution-free interval that inverts the signed-rank
/// test, `[W(c+1), W(M−c)]` where `c` is the largest value with `P(W+ ≤ c) ≤ (1−conf)/2`.
/// `None` when there are too few values to reach the confidence.
pub fn hodges_lehmann_one_sample(d: &[f64], confidence: f64) -> Option<ShiftEstimate> {
    let n = d.len();
    if n == 0 {
        return None;
    }
    let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in i..n {
            walsh.push((d[i] + d[j]) / 2.0);
        }
    }
    walsh.sort_by(f64::total_cmp);
    let m = walsh.len();
    let estimate = crate::stats::median_sorted(&walsh);
    let tail = (1.0 - confidence) / 2.0;
    let (c, actual) = if n <= EXACT_MAX {
        let counts = signed_rank_counts(n);
        let total: f64 = counts.iter().sum();
        let mut cum = 0.0;
        let mut c = None;
        for (k, v) in counts.iter().enumerate() {
            cum += v;
            if cum / total <= tail {
                c = Some((k, 1.0 - 2.0 * cum / total));
            } else {
                break;
            }
        }
        c?
    } else {
        let nf = n as f64;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let c = (m as f64 / 2.0 - z_quantile(1.0 - tail) * sd).floor();
        if c < 0.0 {
            return None;
        }
        (c as usize, confidence)
    };
    // Ranks c+1 and M−c, 1-based.
    if c + 1 > m || m - c < c + 1 {
        return None;
    }
    Some(ShiftEstimate {
        estimate,
        low: walsh[c],
        high: walsh[m - c - 1],
        confidence: actual,
    })
}

/// Two-sample Hodges-Lehmann shift of `y` relative to `x`: the median of all differences
/// `y_j − x_i`, with Moses's interval from the Mann-Whitney null distribution. Materialises
/// the m·n differences, so it is meant for moderate samples (reports, tests).
pub fn hodges_lehmann_two_sample(x: &[f64], y: &[f64], confidence: f64) -> Option<ShiftEstimate> {
    let (m, n) = (x.len(), y.len());
    if m == 0 || n == 0 || m.saturating_mul(n) > 25_000_000 {
        return None;
    }
    let mut diffs: Vec<f64> = y
        .iter()
        .flat_map(|b| x.iter().map(move |a| b - a))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let total = diffs.len();
    let estimate = crate::stats::median_sorted(&diffs);
    let tail = (1.0 - confidence) / 2.0;
    let (c, actual) = if m <= EXACT_MAX && n <= EXACT_MAX {
        let counts = mann_whitney_counts(m, n);
        let sum: f64 = counts.iter().sum();
        let mut cum = 0.0;
        let mut c = None;
        for (k, v) in counts.iter().enumerate() {
            cum += v;
            if cum / sum <= tail {
                c = Some((k, 1.0 - 2.0 * cum / sum));
            } else {
                break;
            }
        }
        c?
    } else {
        let sd = ((m * n) as f64 * (m + n + 1) as f64 / 12.0).sqrt();
        let c = ((m * n) as f64 / 2.0 - z_quantile(1.0 - tail) * sd).floor();
        if c < 0.0 {
            return None;
        }
        (c as usize, confidence)
    };
    if c + 1 > total || total - c < c + 1 {
        return None;
    }
    Some(ShiftEstimate {
        estimate,
        low: diffs[c],
        high: diffs[total - c - 1],
        confidence: actual,
    })
}

/// Result of a paired block bootstrap of `metric(candidate) / metric(baseline)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapRatio {
    /// Percentile interval of the ratio minus 1, i.e. of the relative shift.
    pub low: f64,
    pub high: f64,
    /// Two-sided bootstrap p-value for "ratio = 1": twice the smaller tail share of the
    /// resampled ratios on either side of 1, floored at 1/resamples (its resolution).
    pub p_value: f64,
    pub resamples: usize,
}

/// The metric of a bag of samples (nearest-rank percentile, or mean), destroying its order.
pub fn metric_of(values: &mut [f64], metric: Metric) -> f64 {
    match metric.percentile() {
        Some(p) => {
            if values.is_empty() {
                return f64::NAN;
            }
            let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
            let k = rank.clamp(1, values.len()) - 1;
            *values.select_nth_unstable_by(k, f64::total_cmp).1
        }
        None => crate::stats::mean(values),
    }
}

/// Paired block bootstrap: resamples whole (baseline block, candidate block) pairs with
/// replacement, pools each side's samples and takes the ratio of the metric. Resampling
/// pairs keeps what made them comparable (adjacent in time), so drift and correlated noise
/// between blocks widen the interval instead of faking a difference.
pub fn block_bootstrap_ratio(
    baseline: &[Vec<f64>],
    candidate: &[Vec<f64>],
    metric: Metric,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<BootstrapRatio> {
    let k = baseline.len();
    if k < 2 || candidate.len() != k || resamples == 0 {
        return None;
    }
    let mut rng = stats::rng(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        a.clear();
        b.clear();
        for _ in 0..k {
            let i = rng.below(k);
            a.extend_from_slice(&baseline[i]);
            b.extend_from_slice(&candidate[i]);
        }
        let (ma, mb) = (metric_of(&mut a, metric), metric_of(&mut b, metric));
        if ma > 0.0 && mb.is_finite() {
            ratios.push(mb / ma);
        }
    }
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let r = ratios.len() as f64;
    let below = ratios.iter().filter(|&&x| x <= 1.0).count() as f64;
    let above = ratios.iter().filter(|&&x| x >= 1.0).count() as f64;
    Some(BootstrapRatio {
        low: quantile_of_sorted(&ratios, tail) - 1.0,
        high: quantile_of_sorted(&ratios, 1.0 - tail) - 1.0,
        p_value: (2.0 * below.min(above) / r).clamp(1.0 / r, 1.0),
        resamples: ratios.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_whitney_matches_the_table() {
        // Exact: x = [19, 22, 16, 29, 24], y = [20, 11, 17, 12] (the SciPy documentation's
        // example): U = 17; P(U ≥ 17) = P(U ≤ 3) = 7/126, two-sided 0.1111.
        let x = [19.0, 22.0, 16.0, 29.0, 24.0];
        let y = [20.0, 11.0, 17.0, 12.0];
        let r = mann_whitney_u(&x, &y).unwrap();
        assert_eq!(r.statistic, 17.0);
        assert!((r.p_value - 14.0 / 126.0).abs() < 1e-12, "{}", r.p_value);
        // Critical-value table, n1 = n2 = 10, two-sided α = 0.05: U ≤ 23 is significant,
        // U = 24 is not.
        assert!(mann_whitney_exact_cdf(10, 10, 23) <= 0.025);
        assert!(mann_whitney_exact_cdf(10, 10, 24) > 0.025);
        // n1 = n2 = 20, α = 0.01 two-sided: critical U = 105.
        assert!(mann_whitney_exact_cdf(20, 20, 105) <= 0.005);
        assert!(mann_whitney_exact_cdf(20, 20, 106) > 0.005);
    }

    #[test]
    fn mann_whitney_normal_approximation() {
        // Same data with a tie forces the approximation; without the tie the approximation
        // for U = 17 is 2·(1 − Φ((7 − 0.5)/√(50/3))) = 0.1113.
        let x = [19.0, 22.0, 16.0, 29.0, 24.0, 20.0];
        let y = [20.0, 11.0, 17.0, 12.0];
        let r = mann_whitney_u(&x, &y).unwrap();
        assert!(r.method.contains("normal"));
        // U = 20.5 (midranks for the tied 20s), tie term Σ(t³ − t) = 6, so
        // σ² = 6·4/12 · (11 − 6/90) = 21.8667 and z = (|20.5 − 12| − 0.5)/σ = 1.71080:
        // p = 2·(1 − Φ(1.71080)) = 0.087118, worked by hand from the formula.
        assert_eq!(r.statistic, 20.5);
        assert!((r.p_value - 0.087118).abs() < 1e-5, "{}", r.p_value);
        let big_x: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let big_y: Vec<f64> = (0..100).map(|i| i as f64 + 0.5).collect();
        let r = mann_whitney_u(&big_x, &big_y).unwrap();
        assert!(
            r.p_value > 0.8,
            "a half-step shift of 100 values is noise: {}",
            r.p_value
        );
        let far: Vec<f64> = (0..100).map(|i| i as f64 + 60.0).collect();
        assert!(mann_whitney_u(&big_x, &far).unwrap().p_value < 1e-10);
    }

    /// Hollander & Wolfe, Nonparametric Statistical Methods, Example 3.1/3.3/3.4: Hamilton
    /// depression scale before and after tranquilizer, n = 9.
    fn hamilton() -> Vec<f64> {
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
        #[allow(clippy::approx_constant)] // 3.14 is a measurement, not π
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
        x.iter().zip(&y).map(|(a, b)| b - a).collect()
    }

    #[test]
    fn signed_rank_on_textbook_data() {
        let r = wilcoxon_signed_rank(&hamilton()).unwrap();
        assert_eq!(r.statistic, 5.0); // T+ = 5
        assert!((r.p_value - 20.0 / 512.0).abs() < 1e-12, "{}", r.p_value); // one-sided 0.0195
                                                                            // Table: n = 10, two-sided α = 0.05 → W ≤ 8 significant.
        assert!(signed_rank_exact_cdf(10, 8) <= 0.025 && signed_rank_exact_cdf(10, 9) > 0.025);
    }

    #[test]
    fn hodges_lehmann_on_textbook_data() {
        // θ̂ = −0.46 and the 96.1% interval (−0.786, −0.010) of Examples 3.3 and 3.4.
        let e = hodges_lehmann_one_sample(&hamilton(), 0.95).unwrap();
        assert!((e.estimate + 0.46).abs() < 1e-9, "{e:?}");
        assert!(
            (e.low + 0.786).abs() < 1e-9 && (e.high + 0.010).abs() < 1e-9,
            "{e:?}"
        );
        assert!((e.confidence - (1.0 - 20.0 / 512.0)).abs() < 1e-12);
        // Two-sample: a pure shift is recovered exactly.
        let x: Vec<f64> = (0..30).map(|i| (i * 7 % 30) as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| v + 2.5).collect();
        let e = hodges_lehmann_two_sample(&x, &y, 0.95).unwrap();
        assert_eq!(e.estimate, 2.5);
        assert!(e.low < 2.5 && e.high > 2.5);
        // x = [1, 2, 3], y = [4, 5, 6]: differences 1..5, median 3 (by hand).
        assert_eq!(
            hodges_lehmann_two_sample(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 0.5)
                .unwrap()
                .estimate,
            3.0
        );
    }

    #[test]
    fn block_bootstrap_sees_a_tail_shift_and_not_noise() {
        let mut rng = stats::rng(9);
        let mut block = |scale: f64| -> Vec<f64> {
            (0..20)
                .map(|_| scale * (10.0 + (rng.next_u64() % 1000) as f64 / 1000.0))
                .collect()
        };
        let a: Vec<Vec<f64>> = (0..40).map(|_| block(1.0)).collect();
        let same: Vec<Vec<f64>> = (0..40).map(|_| block(1.0)).collect();
        let slow: Vec<Vec<f64>> = (0..40).map(|_| block(1.10)).collect();
        let r = block_bootstrap_ratio(&a, &same, Metric::P95, 2000, 0.95, 1).unwrap();
        assert!(r.low < 0.0 && r.high > 0.0, "{r:?}");
        let r = block_bootstrap_ratio(&a, &slow, Metric::P95, 2000, 0.95, 1).unwrap();
        assert!(r.low > 0.05 && r.high < 0.15 && r.p_value < 0.01, "{r:?}");
        let r = block_bootstrap_ratio(&a, &slow, Metric::Mean, 2000, 0.95, 1).unwrap();
        assert!(r.low > 0.08 && r.high < 0.12, "{r:?}");
    }
}
