//! `mlgate benchmark MODEL`: latency, cold start, memory and stability of one model.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

use comfy_table::{presets, CellAlignment, Table};
use mlgate::benchmark::{
    BenchmarkReport, BenchmarkRequest, InputSpec, LatencySummary, MeasureLimits, PhaseMemory,
    Progress, ProgressUpdate, RunResult,
};

use crate::cmd::context::Context;
use crate::cmd::gate::RuntimeArgs;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.onnx, .tflite, .mlmodel) or .mlpackage directory, or a build of the
    /// workspace (tag, id or id prefix) — a build's results are recorded in the registry.
    pub model: PathBuf,
    /// Exactly N timed runs (the time limits still cap it). Default: adaptive, at least 64
    /// runs and 2 s, stopping once the p50's 95% interval is within ±1%.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: Option<u64>,
    /// At least N warmup runs (default 5, and at least 0.5 s of warmup).
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,
    /// Measure for at least S seconds (default 2).
    #[arg(long, value_name = "S")]
    pub min_time: Option<f64>,
    /// Never measure longer than S seconds per input set (default 10).
    #[arg(long, value_name = "S")]
    pub max_time: Option<f64>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// The model's task (vision, nlp, audio, …); recorded with the result.
    #[arg(long, value_name = "T")]
    pub task: Option<String>,
    /// Sequence length(s) for models with a dynamic sequence dimension; one benchmark per
    /// value (e.g. --seq-len 32,128,512). Default 128 for such models.
    #[arg(long, value_name = "L", value_delimiter = ',')]
    pub seq_len: Vec<usize>,
    /// Write an RSS/CPU timeline (sampled every 100 ms) to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let limits = MeasureLimits {
        runs: args.runs,
        warmup: args.warmup,
        min_time_s: args.min_time,
        max_time_s: args.max_time,
        timeline: args.timeline.is_some(),
    };
    let workspace = ctx.open_optional();
    let request = BenchmarkRequest {
        model: mlgate::model::resolve(workspace, &args.model)?,
        backend: args.runtime.backend.clone(),
        threads: args.runtime.threads(),
        inputs: InputSpec {
            task: args.task.clone(),
            seq_lens: args.seq_len.clone(),
            ..InputSpec::default()
        },
        config: limits.config(),
        runtimes: ctx.runtimes.clone(),
    };
    let run = with_progress(json, |p| {
        mlgate::benchmark::benchmark(workspace, &request, p)
    })?;
    if let Some(build) = &request.model.build {
        for id in &run.recorded {
            eprintln!(
                "recorded benchmark #{id} for build {} ({})",
                crate::cmd::view::short(&build.id),
                build.name
            );
        }
    }
    let report = run.report;
    if let Some(path) = &args.timeline {
        let file = std::fs::File::create(path).and_then(|f| {
            mlgate::benchmark::write_timeline_jsonl(
                &report.result.timeline,
                std::io::BufWriter::new(f),
            )
        });
        if let Err(e) = file {
            eprintln!(
                "warning: cannot write the timeline to {}: {e}",
                path.display()
            );
        }
    }
    if json {
        render::print_json(&report)?;
    } else {
        print!("{}", render_benchmark(&report));
    }
    Ok(Outcome::Success)
}

/// A progress bar on stderr when it is a terminal and output is for people; no bar
/// otherwise (piped, `--json`, CI logs). What a runtime said while loading goes to stderr
/// either way, each line once.
pub fn with_progress<T>(json: bool, f: impl FnOnce(&mut dyn Progress) -> T) -> T {
    let mut bar = Bar {
        bar: None,
        enabled: !json && std::io::stderr().is_terminal(),
        said: std::collections::HashSet::new(),
    };
    let out = f(&mut bar);
    bar.finish();
    out
}

struct Bar {
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
    said: std::collections::HashSet<String>,
}

