//! The gate's reports: typed evidence and verdicts, and their renderings for the places CI
//! results are read — Markdown (pull-request comments, `$GITHUB_STEP_SUMMARY`), JUnit XML
//! (GitLab, Jenkins, most CI systems) and GitHub workflow annotations.
//!
//! Renderers are pure functions of the report, so snapshots pin them.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlgate_bench::{Comparison, MeasurementEnvironment, Metric, PhaseMemory, Verdict as AbVerdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::thresholds::Thresholds;
use crate::verdict::{Check, CheckStatus, Measured, Verdict, VerdictStatus};

/// Schema id of [`CiReport`] (`mlgate ci --json`, `.mlgate/ci_report.json`).
pub const CI_SCHEMA: &str = "mlgate.ci/v1";
/// Schema id of [`GateReport`] (`mlgate ci-check --json`).
pub const CI_CHECK_SCHEMA: &str = "mlgate.ci-check/v1";
/// Schema id of [`ValidateReport`] (`mlgate validate --json`).
pub const VALIDATE_SCHEMA: &str = "mlgate.validate/v1";

/// One side of a gate: a file, or a build of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    /// The model that ran (a stored artifact for builds).
    pub path: PathBuf,
    pub build_id: Option<String>,
    pub name: Option<String>,
    /// The tag it was resolved from, if any (`main-mobilenet`); the id is what counts, so a
    /// tag moved later never rewrites this report.
    pub tag: Option<String>,
    pub format: String,
    pub size_bytes: u64,
}

impl Subject {
    /// `name (1a2b3c4d)`, or the file name.
    pub fn label(&self) -> String {
        match (&self.name, &self.build_id) {
            (Some(n), Some(id)) => format!("{n} ({})", &id[..id.len().min(8)]),
            _ => self
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.path.display().to_string()),
        }
    }
}

/// Where stored benchmark numbers came from, when `--use-cached` used them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CachedRun {
    pub benchmark_id: i64,
    pub hostname: String,
    pub machine_id: String,
    /// When it was measured, RFC 3339.
    pub measured_at: String,
    pub backend: String,
    pub n: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CachedProvenance {
    pub baseline: CachedRun,
    pub candidate: CachedRun,
    /// Both on this machine (same machine id). When false, a warning says the numbers are
    /// not comparable the way a side-by-side run is.
    pub same_machine: bool,
}

/// The latency evidence: both sides measured now (interleaved), or stored numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyEvidence {
    pub metric: Metric,
    pub backend: String,
    /// The metric on each side, ms, with its interval where the sample count allows one.
    pub baseline_ms: Option<Measured>,
    pub candidate_ms: Option<Measured>,
    /// Candidate vs baseline, percent, with its interval.
    pub shift_pct: Option<Measured>,
    pub p_value: Option<f64>,
    /// The level `p_value` was tested at.
    pub alpha: f64,
    /// The A/B engine's verdict on latency alone.
    pub engine_verdict: AbVerdict,
    /// The engine's reason, with the numbers.
    pub reason: String,
    pub method: String,
    /// Seed of the load order, schedule and bootstrap (replay with `--seed`).
    pub seed: Option<u64>,
    /// Block pairs, runs per block and looks of the A/B engine.
    pub pairs: usize,
    pub block_runs: usize,
    pub looks: usize,
    pub elapsed_s: f64,
    pub warnings: Vec<String>,
    /// Present when stored numbers were used instead of measuring now.
    pub cached: Option<CachedProvenance>,
    /// For decoders: what each compared run's number is (`tpot`: time per output token of
    /// one request…); absent for inference latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_metric: Option<mlgate_bench::llm::LlmMetric>,
}

fn side_measured(side: &mlgate_bench::compare::Side, metric: Metric) -> Option<Measured> {
    let n = Some(side.summary.n as u64);
    match metric.percentile() {
        Some(p) => {
            let e = side.summary.percentile(p)?;
            Some(Measured {
                value: e.value_ms?,
                low: e.ci_low_ms,
                high: e.ci_high_ms,
                confidence: Some(side.summary.confidence),
                n,
            })
        }
        None => Some(Measured {
            value: side.summary.mean_ms,
            low: Some(side.summary.mean_ci_low_ms),
            high: Some(side.summary.mean_ci_high_ms),
            confidence: Some(side.summary.confidence),
            n,
        }),
    }
}

