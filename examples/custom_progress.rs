//! Plug your own progress sink into a long benchmark: a tool with its own UI implements
//! `mlgate::benchmark::Progress` and gets each phase (loading, warm-up, measuring) as it
//! runs, and what the runtime said while loading the model.
//!
//! ```sh
//! cargo run -p mlgate --example custom_progress [-- MODEL]
//! ```
//!
//! Without MODEL it benchmarks the transformer fixture at four sequence lengths (16, 64, 128,
//! 256), one input set after the other, about half a second each.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use mlgate::benchmark::{
    self, BenchmarkRequest, InputSpec, MeasureLimits, Progress, ProgressUpdate,
};
use mlgate::{ModelRef, RuntimeConfig};

/// Prints one line when a phase or input set starts and at each quarter of its time budget;
/// counts what it was told. The harness calls it between timed runs, never inside one, and
/// at most about ten times a second, so a sink may draw but should not block.
struct Log {
    started: Instant,
    current: Option<(&'static str, String)>,
    quarter: u32,
    updates: usize,
    phases: usize,
    warnings: Vec<String>,
}

impl Progress for Log {
    fn update(&mut self, status: &ProgressUpdate) {
        self.updates += 1;
        let key = (status.phase, status.label.clone());
        let new_phase = self.current.as_ref() != Some(&key);
        if new_phase {
            self.current = Some(key);
            self.phases += 1;
        }
        let done = if status.budget_s > 0.0 {
            status.elapsed_s / status.budget_s
        } else {
            0.0
        };
        let quarter = (done * 4.0).floor().clamp(0.0, 4.0) as u32;
        if new_phase || quarter > self.quarter {
            self.quarter = quarter;
            let interval = status
                .rel_half_width
                .map(|w| format!(", p50 known to ±{:.1}%", w * 100.0))
                .unwrap_or_default();
            println!(
                "[{:>5.2} s] {:<9} {:<12} {:>3.0}% of {:.1} s, {} runs{interval}",
                self.started.elapsed().as_secs_f64(),
                status.phase,
                status.label,
                done.min(1.0) * 100.0,
                status.budget_s,
                status.runs
            );
        }
    }

    fn finish(&mut self) {
        // A display would clear its bar here; the next update starts a new line anyway.
        self.current = None;
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let scratch = tempfile::tempdir()?;
    let model = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => mlgate::fixtures::write(scratch.path(), mlgate::fixtures::NLP_ENCODER)?,
    };
    let request = BenchmarkRequest {
        model: ModelRef::file(&model),
        backend: None,
        threads: None,
        inputs: InputSpec::default(), // token models: the sequence-length ladder
        config: MeasureLimits {
            max_time_s: Some(0.5),
            ..MeasureLimits::default()
        }
        .config(),
        runtimes: RuntimeConfig::from_env(),
    };

    let mut log = Log {
        started: Instant::now(),
        current: None,
        quarter: 0,
        updates: 0,
        phases: 0,
        warnings: Vec::new(),
    };
    let run = benchmark::benchmark(None, &request, &mut log)?;

    println!(
        "\n{} progress updates over {} phases in {:.1} s",
        log.updates,
        log.phases,
        log.started.elapsed().as_secs_f64()
    );
    for warning in &log.warnings {
        println!("the runtime said: {warning}");
    }
    for set in &run.report.result.runs {
        let p50 = set.summary.percentile(50.0).and_then(|p| p.value_ms);
        let p50 = p50.map_or("withheld".to_string(), |ms| format!("{ms:.3} ms"));
        println!("{:<14} p50 {p50} over {} runs", set.label, set.summary.n);
    }
    if log.updates == 0 {
        return Err("the benchmark reported no progress".into());
    }
    Ok(())
}
