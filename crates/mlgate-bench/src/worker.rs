//! Worker processes: each side of a comparison measured in fresh processes of its own.
//!
//! In one process, the two models share an allocator whose state (glibc's adaptive mmap
//! threshold, arenas) depends on what the process did before, and a large model's speed can
//! depend on where its buffers landed: #10 measured a pair at +43% side by side in one
//! process and +3–5% one model per process. Neither pairs nor loads within the process can
//! see that. Here every session lives in its own process, started fresh, so placement
//! varies from worker to worker and enters the interval as loads do.
//!
//! The protocol is line-based on the worker's stdin and stdout:
//! 1. the parent writes one JSON [`WorkerSpec`] line;
//! 2. the worker loads the model, binds the inputs, runs [`MEMORY_RUNS`] inferences and
//!    answers one JSON [`WorkerReady`] line (or `{"error": ...}`);
//! 3. each `run` line is answered `ok <nanoseconds>` (timed in the worker around the
//!    inference alone, so the pipe's latency is never in a sample) or `err <message>`;
//! 4. `quit`, or the end of stdin, ends the worker.
//!
//! The worker's program is the caller's to name ([`WorkerCommand`]): the `mlgate` binary
//! runs [`serve`] behind a hidden subcommand.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use mlgate_backends::{BackendKind, RuntimeCatalog, RuntimeConfig, SessionInfo, SessionOptions};
use serde::{Deserialize, Serialize};

use crate::compare::{
    begin_pair, compare_workload_sets, CompareConfig, CompareResult, Loaded, ModelPair, TimedRun,
    Workload, LOAD_ORDER, MEMORY_RUNS,
};
use crate::error::{BenchError, Result};
use crate::fingerprint::MeasurementEnvironment;
use crate::harness::InputSet;
use crate::memory::PhaseMemory;
use crate::{stats, Progress, ProgressUpdate};

/// How to start a worker: a program and its arguments (e.g. the running `mlgate` and its
/// hidden `bench-worker` subcommand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// What a worker loads and runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub model: PathBuf,
    pub backend: BackendKind,
    pub options: SessionOptions,
    /// The inputs, as an `.npz` both sides read: identical tensors on every worker.
    pub inputs: PathBuf,
    /// Where the runtimes are: the parent's [`RuntimeConfig`], field by field.
    pub mlgate_home: Option<PathBuf>,
    pub onnxruntime_library: Option<PathBuf>,
    pub litert_library: Option<PathBuf>,
    pub python: Option<PathBuf>,
    pub onnxruntime_session_config: Vec<(String, String)>,
}

impl WorkerSpec {
    fn runtimes(&self) -> RuntimeConfig {
        RuntimeConfig {
            mlgate_home: self.mlgate_home.clone(),
            onnxruntime_library: self.onnxruntime_library.clone(),
            litert_library: self.litert_library.clone(),
            python: self.python.clone(),
            onnxruntime_session_config: self.onnxruntime_session_config.clone(),
        }
    }

    pub fn new(
        model: &Path,
        backend: BackendKind,
        options: &SessionOptions,
        inputs: &Path,
        runtimes: &RuntimeConfig,
    ) -> WorkerSpec {
        WorkerSpec {
            model: model.to_owned(),
            backend,
            options: options.clone(),
            inputs: inputs.to_owned(),
            mlgate_home: runtimes.mlgate_home.clone(),
            onnxruntime_library: runtimes.onnxruntime_library.clone(),
            litert_library: runtimes.litert_library.clone(),
            python: runtimes.python.clone(),
            onnxruntime_session_config: runtimes.onnxruntime_session_config.clone(),
        }
    }
}

/// A worker's answer once its model is loaded and bound.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReady {
    pub session: SessionInfo,
    pub load_ms: f64,
    /// Peak memory of load, binding and [`MEMORY_RUNS`] inferences, in a process that holds
    /// nothing else.
    pub memory: Option<PhaseMemory>,
    pub pid: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ready(Box<WorkerReady>),
    Error(String),
}

/// The worker's side: reads a spec from `input`, loads, then serves `run` lines until
/// `quit` or the end of the input. Errors after the handshake are answered on the protocol;
/// the function returns when the parent is done.
pub fn serve(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut lines = input.lines();
    let Some(first) = lines.next() else {
        return Ok(());
    };
    let ready = match serde_json::from_str::<WorkerSpec>(&first?) {
        Err(e) => Err(format!("not a worker spec: {e}")),
        Ok(spec) => load(&spec).map_err(|e| e.to_string()),
    };
    let mut session = match ready {
        Ok((session, ready)) => {
            writeln!(
                output,
                "{}",
                serde_json::to_string(&Reply::Ready(Box::new(ready)))?
            )?;
            session
        }
        Err(e) => {
            writeln!(output, "{}", serde_json::to_string(&Reply::Error(e))?)?;
            return output.flush();
        }
    };
    output.flush()?;
    for line in lines {
        match line?.trim() {
            "run" => {
                let start = Instant::now();
                let result = session.run_prepared();
                let ns = start.elapsed().as_nanos() as u64;
                match result {
                    Ok(()) => writeln!(output, "ok {ns}")?,
                    Err(e) => writeln!(output, "err {}", e.to_string().replace('\n', " "))?,
                }
            }
            "quit" => break,
            other => writeln!(output, "err unknown request `{other}`")?,
        }
        output.flush()?;
    }
    Ok(())
}

