//! `mlgate compare-quantization FP32 QUANT`: size, latency and accuracy side by side. It
//! reports; `compare` and `ci` gate.

use std::path::PathBuf;

use mlgate::explore::{QuantizationReport, QuantizationRequest};
use mlgate::report::Envelope;

use crate::cmd::benchmark::with_progress;
use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// The float model (file, or a build: tag, id or prefix).
    pub fp32: PathBuf,
    /// Its quantized variant.
    pub quantized: PathBuf,
    /// Samples of the accuracy check.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub accuracy_samples: usize,
    /// Seconds of interleaved latency measurement.
    #[arg(long, value_name = "S", default_value_t = 6.0)]
    pub max_time: f64,
    /// Runtime for both (default: the variant build's).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let ws = ctx.open_optional();
    let request = QuantizationRequest {
        fp32: mlgate::model::resolve(ws, &args.fp32)?,
        quantized: mlgate::model::resolve(ws, &args.quantized)?,
        accuracy_samples: args.accuracy_samples,
        max_time_s: args.max_time,
        backend: args.backend,
        runtimes: ctx.runtimes.clone(),
    };
    let report = with_progress(ctx.json, |p| {
        mlgate::explore::compare_quantization(ws, &request, p)
    })?;
    if ctx.json {
        render::print_json(&Envelope::new(report))?;
    } else {
        print!("{}", text(&report));
    }
    Ok(Outcome::Success)
}

fn text(r: &QuantizationReport) -> String {
    let mut t = view::table(&["", "fp32", "quantized", "change"]);
    t.add_row(vec![
        "size".to_string(),
        render::bytes(r.fp32_size_bytes),
        render::bytes(r.quantized_size_bytes),
        format!("{:.2}× smaller", r.size_ratio),
    ]);
    let l = &r.latency;
    let ms = |v: Option<f64>| v.map(view::ms).unwrap_or_else(|| "—".into());
    t.add_row(vec![
        "p50 latency".to_string(),
        ms(l.baseline_p50_ms),
        ms(l.variant_p50_ms),
        match (l.relative_delta, l.ci_low, l.ci_high) {
            (Some(d), Some(lo), Some(hi)) => format!(
                "{:+.1}% [{:+.1}%, {:+.1}%]{}",
                100.0 * d,
                100.0 * lo,
                100.0 * hi,
                if l.significant {
                    ""
                } else {
                    " (not significant)"
                }
            ),
            _ => format!("not estimated: {}", r.latency_reason),
        },
    ]);
    for o in &r.accuracy.outputs {
        t.add_row(vec![
            format!("{} cosine", o.output),
            "1".into(),
            format!("{:.5} (min {:.5})", o.cosine_mean, o.cosine_min),
            format!("max |Δ| {:.3e}", o.max_abs_error),
        ]);
        if let Some(t1) = &o.top1 {
            t.add_row(vec![
                format!("{} top-1", o.output),
                "—".into(),
                format!("{}/{} agree", t1.agree, t1.rows),
                format!(
                    "{:.3} [{:.3}, {:.3}] (Wilson 95%)",
                    t1.rate, t1.ci95.0, t1.ci95.1
                ),
            ]);
        }
    }
    view::right_align(&mut t, &[1, 2]);
    format!(
        "{} against {} on {}: {} accuracy samples, {} block pairs of latency\n\n{}\n",
        r.quantized,
        r.fp32,
        r.backend,
        r.accuracy.samples,
        l.pairs,
        view::render(&t)
    )
}
