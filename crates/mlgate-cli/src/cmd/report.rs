//! `mlgate report BUILD|A..B`: one self-contained page (HTML, Markdown or JSON) of what the
//! workspace knows about a build or two — built by `mlgate::build_report`, rendered here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mlgate::benchmark::PercentileEstimate;
use mlgate::build_report::{
    self, BenchmarkFacts, BuildFacts, BuildReport, HistoryPoint, LineageEntry, ReportSubject,
    SubjectKind,
};
use mlgate::report::Envelope;
use mlgate::workspace::time::format_utc;

use crate::cmd::context::Context;
use crate::html::{self, esc};
use crate::render;
use crate::svg::{Chart, COLORS, DASHES};
use crate::Outcome;

/// What file `report` writes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One self-contained HTML page (inline CSS and SVG; no script, nothing fetched).
    Html,
    /// Markdown with the same facts, as tables.
    Md,
    /// The `mlgate.report/v1` JSON.
    Json,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Md => "md",
            Format::Json => "json",
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// A build (tag, id or id prefix), or `A..B` for a candidate B against a baseline A.
    pub subject: String,
    /// Where to write it (default: mlgate-report-<shortid>.<ext> here; `-`: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Open the written file with xdg-open (when there is one).
    #[arg(long)]
    pub open: bool,
    /// html, md or json.
    #[arg(long, value_enum, default_value = "html")]
    pub format: Format,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let subject: ReportSubject = args.subject.parse()?;
    let workspace = ctx.open()?;
    let report = build_report::report(workspace, &subject)?;
    if ctx.json {
        // Under --json the report is on stdout; a file is written only when asked for.
        render::print_json(&Envelope::new(report.clone()))?;
        if args.output.is_none() {
            return Ok(Outcome::Success);
        }
    }
    let text = match args.format {
        Format::Html => render_html(&report),
        Format::Md => render_md(&report),
        Format::Json => format!(
            "{}\n",
            mlgate::report::to_json(&Envelope::new(report.clone()))?
        ),
    };
    let path = match &args.output {
        Some(p) if p.as_os_str() == "-" => {
            print!("{text}");
            return Ok(Outcome::Success);
        }
        Some(p) => p.clone(),
        None => PathBuf::from(format!(
            "mlgate-report-{}.{}",
            subject_slug(&report),
            args.format.extension()
        )),
    };
    write_file(&path, &text)?;
    let shown = path.display();
    if !ctx.json {
        println!("wrote {shown}");
    }
    if args.open {
        open_file(&path);
    }
    Ok(Outcome::Success)
}

/// Writes a page; an error names the file.
pub fn write_file(path: &Path, text: &str) -> mlgate::Result<()> {
    std::fs::write(path, text).map_err(|e| mlgate::Error::Invalid {
        what: "--output",
        value: path.display().to_string(),
        hint: format!("cannot write it: {e}"),
    })
}