fn load(spec: &WorkerSpec) -> Result<(Box<dyn mlgate_backends::Session>, WorkerReady)> {
    let inputs = mlgate_ir::tensor::read_tensors(&spec.inputs)
        .map_err(|e| BenchError::Config(format!("worker inputs: {e}")))?;
    let catalog = RuntimeCatalog::new(&spec.runtimes());
    crate::memory::release_free_heap();
    let meter = crate::memory::PeakMeter::start();
    let start = Instant::now();
    let mut session = catalog.load(spec.backend, &spec.model, &spec.options)?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    session.prepare(&inputs)?;
    for _ in 0..MEMORY_RUNS {
        session.run_prepared()?;
    }
    let mut memory = meter.finish();
    if let Some(m) = memory.as_mut() {
        m.method = format!(
            "{}; phase: load, input binding and {MEMORY_RUNS} inferences, in a worker process \
             holding this model alone",
            m.method
        );
    }
    let ready = WorkerReady {
        session: session.info().clone(),
        load_ms,
        memory,
        pid: std::process::id(),
    };
    Ok((session, ready))
}

/// The parent's side of one worker: a [`Workload`] whose repetitions run in the child.
pub struct ProcessWorkload {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub ready: WorkerReady,
    model: PathBuf,
}

impl ProcessWorkload {
    /// Starts a worker and waits until it has loaded `spec.model`.
    pub fn start(command: &WorkerCommand, spec: &WorkerSpec) -> Result<ProcessWorkload> {
        let fail = |detail: String| {
            BenchError::Config(format!(
                "worker process for {} ({}): {detail}",
                spec.model.display(),
                command.program.display()
            ))
        };
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // The worker's own diagnostics (a runtime's load-time chatter) are not the
            // parent's output; errors come back on the protocol.
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("cannot start it: {e}")))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(fail("no pipes".into()));
        };
        let mut stdout = BufReader::new(stdout);
        let line = serde_json::to_string(spec).map_err(|e| fail(e.to_string()))?;
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .map_err(|e| fail(format!("cannot send the spec: {e}")))?;
        let mut answer = String::new();
        stdout
            .read_line(&mut answer)
            .map_err(|e| fail(format!("no answer: {e}")))?;
        match serde_json::from_str::<Reply>(answer.trim()) {
            Ok(Reply::Ready(ready)) => Ok(ProcessWorkload {
                child,
                stdin,
                stdout,
                ready: *ready,
                model: spec.model.clone(),
            }),
            Ok(Reply::Error(e)) => {
                let _ = child.wait();
                Err(BenchError::Config(e))
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(fail(format!(
                    "it answered `{}` instead of the protocol; is it an mlgate worker?",
                    answer.trim()
                )))
            }
        }
    }
}

impl Workload for ProcessWorkload {
    fn run_timed(&mut self) -> Result<TimedRun> {
        let fail = |detail: String| {
            BenchError::Config(format!("worker for {}: {detail}", self.model.display()))
        };
        let start = Instant::now();
        writeln!(self.stdin, "run")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| fail(format!("it stopped: {e}")))?;
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .map_err(|e| fail(format!("it stopped: {e}")))?;
        let wall_ns = start.elapsed().as_nanos() as u64;
        let answer = answer.trim();
        match answer.split_once(' ') {
            Some(("ok", ns)) => Ok(TimedRun {
                value_ns: ns
                    .parse()
                    .map_err(|_| fail(format!("bad answer `{answer}`")))?,
                wall_ns,
            }),
            Some(("err", message)) => Err(fail(message.to_string())),
            _ if answer.is_empty() => Err(fail("it exited".into())),
            _ => Err(fail(format!("bad answer `{answer}`"))),
        }
    }
}

