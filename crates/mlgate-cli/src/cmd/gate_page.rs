//! The gate's page (`mlgate ci --html FILE`, `mlgate ci-check --html FILE`): what CI uploads
//! for people. The verdict, the latency shift with its interval against the threshold, every
//! check, and — when both sides are builds of the workspace — their stored distributions
//! overlaid, from `mlgate report A..B`.

use std::fmt::Write as _;

use mlgate::build_report::BuildReport;
use mlgate::gate::{CheckStatus, Evidence, Verdict, VerdictStatus};

use crate::html::{self, esc};
use crate::svg::Chart;

fn status_color(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "#15803d",
        CheckStatus::Fail => "#b91c1c",
        CheckStatus::Inconclusive | CheckStatus::Marginal => "#a16207",
        CheckStatus::Skipped | CheckStatus::Info => "#4b5563",
    }
}

/// The latency shift's point and interval on a percent axis, with zero and the threshold;
/// without an estimate (too few pairs), the axis and the threshold with that said.
fn shift_svg(evidence: &Evidence) -> Option<String> {
    let latency = evidence.latency.as_ref()?;
    let threshold = evidence.thresholds.latency_regression_pct.value;
    let shift = latency.shift_pct.as_ref();
    let (lo, hi) = match shift {
        Some(m) => (m.low.unwrap_or(m.value), m.high.unwrap_or(m.value)),
        None => (0.0, 0.0),
    };
    let left = lo.min(0.0).min(-threshold) - 2.0;
    // Room on the right for the threshold's label.
    let right = hi.max(threshold).max(0.0) + 2.0 + 0.25 * (hi.max(threshold) - left);
    let mut c = Chart::new(760.0, 150.0, (left, right), (0.0, 1.0));
    c.vline(0.0, "stroke=\"#374151\"");
    c.vline(
        threshold,
        "stroke=\"#b91c1c\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"",
    );
    c.label(
        threshold,
        1.0,
        4.0,
        12.0,
        &format!("threshold +{threshold}%"),
        "fill=\"#b91c1c\"",
    );
    match shift {
        Some(m) => {
            c.rect(lo, hi, 0.35, 0.65, "fill=\"#1f5fa8\" fill-opacity=\"0.3\"");
            let text = format!("{:+.2}% [{lo:+.2}, {hi:+.2}]", m.value);
            c.dot(
                m.value,
                0.5,
                5.0,
                "fill=\"#1f5fa8\"",
                &format!("shift {text}"),
            );
            c.label(m.value, 0.65, -30.0, -6.0, &text, "fill=\"#1f5fa8\"");
        }
        None => c.label(
            left,
            0.5,
            8.0,
            4.0,
            "no estimate of the shift: see the reason below",
            "fill=\"#4b5563\"",
        ),
    }
    let confidence = shift.and_then(|m| m.confidence).unwrap_or(0.95);
    Some(c.finish(
        &format!(
            "Latency shift of the candidate ({}), with its {:.0}% interval",
            latency.metric.name(),
            100.0 * confidence
        ),
        "candidate vs baseline (%)",
        "",
        Some(&|v: f64| format!("{v:+.0}%")),
    ))
}

