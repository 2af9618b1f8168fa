use std::path::PathBuf;

use crate::cmd::context::Context;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.onnx, .tflite, .mlmodel) or .mlpackage directory.
    pub model: PathBuf,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let info = mlgate::inspect(&args.model)?;
    let task = mlgate::detect_task(&info, &args.model, None);
    if json {
        render::print_json(&mlgate::report::InspectReport::new(info).with_task(task))?;
    } else {
        print!("{}", render::model_info(&info));
        print!("{}", render::task_report(&task));
    }
    Ok(Outcome::Success)
}
