//! `mlgate-ci`: the rules of the CI gate — which limits apply and where each came from,
//! how a measurement is judged against them, and the reports CI systems and reviewers read.
//!
//! - [`thresholds`]: relative limits (latency, size, memory), the gated latency statistic,
//!   absolute budgets and accuracy limits, merged as *CLI flag > `config.toml` `[ci]` /
//!   `budget.toml` > defaults* with the source of every value;
//! - [`verdict`]: one [`Check`] per rule, each with the actual value and its interval, the
//!   limit, its unit and source, and a sentence; the [`Verdict`] (pass, fail, skip, error)
//!   over them;
//! - [`report`]: the typed gate and CI reports, rendered to Markdown (pull requests, the
//!   GitHub step summary), JUnit XML and GitHub annotations.
//!
//! Depends on `mlgate-bench` (the A/B engine's evidence) and `mlgate-registry` (budget and
//! config files, limit sources). Invariants: it measures nothing and stores nothing — it
//! judges evidence handed to it. A verdict never passes a check it could not evaluate
//! silently: what was not measured is `skipped` with the reason, what the evidence cannot
//! settle is `inconclusive`/`marginal` with what would settle it. It prints nothing and
//! knows no exit codes; [`Verdict::blocks`] says whether the pipeline should stop.

pub mod report;
pub mod thresholds;
pub mod verdict;

pub use report::{
    CachedProvenance, CachedRun, CiReport, Evidence, GateReport, LatencyEvidence, MemoryEvidence,
    SizeEvidence, Subject, ValidateReport, CI_CHECK_SCHEMA, CI_SCHEMA, VALIDATE_SCHEMA,
};
pub use thresholds::{
    ThresholdError, ThresholdFlags, Thresholds, DEFAULT_LATENCY_REGRESSION_PCT,
    DEFAULT_SIZE_REGRESSION_PCT,
};
pub use verdict::{
    accuracy_checks, budget_checks, latency_check, latency_skipped, memory_check, size_check,
    AccuracyEvidence, BudgetEvidence, Check, CheckKind, CheckStatus, Measured, OutputAgreement,
    Verdict, VerdictStatus, DEFAULT_COSINE_MIN, DEFAULT_TOP1_MIN,
};
