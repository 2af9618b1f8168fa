//! `cargo xtask fuzz [SECONDS]`: run every cargo-fuzz target for a while, seeded from the
//! test models, and fail on the first crash.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run, testdata_dir, workspace_root};

const TARGETS: &[&str] = &[
    "onnx",
    "tflite",
    "coreml_mlmodel",
    "coreml_package",
    "detect",
    "gguf",
];
/// Seeds larger than this slow the fuzzer down more than they teach it.
const MAX_SEED: u64 = 256 * 1024;

pub fn fuzz(seconds: u64) -> Result<(), String> {
    let data = testdata_dir();
    crate::testdata::fetch(&data)?;
    let root = workspace_root();
    let coreml = root.join("tests/data/coreml");
    let onnx_seeds = small_files(&data.join("onnx-backend"), "onnx");
    let mut tflite_seeds = small_files(&data.join("mediapipe"), "tflite");
    if tflite_seeds.is_empty() {
        // Every mediapipe model is larger than MAX_SEED: take the two smallest anyway.
        let mut all = files(&data.join("mediapipe"), "tflite");
        all.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX));
        tflite_seeds = all.into_iter().take(2).collect();
    }
    let mlmodel_seeds = files(&coreml, "mlmodel");

    for target in TARGETS {
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let seeds: Vec<PathBuf> = match *target {
            "onnx" => onnx_seeds.clone(),
            "tflite" => tflite_seeds.clone(),
            "coreml_mlmodel" => mlmodel_seeds.clone(),
            "gguf" => gguf_seeds(&data)?,
            "detect" => [
                &onnx_seeds[..onnx_seeds.len().min(20)],
                &tflite_seeds,
                &mlmodel_seeds,
            ]
            .concat(),
            _ => Vec::new(),
        };
        for seed in &seeds {
            let name = seed.to_string_lossy().replace(['/', '\\'], "_");
            let _ = std::fs::copy(seed, corpus.join(name));
        }
        if *target == "coreml_package" {
            let pkg = coreml.join("mil_conv.mlpackage");
            for (i, rel) in [
                "Manifest.json",
                "Data/com.apple.CoreML/model.mlmodel",
                "Data/com.apple.CoreML/weights/weight.bin",
            ]
            .iter()
            .enumerate()
            {
                let mut bytes = vec![i as u8];
                bytes.extend(std::fs::read(pkg.join(rel)).map_err(|e| format!("{rel}: {e}"))?);
                std::fs::write(corpus.join(format!("seed_{i}")), bytes)
                    .map_err(|e| e.to_string())?;
            }
        }
        println!(
            "fuzz: {target} for {seconds} s ({} seeds)",
            seeds.len().max(3)
        );
        let result = run(Command::new("cargo")
            .current_dir(&root)
            .args(["+nightly", "fuzz", "run", target])
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args([
                "-max_len=1048576",
                "-timeout=20",
                "-rss_limit_mb=4096",
                "-print_final_stats=1",
            ]));
        cleanup_scratch();
        result.map_err(|e| {
            format!("fuzz target {target} failed (crash input in fuzz/artifacts/{target}/): {e}")
        })?;
    }
    Ok(())
}

fn cleanup_scratch() {
    if let Ok(entries) = std::fs::read_dir("/dev/shm") {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("mlgate-fuzz-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    // Unreadable folders are skipped: seeds are a best effort, not a requirement.
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .flatten()
        .filter(|e| !e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect();
    out.sort();
    out
}

fn small_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    files(dir, ext)
        .into_iter()
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() <= MAX_SEED)
                .unwrap_or(false)
        })
        .collect()
}

/// The first 256 KiB of the real SmolLM2 GGUF: its whole header and tensor directory, the
/// part the parser reads (the data past it would only slow the fuzzer).
fn gguf_seeds(data: &Path) -> Result<Vec<PathBuf>, String> {
    let model = data.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let head = data.join("smollm2/header.gguf");
    let mut bytes = std::fs::read(&model).map_err(|e| format!("{}: {e}", model.display()))?;
    bytes.truncate(MAX_SEED as usize);
    std::fs::write(&head, bytes).map_err(|e| format!("{}: {e}", head.display()))?;
    Ok(vec![head])
}
