//! `mlgate llm-bench MODEL`: prompt processing and generation speed of a GGUF decoder, with
//! TTFT, TPOT and ITL, in llama-bench's table shape.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlgate::benchmark::LatencySummary;
use mlgate::llm::{LlmBenchConfig, LlmBenchReport, LlmBenchRequest};

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::render;
use crate::Outcome;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A Markdown table like llama-bench's, then the latencies.
    Md,
    /// One row per measured request.
    Csv,
    /// The report (`mlgate.llm-bench/v1`), as `--json` prints it.
    Json,
    /// One line per test: its statistics and trials.
    Jsonl,
}

#[derive(clap::Args)]
pub struct Args {
    /// GGUF decoder (llama family), or a build of the workspace (tag, id or id prefix).
    pub model: PathBuf,
    /// Prompt lengths in tokens (random in-vocabulary ids: tokenization is excluded).
    #[arg(short = 'p', long = "n-prompt", value_name = "N", value_delimiter = ',', default_values_t = [128, 512])]
    pub prompt: Vec<usize>,
    /// Tokens generated per request after each prompt, one greedy step at a time.
    #[arg(short = 'n', long = "n-gen", value_name = "N", value_delimiter = ',', default_values_t = [32, 128])]
    pub generate: Vec<usize>,
    /// Tokens already in the KV cache when the prompt arrives (filled untimed before each
    /// request); every depth is a sweep of its own.
    #[arg(short = 'd', long = "n-depth", value_name = "N", value_delimiter = ',', default_values_t = [0])]
    pub depth: Vec<usize>,
    /// Measured requests per test, after one warm-up.
    #[arg(short = 'r', long = "repetitions", value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub repetitions: u64,
    /// CPU threads (candle's pool; default: the physical cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Seeds the prompts' token ids.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Output format (`--json` is `--output json`).
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Md)]
    pub output: Output,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    if let Some(t) = args.threads {
        // candle sizes its pool from this on first use; nothing has loaded a model yet.
        std::env::set_var("CANDLE_NUM_THREADS", t.to_string());
    }
    let workspace = ctx.open_optional();
    let request = LlmBenchRequest {
        model: mlgate::model::resolve(workspace, &args.model)?,
        config: LlmBenchConfig {
            prompt_lengths: args.prompt.clone(),
            generate_lengths: args.generate.clone(),
            repetitions: args.repetitions as usize,
            depths: args.depth.clone(),
            seed: args.seed,
            ..LlmBenchConfig::default()
        },
    };
    let output = if ctx.json { Output::Json } else { args.output };
    let report = with_progress(output != Output::Md, |p| {
        mlgate::llm::llm_bench(workspace, &request, p)
    })?;
    match output {
        Output::Json => render::print_json(&report)?,
        Output::Md => print!("{}", markdown(&report)),
        Output::Csv => print!("{}", csv(&report)),
        Output::Jsonl => {
            for line in mlgate::llm::jsonl(&report) {
                println!("{line}");
            }
        }
    }
    Ok(Outcome::Success)
}

fn model_label(r: &LlmBenchReport) -> String {
    let stem = std::path::Path::new(&r.model)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{} {} ({stem})",
        r.result.model.architecture, r.result.model.precision
    )
}

fn params(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.2} B", n as f64 / 1e9)
    } else {
        format!("{:.2} M", n as f64 / 1e6)
    }
}

fn threads(r: &LlmBenchReport) -> String {
    r.result
        .session
        .intra_op_threads
        .map_or("?".into(), |t| t.to_string())
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.2}"))
}

fn pct(s: &Option<LatencySummary>, p: f64) -> String {
    s.as_ref()
        .and_then(|s| s.percentile(p))
        .map_or("—".into(), |e| {
            match (e.value_ms, e.ci_low_ms, e.ci_high_ms) {
                (Some(v), Some(l), Some(h)) => format!("{v:.2} [{l:.2}, {h:.2}]"),
                (Some(v), _, _) => format!("{v:.2}"),
                _ => format!("— (n < {})", e.min_samples),
            }
        })
}

/// llama-bench's table (`model | size | params | backend | threads | test | t/s`), then
/// the request latencies and how they were measured.
pub fn markdown(r: &LlmBenchReport) -> String {
    let res = &r.result;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| model | size | params | backend | threads | test | t/s |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | --- | ---: | ---: | ---: |");
    let head = format!(
        "| {} | {} | {} | {} | {} |",
        model_label(r),
        render::bytes(res.model.file_bytes),
        params(res.model.parameters),
        res.session.backend,
        threads(r)
    );
    for t in &res.tests {
        let pp = &t.prefill_tokens_per_second;
        let at = |d: usize| {
            if d == 0 {
                String::new()
            } else {
                format!(" @ d{d}")
            }
        };
        let _ = writeln!(
            out,
            "{head} pp{}{} | {:.2} ± {:.2} |",
            t.prompt_tokens,
            at(t.depth),
            pp.mean,
            pp.std
        );
        if let Some(tg) = &t.decode_tokens_per_second {
            let _ = writeln!(
                out,
                "{head} tg{}{} | {:.2} ± {:.2} |",
                t.generate_tokens,
                at(t.depth + t.prompt_tokens),
                tg.mean,
                tg.std
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| test | n | TTFT mean ms | TTFT p50 | TPOT mean ms | ITL n | ITL p50 ms [95% CI] | ITL p90 | ITL p99 |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for t in &res.tests {
        let _ = writeln!(
            out,
            "| {}pp{}+tg{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            if t.depth == 0 {
                String::new()
            } else {
                format!("d{} ", t.depth)
            },
            t.prompt_tokens,
            t.generate_tokens,
            t.trials.len(),
            ms(t.ttft.as_ref().map(|s| s.mean_ms)),
            pct(&t.ttft, 50.0),
            ms(t.tpot.as_ref().map(|s| s.mean_ms)),
            t.itl.as_ref().map_or(0, |s| s.n),
            pct(&t.itl, 50.0),
            pct(&t.itl, 90.0),
            pct(&t.itl, 99.0),
        );
    }
    let _ = writeln!(out);
    let mem = res
        .load_memory
        .as_ref()
        .map_or("not measured".into(), |m| render::bytes(m.peak_rss_bytes));
    let sweep = res
        .sweep_memory
        .as_ref()
        .map_or("not measured".into(), |m| render::bytes(m.peak_rss_bytes));
    let _ = writeln!(
        out,
        "load {:.0} ms, peak RSS after load {mem}, over the sweep (largest KV cache) {sweep}; \
         {} repetitions after 1 warm-up; tokenization excluded (random token ids, seed {}); {}",
        res.load_ms,
        res.config.repetitions,
        res.config.seed,
        res.environment.short()
    );
    out
}

/// One row per measured request.
pub fn csv(r: &LlmBenchReport) -> String {
    let res = &r.result;
    let mut out = String::from(
        "backend,model,precision,context_length,generate_length,trial,latency_ms,tokens_per_second,ttft_ms,tpot_ms,depth\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for t in &res.tests {
        for trial in &t.trials {
            let tps = trial
                .decode_tokens_per_second
                .unwrap_or(trial.prefill_tokens_per_second);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{:.4},{:.4},{},{},{}",
                res.session.backend,
                csv_field(&r.model),
                res.model.precision,
                t.prompt_tokens,
                t.generate_tokens,
                trial.trial,
                trial.metrics.end_to_end_ms,
                tps,
                opt(trial.metrics.ttft_ms),
                opt(trial.metrics.tpot_ms),
                t.depth,
            );
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