impl LatencyEvidence {
    /// One line: how the latency evidence was gathered, with the seed that replays it.
    pub fn summary(&self) -> String {
        format!(
            "{} on {}; {} block pairs × {} runs, {} look(s), {:.1} s; seed {}",
            if self.cached.is_some() {
                "stored numbers"
            } else {
                "measured now, interleaved"
            },
            self.backend,
            self.pairs,
            self.block_runs,
            self.looks,
            self.elapsed_s,
            self.seed
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".into()),
        )
    }

    /// The evidence of an A/B comparison measured now.
    pub fn from_comparison(c: &Comparison, backend: &str) -> LatencyEvidence {
        let finite = |v: f64| v.is_finite().then_some(v * 100.0);
        LatencyEvidence {
            metric: c.metric,
            backend: backend.to_string(),
            baseline_ms: side_measured(&c.baseline, c.metric),
            candidate_ms: side_measured(&c.candidate, c.metric),
            shift_pct: finite(c.relative_delta).map(|value| Measured {
                value,
                low: finite(c.ci_low),
                high: finite(c.ci_high),
                confidence: Some(c.confidence),
                n: Some(c.pairs as u64),
            }),
            p_value: c.p_value.is_finite().then_some(c.p_value),
            alpha: c.alpha_per_look,
            engine_verdict: c.verdict,
            reason: c.reason.clone(),
            method: c.method.clone(),
            seed: Some(c.seed),
            pairs: c.pairs,
            block_runs: c.block_runs,
            looks: c.looks,
            elapsed_s: c.elapsed_s,
            warnings: c.warnings.clone(),
            cached: None,
            llm_metric: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SizeEvidence {
    pub baseline_bytes: u64,
    pub candidate_bytes: u64,
}

/// Each model's peak memory, measured on its own (see the method in each reading).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryEvidence {
    pub baseline: Option<PhaseMemory>,
    pub candidate: Option<PhaseMemory>,
}

/// Everything a gate judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub baseline: Subject,
    pub candidate: Subject,
    pub thresholds: Thresholds,
    /// `None` when latency was not measured (the reason is in its check).
    pub latency: Option<LatencyEvidence>,
    pub size: SizeEvidence,
    pub memory: MemoryEvidence,
    /// The machine the numbers come from (this one, for side-by-side runs).
    pub environment: Option<MeasurementEnvironment>,
}

/// `mlgate ci-check --json`: the low-level gate between two models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GateReport {
    pub schema: String,
    pub mlgate_version: String,
    pub verdict: Verdict,
    pub evidence: Evidence,
}

impl GateReport {
    pub fn new(verdict: Verdict, evidence: Evidence) -> GateReport {
        GateReport {
            schema: CI_CHECK_SCHEMA.into(),
            mlgate_version: env!("CARGO_PKG_VERSION").into(),
            verdict,
            evidence,
        }
    }
}

/// `mlgate ci`: the report written to `.mlgate/ci_report.json` on every run, pass or fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CiReport {
    pub schema: String,
    pub mlgate_version: String,
    /// RFC 3339.
    pub created_at: String,
    /// `--baseline` as given (a tag or a build id).
    pub baseline_reference: String,
    /// `--model` as given, when the candidate was a file.
    pub model: Option<PathBuf>,
    pub target: Option<String>,
    pub verdict: Verdict,
    /// `None` when the gate did not run (skipped, error before measuring).
    pub evidence: Option<Evidence>,
}

impl CiReport {
    pub fn new(
        created_at: String,
        baseline_reference: String,
        model: Option<PathBuf>,
        target: Option<String>,
        verdict: Verdict,
        evidence: Option<Evidence>,
    ) -> CiReport {
        CiReport {
            schema: CI_SCHEMA.into(),
            mlgate_version: env!("CARGO_PKG_VERSION").into(),
            created_at,
            baseline_reference,
            model,
            target,
            verdict,
            evidence,
        }
    }
}