/// Opens `path` with `xdg-open` when it is on PATH; never fails the command.
pub fn open_file(path: &Path) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("xdg-open").is_file()));
    let spawned = found
        && std::process::Command::new("xdg-open")
            .arg(path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok();
    if !spawned {
        eprintln!(
            "note: could not open it (no xdg-open here); the file is {}",
            path.display()
        );
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn subject_slug(r: &BuildReport) -> String {
    r.builds
        .iter()
        .map(|b| short(&b.build.id).to_string())
        .collect::<Vec<_>>()
        .join("..")
}

/// Milliseconds as every page shows them: three decimals.
fn ms(v: f64) -> String {
    format!("{v:.3}")
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn estimate(p: &PercentileEstimate, n: usize) -> String {
    match (p.value_ms, p.ci_low_ms, p.ci_high_ms) {
        (Some(v), Some(l), Some(h)) => format!("{} ms [{}, {}]", ms(v), ms(l), ms(h)),
        (Some(v), _, _) => format!("{} ms (no interval)", ms(v)),
        _ => format!("withheld: {n} samples, {} needed", p.min_samples),
    }
}

fn p50_text(p: &HistoryPoint) -> String {
    match (p.p50_ms, p.p50_ci_low_ms, p.p50_ci_high_ms) {
        (Some(v), Some(l), Some(h)) => format!("{} [{}, {}]", ms(v), ms(l), ms(h)),
        (Some(v), _, _) => ms(v),
        _ => "withheld".into(),
    }
}

fn name_of(r: &BuildReport, id: &str) -> String {
    r.lineage.iter().find(|e| e.build.id == id).map_or_else(
        || short(id).to_string(),
        |e| format!("{} {} ({})", e.build.name, e.build.method, short(id)),
    )
}

fn side_label(r: &BuildReport, i: usize) -> String {
    let b = &r.builds[i].build;
    let prefix = match (r.subject, i) {
        (SubjectKind::Pair, 0) => "A ",
        (SubjectKind::Pair, _) => "B ",
        _ => "",
    };
    format!("{prefix}{} {} ({})", b.name, b.method_label(), b.short_id())
}

fn title_of(r: &BuildReport) -> String {
    match r.subject {
        SubjectKind::Build => format!("mlgate report: {}", side_label(r, 0)),
        SubjectKind::Pair => format!(
            "mlgate report: {} .. {}",
            side_label(r, 0),
            side_label(r, 1)
        ),
    }
}

// ---------------------------------------------------------------- HTML

/// The report as one self-contained HTML page.
pub fn render_html(r: &BuildReport) -> String {
    let mut body = String::new();
    let mut summary = format!("<p class=\"rec\">{}</p>", esc(&r.recommendation.text));
    if let Some(p) = &r.pair {
        let _ = write!(summary, "<p class=\"note\">{}.</p>", esc(&p.note));
    }
    if let Some(b) = &r.baseline {
        let _ = write!(
            summary,
            "<p>Baseline: {} — {}.</p>",
            esc(&name_of(r, &b.build_id)),
            esc(&b.reason)
        );
    }
    body.push_str(&html::section("summary", "Recommendation", &summary));
    body.push_str(&html::section("build", "Build", &build_cards(r)));
    body.push_str(&html::section(
        "latency",
        "Latency distribution",
        &latency_html(r),
    ));
    body.push_str(&html::section("history", "History", &history_html(r)));
    body.push_str(&html::section(
        "related",
        "Related builds",
        &related_html(r),
    ));
    body.push_str(&html::section(
        "coldstart",
        "Cold start and memory",
        &coldstart_html(r),
    ));
    body.push_str(&html::section(
        "insights",
        "What history says",
        &insights_html(r),
    ));
    body.push_str(&html::section(
        "environment",
        "Environment of every number",
        &environment_html(r),
    ));
    html::page(
        &title_of(r),
        &format!(
            "Generated {} from the workspace's stored benchmarks; percentiles and their 95% \
             intervals recomputed from the raw samples (nearest rank, order-statistic intervals).",
            format_utc(r.generated_at)
        ),
        &[
            ("summary", "Recommendation"),
            ("build", "Build"),
            ("latency", "Latency"),
            ("history", "History"),
            ("related", "Related builds"),
            ("coldstart", "Cold start & memory"),
            ("insights", "History says"),
            ("environment", "Environment"),
        ],
        &body,
    )
}

fn build_card(f: &BuildFacts) -> String {
    let b = &f.build;
    let cell = |v: &str| esc(v);
    let rows = vec![
        vec!["name".into(), cell(&b.name)],
        vec!["id".into(), format!("<code>{}</code>", cell(&b.id))],
        vec!["format".into(), cell(&b.format)],
        vec!["target".into(), cell(&b.target)],
        vec![
            "backend".into(),
            cell(b.backend.as_deref().unwrap_or("(not recorded)")),
        ],
        vec![
            "task".into(),
            cell(b.task.as_deref().unwrap_or("(not recorded)")),
        ],
        vec!["method".into(), cell(&b.method_label())],
        vec![
            "size".into(),
            format!("{} ({} bytes)", render::bytes(b.size_bytes), b.size_bytes),
        ],
        vec!["created".into(), cell(&format_utc(b.created_at))],
        vec![
            "source".into(),
            format!("<code>{}</code>", cell(&b.source_path)),
        ],
        vec!["tags".into(), cell(&f.tags.join(", "))],
        vec!["benchmarks stored".into(), f.benchmark_count.to_string()],
    ];
    let mut s = html::table(&["", ""], &rows);
    s.push_str("<h3>Lineage</h3><ul class=\"tree\" style=\"padding-left:0\">");
    match &f.parent {
        Some(p) => {
            let _ = write!(
                s,
                "<li>parent: {} {} (<code>{}</code>)<ul class=\"tree\">",
                esc(&p.name),
                esc(&p.method),
                esc(short(&p.id))
            );
        }
        None => s.push_str("<li>(a root: derived from no other build)<ul class=\"tree\">"),
    }
    let _ = write!(
        s,
        "<li><strong>{} {}</strong> (<code>{}</code>)<ul class=\"tree\">",
        esc(&b.name),
        esc(&b.method_label()),
        esc(b.short_id())
    );
    for c in &f.children {
        let _ = write!(
            s,
            "<li>child: {} {} (<code>{}</code>)</li>",
            esc(&c.name),
            esc(&c.method),
            esc(short(&c.id))
        );
    }
    s.push_str("</ul></li></ul></li></ul>");
    s
}

fn build_cards(r: &BuildReport) -> String {
    let mut s = String::from("<div class=\"charts\">");
    for (i, f) in r.builds.iter().enumerate() {
        let _ = write!(
            s,
            "<div><h3>{}</h3>{}</div>",
            esc(&side_label(r, i)),
            build_card(f)
        );
    }
    s.push_str("</div>");
    s
}

fn no_benchmark(f: &BuildFacts) -> String {
    format!(
        "<p class=\"note\">{} has no stored benchmark, so there is no distribution to draw; \
         run <code>mlgate benchmark {}</code>.</p>",
        esc(&format!("{} {}", f.build.name, f.build.method_label())),
        esc(f.build.short_id())
    )
}

fn distribution_svg(r: &BuildReport, sides: &[(usize, &BenchmarkFacts)]) -> String {
    let lo = sides
        .iter()
        .filter_map(|(_, f)| f.histogram.first().map(|b| b.low_ms))
        .fold(f64::INFINITY, f64::min);
    let hi = sides
        .iter()
        .filter_map(|(_, f)| f.histogram.last().map(|b| b.high_ms))
        .fold(f64::NEG_INFINITY, f64::max);
    let top = sides
        .iter()
        .flat_map(|(_, f)| f.histogram.iter().map(|b| b.count))
        .max()
        .unwrap_or(1) as f64;
    let mut c = Chart::new(760.0, 340.0, (lo, hi), (0.0, top * 1.18));
    for (k, (i, f)) in sides.iter().enumerate() {
        let color = COLORS[*i % COLORS.len()];
        for bin in &f.histogram {
            if bin.count > 0 {
                c.rect(
                    bin.low_ms,
                    bin.high_ms,
                    0.0,
                    bin.count as f64,
                    &format!("fill=\"{color}\" fill-opacity=\"0.28\""),
                );
            }
        }
        // The outline, so overlaid histograms stay apart (and apart in print).
        let mut steps = Vec::new();
        for bin in &f.histogram {
            steps.push((bin.low_ms, bin.count as f64));
            steps.push((bin.high_ms, bin.count as f64));
        }
        c.polyline(
            &steps,
            &format!(
                "stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"{}\"",
                DASHES[*i % DASHES.len()]
            ),
        );
        for (j, q) in [50.0, 95.0, 99.0].into_iter().enumerate() {
            let Some(p) = f.summary.percentile(q) else {
                continue;
            };
            let Some(v) = p.value_ms else { continue };
            if let (Some(l), Some(h)) = (p.ci_low_ms, p.ci_high_ms) {
                c.rect(
                    l,
                    h,
                    0.0,
                    top * 1.18,
                    &format!("fill=\"{color}\" fill-opacity=\"0.12\""),
                );
            }
            c.vline(
                v,
                &format!("stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\""),
            );
            let prefix = match r.subject {
                SubjectKind::Pair => ["A ", "B "][k.min(1)],
                SubjectKind::Build => "",
            };
            c.label(
                v,
                top * 1.18,
                3.0,
                12.0 + 12.0 * (j + 3 * k) as f64,
                &format!("{prefix}p{q:.0} {}", ms(v)),
                &format!("fill=\"{color}\""),
            );
        }
    }
    let title = match r.subject {
        SubjectKind::Build => "Latency of the latest benchmark (histogram of every timed run)",
        SubjectKind::Pair => "Latency of A and B, latest stored benchmarks overlaid",
    };
    c.finish(title, "latency per inference (ms)", "timed runs", None)
}

/// Latencies spanning more than this factor get a logarithmic axis, so a fast and a slow
/// distribution both keep their shape.
const LOG_AXIS_SPAN: f64 = 3.0;

/// The empirical distribution of every side on one axis: the fraction of timed runs at or
/// below each latency, so tails and shifts read directly (p95 is where a curve crosses 0.95).
fn ecdf_svg(r: &BuildReport, sides: &[(usize, &BenchmarkFacts)]) -> String {
    let all = || sides.iter().flat_map(|(_, f)| f.ecdf_ms.iter().copied());
    let lo = all().fold(f64::INFINITY, f64::min);
    let hi = all().fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return String::new();
    }
    let log = lo > 0.0 && hi / lo > LOG_AXIS_SPAN;
    let x = |v: f64| if log { v.log10() } else { v };
    let mut c = Chart::new(760.0, 300.0, (x(lo), x(hi)), (0.0, 1.0));
    for level in [0.5, 0.95, 0.99] {
        c.hline(level, "stroke=\"#9ca3af\" stroke-dasharray=\"2 3\"");
        c.label(
            x(lo),
            level,
            3.0,
            -3.0,
            &format!("{level}"),
            "fill=\"#6b7280\"",
        );
    }
    for (i, f) in sides {
        let n = f.ecdf_ms.len();
        let mut steps = Vec::with_capacity(2 * n);
        for (k, v) in f.ecdf_ms.iter().enumerate() {
            steps.push((x(*v), k as f64 / n as f64));
            steps.push((x(*v), (k + 1) as f64 / n as f64));
        }
        c.polyline(
            &steps,
            &format!(
                "stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"{}\"",
                COLORS[*i % COLORS.len()],
                DASHES[*i % DASHES.len()]
            ),
        );
    }
    if log {
        c.set_x_ticks(log_ticks(lo, hi).into_iter().map(f64::log10).collect());
    }
    let label = |v: f64| {
        let ms = if log { 10f64.powf(v) } else { v };
        format!("{}", crate::svg::round_sig(ms, 3))
    };
    let (title, axis) = if log {
        (
            "Empirical distribution of latency (ECDF), logarithmic axis",
            "latency per inference (ms, log scale)",
        )
    } else {
        (
            "Empirical distribution of latency (ECDF)",
            "latency per inference (ms)",
        )
    };
    let mut out = c.finish(title, axis, "fraction of timed runs ≤ x", Some(&label));
    let mut legend = Vec::new();
    for (i, f) in sides {
        legend.push(format!(
            "<span style=\"color:{}\">&#9644;</span> {} (n = {})",
            COLORS[*i % COLORS.len()],
            esc(&side_label(r, *i)),
            f.summary.n
        ));
    }
    let _ = write!(
        out,
        "<p class=\"muted\">{}. Each curve steps through the sorted raw samples (at most {} \
         order statistics per side, the smallest and largest always among them); dotted \
         lines at 0.5, 0.95 and 0.99.</p>",
        legend.join(" &nbsp; "),
        mlgate::build_report::ECDF_POINTS
    );
    out
}

/// Round values (1, 2, 5 × powers of ten) inside `[lo, hi]`, for a logarithmic axis; the
/// ends themselves when the range holds fewer than two.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi && out.len() < 40 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * decade;
            if (lo..=hi).contains(&v) {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    if out.len() < 2 {
        out = vec![lo, hi];
    }
    out
}

fn percentile_table(f: &BenchmarkFacts) -> String {
    let s = &f.summary;
    let mut rows: Vec<Vec<String>> = s
        .percentiles
        .iter()
        .map(|p| {
            vec![
                format!("p{:.0}", p.percentile),
                format!("#{}", esc(&estimate(p, s.n))),
            ]
        })
        .collect();
    rows.push(vec![
        "mean".into(),
        format!(
            "#{} ms [{}, {}]",
            ms(s.mean_ms),
            ms(s.mean_ci_low_ms),
            ms(s.mean_ci_high_ms)
        ),
    ]);
    rows.push(vec![
        "min / max".into(),
        format!("#{} / {} ms", ms(s.min_ms), ms(s.max_ms)),
    ]);
    rows.push(vec!["timed runs".into(), format!("#{}", s.n)]);
    rows.push(vec![
        "outliers (counted, kept)".into(),
        format!("#{} low, {} high", s.outliers.low, s.outliers.high),
    ]);
    let mut out = html::table(&["statistic", "value [95% interval]"], &rows);
    let _ = write!(
        out,
        "<p class=\"muted\">Benchmark #{} on {}, {}, input set {}, measured {}.</p>",
        f.benchmark_id,
        esc(&f.backend),
        esc(&f.hostname),
        esc(f.input_set.as_deref().unwrap_or("(not recorded)")),
        esc(&format_utc(f.created_at))
    );
    out
}

pub fn latency_html(r: &BuildReport) -> String {
    let sides: Vec<(usize, &BenchmarkFacts)> = r
        .builds
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.latest.as_ref().map(|l| (i, l)))
        .collect();
    let mut s = String::new();
    for f in r.builds.iter().filter(|f| f.latest.is_none()) {
        s.push_str(&no_benchmark(f));
    }
    if sides.is_empty() {
        return s;
    }
    s.push_str(&distribution_svg(r, &sides));
    s.push_str(
        "<p class=\"muted\">Dashed lines: p50, p95 and p99; shaded bands: their 95% \
         intervals. A percentile with too few samples is withheld, not drawn.</p>",
    );
    s.push_str(&ecdf_svg(r, &sides));
    s.push_str("<div class=\"charts\">");
    for (i, f) in &sides {
        let _ = write!(
            s,
            "<div><h3>{}</h3>{}</div>",
            esc(&side_label(r, *i)),
            percentile_table(f)
        );
    }
    s.push_str("</div>");
    if let Some(p) = &r.pair {
        let mut rows = Vec::new();
        if let Some(x) = p.p50_ratio {
            rows.push(vec!["p50 B / A".into(), format!("#{x:.3}")]);
        }
        if let Some(o) = p.p50_intervals_overlap {
            rows.push(vec![
                "p50 intervals overlap".into(),
                if o { "yes" } else { "no" }.into(),
            ]);
        }
        if let Some(x) = p.size_ratio {
            rows.push(vec!["size B / A".into(), format!("#{x:.3}")]);
        }
        if let Some(x) = p.same_backend {
            rows.push(vec![
                "same runtime".into(),
                if x { "yes" } else { "no" }.into(),
            ]);
        }
        if let Some(x) = p.same_machine {
            rows.push(vec![
                "same machine".into(),
                if x { "yes" } else { "no" }.into(),
            ]);
        }
        rows.push(vec![
            "accuracy check between A and B".into(),
            match p.accuracy_check {
                Some(id) => format!("#{id} (see Related builds)"),
                None => "none stored".into(),
            },
        ]);
        let _ = write!(
            s,
            "<h3>A and B</h3><p class=\"note\">{}.</p>{}",
            esc(&p.note),
            html::table(&["", ""], &rows)
        );
    }
    s
}

fn history_svg(r: &BuildReport) -> Option<String> {
    let points: Vec<&HistoryPoint> = r.history.iter().filter(|p| p.p50_ms.is_some()).collect();
    if points.is_empty() {
        return None;
    }
    let t0 = points.iter().map(|p| p.created_at).min().unwrap_or(0) as f64;
    let t1 = points.iter().map(|p| p.created_at).max().unwrap_or(0) as f64;
    // At least a minute wide, so tick labels (whole seconds) stay distinct.
    let pad = ((t1 - t0) * 0.05).max(30_000.0);
    let lo = points
        .iter()
        .filter_map(|p| p.p50_ci_low_ms.or(p.p50_ms))
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .filter_map(|p| p.p50_ci_high_ms.or(p.p50_ms))
        .fold(f64::NEG_INFINITY, f64::max);
    let ypad = ((hi - lo) * 0.15).max(hi * 0.02);
    let mut c = Chart::new(
        760.0,
        320.0,
        (t0 - pad, t1 + pad),
        ((lo - ypad).max(0.0), hi + ypad),
    );
    let baseline = r.lineage.iter().find(|e| e.baseline);
    if let Some(v) = baseline
        .and_then(|b| b.latest.as_ref())
        .and_then(|p| p.p50_ms)
    {
        c.hline(v, "stroke=\"#111827\" stroke-dasharray=\"2 3\"");
        c.label(
            t0 - pad,
            v,
            4.0,
            -4.0,
            &format!("baseline latest p50 {}", ms(v)),
            "fill=\"#111827\"",
        );
    }
    for (i, e) in r.lineage.iter().enumerate() {
        let own: Vec<&&HistoryPoint> = points.iter().filter(|p| p.build_id == e.build.id).collect();
        if own.is_empty() {
            continue;
        }
        let color = COLORS[i % COLORS.len()];
        let band: Vec<&&HistoryPoint> = own
            .iter()
            .copied()
            .filter(|p| p.p50_ci_low_ms.is_some() && p.p50_ci_high_ms.is_some())
            .collect();
        if band.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = band
                .iter()
                .map(|p| (p.created_at as f64, p.p50_ci_high_ms.unwrap_or_default()))
                .collect();
            poly.extend(
                band.iter()
                    .rev()
                    .map(|p| (p.created_at as f64, p.p50_ci_low_ms.unwrap_or_default())),
            );
            c.polygon(&poly, &format!("fill=\"{color}\" fill-opacity=\"0.15\""));
        }
        let line: Vec<(f64, f64)> = own
            .iter()
            .map(|p| (p.created_at as f64, p.p50_ms.unwrap_or_default()))
            .collect();
        c.polyline(
            &line,
            &format!(
                "stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"{}\"",
                DASHES[i % DASHES.len()]
            ),
        );
        for p in &own {
            let x = p.created_at as f64;
            if let (Some(l), Some(h)) = (p.p50_ci_low_ms, p.p50_ci_high_ms) {
                c.polyline(&[(x, l), (x, h)], &format!("stroke=\"{color}\""));
            }
            let ring = if e.baseline {
                "stroke=\"#111827\" stroke-width=\"2\""
            } else {
                ""
            };
            c.dot(
                x,
                p.p50_ms.unwrap_or_default(),
                if e.baseline { 5.0 } else { 3.5 },
                &format!("fill=\"{color}\" {ring}"),
                &format!(
                    "{}: p50 {} ms, {} on {}",
                    name_of(r, &p.build_id),
                    p50_text(p),
                    format_utc(p.created_at),
                    p.hostname
                ),
            );
        }
    }
    let span = t1 - t0 + 2.0 * pad;
    let fmt = move |v: f64| {
        let t = format_utc(v as i64);
        if span < 86_400_000.0 {
            t.get(11..19).unwrap_or(&t).to_string()
        } else {
            t.get(5..16).unwrap_or(&t).replace('T', " ")
        }
    };
    Some(c.finish(
        "p50 of every benchmark of the lineage over time (bars and bands: 95% intervals)",
        "measured at (UTC)",
        "p50 latency (ms)",
        Some(&fmt),
    ))
}

