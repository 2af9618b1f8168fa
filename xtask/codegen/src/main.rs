//! `cargo xtask codegen [--check] [WHEEL]`: writes (or, with `--check`, compares) mlgate-ir's
//! generated ONNX types. WHEEL defaults to the onnx wheel cached under the test data;
//! `cargo xtask codegen` downloads it first when it is missing.

use std::process::ExitCode;

use xtask_codegen::{find_wheel, generate, read_proto, testdata_dir, workspace_root, OUTPUT};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut check = false;
    let mut wheel = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            _ if arg.starts_with('-') => {
                return Err(format!(
                    "unknown option `{arg}`; usage: codegen [--check] [WHEEL]"
                ))
            }
            _ => wheel = Some(std::path::PathBuf::from(arg)),
        }
    }
    let wheel = match wheel {
        Some(w) => w,
        None => find_wheel(&testdata_dir()).ok_or_else(|| {
            format!(
                "no onnx wheel under {}/wheels: run `cargo xtask codegen` (it downloads one)",
                testdata_dir().display()
            )
        })?,
    };
    let code = generate(&read_proto(&wheel)?)?;
    let path = workspace_root().join(OUTPUT);
    let current = std::fs::read_to_string(&path).ok();
    if current.as_deref() == Some(code.as_str()) {
        println!("unchanged  {}", path.display());
        return Ok(());
    }
    if check {
        return Err(format!(
            "{} differs from what {} generates: run `cargo xtask codegen` and commit it",
            path.display(),
            wheel.display()
        ));
    }
    std::fs::write(&path, code).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("written    {}  (from {})", path.display(), wheel.display());
    Ok(())
}
