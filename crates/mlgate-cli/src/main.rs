//! `mlgate`: the command-line face of the `mlgate` library.
//!
//! Each command module is small: argument struct → facade call → render. Only this crate
//! knows about terminals, tables, colours and exit codes: 0 success, 1 a gate failed (a real
//! regression), 2 an error (bad input, missing runtime, I/O).

mod cmd;
mod html;
mod render;
mod svg;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mlgate::workspace::CommandKind;

#[derive(Parser)]
#[command(
    name = "mlgate",
    version,
    about = "Performance CI for on-device ML models (ONNX, TFLite, CoreML)",
    long_about = "Performance CI for on-device ML models (ONNX, TFLite, CoreML).\n\n\
                  Exit codes: 0 success, 1 a gate failed (a real regression), 2 an error.",
    propagate_version = true
)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    json: bool,

    /// The workspace directory (the `.mlgate` folder itself). Default: $MLGATE_WORKSPACE,
    /// else the nearest `.mlgate/` in this directory or a parent (created here on first write).
    #[arg(long, global = true, value_name = "DIR")]
    workspace: Option<std::path::PathBuf>,

    /// Treat suspicious model outputs (NaN/Inf, constant, wrong shape) as a failure (exit 1)
    /// instead of a warning.
    #[arg(long, global = true)]
    strict_output: bool,

    /// An ONNX Runtime session configuration entry for every ONNX Runtime session of this
    /// command (repeatable), e.g. `session.qdq_matmulnbits_accuracy_level=0`; recorded with
    /// every result, since it changes what is measured.
    #[arg(long, global = true, value_name = "KEY=VALUE", value_parser = parse_config_entry)]
    ort_config: Vec<(String, String)>,

    #[command(subcommand)]
    command: Command,
}

fn parse_config_entry(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE (e.g. session.qdq_matmulnbits_accuracy_level=0)"
        )),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's format, inputs, outputs, ops, parameters, size and hash.
    Inspect(cmd::inspect::Args),
    /// Run a model once on given or synthesized inputs; print and save the outputs.
    Infer(cmd::infer::Args),
    /// The runtimes mlgate can use on this host, and how to install the missing ones.
    Doctor(cmd::doctor::Args),
    /// Manage runtime libraries: runtime install [ort|litert|all].
    Runtime(cmd::runtime::Args),
    /// Measure a model: latency percentiles with intervals, cold start, memory, stability.
    Benchmark(cmd::benchmark::Args),
    /// Prompt processing and generation speed of a GGUF decoder, with TTFT, TPOT and ITL.
    LlmBench(cmd::llm_bench::Args),
    /// Compare a candidate with a baseline, interleaved on this machine; exit 1 on a regression.
    Compare(cmd::compare::Args),
    /// The low-level CI gate between two models or builds: latency, size, memory, budgets.
    CiCheck(cmd::ci_check::Args),
    /// Check a build against absolute limits (budget.toml, flags), measured now.
    Validate(cmd::validate::Args),
    /// The CI gate: import the candidate, measure it against a tagged baseline, write reports.
    Ci(cmd::ci::Args),
    /// Create the workspace (.mlgate/) in this directory.
    Init(cmd::init::Args),
    /// Register an existing model file or .mlpackage as a build.
    Import(cmd::import::Args),
    /// Make a variant of a build (fp16, int8, int4, palettize, prune), registered as its child.
    Optimize(cmd::optimize::Args),
    /// How far a variant's outputs are from its parent's on the same inputs; exit 1 below
    /// the thresholds.
    Accuracy(cmd::accuracy::Args),
    /// Size, latency and accuracy of a quantized model next to its float original.
    CompareQuantization(cmd::compare_quantization::Args),
    /// Make the usual variants of a model, measure them against it here, recommend one.
    Explore(cmd::explore::Args),
    /// Where an inference spends its time, op by op, from the runtime's own profiler;
    /// --deep adds FLOP and byte estimates and fusions, --int8-build per-layer divergence.
    Profile(cmd::profile::Args),
    /// Which optimization pays off, from every comparison explore recorded here.
    Insights(cmd::insights::Args),
    /// List builds (newest first), draw their lineage (--tree), or show one build.
    Log(cmd::log::Args),
    /// Compare two builds side by side: model facts and latest benchmarks.
    Diff(cmd::diff::Args),
    /// One self-contained page (HTML, Markdown or JSON) of a build, or A..B: latency
    /// distribution, history, lineage, accuracy, memory, a recommendation.
    Report(cmd::report::Args),
    /// Render a file as an HTML page: plot timeline FILE.jsonl.
    Plot(cmd::plot::Args),
    /// Name builds: tag create BUILD NAME, tag list, tag delete NAME.
    Tag(cmd::tag::Args),
    /// The build CI gates against: baseline set|show|unset|history.
    Baseline(cmd::baseline::Args),
    /// Absolute limits in .mlgate/budget.toml: budget set|show|clear|validate.
    Budget(cmd::budget::Args),
    /// The commands run in this workspace (history delete ID, history clear).
    History(cmd::history::Args),
    /// The workspace at a glance: counts, last build and benchmark, baseline, budget.
    Status(cmd::status::Args),
    /// Check every artifact and row of the workspace (--repair fixes what it can).
    Verify(cmd::verify::Args),
    /// Where history is shared: remote add|list|remove|set-default (S3-compatible stores).
    Remote(cmd::remote::Args),
    /// Send a build or tag (or --all) to a remote: artifacts first, records, then tags.
    Push(cmd::transfer::PushArgs),
    /// Fetch a build or tag from a remote, every artifact checked against its sha256.
    Pull(cmd::transfer::PullArgs),
    /// Pull what a remote has and push what it lacks; concurrent tag moves are reported.
    Sync(cmd::transfer::SyncArgs),
}