fn legend(r: &BuildReport) -> String {
    let mut s = String::from("<p>");
    for (i, e) in r.lineage.iter().enumerate() {
        let _ = write!(
            s,
            "<span style=\"color:{}\">&#9679;</span> {}{}{} &nbsp; ",
            COLORS[i % COLORS.len()],
            esc(&format!(
                "{} {} ({})",
                e.build.name,
                e.build.method,
                short(&e.build.id)
            )),
            if e.baseline { " — baseline" } else { "" },
            if e.subject { " — this report" } else { "" }
        );
    }
    s.push_str("</p>");
    s
}

fn history_html(r: &BuildReport) -> String {
    let mut s = String::new();
    match history_svg(r) {
        Some(svg) => {
            s.push_str(&svg);
            s.push_str(&legend(r));
        }
        None => s.push_str(
            "<p class=\"note\">No benchmark of this lineage has a reported p50 yet, so there is \
             no history to draw.</p>",
        ),
    }
    if r.history.is_empty() {
        return s;
    }
    let rows: Vec<Vec<String>> = r
        .history
        .iter()
        .map(|p| {
            vec![
                esc(&format_utc(p.created_at)),
                esc(&name_of(r, &p.build_id)),
                esc(&p.backend),
                esc(p.input_set.as_deref().unwrap_or("")),
                format!("#{}", p.n),
                format!("#{}", esc(&p50_text(p))),
                esc(&p.hostname),
            ]
        })
        .collect();
    s.push_str(&html::table(
        &[
            "measured",
            "build",
            "runtime",
            "input set",
            "runs",
            "p50 ms [95% interval]",
            "machine",
        ],
        &rows,
    ));
    s
}

