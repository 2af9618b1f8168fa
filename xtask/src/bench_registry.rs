//! `cargo xtask bench-registry`: does every workspace command still answer instantly after
//! years of history? Seeds a registry with N builds (with lineage) and N benchmarks, then
//! times the real `mlgate` binary — process start, SQLite, rendering, everything — on
//! `status`, `log --limit 50`, `log --tree --source X` and build references (a tag and an id
//! prefix). Goal: each under 200 ms.
//!
//! Not a test: numbers depend on the machine. It prints n, method and machine with them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use mlgate_registry::{NewBenchmark, NewBuild, Registry};

const HELP: &str = "\
cargo xtask bench-registry [--builds N] [--runs R] [--reuse] [--binary PATH]

  --builds N   builds to seed, and as many benchmarks (default 100000)
  --runs R     timed runs of each command (default 15)
  --reuse      keep an already seeded registry in target/bench-registry
  --binary P   time this mlgate binary instead of building the release one
";

/// Budget each command must stay under.
const GOAL_MS: f64 = 200.0;

/// Lineage per source model: (method, index of the parent in this list).
const FAMILY: &[(Option<&str>, Option<usize>)] = &[
    (None, None),
    (Some("fp16"), Some(0)),
    (Some("int8"), Some(0)),
    (Some("int8_static"), Some(0)),
    (Some("prune_0.50"), Some(0)),
    (Some("int8"), Some(4)),
    (Some("prune_0.75"), Some(0)),
    (Some("fp16"), Some(6)),
    (Some("int8_static"), Some(4)),
    (Some("fp16"), Some(5)),
];