/// `mlgate validate BUILD --json`: absolute limits on one build measured now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidateReport {
    pub schema: String,
    pub mlgate_version: String,
    pub build: Subject,
    pub verdict: Verdict,
    /// The candidate's latency summary the budgets were judged on, ms.
    pub p50_ms: Option<Measured>,
    pub p95_ms: Option<Measured>,
    pub peak_memory: Option<PhaseMemory>,
    pub backend: Option<String>,
    pub environment: Option<MeasurementEnvironment>,
    pub method: String,
}

fn status_mark(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "✅ pass",
        CheckStatus::Fail => "❌ fail",
        CheckStatus::Inconclusive => "⚠️ inconclusive",
        CheckStatus::Marginal => "⚠️ marginal",
        CheckStatus::Skipped => "⏭️ skipped",
        CheckStatus::Info => "ℹ️ info",
    }
}

fn verdict_mark(s: VerdictStatus) -> &'static str {
    match s {
        VerdictStatus::Pass => "✅ PASS",
        VerdictStatus::Fail => "❌ FAIL",
        VerdictStatus::Skip => "⏭️ SKIPPED",
        VerdictStatus::Error => "💥 ERROR",
    }
}

/// Markdown cells must not break the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn limit_text(c: &Check) -> String {
    match (c.limit, &c.source) {
        (Some(l), Some(s)) if c.unit == "%" => format!("+{l}% ({s})"),
        (Some(l), Some(s)) => format!("{l} {} ({s})", c.unit),
        _ => "—".into(),
    }
}

