use std::path::PathBuf;

use crate::cmd::context::Context;
use crate::cmd::gate::RuntimeArgs;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.onnx, .tflite, .mlmodel), .mlpackage directory, or a build of the
    /// workspace (id, prefix or tag), run on the runtime its target names.
    pub model: PathBuf,
    /// Inputs as .npz (arrays named as the model's inputs) or .npy for a single input.
    /// Without it, inputs are synthesized from the model's task (seeded, reproducible).
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Write the outputs, named as the model names them, to this .npz.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the inputs used to this .npz, to reproduce the run.
    #[arg(long, value_name = "FILE")]
    pub save_inputs: Option<PathBuf>,
    /// Override the detected task: vision, nlp, audio, tabular.
    #[arg(long)]
    pub task: Option<String>,
    /// Sequence length for token inputs.
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Batch size for dynamic batch dims.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Seed for synthesized inputs.
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let mut synthesis = mlgate::SynthesisOptions::default();
    if let Some(s) = args.seed {
        synthesis.seed = s;
    }
    if let Some(b) = args.batch {
        synthesis.batch = b;
    }
    synthesis.seq_len = args.seq_len;
    let task = args
        .task
        .as_deref()
        .map(str::parse::<mlgate::Task>)
        .transpose()?;
    let model = mlgate::model::resolve(ctx.open_optional(), &args.model)?;
    let report = mlgate::runtime::infer(&mlgate::runtime::InferRequest {
        model,
        inputs: args.inputs,
        backend: args.runtime.backend.clone(),
        threads: args.runtime.threads(),
        runtimes: ctx.runtimes.clone(),
        task,
        synthesis,
        save_inputs: args.save_inputs,
        output: args.output,
        strict_output: ctx.strict_output,
    })?;
    if json {
        render::print_json(&report)?;
    } else {
        print!("{}", render::infer(&report));
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(if report.output_check_failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}