impl Drop for ProcessWorkload {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// [`crate::compare::compare_models`] with every session in a fresh worker process: each
/// side gets `config.sessions_per_side` workers, started alternately in an order drawn from
/// the seed; each worker's memory figure is its own process's peak.
pub fn compare_models_in_processes(
    command: &WorkerCommand,
    runtimes: &RuntimeConfig,
    pair: &ModelPair<'_>,
    set: &InputSet,
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<CompareResult> {
    let config = begin_pair(config, progress)?;
    let seed = config.seed_or_fresh();
    let dir = tempfile::tempdir()
        .map_err(|e| BenchError::Config(format!("a directory for the workers' inputs: {e}")))?;
    let npz = dir.path().join("inputs.npz");
    mlgate_ir::tensor::write_npz(&npz, &set.inputs, true)
        .map_err(|e| BenchError::Config(format!("the workers' inputs: {e}")))?;
    let spec = |model: &Path| WorkerSpec::new(model, pair.backend, pair.options, &npz, runtimes);
    let baseline_first = stats::rng(seed ^ LOAD_ORDER).coin();
    let (mut a, mut b): (Vec<ProcessWorkload>, Vec<ProcessWorkload>) = (Vec::new(), Vec::new());
    for _ in 0..config.sessions_per_side {
        if baseline_first {
            a.push(ProcessWorkload::start(command, &spec(pair.baseline))?);
            b.push(ProcessWorkload::start(command, &spec(pair.candidate))?);
        } else {
            b.push(ProcessWorkload::start(command, &spec(pair.candidate))?);
            a.push(ProcessWorkload::start(command, &spec(pair.baseline))?);
        }
    }
    progress.update(&ProgressUpdate {
        phase: "loading",
        label: format!("{} worker processes ready", a.len() + b.len()),
        elapsed_s: 0.0,
        budget_s: 0.0,
        runs: 0,
        rel_half_width: None,
    });
    for w in a[0]
        .ready
        .session
        .warnings
        .iter()
        .chain(&b[0].ready.session.warnings)
    {
        progress.warn(w);
    }
    let environment = MeasurementEnvironment::capture(&a[0].ready.session);
    let mut comparison = {
        let mut ra: Vec<&mut dyn Workload> = a.iter_mut().map(|w| w as &mut dyn Workload).collect();
        let mut rb: Vec<&mut dyn Workload> = b.iter_mut().map(|w| w as &mut dyn Workload).collect();
        compare_workload_sets(&mut ra, &mut rb, &config, progress)?
    };
    comparison.method = format!(
        "every session in a fresh worker process of its own ({} per side), so allocator \
         placement varies between loads; {}",
        config.sessions_per_side, comparison.method
    );
    let position = |first: bool| if first { 1 } else { 2 };
    let loaded = |w: &ProcessWorkload, model: &Path, first: bool| Loaded {
        model: model.to_owned(),
        session: w.ready.session.clone(),
        load_ms: w.ready.load_ms,
        memory: w.ready.memory.clone(),
        load_position: position(first),
    };
    Ok(CompareResult {
        baseline: loaded(&a[0], pair.baseline, baseline_first),
        candidate: loaded(&b[0], pair.candidate, !baseline_first),
        input_shapes: crate::compare::input_shapes(set),
        requests: None,
        environment,
        config,
        comparison,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_serves_runs_and_reports_errors_on_the_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("tiny_mlp.onnx");
        mlgate_ir::onnx::write_model(&model, &mlgate_ir::fixtures::tiny_mlp()).unwrap();
        let info = mlgate_ir::inspect(&model).unwrap();
        let input = &info.inputs[0];
        let shape: Vec<usize> = input
            .shape
            .iter()
            .flatten()
            .map(|d| d.fixed().unwrap_or(1) as usize)
            .collect();
        let n: usize = shape.iter().product();
        let tensor = mlgate_ir::tensor::Tensor::new(
            &input.name,
            shape,
            mlgate_ir::tensor::TensorData::F32(vec![0.5; n]),
        )
        .unwrap();
        let npz = dir.path().join("in.npz");
        mlgate_ir::tensor::write_npz(&npz, &[tensor], true).unwrap();
        let spec = WorkerSpec::new(
            &model,
            BackendKind::Tract,
            &SessionOptions::default(),
            &npz,
            &RuntimeConfig::default(),
        );
        let input = format!(
            "{}\nrun\nrun\nbogus\nquit\nrun\n",
            serde_json::to_string(&spec).unwrap()
        );
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("{\"ready\""), "{text}");
        for l in &lines[1..3] {
            let ns: u64 = l.strip_prefix("ok ").unwrap().parse().unwrap();
            assert!(ns > 0);
        }
        assert!(lines[3].starts_with("err unknown request"), "{text}");

        let missing = WorkerSpec {
            model: dir.path().join("missing.onnx"),
            ..spec
        };
        let mut out = Vec::new();
        serve(
            format!("{}\n", serde_json::to_string(&missing).unwrap()).as_bytes(),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("{\"error\"") && text.contains("missing.onnx"),
            "{text}"
        );
    }
}