pub fn run(args: &[String]) -> Result<(), String> {
    let mut builds = 100_000usize;
    let mut runs = 15usize;
    let mut reuse = false;
    let mut binary: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--builds" => builds = number(it.next(), "--builds")?,
            "--runs" => runs = number(it.next(), "--runs")?.max(1),
            "--reuse" => reuse = true,
            "--binary" => binary = Some(PathBuf::from(it.next().ok_or("--binary takes a path")?)),
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{HELP}")),
        }
    }
    let root = crate::workspace_root().join("target/bench-registry");
    let ws = root.join(".mlgate");
    let binary = match binary {
        Some(b) => b,
        None => crate::release_binary()?,
    };

    let seeded = ws.join("registry.db").exists() && reuse;
    if !seeded {
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        }
        let t = Instant::now();
        seed(&ws, builds)?;
        println!(
            "seeded {builds} builds and {builds} benchmarks in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let db_size = std::fs::metadata(ws.join("registry.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let families = builds.div_ceil(FAMILY.len());
    let source = format!("model_{:06}", families / 2);
    let prefix = {
        let (reg, _) = Registry::open(&ws, false).map_err(|e| e.to_string())?;
        let b = reg.resolve("bench-tag").map_err(|e| e.to_string())?;
        b.id[..8].to_string()
    };

    println!(
        "\nmachine: {} ({} cores), {}\nregistry: {} ({:.1} MB)\nmethod: wall time of the \
         real binary ({}), stdout to /dev/null, {runs} runs after 1 warm-up, median and max\n",
        cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        std::env::consts::OS,
        ws.display(),
        db_size as f64 / 1e6,
        binary.display(),
    );
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("status", vec!["status".into()]),
        (
            "log --limit 50",
            vec!["log".into(), "--limit".into(), "50".into()],
        ),
        (
            "log --tree --source X",
            vec![
                "log".into(),
                "--tree".into(),
                "--source".into(),
                source.clone(),
            ],
        ),
        (
            "log TAG (tag resolution)",
            vec!["log".into(), "bench-tag".into()],
        ),
        ("log PREFIX (id prefix)", vec!["log".into(), prefix.clone()]),
        ("status --json", vec!["status".into(), "--json".into()]),
    ];
    println!("{:<28} {:>10} {:>10}  goal", "command", "median", "max");
    let mut over = Vec::new();
    for (label, args) in &cases {
        let mut times = Vec::with_capacity(runs);
        for i in 0..=runs {
            let t = Instant::now();
            let status = Command::new(&binary)
                .args(args)
                .arg("--workspace")
                .arg(&ws)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if !status.status.success() {
                return Err(format!(
                    "mlgate {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&status.stderr)
                ));
            }
            if i > 0 {
                times.push(ms);
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let median = times[times.len() / 2];
        let max = times[times.len() - 1];
        let ok = median < GOAL_MS;
        if !ok {
            over.push(*label);
        }
        println!(
            "{label:<28} {median:>7.1} ms {max:>7.1} ms  {}",
            if ok { "ok" } else { "OVER" }
        );
    }
    // Every command above wrote a history entry; the seeded workspace keeps growing on reuse.
    if over.is_empty() {
        println!("\nall under {GOAL_MS} ms");
        Ok(())
    } else {
        Err(format!("over {GOAL_MS} ms: {}", over.join(", ")))
    }
}

fn number(v: Option<&String>, flag: &str) -> Result<usize, String> {
    v.and_then(|s| s.replace('_', "").parse().ok())
        .ok_or_else(|| format!("{flag} takes a number"))
}

/// Seed through the registry's own write path: real artifacts, lineage, compressed samples,
/// one transaction per chunk. Times span three years so date filters have work to do.
fn seed(ws: &Path, builds: usize) -> Result<(), String> {
    let err = |e: mlgate_registry::RegistryError| e.to_string();
    let (mut reg, _) = Registry::open(ws, true).map_err(err)?;
    let model = ws.join("seed-model.onnx");
    std::fs::write(&model, b"seed model bytes for bench-registry").map_err(|e| e.to_string())?;
    let artifact = reg.store().put(&model).map_err(err)?;
    let start = mlgate_registry::time::now_ms() - 3 * 365 * 86_400_000;
    let step = (3 * 365 * 86_400_000) / builds.max(1) as i64;
    let families = builds.div_ceil(FAMILY.len());
    let mut made = 0usize;
    let mut chunk: Vec<NewBuild> = Vec::new();
    let mut benches: Vec<(String, NewBenchmark)> = Vec::new();
    for f in 0..families {
        let mut ids: Vec<String> = Vec::new();
        for (k, (method, parent)) in FAMILY.iter().enumerate() {
            if made == builds {
                break;
            }
            let created_at = start + made as i64 * step;
            let new = NewBuild {
                name: format!("model_{f:06}"),
                source_path: format!("/models/team_{}/model_{f:06}.onnx", f % 17),
                source_hash: format!("{:064x}", (f as u128) << 8 | k as u128),
                artifact: artifact.clone(),
                format: "onnx".into(),
                target: "onnxruntime_cpu".into(),
                backend: Some("onnxruntime".into()),
                task: Some(["vision", "nlp", "audio"][f % 3].into()),
                method: method.map(str::to_string),
                parent_id: parent.map(|p| ids[p].clone()),
                imported: parent.is_none(),
                notes: None,
                created_at: Some(created_at),
            };
            let id = new.id();
            let p50 = 1.0 + (made % 97) as f64 * 0.1;
            benches.push((
                id.clone(),
                NewBenchmark {
                    backend: "onnxruntime".into(),
                    p50_ms: p50,
                    p95_ms: Some(p50 * 1.2),
                    memory_mb: Some(50.0),
                    n: 20,
                    samples_ms: (0..20).map(|i| p50 + i as f64 * 0.01).collect(),
                    statistics: serde_json::json!({"mean": p50, "p99": p50 * 1.3}),
                    settings: serde_json::json!({"warmup": 5, "runs": 20}),
                    fingerprint: serde_json::json!({"cpu": "seed"}),
                    created_at: Some(created_at + 60_000),
                },
            ));
            ids.push(id);
            chunk.push(new);
            made += 1;
        }
        if chunk.len() >= 10_000 || made == builds {
            reg.insert_builds(std::mem::take(&mut chunk)).map_err(err)?;
            reg.record_benchmarks(&std::mem::take(&mut benches))
                .map_err(err)?;
        }
    }
    if !chunk.is_empty() {
        reg.insert_builds(chunk).map_err(err)?;
        reg.record_benchmarks(&benches).map_err(err)?;
    }
    // A tag on a build in the middle of the history, and a baseline.
    let middle = reg
        .resolve(&{
            let fam = families / 2;
            let new = NewBuild {
                name: String::new(),
                source_path: String::new(),
                source_hash: format!("{:064x}", (fam as u128) << 8),
                artifact: artifact.clone(),
                format: "onnx".into(),
                target: "onnxruntime_cpu".into(),
                backend: None,
                task: None,
                method: None,
                parent_id: None,
                imported: true,
                notes: None,
                created_at: None,
            };
            new.id()
        })
        .map_err(err)?;
    reg.set_tag("bench-tag", &middle.id, true, false)
        .map_err(err)?;
    reg.set_tag(mlgate_registry::BASELINE_TAG, &middle.id, true, true)
        .map_err(err)?;
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}
