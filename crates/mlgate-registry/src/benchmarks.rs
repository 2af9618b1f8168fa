//! Benchmark results and accuracy checks, stored as the bench crate hands them over: typed
//! columns for what queries filter and sort on, JSON for the nested parts, and every raw
//! sample (deflated little-endian f64) so statistics can be recomputed later.

use std::io::{Read, Write};

use rusqlite::{params, OptionalExtension, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::Registry;

/// A benchmark result to record. `n`, `backend` and the environment fingerprint say how it
/// was measured; a number without them is not stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewBenchmark {
    pub backend: String,
    pub p50_ms: f64,
    pub p95_ms: Option<f64>,
    /// Peak memory during the run, MB (10^6 bytes), when measured.
    pub memory_mb: Option<f64>,
    /// Number of timed runs.
    pub n: u64,
    /// Every timed run, ms.
    pub samples_ms: Vec<f64>,
    /// Summary statistics by name (`mean`, `p99`, `ci95_low`, ...).
    pub statistics: serde_json::Value,
    /// How it was run (warm-up, runs, threads, inputs, ...).
    pub settings: serde_json::Value,
    /// The environment (CPU, OS, runtime versions, ...).
    pub fingerprint: serde_json::Value,
    /// `None` means now.
    pub created_at: Option<i64>,
}

/// A recorded benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Benchmark {
    pub id: i64,
    pub build_id: String,
    pub backend: String,
    pub p50_ms: f64,
    pub p95_ms: Option<f64>,
    pub memory_mb: Option<f64>,
    pub n: u64,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
    pub statistics: serde_json::Value,
    pub settings: serde_json::Value,
    pub fingerprint: serde_json::Value,
    pub samples_ms: Vec<f64>,
}

/// The headline numbers of a build's latest benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatestMetric {
    pub benchmark_id: i64,
    pub backend: String,
    pub p50_ms: f64,
    pub p95_ms: Option<f64>,
    pub memory_mb: Option<f64>,
    pub n: u64,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub created_at: i64,
}

/// An output-divergence check between two builds (written by the accuracy command).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyCheck {
    pub baseline_build_id: String,
    pub candidate_build_id: String,
    pub passed: bool,
    /// Metric name → value (`cosine`, `top1`, `mae`, `max_abs`).
    pub metrics: serde_json::Value,
    pub settings: serde_json::Value,
}

/// A recorded accuracy check: the check, when and where it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAccuracyCheck {
    pub id: i64,
    #[serde(flatten)]
    pub check: AccuracyCheck,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
}

/// An interleaved latency comparison of two builds on one runtime (written by `explore`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline_build_id: String,
    pub candidate_build_id: String,
    pub backend: String,
    /// What was compared (`p50`).
    pub metric: String,
    /// (candidate − baseline) / baseline; `None` when not estimated.
    pub relative_delta: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Whether the interval excludes zero.
    pub significant: bool,
    /// The whole result as the caller keeps it (seed, pairs, medians, verdict).
    pub result: serde_json::Value,
}

/// A recorded comparison: the comparison, when and where it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredComparison {
    pub id: i64,
    #[serde(flatten)]
    pub comparison: Comparison,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
}

pub(crate) fn compress_samples(samples: &[f64]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(samples.len() * 8);
    for s in samples {
        raw.extend_from_slice(&s.to_le_bytes());
    }
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(&raw);
    enc.finish().unwrap_or_default()
}

pub(crate) fn decompress_samples(blob: &[u8], count: usize) -> Option<Vec<f64>> {
    let mut raw = Vec::with_capacity(count * 8);
    flate2::read::DeflateDecoder::new(blob)
        .take((count as u64 + 1) * 8)
        .read_to_end(&mut raw)
        .ok()?;
    if raw.len() != count * 8 {
        return None;
    }
    Some(
        raw.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
    )
}

const BENCH_COLS: &str = "id, build_id, backend, p50_ms, p95_ms, memory_mb, n, created_at, \
    machine_id, hostname, statistics, settings, fingerprint, samples_count, samples";

