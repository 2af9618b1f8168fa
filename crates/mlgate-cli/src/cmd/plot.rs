//! `mlgate plot timeline FILE.jsonl`: a benchmark's RSS/CPU timeline (`mlgate benchmark
//! --timeline`) as one self-contained HTML page.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlgate::benchmark::Timeline;
use mlgate::report::{Envelope, TimelinePlot};
use mlgate::workspace::CommandKind;

use crate::cmd::context::Context;
use crate::cmd::report::{open_file, write_file};
use crate::html::{self, esc};
use crate::render;
use crate::svg::{Chart, COLORS, DASHES};
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Resident memory and CPU over time, with the harness's phases, from a
    /// `benchmark --timeline FILE.jsonl` file.
    Timeline(TimelineArgs),
}

#[derive(clap::Args)]
pub struct TimelineArgs {
    /// The JSON Lines file `mlgate benchmark --timeline` wrote.
    pub file: PathBuf,
    /// Where to write the page (default: <FILE's stem>-timeline.html here).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Open the written file with xdg-open (when there is one).
    #[arg(long)]
    pub open: bool,
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.what {
            What::Timeline(_) => CommandKind::PlotTimeline,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let What::Timeline(args) = args.what;
    let timeline = mlgate::benchmark::read_timeline(&args.file)?;
    let output = args.output.clone().unwrap_or_else(|| {
        let stem = args
            .file
            .file_stem()
            .map_or_else(|| "timeline".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from(format!("{stem}-timeline.html"))
    });
    write_file(&output, &render_timeline(&timeline))?;
    if ctx.json {
        render::print_json(&Envelope::new(TimelinePlot {
            output: output.clone(),
            timeline,
        }))?;
    } else {
        println!("wrote {}", output.display());
    }
    if args.open {
        open_file(&output);
    }
    Ok(Outcome::Success)
}

const PHASE_FILL: [(&str, &str); 4] = [
    ("load", "#fde68a"),
    ("warmup", "#bfdbfe"),
    ("measure", "#bbf7d0"),
    ("idle", "#e5e7eb"),
];

fn phase_fill(phase: &str) -> &'static str {
    PHASE_FILL
        .iter()
        .find(|(p, _)| *p == phase)
        .map_or("#f3f4f6", |(_, c)| c)
}

/// One line of a row chart: its legend text, its value per sample (`None` where the file
/// does not have it) and its colour.
type Series<'a> = (&'a str, &'a dyn Fn(usize) -> Option<f64>, &'a str);

