//! `mlgate import --model PATH --target T`: register an existing model as a build.

use std::path::PathBuf;

use mlgate::report::Envelope;
use mlgate::workspace::ImportRequest;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.onnx, .tflite, .mlmodel) or .mlpackage directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Where the model will run: onnxruntime_cpu|gpu|ane or tract_cpu (ONNX); android_arm64,
    /// android_arm32, android_x86, raspberry_pi, coral_tpu, generic_linux (TFLite);
    /// apple_m1|m2|m3|a15|a16|a17 (CoreML).
    #[arg(long)]
    pub target: String,
    /// Build name (default: the file name without extension).
    #[arg(long)]
    pub name: Option<String>,
    /// What the model already is: fp32, fp16, int8, int8_static, int4.
    #[arg(long)]
    pub quantize: Option<String>,
    /// Task, when known: vision, nlp, audio, ...
    #[arg(long)]
    pub task: Option<String>,
    /// Free-form notes kept with the build.
    #[arg(long)]
    pub notes: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let workspace = ctx.open_for_write()?;
    let outcome = workspace.import(&ImportRequest {
        model: args.model,
        target: args.target,
        name: args.name,
        quantize: args.quantize,
        task: args.task,
        notes: args.notes,
    })?;
    if json {
        render::print_json(&Envelope::new(outcome))?;
        return Ok(Outcome::Success);
    }
    let b = &outcome.build;
    let verb = if outcome.created {
        "Imported"
    } else {
        "Already registered:"
    };
    println!(
        "{verb} build {}  {} ({} → {}, {}, {})",
        view::short(&b.id),
        b.name,
        b.format,
        b.target,
        b.method_label(),
        render::bytes(b.size_bytes)
    );
    println!("  id       {}", b.id);
    println!("  source   {}", b.source_path);
    Ok(Outcome::Success)
}