fn bench_from_row(r: &Row<'_>) -> rusqlite::Result<(Benchmark, bool)> {
    let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
        let text: String = r.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    };
    let count = r.get::<_, i64>(13)?.max(0) as usize;
    let blob: Option<Vec<u8>> = r.get(14)?;
    let (samples, ok) = match blob {
        None => (Vec::new(), count == 0),
        Some(b) => match decompress_samples(&b, count) {
            Some(s) => (s, true),
            None => (Vec::new(), false),
        },
    };
    Ok((
        Benchmark {
            id: r.get(0)?,
            build_id: r.get(1)?,
            backend: r.get(2)?,
            p50_ms: r.get(3)?,
            p95_ms: r.get(4)?,
            memory_mb: r.get(5)?,
            n: r.get::<_, i64>(6)? as u64,
            created_at: r.get(7)?,
            machine_id: r.get(8)?,
            hostname: r.get(9)?,
            statistics: json(10)?,
            settings: json(11)?,
            fingerprint: json(12)?,
            samples_ms: samples,
        },
        ok,
    ))
}

fn check(b: &NewBenchmark) -> Result<()> {
    crate::builds::check_text("backend", &b.backend, 64)?;
    let finite = |what: &'static str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(RegistryError::invalid(
                what,
                v.to_string(),
                "must be a finite, non-negative number",
            ))
        }
    };
    finite("p50 latency", b.p50_ms)?;
    if let Some(v) = b.p95_ms {
        finite("p95 latency", v)?;
    }
    if let Some(v) = b.memory_mb {
        finite("memory", v)?;
    }
    if b.n == 0 {
        return Err(RegistryError::invalid(
            "number of runs",
            "0",
            "a benchmark needs at least one timed run",
        ));
    }
    Ok(())
}

impl Registry {
    /// Record a benchmark of a build. Returns its id.
    pub fn record_benchmark(&mut self, build_id: &str, b: &NewBenchmark) -> Result<i64> {
        Ok(self.record_benchmarks(&[(build_id.to_string(), b.clone())])?[0])
    }

