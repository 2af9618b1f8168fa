//! `cargo xtask bench-llm`: mlgate's decoder benchmark on SmolLM2-135M Q4_1 (the test data's
//! GGUF) at llama-bench's default-like sweep, the harness's own cost per generated token,
//! and — with `--reference` — llama.cpp's `llama-bench` on the same file and thread count,
//! side by side.
//!
//! llama-bench is built from the llama.cpp sources vendored in PyPI's `llama-cpp-python`
//! sdist (cmake from PyPI, in a venv), under `target/llama-cpp/`, once; nothing of it is
//! committed. Its `pp N` is N prompt tokens from an empty cache and `tg N` at depth `-d D` is
//! N decode steps after D cached tokens: the same definitions as mlgate's pp and tg at
//! depth p, so the rows compare like for like.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mlgate_backends::{BackendKind, Decoder, SessionOptions};
use mlgate_bench::llm::{bench_decoder, run_request, LlmBenchConfig};

const HELP: &str = "\
cargo xtask bench-llm [--threads N] [-p LIST] [-n LIST] [-r N] [--reference]

  --threads N    candle's (and llama-bench's) CPU threads (default: the logical cores)
  -p LIST        prompt lengths (default 128,512)
  -n LIST        generated tokens (default 32,128)
  -r N           repetitions per test (default 5)
  --reference    also build (once) and run llama.cpp's llama-bench on the same model
";

const LLAMA_CPP_PYTHON: &str = "llama-cpp-python==0.3.16";

struct Options {
    threads: usize,
    prompts: Vec<usize>,
    generates: Vec<usize>,
    repetitions: usize,
    reference: bool,
}

fn list(v: Option<&String>, flag: &str) -> Result<Vec<usize>, String> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
    })
    .and_then(|r| r.ok())
    .filter(|l| !l.is_empty())
    .ok_or_else(|| format!("{flag} needs a comma-separated list of numbers\n\n{HELP}"))
}

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut o = Options {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        prompts: vec![128, 512],
        generates: vec![32, 128],
        repetitions: 5,
        reference: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threads" => o.threads = list(it.next(), "--threads")?[0].max(1),
            "-p" => o.prompts = list(it.next(), "-p")?,
            "-n" => o.generates = list(it.next(), "-n")?,
            "-r" => o.repetitions = list(it.next(), "-r")?[0].max(1),
            "--reference" => o.reference = true,
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(None);
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    Ok(Some(o))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(o) = parse(args)? else {
        return Ok(());
    };
    // candle sizes its pool on first use: before any model is loaded.
    std::env::set_var("CANDLE_NUM_THREADS", o.threads.to_string());
    let data = crate::testdata_dir();
    crate::testdata::fetch(&data)?;
    let model = data.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let host = mlgate_backends::host::HostInfo::detect();
    println!(
        "model {} ({:.1} MB), {} threads, machine: {} ({} logical cores)\n",
        model.display(),
        std::fs::metadata(&model).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
        o.threads,
        host.cpu_model.as_deref().unwrap_or("unknown CPU"),
        host.logical_cores
    );
    let mut decoder =
        mlgate_backends::load_decoder(BackendKind::Candle, &model, &SessionOptions::default())
            .map_err(|e| e.to_string())?;
    let config = LlmBenchConfig {
        prompt_lengths: o.prompts.clone(),
        generate_lengths: o.generates.clone(),
        repetitions: o.repetitions,
        ..LlmBenchConfig::default()
    };
    let started = Instant::now();
    let result = bench_decoder(
        decoder.as_mut(),
        &config,
        None,
        &mut mlgate_bench::NoProgress,
    )
    .map_err(|e| e.to_string())?;
    println!(
        "mlgate llm-bench (candle {}), r = {} after one warm-up, {:.0} s:",
        result.session.runtime_version.as_deref().unwrap_or("?"),
        o.repetitions,
        started.elapsed().as_secs_f64()
    );
    println!("| test | t/s (mean ± sd) | TTFT ms (mean) | TPOT ms (mean) |");
    println!("|---|---|---|---|");
    let mut ours: Vec<(String, f64, f64)> = Vec::new();
    for t in &result.tests {
        let pp = &t.prefill_tokens_per_second;
        let ttft = t
            .ttft
            .as_ref()
            .map_or("–".into(), |s| format!("{:.1}", s.mean_ms));
        let tpot = t
            .tpot
            .as_ref()
            .map_or("–".into(), |s| format!("{:.2}", s.mean_ms));
        let pp_name = format!("pp{}", t.prompt_tokens);
        if !ours.iter().any(|(n, _, _)| *n == pp_name) {
            println!("| {pp_name} | {:.2} ± {:.2} | | |", pp.mean, pp.std);
            ours.push((pp_name, pp.mean, pp.std));
        }
        if let Some(tg) = &t.decode_tokens_per_second {
            let name = format!("tg{} @ d{}", t.generate_tokens, t.prompt_tokens);
            println!(
                "| {name} | {:.2} ± {:.2} | {ttft} | {tpot} |",
                tg.mean, tg.std
            );
            ours.push((name, tg.mean, tg.std));
        }
    }
    overhead(decoder.as_mut(), &model)?;
    if o.reference {
        let bench = llama_bench()?;
        reference(&bench, &model, &o, &ours)?;
    }
    Ok(())
}

