//! `mlgate-bench`: measures models on a runtime and decides whether a change made them
//! slower — the number a team trusts to block a merge.
//!
//! - [`harness`]: warmup, timed runs around `Session::run_prepared` only, adaptive stopping,
//!   cold start (load, first inference, time to stable) and memory per phase;
//! - [`compare`]: the A/B engine — baseline and candidate measured now, interleaved in
//!   randomized blocks, judged by a double gate (significance and an interval against the
//!   threshold);
//! - [`stats`], [`hypothesis`]: percentiles with distribution-free intervals, rank tests,
//!   Hodges-Lehmann, the block bootstrap; [`memory`]: peak RSS per phase and a timeline
//!   sampler; [`fingerprint`]: the environment stored with every result.
//!
//! Depends on `mlgate-ir` and `mlgate-backends` only. Invariants:
//! - it measures; it never touches the registry and prints nothing (progress goes through
//!   [`Progress`], which the CLI implements);
//! - tails are never trimmed and samples never fabricated: outliers are counted and flagged,
//!   raw samples are kept in every result, and a percentile without enough samples to bound
//!   it is withheld, not estimated;
//! - every result carries n, the method and the machine ([`fingerprint::MeasurementEnvironment`]).

pub mod compare;
mod error;
pub mod fingerprint;
pub mod harness;
pub mod hypothesis;
pub mod llm;
pub mod memory;
pub mod stats;
pub mod worker;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use compare::{
    compare_models, compare_session_sets, compare_sessions, CompareConfig, CompareResult,
    Comparison, ModelPair, Verdict,
};
pub use error::{BenchError, Result};
pub use fingerprint::MeasurementEnvironment;
pub use harness::{
    benchmark_model, measure, BenchConfig, BenchmarkResult, InputSet, MakeInputs, RunResult,
};
pub use memory::{PhaseMemory, TimelineSample};
pub use stats::{LatencySummary, PercentileEstimate, Stability};

/// The statistic a benchmark stops on and a comparison gates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    #[default]
    P50,
    P90,
    P95,
    P99,
    Mean,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::Mean,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Mean => "mean",
        }
    }

    /// The percentile, or `None` for the mean.
    pub fn percentile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(50.0),
            Metric::P90 => Some(90.0),
            Metric::P95 => Some(95.0),
            Metric::P99 => Some(99.0),
            Metric::Mean => None,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Metric> {
        let lower = s.to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == lower || (lower == "median" && *m == Metric::P50))
            .ok_or_else(|| {
                BenchError::Config(format!(
                    "unknown metric '{s}'; valid metrics: {}",
                    Metric::ALL
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

/// What the harness is doing, for a progress display.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    /// `loading`, `warmup`, `measuring`, `comparing`.
    pub phase: &'static str,
    /// Which input set or pair is measured, e.g. `seq_len=128`.
    pub label: String,
    pub elapsed_s: f64,
    /// The most this phase may take.
    pub budget_s: f64,
    pub runs: u64,
    /// Current relative half-width of the gated statistic's interval, when known.
    pub rel_half_width: Option<f64>,
}

/// Receives progress. The harness calls it between timed runs (never inside the timed
/// region), at most about ten times a second. Every method has a no-op default.
pub trait Progress {
    fn update(&mut self, _status: &ProgressUpdate) {}
    /// A phase ended; a display may clear its line.
    fn finish(&mut self) {}
    /// Something the user should read that is not an error: what a runtime said while
    /// loading a model ([`mlgate_backends::SessionInfo::warnings`]). This crate prints
    /// nothing, so it hands such lines to the caller here.
    fn warn(&mut self, _message: &str) {}
}

/// Progress that goes nowhere (piped output, tests, library use).
pub struct NoProgress;

impl Progress for NoProgress {}
