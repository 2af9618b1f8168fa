//! Read a model, pick inputs for its task, benchmark it on the embedded runtime and print
//! the p50 with its 95% interval.
//!
//! ```sh
//! cargo run -p mlgate --example inspect_and_benchmark [-- MODEL]
//! ```
//!
//! Without MODEL it writes the CNN fixture to a temporary directory and measures that.
//! ONNX models run on tract, which is compiled in: nothing needs to be installed.

use std::error::Error;
use std::path::PathBuf;

use mlgate::benchmark::{self, BenchmarkRequest, InputSpec, MeasureLimits, NoProgress};
use mlgate::{ModelRef, RuntimeConfig, SynthesisOptions};

fn main() -> Result<(), Box<dyn Error>> {
    let scratch = tempfile::tempdir()?;
    let model = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => mlgate::fixtures::write(scratch.path(), mlgate::fixtures::VISION_CNN)?,
    };

    // What the model is, without running it.
    let info = mlgate::inspect(&model)?;
    println!(
        "{}: {} model, {} parameters, {} bytes",
        model.display(),
        info.format,
        info.param_count,
        info.file_size
    );
    for input in &info.inputs {
        println!(
            "  input  {} {} {}",
            input.name,
            input.dtype,
            input.shape_text()
        );
    }

    // What it is for, and the inputs that fit: images for vision, token ids for nlp, ...
    let task = mlgate::detect_task(&info, &model, None);
    println!("task: {} ({} confidence)", task.task, task.confidence);
    if let Some(warning) = &task.warning {
        println!("  warning: {warning}");
    }
    let inputs = mlgate::synthesize_inputs(&info, &model, &SynthesisOptions::default())?;
    for choice in &inputs.choices {
        println!("  {choice}");
    }

    // Benchmark on the first runtime that runs the format (tract for ONNX), for about a
    // second per input set; `benchmark` makes the same task-aware inputs itself.
    let request = BenchmarkRequest {
        model: ModelRef::file(&model),
        backend: None,
        threads: None,
        inputs: InputSpec {
            task: Some(task.task.to_string()),
            ..InputSpec::default()
        },
        config: MeasureLimits {
            max_time_s: Some(1.0),
            ..MeasureLimits::default()
        }
        .config(),
        runtimes: RuntimeConfig::from_env(),
    };
    let run = benchmark::benchmark(None, &request, &mut NoProgress)?;
    let result = &run.report.result;
    println!("runtime: {}", result.session.backend);
    for set in &result.runs {
        let p50 = set.summary.percentile(50.0);
        match p50.map(|p| (p.value_ms, p.ci_low_ms, p.ci_high_ms)) {
            Some((Some(ms), Some(low), Some(high))) => println!(
                "{}: p50 {ms:.3} ms, 95% interval [{low:.3}, {high:.3}] ms ({} runs)",
                set.label, set.summary.n
            ),
            _ => println!(
                "{}: p50 withheld, {} runs are too few for an interval",
                set.label, set.summary.n
            ),
        }
    }
    Ok(())
}
