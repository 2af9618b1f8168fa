//! How much `Session::run_prepared` adds over calling ONNX Runtime directly:
//! `cargo run --release -p mlgate-backends --example overhead -- MODEL.onnx [ITERATIONS]`.
//!
//! ONNX Runtime allows one environment per process, so each loop runs in its own child
//! process, alternating, and the medians are compared. Both loops use the same library, one
//! intra-op thread, and the same binding set-up (inputs bound once, outputs to host memory).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use mlgate_backends::discovery::find_library;
use mlgate_backends::inputs::synthetic_inputs;
use mlgate_backends::{onnxruntime, BackendKind, RuntimeCatalog, RuntimeConfig, SessionOptions};
use mlgate_ir::tensor::TensorData;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn per_call_ns(iterations: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    for _ in 0..iterations / 10 {
        f()?;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f()?;
    }
    Ok(start.elapsed().as_nanos() as f64 / iterations as f64)
}

fn mlgate_loop(model: &Path, iterations: usize) -> Res<f64> {
    let registry = RuntimeCatalog::new(&RuntimeConfig::from_env());
    let options = SessionOptions {
        intra_op_threads: Some(1),
        ..Default::default()
    };
    let mut session = registry.load(BackendKind::OnnxRuntime, model, &options)?;
    let inputs = synthetic_inputs(session.inputs(), &BTreeMap::new(), 1)?;
    session.prepare(&inputs)?;
    per_call_ns(iterations, || Ok(session.run_prepared()?))
}

fn bare_loop(model: &Path, iterations: usize) -> Res<f64> {
    let config = RuntimeConfig::from_env();
    let lib = find_library(&onnxruntime::LIBRARY, None, &config).map_err(|t| t.join("; "))?;
    let env = ort::init_from(&lib.path)?.build()?;
    let mut session = ort::session::Session::builder(&env)?
        .with_intra_threads(1)?
        .commit_from_file(model)?;
    let infos: Vec<_> = session
        .inputs()
        .iter()
        .map(|o| (o.name().to_string(), o.dtype().clone()))
        .collect();
    let mut binding = session.create_binding()?;
    let mut keep = Vec::new();
    // Same synthetic data as the mlgate loop, built through mlgate's own description.
    let registry = RuntimeCatalog::new(&config);
    let described = registry
        .get(BackendKind::Tract)
        .ok_or("tract")?
        .load(model, &SessionOptions::default())?;
    let inputs = synthetic_inputs(described.inputs(), &BTreeMap::new(), 1)?;
    for ((name, _), t) in infos.iter().zip(&inputs) {
        let TensorData::F32(v) = t.data() else {
            return Err("f32 inputs only".into());
        };
        let value = ort::value::Tensor::from_array((t.shape().to_vec(), v.clone()))?;
        binding.bind_input(name.as_str(), &value)?;
        keep.push(value);
    }
    let cpu = ort::memory::MemoryInfo::default();
    let outputs: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    for o in &outputs {
        binding.bind_output_to_device(o.as_str(), &cpu)?;
    }
    per_call_ns(iterations, || {
        drop(session.run_binding(&binding)?);
        Ok(())
    })
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = Path::new(
        args.first()
            .ok_or("usage: overhead MODEL.onnx [ITERATIONS]")?,
    );
    let iterations: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    match args.get(2).map(String::as_str) {
        Some("mlgate") => println!("{}", mlgate_loop(model, iterations)?),
        Some("bare") => println!("{}", bare_loop(model, iterations)?),
        _ => {
            let exe = std::env::current_exe()?;
            let (mut ours, mut bare) = (Vec::new(), Vec::new());
            for _ in 0..7 {
                for (mode, into) in [("mlgate", &mut ours), ("bare", &mut bare)] {
                    let out = Command::new(&exe)
                        .args([&args[0], &iterations.to_string(), mode])
                        .output()?;
                    let text = String::from_utf8_lossy(&out.stdout);
                    let ns: f64 = text
                        .trim()
                        .parse()
                        .map_err(|_| format!("{mode}: {}", String::from_utf8_lossy(&out.stderr)))?;
                    into.push(ns);
                }
            }
            let median = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (a, b) = (median(&mut ours), median(&mut bare));
            println!(
                "{}: mlgate run_prepared {:.2} µs/call, bare ort run_binding {:.2} µs/call, overhead {:+.2} µs",
                model.display(),
                a / 1e3,
                b / 1e3,
                (a - b) / 1e3
            );
        }
    }
    Ok(())
}
