use std::path::PathBuf;

use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.onnx, .tflite, .mlmodel) or .mlpackage directory.
    pub model: PathBuf,
}

pub fn run(args: Args, json: bool) -> mlgate::Result<Outcome> {
    let info = mlgate::inspect(&args.model)?;
    if json {
        render::print_json(&mlgate::report::InspectReport::new(info));
    } else {
        print!("{}", render::model_info(&info));
    }
    Ok(Outcome::Success)
}
