//! `mlgate insights`: which optimization pays off, from the comparisons explore recorded.

use std::fmt::Write as _;

use mlgate::insights::{InsightsReport, InsightsRequest, Spread};
use mlgate::report::Envelope;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Only models of this task (vision, nlp, audio, tabular).
    #[arg(long)]
    pub task: Option<String>,
    /// Only comparisons made on this runtime.
    #[arg(long)]
    pub backend: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let ws = ctx.open()?;
    let report = mlgate::insights::insights(
        ws,
        &InsightsRequest {
            task: args.task,
            backend: args.backend,
        },
    )?;
    if ctx.json {
        render::print_json(&Envelope::new(report))?;
    } else {
        print!("{}", text(&report));
    }
    Ok(Outcome::Success)
}

fn spread(s: &Spread) -> String {
    if s.n == 1 {
        format!("×{:.2}", s.median)
    } else {
        format!("×{:.2} [{:.2}, {:.2}]", s.median, s.min, s.max)
    }
}

pub fn text(r: &InsightsReport) -> String {
    let mut out = String::new();
    if r.rows.is_empty() {
        out.push_str(
            "no recorded comparisons yet: `mlgate explore MODEL` measures variants against \
             their parent and records what insights summarises\n",
        );
        return out;
    }
    let mut t = view::table(&[
        "method",
        "task",
        "runtime",
        "models",
        "latency × median [range]",
        "faster/slower",
        "size × median [range]",
        "accuracy (cos, passed)",
    ]);
    for row in &r.rows {
        let accuracy = match &row.accuracy_cosine {
            Some(c) => format!(
                "{:.4} median, {}/{}",
                c.median, row.accuracy_passed, row.accuracy_checks
            ),
            None => "not checked".into(),
        };
        t.add_row(vec![
            row.method.clone(),
            row.task.clone(),
            row.backend.clone(),
            row.models.to_string(),
            spread(&row.latency_ratio),
            format!("{}/{}", row.significantly_faster, row.significantly_slower),
            spread(&row.size_ratio),
            accuracy,
        ]);
    }
    view::right_align(&mut t, &[3]);
    let _ = writeln!(out, "{}", view::render(&t));
    out.push('\n');
    for rec in &r.recommendations {
        match &rec.method {
            Some(m) => {
                let _ = writeln!(
                    out,
                    "for a new {} model on {}: {m} — {}",
                    rec.task, rec.backend, rec.reason
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "for a new {} model on {}: no recommendation — {}",
                    rec.task, rec.backend, rec.reason
                );
            }
        }
    }
    let _ = writeln!(out, "\n{} comparisons. {}", r.comparisons_used, r.method);
    out
}