impl Progress for Bar {
    fn update(&mut self, s: &ProgressUpdate) {
        if !self.enabled {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(1000);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {prefix:>10} [{bar:30}] {msg}")
            {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        bar.set_prefix(s.phase);
        let frac = if s.budget_s > 0.0 {
            (s.elapsed_s / s.budget_s).clamp(0.0, 1.0)
        } else {
            0.0
        };
        bar.set_position((frac * 1000.0) as u64);
        let ci = s
            .rel_half_width
            .map(|r| format!(", ±{:.2}%", r * 100.0))
            .unwrap_or_default();
        bar.set_message(format!(
            "{} · {} runs · {:.1}/{:.0} s{ci}",
            s.label, s.runs, s.elapsed_s, s.budget_s
        ));
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }

    fn warn(&mut self, message: &str) {
        if !self.said.insert(message.to_string()) {
            return;
        }
        // The runtime's own words, as it printed them before mlgate captured them.
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1} ms")
    } else if v >= 1.0 {
        format!("{v:.3} ms")
    } else {
        format!("{:.1} µs", v * 1e3)
    }
}

fn mem(m: &Option<PhaseMemory>) -> String {
    match m {
        Some(m) => format!(
            "peak RSS {} (+{} over {})",
            render::bytes(m.peak_rss_bytes),
            render::bytes(m.peak_delta_bytes),
            render::bytes(m.rss_before_bytes)
        ),
        None => "not measured on this OS".into(),
    }
}

/// The statistics table of one series; shared with `compare`.
pub fn summary_table(s: &LatencySummary) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(vec![
        "  statistic",
        "value",
        &format!("{:.0}% CI", s.confidence * 100.0),
    ]);
    for p in &s.percentiles {
        let (value, ci) = match (p.value_ms, p.ci_low_ms, p.ci_high_ms) {
            (Some(v), Some(l), Some(h)) => (ms(v), format!("[{}, {}]", ms(l), ms(h))),
            (Some(v), _, _) => (ms(v), "unbounded".into()),
            _ => (
                "insufficient".into(),
                format!("needs {} samples, have {}", p.min_samples, s.n),
            ),
        };
        t.add_row(vec![format!("  p{}", p.percentile), value, ci]);
    }
    t.add_row(vec![
        "  mean".into(),
        ms(s.mean_ms),
        format!(
            "[{}, {}] (bootstrap)",
            ms(s.mean_ci_low_ms),
            ms(s.mean_ci_high_ms)
        ),
    ]);
    t.add_row(vec![
        "  std / CV".into(),
        format!("{} / {:.1}%", ms(s.std_ms), s.cv * 100.0),
        String::new(),
    ]);
    t.add_row(vec![
        "  min / max".into(),
        format!("{} / {}", ms(s.min_ms), ms(s.max_ms)),
        String::new(),
    ]);
    t.add_row(vec!["  MAD".into(), ms(s.mad_ms), String::new()]);
    t.add_row(vec![
        "  outliers".into(),
        format!("{} high, {} low", s.outliers.high, s.outliers.low),
        "counted, not removed".into(),
    ]);
    if let Some(c) = t.column_mut(1) {
        c.set_cell_alignment(CellAlignment::Right);
    }
    t
}

fn render_run(out: &mut String, r: &RunResult) {
    let shapes: Vec<String> = r
        .input_shapes
        .iter()
        .map(|(n, s)| format!("{n} {s:?}"))
        .collect();
    let _ = writeln!(out, "\n{}: {}", r.label, shapes.join(", "));
    let _ = writeln!(
        out,
        "  n = {} timed runs in {:.1} s; stopped because {}",
        r.summary.n, r.wall_s, r.stop_reason
    );
    let _ = writeln!(out, "{}", summary_table(&r.summary));
    let _ = writeln!(
        out,
        "  throughput  {:.1} inferences/s (batch {}, {:.1} items/s, one inference at a time)",
        r.throughput.inferences_per_s, r.throughput.batch_size, r.throughput.items_per_s
    );
    let _ = writeln!(out, "  memory      {} during inference", mem(&r.memory));
    if r.stability.stable {
        let _ = writeln!(
            out,
            "  stability   ok (CV {:.1}%, lag-1 autocorrelation {:.2}, drift {:+.1}%)",
            r.stability.cv * 100.0,
            r.stability.lag1_autocorrelation,
            r.stability.drift * 100.0
        );
    } else {
        for w in &r.stability.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
}

pub fn render_benchmark(report: &BenchmarkReport) -> String {
    let r = &report.result;
    let mut out = String::new();
    let threads = r
        .session
        .intra_op_threads
        .map(|t| t.to_string())
        .unwrap_or_else(|| "runtime default".into());
    let _ = writeln!(
        out,
        "{} on {} {} (threads: {threads})",
        r.model.display(),
        r.session.backend,
        r.session.runtime_version.as_deref().unwrap_or("")
    );
    let _ = writeln!(
        out,
        "machine: {}{}",
        r.environment.short(),
        r.environment
            .load_average
            .map(|l| format!(", load average {l:.2}"))
            .unwrap_or_default()
    );
    let c = &r.cold_start;
    let stable = match (c.runs_to_stable, c.time_to_stable_ms) {
        (Some(0), _) => "stable from the first run".to_string(),
        (Some(k), Some(t)) => format!("stable after {k} runs ({})", ms(t)),
        _ => "never settled within 5%".to_string(),
    };
    let _ = writeln!(
        out,
        "cold start: load {}, first inference {}, {stable}",
        ms(c.load_ms),
        ms(c.first_inference_ms)
    );
    let _ = writeln!(out, "load memory: {}", mem(&c.load_memory));
    for run in &r.runs {
        render_run(&mut out, run);
    }
    let _ = writeln!(out, "\nmethod: {}", r.method);
    out
}
