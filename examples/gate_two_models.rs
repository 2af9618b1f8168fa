//! A custom CI step: compare a baseline and a candidate, measured now and interleaved on the
//! same inputs, and act on the verdict — exit 0 on a pass, 1 on a regression, 2 on an error
//! (the `mlgate` CLI's exit codes).
//!
//! ```sh
//! cargo run -p mlgate --example gate_two_models [-- BASELINE CANDIDATE [MAX_SECONDS]]
//! ```
//!
//! Without arguments it compares the CNN fixture with itself, which must pass: the gate calls
//! a slowdown a regression only when it is both significant and above the threshold.

use std::error::Error;
use std::process::ExitCode;

use mlgate::benchmark::NoProgress;
use mlgate::gate::{self, GateSettings, ThresholdFlags, VerdictStatus};
use mlgate::RuntimeConfig;

fn main() -> ExitCode {
    match run() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn Error>> {
    let scratch = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let (baseline, candidate) = match (args.next(), args.next()) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => {
            let cnn = mlgate::fixtures::write(scratch.path(), mlgate::fixtures::VISION_CNN)?;
            let cnn = cnn.to_str().ok_or("the temporary path is not UTF-8")?;
            (cnn.to_string(), cnn.to_string())
        }
        _ => return Err("pass both BASELINE and CANDIDATE, or neither".into()),
    };
    let max_time_s = match args.next() {
        Some(s) => s
            .parse::<f64>()
            .map_err(|e| format!("MAX_SECONDS `{s}`: {e}"))?,
        None => 3.0,
    };

    // The team's rule: at most 10% slower at the median, the file at most 5% bigger.
    let flags = ThresholdFlags {
        latency_regression_pct: Some(10.0),
        size_regression_pct: Some(5.0),
        ..ThresholdFlags::default()
    };
    let settings = GateSettings {
        max_time_s: Some(max_time_s),
        runtimes: RuntimeConfig::from_env(),
        ..GateSettings::default()
    };
    // Files here; with a workspace (`Some(&ws)`) these could be tags or build ids too.
    let report = gate::ci_check(
        None,
        &baseline,
        &candidate,
        &flags,
        &settings,
        &mut NoProgress,
    )?;
    let verdict = &report.verdict;

    for check in &verdict.checks {
        println!(
            "{:<12} {:<13} {:<22} {}",
            check.metric,
            check.status.name(),
            check.rule,
            check.actual_text()
        );
    }
    if let Some(latency) = &report.evidence.latency {
        println!("latency: {}", latency.summary());
    }
    for warning in &verdict.warnings {
        println!("warning: {warning}");
    }
    println!(
        "{}: {}",
        verdict.status.name().to_uppercase(),
        verdict.reason
    );

    Ok(match verdict.status {
        VerdictStatus::Fail => ExitCode::from(1),
        VerdictStatus::Error => ExitCode::from(2),
        VerdictStatus::Pass | VerdictStatus::Skip => ExitCode::SUCCESS,
    })
}