fn scatter_svg(r: &BuildReport) -> Option<String> {
    let pts: Vec<(usize, &LineageEntry, f64)> = r
        .lineage
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e, e.latest.as_ref()?.p50_ms?)))
        .collect();
    if pts.is_empty() {
        return None;
    }
    let xs = pts.iter().map(|(_, e, _)| mb(e.size_bytes));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (y0, y1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, _, v)| {
            (a.min(*v), b.max(*v))
        });
    let xpad = ((x1 - x0) * 0.15).max(x1 * 0.05);
    let ypad = ((y1 - y0) * 0.15).max(y1 * 0.05);
    let mut c = Chart::new(
        560.0,
        320.0,
        ((x0 - xpad).max(0.0), x1 + xpad),
        ((y0 - ypad).max(0.0), y1 + ypad),
    );
    for (i, e, p50) in &pts {
        let color = COLORS[i % COLORS.len()];
        let ring = if e.baseline {
            "stroke=\"#111827\" stroke-width=\"2\""
        } else {
            ""
        };
        let tip = format!(
            "{} {} ({}): {} bytes, latest p50 {} ms",
            e.build.name,
            e.build.method,
            short(&e.build.id),
            e.size_bytes,
            ms(*p50)
        );
        c.dot(
            mb(e.size_bytes),
            *p50,
            5.0,
            &format!("fill=\"{color}\" {ring}"),
            &tip,
        );
        let text = if e.baseline {
            format!("{} (baseline)", e.build.method)
        } else {
            e.build.method.clone()
        };
        c.label(mb(e.size_bytes), *p50, 7.0, -6.0, &text, "fill=\"#111827\"");
    }
    Some(c.finish(
        "Size against latest p50, every build of the lineage",
        "size (MB)",
        "latest p50 (ms)",
        None,
    ))
}