/// The verdict and its checks as a Markdown section (title, summary line, table, warnings).
pub fn markdown_verdict(title: &str, verdict: &Verdict, evidence: Option<&Evidence>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {title}: {}\n", verdict_mark(verdict.status));
    if let Some(e) = evidence {
        let _ = writeln!(
            out,
            "**Baseline** `{}` · **Candidate** `{}`\n",
            e.baseline.label(),
            e.candidate.label()
        );
    }
    let _ = writeln!(out, "{}\n", cell(&verdict.reason));
    if !verdict.checks.is_empty() {
        out.push_str("| check | rule | baseline | candidate / shift | limit (source) | result |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for c in &verdict.checks {
            let baseline = match c.baseline {
                Some(b) if c.metric == "size" => format!("{b:.0} bytes"),
                Some(b) if c.metric == "memory.peak" => format!("{b:.1} MB"),
                Some(b) => format!("{b:.3} ms"),
                None => "—".into(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                c.metric,
                cell(&c.rule),
                baseline,
                cell(&c.actual_text()),
                cell(&limit_text(c)),
                status_mark(c.status)
            );
        }
        out.push('\n');
    }
    if let Some(l) = evidence.and_then(|e| e.latency.as_ref()) {
        let _ = writeln!(
            out,
            "<details><summary>How latency was measured</summary>\n\n{}: {}.{}\n\n</details>\n",
            l.summary(),
            cell(&l.method),
            match &l.cached {
                Some(c) => format!(
                    " Stored numbers (--use-cached): baseline from {} at {}, candidate from {} at {}{}.",
                    c.baseline.hostname,
                    c.baseline.measured_at,
                    c.candidate.hostname,
                    c.candidate.measured_at,
                    if c.same_machine { "" } else { " — different machines" }
                ),
                None => String::new(),
            }
        );
    }
    if let Some(env) = evidence.and_then(|e| e.environment.as_ref()) {
        let _ = writeln!(out, "Machine: {}\n", cell(&env.short()));
    }
    for w in &verdict.warnings {
        let _ = writeln!(out, "> ⚠️ {}", cell(w));
    }
    out
}

/// The CI report as Markdown, for a pull-request comment or the step summary.
pub fn markdown(report: &CiReport) -> String {
    let mut out = markdown_verdict("mlgate CI", &report.verdict, report.evidence.as_ref());
    let _ = writeln!(
        out,
        "\n<sub>baseline `{}` · mlgate {} · {}</sub>",
        report.baseline_reference, report.mlgate_version, report.created_at
    );
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test case per check. A failed check (or an undecided one under
/// `--fail-on-inconclusive`) is a `<failure>`; a skipped check is `<skipped>`; an error
/// verdict is one `<error>` case.
pub fn junit(suite: &str, verdict: &Verdict) -> String {
    let mut cases = String::new();
    let (mut failures, mut errors, mut skipped) = (0, 0, 0);
    for c in &verdict.checks {
        let _ = write!(
            cases,
            "    <testcase classname=\"mlgate.{}\" name=\"{}\">",
            xml(suite),
            xml(&c.metric)
        );
        if verdict.failed_on(c) {
            failures += 1;
            let _ = write!(
                cases,
                "\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    ",
                xml(&c.message),
                c.status,
                xml(&format!("{}: {}", c.rule, c.actual_text()))
            );
        } else if c.status == CheckStatus::Skipped {
            skipped += 1;
            let _ = write!(
                cases,
                "\n      <skipped message=\"{}\"/>\n    ",
                xml(&c.message)
            );
        } else {
            let _ = write!(
                cases,
                "\n      <system-out>{}</system-out>\n    ",
                xml(&c.message)
            );
        }
        cases.push_str("</testcase>\n");
    }
    let mut tests = verdict.checks.len();
    // A gate that did not judge anything is one case saying why.
    let gate_case = match verdict.status {
        VerdictStatus::Error => Some(("error", &mut errors)),
        VerdictStatus::Skip => Some(("skipped", &mut skipped)),
        _ => None,
    };
    if let Some((tag, count)) = gate_case {
        tests += 1;
        *count += 1;
        let _ = writeln!(
            cases,
            "    <testcase classname=\"mlgate.{}\" name=\"gate\">\n      <{tag} message=\"{}\"/>\n    </testcase>",
            xml(suite),
            xml(&verdict.reason)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mlgate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n</testsuites>\n",
        xml(suite)
    )
}

/// GitHub workflow commands: `::error::` for what failed the gate, `::warning::` for
/// undecided checks and warnings. Newlines and `%` are escaped as GitHub requires.
pub fn github_annotations(verdict: &Verdict) -> Vec<String> {
    let esc = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let mut out = Vec::new();
    for c in &verdict.checks {
        if verdict.failed_on(c) {
            out.push(format!(
                "::error title=mlgate {}::{}",
                esc(&c.metric),
                esc(&c.message)
            ));
        }
    }
    if verdict.status == VerdictStatus::Error {
        out.push(format!("::error title=mlgate::{}", esc(&verdict.reason)));
    }
    for w in &verdict.warnings {
        out.push(format!("::warning title=mlgate::{}", esc(w)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{CheckKind, Verdict};
    use mlgate_registry::LimitSource;

    fn sample() -> Verdict {
        let check = |metric: &str, status, message: &str| Check {
            metric: metric.into(),
            kind: CheckKind::Regression,
            rule: format!("{metric} rule"),
            actual: Some(Measured {
                value: 6.25,
                low: Some(5.5),
                high: Some(7.0),
                confidence: Some(0.95),
                n: Some(80),
            }),
            baseline: Some(1.5),
            limit: Some(5.0),
            unit: "%".into(),
            source: Some(LimitSource::Default),
            status,
            message: message.into(),
        };
        Verdict::decide(
            vec![
                check(
                    "latency.p50",
                    CheckStatus::Fail,
                    "p50 is slower by +6.25% <&> 100%",
                ),
                check("size", CheckStatus::Pass, "size within"),
                check("memory.peak", CheckStatus::Skipped, "no reading"),
            ],
            false,
            vec!["baseline: high variation".into()],
        )
    }

    #[test]
    fn junit_counts_and_escapes() {
        let x = junit("ci", &sample());
        assert!(
            x.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{x}"
        );
        assert!(x.contains("&lt;&amp;&gt;"), "{x}");
        assert!(!x.contains("<&>"));
        let e = junit("ci", &Verdict::error("artifact \"x\" damaged"));
        assert!(
            e.contains("errors=\"1\"") && e.contains("&quot;x&quot;"),
            "{e}"
        );
    }

    #[test]
    fn annotations_escape_and_mark_failures() {
        let a = github_annotations(&sample());
        assert_eq!(
            a[0],
            "::error title=mlgate latency.p50::p50 is slower by +6.25%25 <&> 100%25"
        );
        assert!(a
            .iter()
            .any(|l| l.starts_with("::warning") && l.contains("variation")));
    }

    #[test]
    fn markdown_table_has_every_check() {
        let md = markdown_verdict("gate", &sample(), None);
        insta::assert_snapshot!(md);
    }
}
