//! `cargo xtask bench-explore`: `mlgate explore` on the CNN fixture at default settings with
//! the release binary — wall time of each run (a fresh workspace each time, so every variant
//! is produced and measured) and the last run's table.

use std::process::Command;
use std::time::Instant;

const HELP: &str = "\
cargo xtask bench-explore [--runs N] [--target T] [--calibrate N]

  --runs N       runs of `mlgate explore vision_cnn.onnx` (default 3)
  --target T     target of the import (default tract_cpu; onnxruntime_cpu measures on ONNX
                 Runtime, installed with `mlgate runtime install ort`)
  --calibrate N  also explore int8_static, calibrated on N synthesized inputs written as .npy
                 files by `mlgate infer --seed` (default 0: no calibration data)
";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut runs = 3usize;
    let mut target = "tract_cpu".to_string();
    let mut calibrate = 0usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--runs needs a positive number\n\n{HELP}"))?
            }
            "--target" => {
                target = it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("--target needs a value\n\n{HELP}"))?
            }
            "--calibrate" => {
                calibrate = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("--calibrate needs a number\n\n{HELP}"))?
            }
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    let mlgate = crate::release_binary()?;
    let fixtures = crate::testdata_dir().join("fixtures");
    crate::gen_models(Some(fixtures.clone()))?;
    let model = fixtures.join("vision_cnn.onnx");
    let dir = crate::workspace_root().join("target/bench-explore");
    let calibration = crate::workspace_root().join("target/bench-explore-calibration");
    if calibrate > 0 {
        write_calibration(&mlgate, &model, &calibration, calibrate)?;
    }
    let mut seconds = Vec::new();
    let mut last = String::new();
    for i in 0..runs {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let started = Instant::now();
        let out = Command::new(&mlgate)
            .arg("--workspace")
            .arg(dir.join(".mlgate"))
            .args(["explore", "--target", &target])
            .args(if calibrate > 0 {
                vec![
                    "--calibration-data".into(),
                    calibration.clone().into_os_string(),
                ]
            } else {
                Vec::new()
            })
            .arg(&model)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", mlgate.display()))?;
        let s = started.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "explore exited {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        println!("run {}: {s:.1} s", i + 1);
        seconds.push(s);
        last = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    seconds.sort_by(f64::total_cmp);
    println!(
        "\nmlgate explore {} --target {target}{}: median {:.1} s, min {:.1} s, max {:.1} s over {runs} runs (release build, fresh workspace each)\n",
        model.display(),
        if calibrate > 0 {
            format!(" --calibration-data ({calibrate} synthesized samples)")
        } else {
            String::new()
        },
        seconds[seconds.len() / 2],
        seconds[0],
        seconds[seconds.len() - 1]
    );
    print!("{last}");
    Ok(())
}

/// `n` synthesized inputs of `model` (seeds 1..=n), one `.npy` file each, in `dir`.
fn write_calibration(
    mlgate: &std::path::Path,
    model: &std::path::Path,
    dir: &std::path::Path,
    n: usize,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for seed in 1..=n {
        let npz = dir.join(format!("seed{seed}.npz"));
        let out = Command::new(mlgate)
            .args(["infer", "--seed", &seed.to_string(), "--save-inputs"])
            .arg(&npz)
            .arg(model)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", mlgate.display()))?;
        if !out.status.success() {
            return Err(format!(
                "infer failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let tensors = mlgate_ir::tensor::read_npz(&npz).map_err(|e| e.to_string())?;
        let [tensor] = tensors.as_slice() else {
            return Err(format!(
                "{} has {} inputs; --calibrate takes one",
                model.display(),
                tensors.len()
            ));
        };
        let npy = dir.join(format!("seed{seed:03}.npy"));
        mlgate_ir::tensor::write_npy(&npy, tensor).map_err(|e| e.to_string())?;
        std::fs::remove_file(&npz).map_err(|e| format!("{}: {e}", npz.display()))?;
    }
    Ok(())
}