/// The harness's cost per generated token, two ways: (1) the per-token bookkeeping of
/// `run_request` (a clock reading and a push) timed alone on a decoder that does nothing;
/// (2) `run_request` against a bare loop straight on candle's `ModelWeights` (forward,
/// logits to a vector, argmax; one clock reading per loop), alternated, same process.
fn overhead(decoder: &mut dyn Decoder, model: &Path) -> Result<(), String> {
    use candle_core::{Device, Tensor};
    use candle_transformers::models::quantized_llama::ModelWeights;

    const STEPS: usize = 64;
    const ROUNDS: usize = 5;
    let prompt = mlgate_bench::llm::random_prompt(decoder.describe().vocab_size, 16, 7);
    let mut file = std::fs::File::open(model).map_err(|e| e.to_string())?;
    let content =
        candle_core::quantized::gguf_file::Content::read(&mut file).map_err(|e| e.to_string())?;
    let mut bare =
        ModelWeights::from_gguf(content, &mut file, &Device::Cpu).map_err(|e| e.to_string())?;
    /// One forward pass straight on candle, then the backend's greedy argmax.
    fn bare_step(bare: &mut ModelWeights, tokens: &[u32], pos: usize) -> Result<u32, String> {
        let mut run = || -> candle_core::Result<Vec<f32>> {
            let x = Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
            bare.forward(&x, pos)?.squeeze(0)?.to_vec1::<f32>()
        };
        let logits = run().map_err(|e| e.to_string())?;
        Ok(mlgate_backends::candle::argmax(&logits))
    }
    let (mut ours_ms, mut bare_ms) = (Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        // mlgate's timed request: decode phase per token.
        let (times, _) = run_request(decoder, &[], &prompt, STEPS).map_err(|e| e.to_string())?;
        let m = times.metrics();
        // The bare loop: the same prompt, then the same number of decode steps.
        bare.clear_kv_cache();
        let mut next = bare_step(&mut bare, &prompt, 0)?;
        let start = Instant::now();
        for k in 0..STEPS {
            next = bare_step(&mut bare, &[next], prompt.len() + k)?;
        }
        let bare_decode = start.elapsed().as_secs_f64() * 1e3;
        if round > 0 {
            ours_ms.push(m.decode_ms / STEPS as f64);
            bare_ms.push(bare_decode / STEPS as f64);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ours, bare) = (mean(&ours_ms), mean(&bare_ms));
    // (1) The bookkeeping alone.
    let n = 1_000_000;
    let start = Instant::now();
    let mut stamps = Vec::with_capacity(n);
    for _ in 0..n {
        stamps.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let per_token_ns = start.elapsed().as_nanos() as f64 / n as f64;
    std::hint::black_box(&stamps);
    println!(
        "\nharness overhead per generated token:\n  bookkeeping (clock reading + push), timed alone over {n}: {per_token_ns:.1} ns = \
         {:.5}% of a {bare:.2} ms token\n  run_request vs a bare candle loop, {ROUNDS} alternated rounds of {STEPS} tokens after a \
         16-token prompt: {ours:.3} vs {bare:.3} ms per token ({:+.2}%; per-round differences: {})",
        per_token_ns / (bare * 1e6) * 100.0,
        (ours / bare - 1.0) * 100.0,
        ours_ms
            .iter()
            .zip(&bare_ms)
            .map(|(a, b)| format!("{:+.2}%", (a / b - 1.0) * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// llama.cpp's llama-bench, built once under `target/llama-cpp/` from the sources in PyPI's
/// llama-cpp-python sdist, with cmake from PyPI.
fn llama_bench() -> Result<PathBuf, String> {
    let root = crate::workspace_root().join("target/llama-cpp");
    let bin = root.join("build/bin/llama-bench");
    if bin.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let venv = root.join("venv");
    if !venv.join("bin/cmake").exists() {
        crate::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        crate::run(Command::new(venv.join("bin/pip")).args(["install", "-q", "cmake"]))?;
    }
    let sdist = root.join("sdist");
    crate::run(
        Command::new(venv.join("bin/pip"))
            .args(["download", "-q", "--no-deps", "--no-binary", ":all:", "-d"])
            .arg(&sdist)
            .arg(LLAMA_CPP_PYTHON),
    )?;
    let archive = std::fs::read_dir(&sdist)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .ok_or("pip downloaded no llama-cpp-python sdist")?;
    crate::run(
        Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&root),
    )?;
    let src = root.join(format!(
        "llama_cpp_python-{}/vendor/llama.cpp",
        LLAMA_CPP_PYTHON.split("==").nth(1).unwrap_or_default()
    ));
    crate::run(
        Command::new(venv.join("bin/cmake"))
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(root.join("build"))
            .args([
                "-DCMAKE_BUILD_TYPE=Release",
                "-DLLAMA_CURL=OFF",
                "-DLLAMA_BUILD_TESTS=OFF",
                "-DLLAMA_BUILD_EXAMPLES=OFF",
                "-DLLAMA_BUILD_SERVER=OFF",
                "-DBUILD_SHARED_LIBS=OFF",
            ]),
    )?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    crate::run(
        Command::new(venv.join("bin/cmake"))
            .arg("--build")
            .arg(root.join("build"))
            .args(["--target", "llama-bench", "-j", &jobs.to_string()]),
    )?;
    Ok(bin)
}

/// Runs llama-bench for the same tests and prints both side by side.
fn reference(
    bench: &Path,
    model: &Path,
    o: &Options,
    ours: &[(String, f64, f64)],
) -> Result<(), String> {
    let join = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let threads = o.threads.to_string();
    let reps = o.repetitions.to_string();
    let run = |extra: &[&str]| -> Result<Vec<serde_json::Value>, String> {
        let out = Command::new(bench)
            .arg("-m")
            .arg(model)
            .args(["-t", &threads, "-r", &reps, "-o", "json"])
            .args(extra)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bench.display()))?;
        if !out.status.success() {
            return Err(format!(
                "llama-bench failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
            .map_err(|e| format!("llama-bench printed no JSON list: {e}"))
    };
    let mut rows = run(&["-p", &join(&o.prompts), "-n", "0"])?;
    for &p in &o.prompts {
        rows.extend(run(&[
            "-p",
            "0",
            "-n",
            &join(&o.generates),
            "-d",
            &p.to_string(),
        ])?);
    }
    println!(
        "\nllama.cpp llama-bench ({}), same model, {} threads, r = {}:",
        rows.first()
            .and_then(|r| r["build_commit"].as_str())
            .unwrap_or("?"),
        o.threads,
        o.repetitions
    );
    println!("| test | mlgate (candle) t/s | llama.cpp t/s | candle / llama.cpp |");
    println!("|---|---|---|---|");
    for r in &rows {
        let (p, n, d) = (
            r["n_prompt"].as_u64().unwrap_or(0),
            r["n_gen"].as_u64().unwrap_or(0),
            r["n_depth"].as_u64().unwrap_or(0),
        );
        let name = if n == 0 {
            format!("pp{p}")
        } else {
            format!("tg{n} @ d{d}")
        };
        let (avg, sd) = (
            r["avg_ts"].as_f64().unwrap_or(f64::NAN),
            r["stddev_ts"].as_f64().unwrap_or(f64::NAN),
        );
        let mine = ours.iter().find(|(n, _, _)| *n == name);
        println!(
            "| {name} | {} | {avg:.2} ± {sd:.2} | {} |",
            mine.map_or("–".into(), |(_, m, s)| format!("{m:.2} ± {s:.2}")),
            mine.map_or("–".into(), |(_, m, _)| format!("{:.3}", m / avg))
        );
    }
    Ok(())
}