fn row_chart(t: &Timeline, title: &str, y_title: &str, series: &[Series<'_>]) -> String {
    let s0 = t.samples.first().map_or(0.0, |s| s.t_ms) / 1e3;
    let s1 = t.samples.last().map_or(0.0, |s| s.t_ms) / 1e3;
    let top = series
        .iter()
        .flat_map(|(_, value, _)| (0..t.samples.len()).filter_map(value))
        .fold(0.0f64, f64::max);
    let mut c = Chart::new(
        1000.0,
        260.0,
        (s0, s1),
        (0.0, if top > 0.0 { top * 1.1 } else { 1.0 }),
    );
    let half = t.interval_ms.unwrap_or(0.0) / 2e3;
    for p in &t.phases {
        c.rect(
            p.start_ms / 1e3 - half,
            p.end_ms / 1e3 + half,
            0.0,
            c.y.1,
            &format!("fill=\"{}\" fill-opacity=\"0.6\"", phase_fill(&p.phase)),
        );
        c.label(
            p.start_ms / 1e3 - half,
            c.y.1,
            3.0,
            12.0,
            &p.phase,
            "fill=\"#374151\"",
        );
    }
    let mut drawn = Vec::new();
    for (k, (name, value, color)) in series.iter().enumerate() {
        let points: Vec<(f64, f64)> = (0..t.samples.len())
            .filter_map(|i| Some((t.samples[i].t_ms / 1e3, value(i)?)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let dash = DASHES[k % DASHES.len()];
        c.polyline(
            &points,
            &format!("stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\""),
        );
        drawn.push(format!(
            "<span style=\"color:{color}\">&#9644;</span> {}",
            esc(name)
        ));
    }
    let mut out = c.finish(title, "time since the sampler started (s)", y_title, None);
    if series.len() > 1 {
        let _ = write!(out, "<p>{}</p>", drawn.join(" &nbsp; "));
    }
    out
}

/// The kernel's share of all CPU time in the file, or why it is unknown.
fn system_share(t: &Timeline) -> String {
    let total: f64 = t.samples.iter().map(|s| s.cpu_percent).sum();
    let system: Option<f64> = t.samples.iter().map(|s| s.cpu_system_percent).sum();
    match system {
        Some(_) if total <= 0.0 => "no CPU time recorded".into(),
        Some(system) => format!("#{:.1}% of the CPU time", system / total * 100.0),
        None => "not recorded (a file without the user/system split)".into(),
    }
}

/// The timeline page: an RSS row and a CPU row against time, phases shaded.
pub fn render_timeline(t: &Timeline) -> String {
    let n = t.samples.len();
    let interval = t.interval_ms.map_or_else(
        || "one sample only: no interval".to_string(),
        |v| format!("{v:.1} ms (the median gap between samples; the file does not record the interval asked for)"),
    );
    let peak = t.samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0);
    let cpu_peak = t
        .samples
        .iter()
        .map(|s| s.cpu_percent)
        .fold(0.0f64, f64::max);
    let mut body = String::new();
    let facts = html::table(
        &["", ""],
        &[
            vec![
                "file".into(),
                format!("<code>{}</code>", esc(&t.path.display().to_string())),
            ],
            vec!["samples".into(), format!("#{n}")],
            vec!["sampling interval".into(), esc(&interval)],
            vec![
                "duration".into(),
                format!(
                    "#{:.3} s",
                    (t.samples.last().map_or(0.0, |s| s.t_ms)
                        - t.samples.first().map_or(0.0, |s| s.t_ms))
                        / 1e3
                ),
            ],
            vec!["peak RSS".into(), format!("#{:.1} MB", peak as f64 / 1e6)],
            vec!["peak CPU".into(), format!("#{cpu_peak:.0}% of one core")],
            vec!["CPU in system mode".into(), system_share(t)],
        ],
    );
    body.push_str(&html::section("facts", "Timeline", &facts));
    let mut charts = row_chart(
        t,
        "Resident memory (RSS) of the benchmarking process",
        "RSS (MB)",
        &[(
            "RSS",
            &|i| Some(t.samples[i].rss_bytes as f64 / 1e6),
            COLORS[0],
        )],
    );
    let split = t.samples.iter().any(|s| s.cpu_user_percent.is_some());
    charts.push_str(&row_chart(
        t,
        if split {
            "CPU time of the process per interval: user, system and their sum"
        } else {
            "CPU time of the process (user + system) per interval"
        },
        "CPU (% of one core)",
        &[
            (
                "user + system",
                &|i| Some(t.samples[i].cpu_percent),
                COLORS[1],
            ),
            ("user", &|i| t.samples[i].cpu_user_percent, COLORS[2]),
            ("system", &|i| t.samples[i].cpu_system_percent, COLORS[3]),
        ],
    ));
    let mut legend = String::from("<p>");
    for (p, c) in PHASE_FILL {
        let _ = write!(
            legend,
            "<span style=\"background:{c};padding:0 8px\">&nbsp;</span> {p} &nbsp; "
        );
    }
    legend.push_str(if split {
        "</p><p class=\"muted\">CPU comes from /proc/self/stat: user time is the process's own \
         code (the model's kernels), system time is the kernel working for it (page faults, \
         memory mapping, thread wake-ups). Shaded regions are the harness's phases as the \
         sampler saw them.</p>"
    } else {
        "</p><p class=\"muted\">This file has CPU as user and system time together only (it \
         was written before mlgate recorded the split). Shaded regions are the harness's \
         phases as the sampler saw them.</p>"
    });
    charts.push_str(&legend);
    body.push_str(&html::section("charts", "RSS and CPU over time", &charts));
    let rows: Vec<Vec<String>> = t
        .phases
        .iter()
        .map(|p| {
            vec![
                esc(&p.phase),
                format!("#{:.3}", p.start_ms / 1e3),
                format!("#{:.3}", p.end_ms / 1e3),
            ]
        })
        .collect();
    body.push_str(&html::section(
        "phases",
        "Phases",
        &html::table(&["phase", "first sample (s)", "last sample (s)"], &rows),
    ));
    html::page(
        "mlgate timeline",
        &format!("{} — {n} samples", t.path.display()),
        &[
            ("facts", "Timeline"),
            ("charts", "Charts"),
            ("phases", "Phases"),
        ],
        &body,
    )
}