impl Command {
    /// What the command history records this invocation as.
    fn kind(&self) -> CommandKind {
        match self {
            Command::Inspect(_) => CommandKind::Inspect,
            Command::Infer(_) => CommandKind::Infer,
            Command::Doctor(_) => CommandKind::Doctor,
            Command::Runtime(args) => args.kind(),
            Command::Benchmark(_) => CommandKind::Benchmark,
            Command::LlmBench(_) => CommandKind::LlmBench,
            Command::Compare(_) => CommandKind::Compare,
            Command::CiCheck(_) => CommandKind::CiCheck,
            Command::Validate(_) => CommandKind::Validate,
            Command::Ci(_) => CommandKind::Ci,
            Command::Init(_) => CommandKind::Init,
            Command::Import(_) => CommandKind::Import,
            Command::Optimize(_) => CommandKind::Optimize,
            Command::Accuracy(_) => CommandKind::Accuracy,
            Command::Explore(_) => CommandKind::Explore,
            Command::Profile(_) => CommandKind::Profile,
            Command::Insights(_) => CommandKind::Insights,
            Command::CompareQuantization(_) => CommandKind::CompareQuantization,
            Command::Log(_) => CommandKind::Log,
            Command::Diff(_) => CommandKind::Diff,
            Command::Report(_) => CommandKind::Report,
            Command::Plot(args) => args.kind(),
            Command::Tag(args) => args.kind(),
            Command::Baseline(args) => args.kind(),
            Command::Budget(args) => args.kind(),
            Command::History(args) => args.kind(),
            Command::Status(_) => CommandKind::Status,
            Command::Verify(_) => CommandKind::Verify,
            Command::Remote(args) => args.kind(),
            Command::Push(_) => CommandKind::Push,
            Command::Pull(_) => CommandKind::Pull,
            Command::Sync(_) => CommandKind::Sync,
        }
    }
}

