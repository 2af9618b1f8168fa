//! `cargo xtask bench-gate`: measures the A/B gate itself — how often it cries wolf (A/A)
//! and how often it catches known slowdowns — on this machine, idle and with a busy core.
//!
//! Test pairs are the CNN fixture against itself and against variants with about +2%, +5%
//! and +10% more multiply-accumulates. A variant's true slowdown is not its MAC count: it is
//! measured first, with one long interleaved comparison per variant. Then every scenario
//! runs N comparisons at default settings (fresh seed each) and the table gives the rate of
//! each verdict with a Wilson 95% interval, and the time per comparison. Always in release.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use mlgate_backends::{BackendKind, RuntimeCatalog, Session, SessionInfo, SessionOptions};
use mlgate_bench::harness::harness_overhead_ns;
use mlgate_bench::{
    compare_models, compare_sessions, CompareConfig, InputSet, Metric, ModelPair, NoProgress,
    Verdict,
};
use mlgate_ir::tensor::Tensor;
use mlgate_ir::TensorInfo;

const HELP: &str = "\
cargo xtask bench-gate [options]

  --aa N              A/A comparisons per load condition (default 200)
  --per-variant N     comparisons per slowdown variant (default 100)
  --scenarios LIST    comma list of aa, aa-strict, plus2, plus5, plus10, slow10, p95 (default all)
  --busy MODE         off | on | both: a busy-loop thread on one core (default both)
  --calibrate S       seconds of the long run that measures each variant's true slowdown (default 60)
  --max-time S        per-comparison time budget (default: CompareConfig's, 15 s)
  --auto              --max-time auto: extend the budget to what the metric needs
  --sessions N        independently loaded sessions per side (default: CompareConfig's, 2)
  --isolate           every session in a fresh worker process (what `mlgate compare --isolate`
                      does; this xtask binary serves as the worker)
  --out FILE          also write every comparison as JSON Lines
";

struct Options {
    aa: usize,
    per_variant: usize,
    scenarios: Vec<String>,
    busy: Vec<bool>,
    calibrate_s: f64,
    max_time_s: Option<f64>,
    auto: bool,
    sessions: Option<usize>,
    isolate: bool,
    out: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        aa: 200,
        per_variant: 100,
        scenarios: [
            "aa",
            "aa-strict",
            "plus2",
            "plus5",
            "plus10",
            "slow10",
            "p95",
        ]
        .map(String::from)
        .to_vec(),
        busy: vec![false, true],
        calibrate_s: 60.0,
        max_time_s: None,
        auto: false,
        sessions: None,
        isolate: false,
        out: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n\n{HELP}"))
        };
        let num = |v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--aa" => o.aa = num(value()?)? as usize,
            "--per-variant" => o.per_variant = num(value()?)? as usize,
            "--scenarios" => {
                o.scenarios = value()?.split(',').map(|s| s.trim().to_string()).collect()
            }
            "--busy" => {
                o.busy = match value()?.as_str() {
                    "off" => vec![false],
                    "on" => vec![true],
                    "both" => vec![false, true],
                    other => return Err(format!("--busy takes off, on or both, not {other}")),
                }
            }
            "--calibrate" => o.calibrate_s = num(value()?)?,
            "--max-time" => o.max_time_s = Some(num(value()?)?),
            "--auto" => o.auto = true,
            "--sessions" => o.sessions = Some(num(value()?)? as usize),
            "--isolate" => o.isolate = true,
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(HELP.to_string()),
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    for s in &o.scenarios {
        if scenario(s).is_none() {
            return Err(format!("unknown scenario {s}; valid: {SCENARIOS}"));
        }
    }
    Ok(o)
}

/// A scenario: the models compared and how they are judged.
#[derive(Clone, Copy)]
struct Scenario {
    /// Extra compute of the baseline and the candidate (fractions of the CNN's MACs).
    base_extra: f64,
    cand_extra: f64,
    threshold: f64,
    metric: Metric,
}

const SCENARIOS: &str = "aa, aa-strict, plus2, plus5, plus10, slow10, p95";

/// The gate's default latency threshold (`mlgate ci`, `compare`): 10%.
const DEFAULT_THRESHOLD: f64 = 0.10;

fn scenario(name: &str) -> Option<Scenario> {
    let s = |base_extra, cand_extra, threshold, metric| Scenario {
        base_extra,
        cand_extra,
        threshold,
        metric,
    };
    Some(match name {
        "aa" => s(0.0, 0.0, DEFAULT_THRESHOLD, Metric::P50),
        // --strict: any significant slowdown fails.
        "aa-strict" => s(0.0, 0.0, 0.0, Metric::P50),
        // The bottleneck's extra MACs cost about two thirds of their share in time on tract
        // here (a +10% MAC variant measured +6.5%), so the variants carry 1.5× the MACs of
        // the slowdown they stand for; the table reports each one's measured slowdown.
        "plus2" => s(0.0, 0.03, 0.01, Metric::P50),
        "plus5" => s(0.0, 0.075, 0.02, Metric::P50),
        "plus10" => s(0.0, 0.15, 0.05, Metric::P50),
        // A slow model: the CNN with 7× its compute (~90 ms per inference on tract here)
        // against a slightly larger bottleneck. Its measured slowdown is not stable from
        // load to load (about 0% or about +12%, 2026-12-02): the case that shows whether
        // load-to-load variation reaches the interval.
        "slow10" => s(6.0, 6.3, 0.05, Metric::P50),
        "p95" => s(0.0, 0.15, 0.05, Metric::P95),
        _ => return None,
    })
}

/// The argument that makes the engine xtask a measurement worker.
pub const WORKER: &str = "bench-worker";

/// `xtask bench-worker`: serves one session on stdin/stdout for `--isolate`.
pub fn serve_worker() -> Result<(), String> {
    let stdin = std::io::stdin();
    mlgate_bench::worker::serve(stdin.lock(), std::io::stdout().lock()).map_err(|e| e.to_string())
}

pub fn run(args: &[String]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        return Err(
            "bench-gate times the engine: run it in release (`cargo xtask bench-gate`)".into(),
        );
    }
    let o = parse(args)?;
    let dir = crate::workspace_root().join("target/bench-gate");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let model = |extra: f64| -> Result<PathBuf, String> {
        let path = dir.join(format!("vision_cnn_plus{:.0}.onnx", extra * 100.0));
        mlgate_ir::onnx::write_model(
            &path,
            &mlgate_ir::fixtures::vision_cnn_with_extra_compute(extra),
        )
        .map_err(|e| e.to_string())?;
        Ok(path)
    };
    let registry = RuntimeCatalog::new(&mlgate_backends::RuntimeConfig::from_env());
    let load = |path: &Path| -> Result<Box<dyn Session>, String> {
        let mut s = registry
            .load(BackendKind::Tract, path, &SessionOptions::default())
            .map_err(|e| e.to_string())?;
        let inputs = inputs(s.inputs())?;
        s.prepare(&inputs).map_err(|e| e.to_string())?;
        Ok(s)
    };
    // With --isolate, this very binary is the worker (`xtask bench-worker`).
    let worker = mlgate_bench::worker::WorkerCommand {
        program: std::env::current_exe().map_err(|e| e.to_string())?,
        args: vec![WORKER.into()],
    };
    if o.isolate {
        println!("isolation: every session in a fresh worker process");
    }
    let base_path = model(0.0)?;
    print_machine(&load(&base_path)?.info().clone());

    overhead(&registry)?;

    let mut out = match &o.out {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let mut rows = Vec::new();
    for &busy in &o.busy {
        let _spinner = busy.then(Spinner::start);
        let condition = if busy { "busy core" } else { "idle" };
        for name in &o.scenarios {
            let sc = scenario(name).expect("checked in parse");
            let base_model = model(sc.base_extra)?;
            let cand_model = model(sc.cand_extra)?;
            let truth = if sc.base_extra == sc.cand_extra {
                None
            } else {
                let (mut b, mut c) = (load(&base_model)?, load(&cand_model)?);
                Some(calibrate(b.as_mut(), c.as_mut(), o.calibrate_s)?)
            };
            let n = if truth.is_none() { o.aa } else { o.per_variant };
            let mut counts = [0usize; 4];
            let mut times = Vec::with_capacity(n);
            let mut warned: std::collections::BTreeMap<String, usize> = Default::default();
            let set = InputSet {
                label: "default".into(),
                batch_size: 1,
                inputs: inputs(load(&base_model)?.inputs())?,
            };
            for i in 0..n {
                let config = CompareConfig {
                    threshold: sc.threshold,
                    metric: sc.metric,
                    seed: Some(1000 + i as u64),
                    max_time_s: o.max_time_s.unwrap_or(CompareConfig::default().max_time_s),
                    extend_to_decide: o.auto,
                    sessions_per_side: o
                        .sessions
                        .unwrap_or(CompareConfig::default().sessions_per_side),
                    ..CompareConfig::default()
                };
                // The product's path: both models loaded afresh for every comparison (two
                // sessions per side, seeded load order), as `mlgate compare` does.
                let pair = ModelPair {
                    backend: BackendKind::Tract,
                    baseline: &base_model,
                    candidate: &cand_model,
                    options: &SessionOptions::default(),
                };
                let t = Instant::now();
                let r = if o.isolate {
                    mlgate_bench::worker::compare_models_in_processes(
                        &worker,
                        &mlgate_backends::RuntimeConfig::from_env(),
                        &pair,
                        &set,
                        &config,
                        &mut NoProgress,
                    )
                } else {
                    compare_models(&registry, &pair, &set, &config, &mut NoProgress)
                }
                .map_err(|e| e.to_string())?;
                times.push(t.elapsed().as_secs_f64());
                let c = r.comparison;
                counts[match c.verdict {
                    Verdict::Regression => 0,
                    Verdict::NoChange => 1,
                    Verdict::Improvement => 2,
                    Verdict::Inconclusive => 3,
                }] += 1;
                let mut kinds: Vec<String> = c.warnings.iter().map(|w| warning_kind(w)).collect();
                kinds.sort();
                kinds.dedup();
                for k in kinds {
                    *warned.entry(k).or_default() += 1;
                }
                if let Some(f) = out.as_mut() {
                    use std::io::Write;
                    let line = serde_json::json!({
                        "condition": condition, "scenario": name, "i": i, "threshold": sc.threshold,
                        "metric": sc.metric, "verdict": c.verdict, "delta": c.relative_delta,
                        "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value,
                        "pairs": c.pairs, "block_runs": c.block_runs, "looks": c.looks,
                        "elapsed_s": c.elapsed_s, "wall_s": t.elapsed().as_secs_f64(),
                        "load_ms": [r.baseline.load_ms, r.candidate.load_ms],
                        "warnings": c.warnings, "seed": c.seed,
                    });
                    let _ = writeln!(f, "{line}");
                }
                eprint!(
                    "\r{condition} {name}: {}/{n}  R {} N {} I {} ?{}   ",
                    i + 1,
                    counts[0],
                    counts[1],
                    counts[2],
                    counts[3]
                );
            }
            eprintln!();
            rows.push(Row {
                condition,
                name: name.clone(),
                truth,
                threshold: sc.threshold,
                metric: sc.metric,
                n,
                counts,
                times,
                warned,
            });
        }
    }
    print_table(&rows);
    Ok(())
}

fn inputs(declared: &[TensorInfo]) -> Result<Vec<Tensor>, String> {
    mlgate_backends::inputs::synthetic_inputs(declared, &Default::default(), 0)
}

/// The true slowdown of a variant: one long interleaved run, read as the Hodges-Lehmann
/// shift of p50 with its interval (no gate involved).
fn calibrate(
    base: &mut dyn Session,
    cand: &mut dyn Session,
    seconds: f64,
) -> Result<(f64, f64, f64), String> {
    let config = CompareConfig {
        threshold: 0.0,
        min_time_s: seconds,
        max_time_s: seconds,
        ..CompareConfig::default()
    };
    let c = compare_sessions(base, cand, &config, &mut NoProgress).map_err(|e| e.to_string())?;
    eprintln!(
        "true slowdown: {:+.2}% [{:+.2}%, {:+.2}%] ({} block pairs, {:.0} s)",
        c.relative_delta * 100.0,
        c.ci_low * 100.0,
        c.ci_high * 100.0,
        c.pairs,
        c.elapsed_s
    );
    Ok((c.relative_delta, c.ci_low, c.ci_high))
}

/// A session whose inference does nothing: what is left of a timed call is the harness.
struct NullSession {
    info: SessionInfo,
}

impl Session for NullSession {
    fn info(&self) -> &SessionInfo {
        &self.info
    }
    fn inputs(&self) -> &[TensorInfo] {
        &[]
    }
    fn outputs(&self) -> &[TensorInfo] {
        &[]
    }
    fn bind(&mut self, _: &[&Tensor]) -> mlgate_backends::Result<()> {
        Ok(())
    }
    fn run_prepared(&mut self) -> mlgate_backends::Result<()> {
        std::hint::black_box(());
        Ok(())
    }
    fn take_outputs(&mut self) -> mlgate_backends::Result<Vec<Tensor>> {
        Ok(Vec::new())
    }
}

fn overhead(registry: &RuntimeCatalog) -> Result<(), String> {
    let tiny = crate::workspace_root().join("target/bench-gate/tiny_mlp.onnx");
    mlgate_ir::onnx::write_model(&tiny, &mlgate_ir::fixtures::tiny_mlp())
        .map_err(|e| e.to_string())?;
    let mut s = registry
        .load(BackendKind::Tract, &tiny, &SessionOptions::default())
        .map_err(|e| e.to_string())?;
    let info = s.info().clone();
    s.prepare(&inputs(s.inputs())?).map_err(|e| e.to_string())?;
    let mut null = NullSession { info };
    let n = harness_overhead_ns(&mut null, 1_000_000, 11).map_err(|e| e.to_string())?;
    let t = harness_overhead_ns(s.as_mut(), 2_000, 51).map_err(|e| e.to_string())?;
    println!("harness overhead per timed call (median of repeats, harness loop − bare loop on the same session):");
    println!(
        "  null session: {:.1} ns ({:.1} ns bare, {:.1} ns timed; {} × {} calls)",
        n.overhead_ns, n.bare_ns_per_call, n.harness_ns_per_call, n.repeats, n.runs
    );
    println!(
        "  tiny_mlp on tract: {:+.1} ns on {:.1} µs per call ({} × {} calls; noise dominates)",
        t.overhead_ns,
        t.bare_ns_per_call / 1e3,
        t.repeats,
        t.runs
    );
    Ok(())
}

fn print_machine(info: &SessionInfo) {
    let f = mlgate_bench::MeasurementEnvironment::capture(info);
    println!("machine: {}; load average {:?}", f.short(), f.load_average);
}

/// A thread spinning on a core for as long as it lives.
struct Spinner {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start() -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut x = 0u64;
            while !s.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        Spinner {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

struct Row {
    condition: &'static str,
    name: String,
    truth: Option<(f64, f64, f64)>,
    threshold: f64,
    metric: Metric,
    n: usize,
    counts: [usize; 4],
    times: Vec<f64>,
    /// Comparisons in which each kind of warning fired.
    warned: std::collections::BTreeMap<String, usize>,
}

/// A warning's kind: its words before the first number or colon, without the side.
fn warning_kind(w: &str) -> String {
    let w = w
        .strip_prefix("baseline: ")
        .or_else(|| w.strip_prefix("candidate: "))
        .unwrap_or(w);
    let end = w
        .find(|c: char| c == ':' || c == '(' || c.is_ascii_digit())
        .unwrap_or(w.len());
    w[..end].trim().to_string()
}

/// Wilson score interval for k successes in n trials, 95%.
fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959964);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<10} {:<14} {:>22} {:>6} {:>5} {:>24} {:>8} {:>8} {:>8} {:>13}",
        "load",
        "pair",
        "true slowdown [95% CI]",
        "thr",
        "n",
        "regression [Wilson 95%]",
        "no chg",
        "improv",
        "inconcl",
        "s/cmp med/max"
    );
    for r in rows {
        let truth = match r.truth {
            Some((d, l, h)) => format!("{:+.1}% [{:+.1}, {:+.1}]", d * 100.0, l * 100.0, h * 100.0),
            None => "0 (A/A)".into(),
        };
        let (lo, hi) = wilson(r.counts[0], r.n);
        let pct = |k: usize| format!("{:.1}%", k as f64 / r.n.max(1) as f64 * 100.0);
        let mut t = r.times.clone();
        t.sort_by(f64::total_cmp);
        let med = t.get(t.len() / 2).copied().unwrap_or(0.0);
        println!(
            "{:<10} {:<14} {:>22} {:>5.0}% {:>5} {:>24} {:>8} {:>8} {:>8} {:>6.1}/{:<6.1}",
            r.condition,
            format!("{} {}", r.name, r.metric),
            truth,
            r.threshold * 100.0,
            r.n,
            format!(
                "{} [{:.1}, {:.1}]",
                pct(r.counts[0]),
                lo * 100.0,
                hi * 100.0
            ),
            pct(r.counts[1]),
            pct(r.counts[2]),
            pct(r.counts[3]),
            med,
            t.last().copied().unwrap_or(0.0)
        );
    }
    println!("\nwarnings: share of comparisons in which each kind fired");
    for r in rows {
        for (k, n) in &r.warned {
            let (lo, hi) = wilson(*n, r.n);
            println!(
                "  {:<10} {:<10} {:>5.1}% [{:.1}, {:.1}]  {k}",
                r.condition,
                r.name,
                *n as f64 / r.n.max(1) as f64 * 100.0,
                lo * 100.0,
                hi * 100.0
            );
        }
    }
    println!("\nmethod: mlgate-bench compare_models (the path of `mlgate compare`/`ci`): both models loaded afresh for every \
              comparison, two sessions per side, seeded load order; default settings (α = 0.01 split across looks, 95% CI, \
              15 s budget) except the threshold and metric shown; seeds 1000, 1001, ...; tract backend");
}