fn tree_html(r: &BuildReport, parent: Option<&str>) -> String {
    let kids: Vec<&LineageEntry> = r
        .lineage
        .iter()
        .filter(|e| e.parent_id.as_deref() == parent)
        .collect();
    if kids.is_empty() {
        return String::new();
    }
    let mut s = String::from("<ul class=\"tree\">");
    for e in kids {
        let latest = e.latest.as_ref().map_or_else(
            || "no benchmark".to_string(),
            |p| format!("p50 {} ms", p50_text(p)),
        );
        let strong = if e.subject {
            ("<strong>", "</strong>")
        } else {
            ("", "")
        };
        let _ = write!(
            s,
            "<li>{}{} {}{} (<code>{}</code>), {}, {}{}{}</li>",
            strong.0,
            esc(&e.build.name),
            esc(&e.build.method),
            strong.1,
            esc(short(&e.build.id)),
            esc(&render::bytes(e.size_bytes)),
            esc(&latest),
            if e.baseline { " — baseline" } else { "" },
            tree_html(r, Some(&e.build.id))
        );
    }
    s.push_str("</ul>");
    s
}

fn accuracy_rows(r: &BuildReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for c in &r.accuracy {
        let outputs = if c.outputs.is_empty() {
            "(no per-output figures stored)".to_string()
        } else {
            c.outputs
                .iter()
                .map(|o| {
                    let top1 = o.top1.as_ref().map_or_else(String::new, |t| {
                        format!(", top-1 {:.4} [{:.4}, {:.4}]", t.rate, t.ci95.0, t.ci95.1)
                    });
                    format!(
                        "{}: cosine mean {:.6} min {:.6}, max |Δ| {:.3e}{top1}",
                        o.output, o.cosine_mean, o.cosine_min, o.max_abs_error
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        rows.push(vec![
            format!("#{}", c.id),
            esc(&name_of(r, &c.baseline_build_id)),
            esc(&name_of(r, &c.candidate_build_id)),
            if c.passed { "passed" } else { "failed" }.into(),
            esc(&outputs),
            esc(&format!(
                "{} samples on {}",
                c.samples.map_or("?".into(), |n| n.to_string()),
                c.backend.as_deref().unwrap_or("?")
            )),
            esc(&format!("{} on {}", format_utc(c.created_at), c.hostname)),
        ]);
    }
    rows
}

fn related_html(r: &BuildReport) -> String {
    let mut s = String::new();
    match scatter_svg(r) {
        Some(svg) => s.push_str(&svg),
        None => s.push_str(
            "<p class=\"note\">No build of this lineage has a benchmark with a reported p50, so \
             there is no size against latency to draw.</p>",
        ),
    }
    s.push_str("<h3>Lineage</h3>");
    s.push_str(&tree_html(r, None));
    s.push_str("<h3>Accuracy checks</h3>");
    if r.accuracy.is_empty() {
        s.push_str(
            "<p class=\"note\">No accuracy check of these builds is stored; run <code>mlgate \
             accuracy BASELINE VARIANT</code>.</p>",
        );
    } else {
        s.push_str(&html::table(
            &[
                "id",
                "baseline",
                "candidate",
                "result",
                "outputs",
                "how",
                "when, where",
            ],
            &accuracy_rows(r),
        ));
    }
    s
}

fn coldstart_rows(r: &BuildReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (i, f) in r.builds.iter().enumerate() {
        let Some(l) = &f.latest else {
            rows.push(vec![esc(&side_label(r, i)), "no benchmark".into()]);
            continue;
        };
        let none = || "not stored".to_string();
        let cs = l.cold_start.as_ref();
        rows.push(vec![
            esc(&side_label(r, i)),
            format!(
                "#{}",
                cs.map_or_else(none, |c| format!("{} ms", ms(c.load_ms)))
            ),
            format!(
                "#{}",
                cs.map_or_else(none, |c| format!("{} ms", ms(c.first_inference_ms)))
            ),
            format!(
                "#{}",
                cs.and_then(|c| c.time_to_stable_ms)
                    .map_or_else(|| "not reached".into(), |v| format!("{} ms", ms(v)))
            ),
            format!(
                "#{}",
                cs.and_then(|c| c.load_memory.as_ref())
                    .map_or_else(none, |m| format!(
                        "{:.1} MB (+{:.1})",
                        mb(m.peak_rss_bytes),
                        mb(m.peak_delta_bytes)
                    ))
            ),
            format!(
                "#{}",
                l.inference_peak_rss_mb
                    .map_or_else(none, |v| format!("{v:.1} MB"))
            ),
        ]);
    }
    rows
}

const COLDSTART_HEADER: [&str; 6] = [
    "build",
    "load",
    "first inference",
    "time to stable",
    "peak RSS while loading (growth)",
    "peak RSS while inferring",
];

fn coldstart_html(r: &BuildReport) -> String {
    let mut s = html::table(&COLDSTART_HEADER, &coldstart_rows(r));
    s.push_str(
        "<p class=\"muted\">From each build's latest benchmark. Peak RSS is the whole \
         process's resident memory (VmHWM reset at the start of the phase where the kernel \
         allows).</p>",
    );
    s
}

fn environment_rows(r: &BuildReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (i, f) in r.builds.iter().enumerate() {
        let Some(l) = &f.latest else { continue };
        let Some(e) = &l.environment else {
            rows.push(vec![esc(&side_label(r, i)), "not recorded".into()]);
            continue;
        };
        let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or("?"));
        rows.push(vec![
            esc(&side_label(r, i)),
            esc(&l.hostname),
            format!(
                "{} ({} cores{})",
                opt(&e.cpu_model),
                e.cores,
                e.affinity
                    .as_ref()
                    .map_or(String::new(), |a| format!(", CPUs {}", esc(a)))
            ),
            esc(&format!(
                "{} {} {}",
                e.os_release.as_deref().unwrap_or(&e.os),
                e.kernel.as_deref().unwrap_or(""),
                e.arch
            )),
            esc(&format!(
                "{} {}, threads {}",
                e.backend,
                e.runtime_version.as_deref().unwrap_or("?"),
                e.intra_op_threads
                    .map_or("default".into(), |t| t.to_string())
            )),
            esc(&e.mlgate_version),
            opt(&e.governor),
            e.load_average.map_or("?".into(), |v| format!("{v:.2}")),
        ]);
    }
    rows
}

const ENV_HEADER: [&str; 8] = [
    "build", "machine", "CPU", "OS", "runtime", "mlgate", "governor", "load avg",
];

fn environment_html(r: &BuildReport) -> String {
    let rows = environment_rows(r);
    let mut s = if rows.is_empty() {
        "<p class=\"note\">No benchmark, so no measurement environment to show.</p>".to_string()
    } else {
        html::table(&ENV_HEADER, &rows)
    };
    let hist: Vec<Vec<String>> = r
        .history
        .iter()
        .map(|p| {
            vec![
                format!("#{}", p.benchmark_id),
                esc(&name_of(r, &p.build_id)),
                esc(&p.hostname),
                esc(p.cpu.as_deref().unwrap_or("?")),
                esc(&format!(
                    "{} {}",
                    p.backend,
                    p.runtime_version.as_deref().unwrap_or("?")
                )),
                esc(p.mlgate_version.as_deref().unwrap_or("?")),
            ]
        })
        .collect();
    if !hist.is_empty() {
        s.push_str("<h3>Every benchmark in this report</h3>");
        s.push_str(&html::table(
            &["benchmark", "build", "machine", "CPU", "runtime", "mlgate"],
            &hist,
        ));
    }
    s
}

// ---------------------------------------------------------------- Markdown

const INSIGHTS_HEADER: [&str; 7] = [
    "method",
    "task",
    "runtime",
    "models",
    "latency × median [range]",
    "size × median",
    "accuracy passed",
];

const NO_INSIGHTS: &str = "No comparison recorded for models of this task yet: `mlgate explore` \
                           records what this section summarises.";

fn insights_rows(r: &BuildReport) -> Vec<Vec<String>> {
    r.insights
        .rows
        .iter()
        .map(|row| {
            let l = &row.latency_ratio;
            vec![
                esc(&row.method),
                esc(&row.task),
                esc(&row.backend),
                format!("#{}", row.models),
                format!("#×{:.2} [{:.2}, {:.2}]", l.median, l.min, l.max),
                format!("#×{:.2}", row.size_ratio.median),
                format!("#{}/{}", row.accuracy_passed, row.accuracy_checks),
            ]
        })
        .collect()
}

fn insight_sentence(rec: &mlgate::insights::Recommendation) -> String {
    match &rec.method {
        Some(m) => format!(
            "For a new {} model on {}: {m} ({}).",
            rec.task, rec.backend, rec.reason
        ),
        None => format!(
            "For a new {} model on {}: no recommendation ({}).",
            rec.task, rec.backend, rec.reason
        ),
    }
}

/// The insights table, and each method's median latency ratio with its range as a bar.
fn insights_html(r: &BuildReport) -> String {
    let rows = &r.insights.rows;
    if rows.is_empty() {
        return format!("<p class=\"muted\">{}</p>", esc(NO_INSIGHTS));
    }
    let mut s = html::table(&INSIGHTS_HEADER, &insights_rows(r));
    let hi = rows
        .iter()
        .map(|x| x.latency_ratio.max)
        .fold(1.0f64, f64::max)
        * 1.1;
    let n = rows.len() as f64;
    let mut c = Chart::new(760.0, 60.0 + 28.0 * n, (0.0, hi), (0.0, n));
    c.vline(1.0, "stroke=\"#374151\" stroke-dasharray=\"4 2\"");
    for (i, row) in rows.iter().enumerate() {
        let y = n - i as f64 - 0.5;
        let l = &row.latency_ratio;
        let color = COLORS[i % COLORS.len()];
        c.rect(
            0.0,
            l.median,
            y - 0.3,
            y + 0.3,
            &format!("fill=\"{color}\" fill-opacity=\"0.5\""),
        );
        c.polyline(
            &[(l.min, y), (l.max, y)],
            &format!("stroke=\"{color}\" stroke-width=\"2\""),
        );
        c.label(
            0.0,
            y,
            4.0,
            4.0,
            &format!(
                "{} · {} · {} (n = {})",
                row.method, row.task, row.backend, row.models
            ),
            "fill=\"#111827\"",
        );
    }
    s.push_str(&c.finish(
        "Variant latency / parent latency by method (median bar, range line)",
        "latency ratio (below 1: faster; dashed line: unchanged)",
        "",
        None,
    ));
    for rec in &r.insights.recommendations {
        let _ = write!(s, "<p>{}</p>", esc(&insight_sentence(rec)));
    }
    let _ = write!(s, "<p class=\"muted\">{}</p>", esc(&r.insights.method));
    s
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn md_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// HTML table cells carry escapes and a `#` marking numbers; Markdown wants plain text.
fn plain(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| {
                    let c = c.strip_prefix('#').map(str::to_string).unwrap_or(c);
                    c.replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                        .replace("&amp;", "&")
                })
                .collect()
        })
        .collect()
}

/// The report as Markdown: the same facts as the HTML page, as tables.
pub fn render_md(r: &BuildReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", title_of(r));
    let _ = writeln!(
        s,
        "Generated {} from stored benchmarks; percentiles and 95% intervals recomputed from \
         the raw samples.\n",
        format_utc(r.generated_at)
    );
    let _ = writeln!(s, "## Recommendation\n\n{}\n", r.recommendation.text);
    if let Some(p) = &r.pair {
        let _ = writeln!(s, "> {}.\n", p.note);
    }
    if let Some(b) = &r.baseline {
        let _ = writeln!(s, "Baseline: {} — {}.\n", name_of(r, &b.build_id), b.reason);
    }
    s.push_str("## Build\n\n");
    for (i, f) in r.builds.iter().enumerate() {
        let b = &f.build;
        let _ = writeln!(s, "### {}\n", side_label(r, i));
        md_table(
            &mut s,
            &["", ""],
            &[
                vec!["id".into(), format!("`{}`", b.id)],
                vec!["format".into(), b.format.clone()],
                vec!["target".into(), b.target.clone()],
                vec!["backend".into(), b.backend.clone().unwrap_or_default()],
                vec!["task".into(), b.task.clone().unwrap_or_default()],
                vec!["method".into(), b.method_label()],
                vec![
                    "size".into(),
                    format!("{} ({} bytes)", render::bytes(b.size_bytes), b.size_bytes),
                ],
                vec![
                    "parent".into(),
                    f.parent.as_ref().map_or("(root)".into(), |p| {
                        format!("{} {} ({})", p.name, p.method, short(&p.id))
                    }),
                ],
                vec![
                    "children".into(),
                    f.children
                        .iter()
                        .map(|c| format!("{} {} ({})", c.name, c.method, short(&c.id)))
                        .collect::<Vec<_>>()
                        .join(", "),
                ],
                vec!["tags".into(), f.tags.join(", ")],
                vec!["benchmarks stored".into(), f.benchmark_count.to_string()],
            ],
        );
    }
    s.push_str("## Latency distribution\n\n");
    for (i, f) in r.builds.iter().enumerate() {
        match &f.latest {
            None => {
                let _ = writeln!(
                    s,
                    "{} has no stored benchmark; run `mlgate benchmark {}`.\n",
                    side_label(r, i),
                    f.build.short_id()
                );
            }
            Some(l) => {
                let _ = writeln!(
                    s,
                    "### {}\n\nBenchmark #{} on {}, {}, input set {}, measured {}.\n",
                    side_label(r, i),
                    l.benchmark_id,
                    l.backend,
                    l.hostname,
                    l.input_set.as_deref().unwrap_or("(not recorded)"),
                    format_utc(l.created_at)
                );
                let mut rows: Vec<Vec<String>> = l
                    .summary
                    .percentiles
                    .iter()
                    .map(|p| vec![format!("p{:.0}", p.percentile), estimate(p, l.summary.n)])
                    .collect();
                rows.push(vec!["timed runs".into(), l.summary.n.to_string()]);
                md_table(&mut s, &["statistic", "value [95% interval]"], &rows);
                let bins: Vec<Vec<String>> = l
                    .histogram
                    .iter()
                    .map(|b| {
                        vec![
                            format!("{} – {}", ms(b.low_ms), ms(b.high_ms)),
                            b.count.to_string(),
                        ]
                    })
                    .collect();
                md_table(&mut s, &["latency bin (ms)", "timed runs"], &bins);
            }
        }
    }
    if let Some(p) = &r.pair {
        let mut rows = Vec::new();
        if let Some(x) = p.p50_ratio {
            rows.push(vec!["p50 B / A".into(), format!("{x:.3}")]);
        }
        if let Some(x) = p.size_ratio {
            rows.push(vec!["size B / A".into(), format!("{x:.3}")]);
        }
        rows.push(vec![
            "accuracy check between A and B".into(),
            p.accuracy_check
                .map_or("none stored".into(), |id| id.to_string()),
        ]);
        md_table(&mut s, &["A and B", ""], &rows);
    }
    s.push_str("## History\n\n");
    if r.history.is_empty() {
        s.push_str("No benchmark of this lineage is stored.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .history
            .iter()
            .map(|p| {
                vec![
                    format_utc(p.created_at),
                    name_of(r, &p.build_id),
                    p.backend.clone(),
                    p.n.to_string(),
                    p50_text(p),
                    p.hostname.clone(),
                ]
            })
            .collect();
        md_table(
            &mut s,
            &[
                "measured",
                "build",
                "runtime",
                "runs",
                "p50 ms [95% interval]",
                "machine",
            ],
            &rows,
        );
    }
    s.push_str("## Related builds\n\n");
    let rows: Vec<Vec<String>> = r
        .lineage
        .iter()
        .map(|e| {
            vec![
                format!(
                    "{}{} {}",
                    "  ".repeat(e.depth),
                    e.build.name,
                    e.build.method
                ),
                short(&e.build.id).to_string(),
                e.size_bytes.to_string(),
                e.latest.as_ref().map_or("no benchmark".into(), p50_text),
                if e.baseline { "baseline" } else { "" }.into(),
            ]
        })
        .collect();
    md_table(
        &mut s,
        &["build", "id", "size (bytes)", "latest p50 ms", ""],
        &rows,
    );
    if r.accuracy.is_empty() {
        s.push_str("No accuracy check of these builds is stored.\n\n");
    } else {
        md_table(
            &mut s,
            &[
                "id",
                "baseline",
                "candidate",
                "result",
                "outputs",
                "how",
                "when, where",
            ],
            &plain(accuracy_rows(r)),
        );
    }
    s.push_str("## Cold start and memory\n\n");
    md_table(&mut s, &COLDSTART_HEADER, &plain(coldstart_rows(r)));
    s.push_str("## What history says\n\n");
    let rows = insights_rows(r);
    if rows.is_empty() {
        s.push_str(NO_INSIGHTS);
        s.push_str("\n\n");
    } else {
        md_table(&mut s, &INSIGHTS_HEADER, &plain(rows));
        for rec in &r.insights.recommendations {
            let _ = writeln!(s, "- {}\n", insight_sentence(rec));
        }
    }
    s.push_str("## Environment\n\n");
    let env = plain(environment_rows(r));
    if env.is_empty() {
        s.push_str("No benchmark, so no measurement environment.\n");
    } else {
        md_table(&mut s, &ENV_HEADER, &env);
    }
    s
}