/// Outcome of a command that ran to the end: exit 0, 1 or 2.
pub enum Outcome {
    Success,
    /// A check the command exists to make failed: a real regression, an exceeded budget,
    /// suspicious outputs under `--strict-output`. Exit 1.
    Failed,
    /// The command found damage and reported it itself, on stderr and in its own report
    /// (verify): exit 2 without another message.
    Problems,
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    if std::env::args().nth(1).as_deref() == Some(cmd::gate::WORKER_SUBCOMMAND) {
        // A measurement worker started by `--isolate`: the protocol on stdin/stdout only.
        return match mlgate::benchmark::serve_worker() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        };
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    let json = cli.json;
    let kind = cli.command.kind();
    let mut ctx = cmd::context::Context::new(json, cli.strict_output, cli.workspace.clone());
    ctx.runtimes.onnxruntime_session_config = cli.ort_config.clone();
    let ctx = &ctx;
    let result = match cli.command {
        Command::Inspect(args) => cmd::inspect::run(args, ctx),
        Command::Infer(args) => cmd::infer::run(args, ctx),
        Command::Doctor(args) => cmd::doctor::run(args, ctx),
        Command::Runtime(args) => cmd::runtime::run(args, ctx),
        Command::Benchmark(args) => cmd::benchmark::run(args, ctx),
        Command::LlmBench(args) => cmd::llm_bench::run(args, ctx),
        Command::Compare(args) => cmd::compare::run(args, ctx),
        Command::CiCheck(args) => cmd::ci_check::run(args, ctx),
        Command::Validate(args) => cmd::validate::run(args, ctx),
        Command::Ci(args) => cmd::ci::run(args, ctx),
        Command::Init(args) => cmd::init::run(args, ctx),
        Command::Import(args) => cmd::import::run(args, ctx),
        Command::Optimize(args) => cmd::optimize::run(args, ctx),
        Command::Accuracy(args) => cmd::accuracy::run(args, ctx),
        Command::Explore(args) => cmd::explore::run(args, ctx),
        Command::Profile(args) => cmd::profile::run(args, ctx),
        Command::Insights(args) => cmd::insights::run(args, ctx),
        Command::CompareQuantization(args) => cmd::compare_quantization::run(args, ctx),
        Command::Log(args) => cmd::log::run(args, ctx),
        Command::Diff(args) => cmd::diff::run(args, ctx),
        Command::Report(args) => cmd::report::run(args, ctx),
        Command::Plot(args) => cmd::plot::run(args, ctx),
        Command::Tag(args) => cmd::tag::run(args, ctx),
        Command::Baseline(args) => cmd::baseline::run(args, ctx),
        Command::Budget(args) => cmd::budget::run(args, ctx),
        Command::History(args) => cmd::history::run(args, ctx),
        Command::Status(args) => cmd::status::run(args, ctx),
        Command::Verify(args) => cmd::verify::run(args, ctx),
        Command::Remote(args) => cmd::remote::run(args, ctx),
        Command::Push(args) => cmd::transfer::push(args, ctx),
        Command::Pull(args) => cmd::transfer::pull(args, ctx),
        Command::Sync(args) => cmd::transfer::sync(args, ctx),
    };
    let code: u8 = match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Ok(Outcome::Problems) => 2,
        Err(err) => {
            if json {
                // An error report always serializes; were it not to, stderr still says why.
                let _ = render::print_json(&mlgate::report::ErrorReport::new(&err));
            }
            let _ = writeln!(std::io::stderr(), "error: {err}");
            2
        }
    };
    // The command history records the real exit code; it never changes it.
    ctx.record_history(kind, code);
    ExitCode::from(code)
}

/// A command line that does not parse: clap says why on stderr and exits 2; under `--json`
/// the error report comes first on stdout. `--help` and `--version` print and exit 0.
fn usage_error(e: clap::Error) -> ! {
    let json = std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if json && e.use_stderr() {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let report = mlgate::report::ErrorReport::message(mlgate::ErrorKind::InvalidInput, message);
        let _ = render::print_json(&report);
        let _ = std::io::stdout().flush();
    }
    e.exit()
}

/// Rust ignores SIGPIPE, so `mlgate log | head` would make the next print panic. A command-
/// line tool should end quietly when its reader goes away, as `cat` does.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