/// One self-contained page for a gate's verdict.
pub fn render(
    title: &str,
    verdict: &Verdict,
    evidence: Option<&Evidence>,
    pair: Option<&BuildReport>,
) -> String {
    let mut body = String::new();
    let color = match verdict.status {
        VerdictStatus::Pass => "#15803d",
        VerdictStatus::Fail => "#b91c1c",
        _ => "#4b5563",
    };
    let mut summary = format!(
        "<p class=\"rec\" style=\"border-color:{color}\"><strong style=\"color:{color}\">{}</strong> — {}</p>",
        esc(&verdict.status.name().to_uppercase()),
        esc(&verdict.reason)
    );
    for w in &verdict.warnings {
        let _ = write!(summary, "<p class=\"note\">{}</p>", esc(w));
    }
    if let Some(e) = evidence {
        let _ = write!(
            summary,
            "<p>Baseline {} against candidate {}.</p>",
            esc(&e.baseline.label()),
            esc(&e.candidate.label())
        );
    }
    body.push_str(&html::section("verdict", "Verdict", &summary));

    let mut latency = String::new();
    match evidence.and_then(|e| e.latency.as_ref().map(|l| (e, l))) {
        Some((e, l)) => {
            if let Some(svg) = shift_svg(e) {
                latency.push_str(&svg);
            }
            let _ = write!(
                latency,
                "<p>{}</p><p class=\"muted\">{} Runtime {}; {} block pairs of {} run(s), {} \
                 look(s), {:.1} s; p = {}, tested at α = {}; seed {} (replay with \
                 <code>--seed</code>).</p>",
                esc(&l.reason),
                esc(&l.method),
                esc(&l.backend),
                l.pairs,
                l.block_runs,
                l.looks,
                l.elapsed_s,
                l.p_value.map_or_else(|| "—".into(), |p| format!("{p:.4}")),
                l.alpha,
                l.seed.map_or_else(|| "—".into(), |s| s.to_string())
            );
            for w in &l.warnings {
                let _ = write!(latency, "<p class=\"note\">{}</p>", esc(w));
            }
        }
        None => {
            latency.push_str("<p class=\"muted\">Latency was not measured; its check says why.</p>")
        }
    }
    body.push_str(&html::section("latency", "Latency", &latency));

    let rows: Vec<Vec<String>> = verdict
        .checks
        .iter()
        .map(|c| {
            let actual = c.actual.as_ref().map_or_else(
                || "—".to_string(),
                |m| match (m.low, m.high) {
                    (Some(lo), Some(hi)) => {
                        format!("#{:.3} [{lo:.3}, {hi:.3}] {}", m.value, c.unit)
                    }
                    _ => format!("#{:.3} {}", m.value, c.unit),
                },
            );
            vec![
                esc(&c.metric),
                esc(&c.rule),
                actual,
                c.limit
                    .map_or_else(|| "—".into(), |l| format!("#{l} {}", c.unit)),
                format!(
                    "<strong style=\"color:{}\">{}</strong>",
                    status_color(c.status),
                    esc(c.status.name())
                ),
                esc(&c.message),
            ]
        })
        .collect();
    body.push_str(&html::section(
        "checks",
        "Every check of the verdict",
        &html::table(
            &[
                "metric",
                "rule",
                "measured [interval]",
                "limit",
                "status",
                "why",
            ],
            &rows,
        ),
    ));

    let distributions = match pair {
        Some(r) => {
            let mut s = String::from(
                "<p class=\"note\">The stored benchmarks of both builds (measured at their own \
                 times), not the interleaved runs above.</p>",
            );
            s.push_str(&crate::cmd::report::latency_html(r));
            s
        }
        None => "<p class=\"muted\">Both sides must be builds of the workspace with stored \
                 benchmarks for their distributions to be drawn (`mlgate benchmark BUILD`).</p>"
            .to_string(),
    };
    body.push_str(&html::section(
        "distributions",
        "Distributions",
        &distributions,
    ));
    html::page(
        title,
        "The gate's decision and the numbers behind it. Written by mlgate; nothing on this page \
         is fetched from anywhere.",
        &[
            ("verdict", "Verdict"),
            ("latency", "Latency"),
            ("checks", "Checks"),
            ("distributions", "Distributions"),
        ],
        &body,
    )
}

/// Writes the gate's page to `path`: both sides' stored distributions are added when both
/// are builds of `ws`. Says where it went on stderr unless the output is JSON.
pub fn write(
    path: &std::path::Path,
    title: &str,
    ws: Option<&mlgate::Workspace>,
    verdict: &Verdict,
    evidence: Option<&Evidence>,
    json: bool,
) -> mlgate::Result<()> {
    let pair = match (ws, evidence) {
        (Some(ws), Some(e)) => match (&e.baseline.build_id, &e.candidate.build_id) {
            (Some(a), Some(b)) => mlgate::build_report::report(
                ws,
                &mlgate::build_report::ReportSubject::Pair(a.clone(), b.clone()),
            )
            .ok(),
            _ => None,
        },
        _ => None,
    };
    let page = render(title, verdict, evidence, pair.as_ref());
    crate::cmd::report::write_file(path, &page)?;
    if !json {
        eprintln!("gate page: {}", path.display());
    }
    Ok(())
}