    /// Record several benchmarks in one transaction.
    pub fn record_benchmarks(&mut self, items: &[(String, NewBenchmark)]) -> Result<Vec<i64>> {
        for (_, b) in items {
            check(b)?;
        }
        let machine = self.machine.clone();
        let now = crate::time::now_ms();
        let tx = self.write_tx()?;
        let mut ids = Vec::with_capacity(items.len());
        {
            let mut exists = tx.prepare_cached("SELECT 1 FROM builds WHERE id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO benchmarks (build_id, backend, p50_ms, p95_ms, memory_mb, n, \
                 created_at, machine_id, hostname, statistics, settings, fingerprint, \
                 samples_count, samples) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
                 ?12, ?13, ?14)",
            )?;
            for (build_id, b) in items {
                if !exists.exists([build_id])? {
                    return Err(RegistryError::UnknownBuild {
                        reference: build_id.clone(),
                    });
                }
                let blob = (!b.samples_ms.is_empty()).then(|| compress_samples(&b.samples_ms));
                insert.execute(params![
                    build_id,
                    b.backend,
                    b.p50_ms,
                    b.p95_ms,
                    b.memory_mb,
                    b.n as i64,
                    b.created_at.unwrap_or(now),
                    machine.id,
                    machine.hostname,
                    b.statistics.to_string(),
                    b.settings.to_string(),
                    b.fingerprint.to_string(),
                    b.samples_ms.len() as i64,
                    blob,
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Benchmarks of a build, newest first.
    pub fn benchmarks(&self, build_id: &str, limit: usize) -> Result<Vec<Benchmark>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BENCH_COLS} FROM benchmarks WHERE build_id = ?1 \
             ORDER BY created_at DESC, id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![build_id, limit as i64], bench_from_row)?
            .map(|r| r.map(|(b, _)| b))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn latest_benchmark(&self, build_id: &str) -> Result<Option<Benchmark>> {
        Ok(self.benchmarks(build_id, 1)?.into_iter().next())
    }

    /// The most recent benchmark in the workspace, with its build.
    pub fn last_benchmark(&self) -> Result<Option<Benchmark>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {BENCH_COLS} FROM benchmarks ORDER BY created_at DESC, id DESC LIMIT 1"
            ))?
            .query_row([], bench_from_row)
            .optional()?
            .map(|(b, _)| b))
    }

    /// Ids of benchmarks whose stored samples do not decode (for `verify`).
    pub(crate) fn damaged_benchmarks(&self) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {BENCH_COLS} FROM benchmarks ORDER BY id"))?;
        let mut out = Vec::new();
        for row in stmt.query_map([], bench_from_row)? {
            let (b, ok) = row?;
            if !ok {
                out.push((b.id, b.build_id));
            }
        }
        Ok(out)
    }

    /// Record an accuracy check between two builds. Returns its id.
    pub fn record_accuracy_check(&mut self, check: &AccuracyCheck) -> Result<i64> {
        let machine = self.machine.clone();
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO accuracy_checks (baseline_build_id, candidate_build_id, passed, \
             metrics, settings, created_at, machine_id, hostname) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                check.baseline_build_id,
                check.candidate_build_id,
                check.passed,
                check.metrics.to_string(),
                check.settings.to_string(),
                crate::time::now_ms(),
                machine.id,
                machine.hostname,
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Record an interleaved comparison between two builds. Returns its id.
    pub fn record_comparison(&mut self, c: &Comparison) -> Result<i64> {
        let machine = self.machine.clone();
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO comparisons (baseline_build_id, candidate_build_id, backend, metric, \
             relative_delta, ci_low, ci_high, significant, result, created_at, machine_id, \
             hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                c.baseline_build_id,
                c.candidate_build_id,
                c.backend,
                c.metric,
                c.relative_delta,
                c.ci_low,
                c.ci_high,
                c.significant,
                c.result.to_string(),
                crate::time::now_ms(),
                machine.id,
                machine.hostname,
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Every recorded comparison, oldest first. A row whose JSON no longer parses keeps
    /// `null` there.
    pub fn comparisons(&self) -> Result<Vec<StoredComparison>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, baseline_build_id, candidate_build_id, backend, metric, relative_delta, \
             ci_low, ci_high, significant, result, created_at, machine_id, hostname \
             FROM comparisons ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([], |r| {
            let text: String = r.get(9)?;
            Ok(StoredComparison {
                id: r.get(0)?,
                comparison: Comparison {
                    baseline_build_id: r.get(1)?,
                    candidate_build_id: r.get(2)?,
                    backend: r.get(3)?,
                    metric: r.get(4)?,
                    relative_delta: r.get(5)?,
                    ci_low: r.get(6)?,
                    ci_high: r.get(7)?,
                    significant: r.get(8)?,
                    result: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                },
                created_at: r.get(10)?,
                machine_id: r.get(11)?,
                hostname: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Accuracy checks in which any of `build_ids` is the baseline or the candidate, oldest
    /// first. A row whose JSON no longer parses keeps `null` there.
    pub fn accuracy_checks(&self, build_ids: &[String]) -> Result<Vec<StoredAccuracyCheck>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, baseline_build_id, candidate_build_id, passed, metrics, settings, \
             created_at, machine_id, hostname FROM accuracy_checks \
             WHERE baseline_build_id = ?1 OR candidate_build_id = ?1",
        )?;
        let mut out: Vec<StoredAccuracyCheck> = Vec::new();
        for build_id in build_ids {
            let rows = stmt.query_map([build_id], |r| {
                let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
                    let text: String = r.get(i)?;
                    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
                };
                Ok(StoredAccuracyCheck {
                    id: r.get(0)?,
                    check: AccuracyCheck {
                        baseline_build_id: r.get(1)?,
                        candidate_build_id: r.get(2)?,
                        passed: r.get(3)?,
                        metrics: json(4)?,
                        settings: json(5)?,
                    },
                    created_at: r.get(6)?,
                    machine_id: r.get(7)?,
                    hostname: r.get(8)?,
                })
            })?;
            for row in rows {
                let row = row?;
                if !out.iter().any(|c| c.id == row.id) {
                    out.push(row);
                }
            }
        }
        out.sort_by_key(|c| (c.created_at, c.id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_compressed() {
        let samples: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 7) as f64 * 0.01).collect();
        let blob = compress_samples(&samples);
        assert!(blob.len() < samples.len() * 8 / 4, "{}", blob.len());
        assert_eq!(decompress_samples(&blob, samples.len()).unwrap(), samples);
        assert!(decompress_samples(&blob, samples.len() + 1).is_none());
        assert!(decompress_samples(b"garbage", 3).is_none());
    }
}
