//! One-dimensional k-means (Lloyd's iterations on sorted values): the lookup table of a
//! palettized weight. Sorting once makes every iteration a few binary searches over prefix
//! sums, so a tensor of millions of values clusters in milliseconds; the result depends on
//! the values only (quantile initialization, no random seed).

const MAX_ITERATIONS: usize = 64;

/// At most `k` centroids, ascending, for finite `values` (at least one).
pub(crate) fn centroids(values: &[f32], k: usize) -> Vec<f32> {
    let mut sorted: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.dedup();
    if sorted.len() <= k {
        return sorted.iter().map(|&v| v as f32).collect();
    }
    // Weighted by multiplicity: rebuild counts from the original values.
    let mut all: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    all.sort_by(|a, b| a.total_cmp(b));
    let n = all.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for v in &all {
        prefix.push(prefix.last().unwrap() + v);
    }
    // Start at the midpoints of k equal-count bins.
    let mut c: Vec<f64> = (0..k).map(|j| all[((2 * j + 1) * n) / (2 * k)]).collect();
    c.dedup();
    for _ in 0..MAX_ITERATIONS {
        let mut next = Vec::with_capacity(c.len());
        let mut start = 0usize;
        for j in 0..c.len() {
            let end = if j + 1 == c.len() {
                n
            } else {
                let boundary = (c[j] + c[j + 1]) / 2.0;
                all.partition_point(|&v| v <= boundary)
            };
            if end > start {
                next.push((prefix[end] - prefix[start]) / (end - start) as f64);
            }
            start = end.max(start);
        }
        next.dedup();
        if next == c {
            break;
        }
        c = next;
    }
    c.iter().map(|&v| v as f32).collect()
}

/// Index of the centroid nearest to `v` (`centroids` ascending).
pub(crate) fn nearest(centroids: &[f32], v: f32) -> usize {
    let i = centroids.partition_point(|&c| c < v);
    if i == 0 {
        0
    } else if i == centroids.len() || (v - centroids[i - 1]) <= (centroids[i] - v) {
        i - 1
    } else {
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_separated_clusters() {
        let mut values = Vec::new();
        for i in 0..100 {
            values.push(-5.0 + (i as f32) * 1e-3);
            values.push(3.0 + (i as f32) * 1e-3);
        }
        let c = centroids(&values, 2);
        assert_eq!(c.len(), 2);
        assert!((c[0] - (-5.0 + 0.0495)).abs() < 1e-4, "{c:?}");
        assert!((c[1] - (3.0 + 0.0495)).abs() < 1e-4, "{c:?}");
        assert_eq!(nearest(&c, -100.0), 0);
        assert_eq!(nearest(&c, 2.0), 1);
    }

    #[test]
    fn few_distinct_values_are_kept_exactly() {
        let c = centroids(&[1.0, 1.0, 2.0, 7.5], 16);
        assert_eq!(c, vec![1.0, 2.0, 7.5]);
    }

    #[test]
    fn clustering_reduces_error_against_the_initial_table() {
        let values: Vec<f32> = (0..4096)
            .map(|i| ((i * 7919) % 4096) as f32 / 4096.0)
            .collect();
        let c = centroids(&values, 16);
        assert!(c.len() <= 16 && c.windows(2).all(|w| w[0] < w[1]));
        let err: f32 = values
            .iter()
            .map(|&v| (v - c[nearest(&c, v)]).abs())
            .fold(0.0, f32::max);
        // Uniform on [0, 1) with 16 levels: half a bin is 1/32.
        assert!(err <= 1.0 / 32.0 + 1e-3, "{err}");
    }
}
