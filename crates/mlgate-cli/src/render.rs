//! Human-readable rendering. Pure functions returning strings, so snapshots pin them.

use std::fmt::Write;

use comfy_table::{CellAlignment, ColumnConstraint, Table, Width};
use mlgate::{FormatDetails, ModelInfo, TensorInfo};

use crate::cmd::view;

/// Print a `--json` report: the one way every command writes JSON. A report that cannot be
/// serialized prints nothing and fails the command (exit 2, said on stderr).
pub fn print_json<R: mlgate::report::Report>(report: &R) -> mlgate::Result<()> {
    let text = mlgate::report::to_json(report)?;
    println!("{text}");
    Ok(())
}

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Decimal units, as file managers and model zoos report sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.2} {unit}")
}

fn tensor_table(tensors: &[TensorInfo]) -> Table {
    let mut t = view::table(&[]);
    t.set_header(vec!["  name", "dtype", "shape", "quantization"]);
    let any_quant = tensors.iter().any(|t| t.quantization.is_some());
    for tensor in tensors {
        let quant = match &tensor.quantization {
            Some(q) if q.scale.len() == 1 => format!(
                "scale {} zero {}",
                q.scale[0],
                q.zero_point.first().copied().unwrap_or(0)
            ),
            Some(q) => format!("per-channel ({} scales)", q.scale.len()),
            None => String::new(),
        };
        // A signature name first, the graph's tensor name it stands for after it.
        let name = match &tensor.tensor_name {
            Some(alias) => format!("  {} (tensor {alias})", tensor.name),
            None => format!("  {}", tensor.name),
        };
        t.add_row(vec![
            name,
            tensor.dtype.to_string(),
            tensor.shape_text(),
            quant,
        ]);
    }
    if !any_quant {
        if let Some(c) = t.column_mut(3) {
            c.set_constraint(ColumnConstraint::Hidden);
        }
    }
    if let Some(c) = t.column_mut(0) {
        c.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(48)));
    }
    t
}

fn format_line(info: &ModelInfo) -> String {
    match &info.details {
        FormatDetails::Onnx {
            ir_version, opsets, ..
        } => {
            let opset = opsets.get("").or_else(|| opsets.get("ai.onnx"));
            let extra: Vec<String> = opsets
                .iter()
                .filter(|(d, _)| !d.is_empty() && d.as_str() != "ai.onnx")
                .map(|(d, v)| format!("{d} {v}"))
                .collect();
            let mut s = format!("ONNX (IR {ir_version}");
            if let Some(v) = opset {
                let _ = write!(s, ", opset {v}");
            }
            if !extra.is_empty() {
                let _ = write!(s, ", {}", extra.join(", "));
            }
            s.push(')');
            s
        }
        FormatDetails::Tflite {
            schema_version,
            subgraph_count,
            ..
        } => {
            format!("TFLite (schema {schema_version}, {subgraph_count} subgraph(s))")
        }
        FormatDetails::Coreml {
            specification_version,
            model_type,
            is_package,
            ..
        } => format!(
            "CoreML {} (spec {specification_version}, {model_type})",
            if *is_package { "package" } else { "model" }
        ),
        FormatDetails::Gguf {
            version,
            architecture,
            ..
        } => format!("GGUF v{version} ({architecture})"),
    }
}

/// The `mlgate inspect` view.
pub fn model_info(info: &ModelInfo) -> String {
    let mut out = String::new();
    let mut head = view::table(&[]);
    head.add_row(vec!["Model".to_string(), info.path.clone()]);
    head.add_row(vec!["Format".to_string(), format_line(info)]);
    if let Some(p) = &info.producer {
        head.add_row(vec!["Producer".to_string(), p.clone()]);
    }
    head.add_row(vec!["Size".to_string(), bytes(info.file_size)]);
    head.add_row(vec![
        "Parameters".to_string(),
        format!("{} ({})", count(info.param_count), bytes(info.param_bytes)),
    ]);
    head.add_row(vec!["sha256".to_string(), info.sha256.clone()]);
    match &info.details {
        FormatDetails::Tflite {
            signatures,
            custom_ops,
            ..
        } => {
            if !signatures.is_empty() {
                head.add_row(vec!["Signatures".to_string(), signatures.join(", ")]);
            }
            if !custom_ops.is_empty() {
                head.add_row(vec!["Custom ops".to_string(), custom_ops.join(", ")]);
            }
        }
        FormatDetails::Onnx {
            external_data_files,
            ..
        } if !external_data_files.is_empty() => {
            head.add_row(vec![
                "External data".to_string(),
                external_data_files.join(", "),
            ]);
        }
        FormatDetails::Gguf {
            context_length,
            vocab_size,
            layers,
            embedding_length,
            tensor_count,
            tensor_types,
            ..
        } => {
            let known = |v: &Option<u64>| v.map_or_else(|| "not stated".into(), count);
            head.add_row(vec!["Layers".to_string(), known(layers)]);
            head.add_row(vec!["Embedding".to_string(), known(embedding_length)]);
            head.add_row(vec!["Context".to_string(), known(context_length)]);
            head.add_row(vec!["Vocabulary".to_string(), known(vocab_size)]);
            let types: Vec<String> = tensor_types
                .iter()
                .map(|(t, n)| format!("{t} ×{n}"))
                .collect();
            head.add_row(vec![
                "Tensors".to_string(),
                format!("{} ({})", count(*tensor_count), types.join(", ")),
            ]);
        }
        _ => {}
    }
    if let Some(c) = head.column_mut(0) {
        c.set_cell_alignment(CellAlignment::Left);
    }
    let _ = writeln!(out, "{}", view::render(&head));

    let _ = writeln!(out, "\nInputs ({})", info.inputs.len());
    let _ = writeln!(out, "{}", view::render(&tensor_table(&info.inputs)));
    let _ = writeln!(out, "\nOutputs ({})", info.outputs.len());
    let _ = writeln!(out, "{}", view::render(&tensor_table(&info.outputs)));

    // A GGUF file has tensors, not a graph of ops.
    if info.format == mlgate::ModelFormat::Gguf {
        return out;
    }
    const TOP: usize = 10;
    let _ = writeln!(
        out,
        "\nOps ({} in total, {} types{})",
        count(info.op_count()),
        info.ops.len(),
        if info.ops.len() > TOP {
            format!(", top {TOP} shown")
        } else {
            String::new()
        }
    );
    let mut ops = view::table(&[]);
    for (name, n) in info.top_ops(TOP) {
        ops.add_row(vec![format!("  {name}"), count(n)]);
    }
    if let Some(c) = ops.column_mut(1) {
        c.set_cell_alignment(CellAlignment::Right);
    }
    let _ = writeln!(out, "{}", view::render(&ops));
    out
}

/// The detected task and why: `mlgate inspect`, and the commands that synthesise inputs.
pub fn task_report(r: &mlgate::TaskReport) -> String {
    let mut out = String::new();
    let how = match r.source {
        mlgate::TaskSource::Override => "set with --task".to_string(),
        mlgate::TaskSource::Detected => format!("{} confidence", r.confidence),
    };
    let _ = writeln!(out, "\nTask: {} ({how})", r.task);
    for line in &r.evidence {
        let _ = writeln!(out, "  {line}");
    }
    let roles: Vec<String> = r
        .inputs
        .iter()
        .map(|i| format!("{} = {}", i.name, i.role))
        .collect();
    if !roles.is_empty() {
        let _ = writeln!(out, "  inputs: {}", roles.join(", "));
    }
    if let Some(w) = &r.warning {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// The `mlgate doctor` view: host, then one row per runtime.
pub fn doctor(d: &mlgate::runtime::Doctor) -> String {
    let mut out = String::new();
    let h = &d.host;
    let mut head = view::table(&[]);
    head.add_row(vec![
        "CPU".to_string(),
        h.cpu_model.clone().unwrap_or_else(|| "unknown".into()),
    ]);
    head.add_row(vec!["Cores".to_string(), h.logical_cores.to_string()]);
    head.add_row(vec![
        "OS".to_string(),
        format!(
            "{} {} ({})",
            h.os,
            h.kernel.clone().unwrap_or_default(),
            h.arch
        ),
    ]);
    head.add_row(vec![
        "Governor".to_string(),
        h.governor.clone().unwrap_or_else(|| "not readable".into()),
    ]);
    if let Some(m) = h.memory_bytes {
        head.add_row(vec!["Memory".to_string(), bytes(m)]);
    }
    let _ = writeln!(out, "{}", view::render(&head));
    let _ = writeln!(out, "\nRuntimes");
    let mut t = view::table(&[]);
    t.set_header(vec![
        "  backend",
        "status",
        "version",
        "formats",
        "library / what to do",
    ]);
    for r in &d.runtimes {
        let formats: Vec<&str> = r.formats.iter().map(|f| f.name()).collect();
        let detail = if r.available {
            r.library
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "built in".into())
        } else {
            match (&r.install, &r.problem) {
                (Some(cmd), _) => format!("install: {cmd}"),
                (None, Some(p)) => p.clone(),
                (None, None) => String::new(),
            }
        };
        t.add_row(vec![
            format!("  {}", r.backend),
            if r.available { "found" } else { "missing" }.to_string(),
            r.version.clone().unwrap_or_else(|| "-".into()),
            formats.join(", "),
            detail,
        ]);
    }
    let _ = writeln!(out, "{}", view::render(&t));
    out
}

/// One line per installed runtime.
pub fn installed(i: &mlgate::runtime::Installed) -> String {
    format!(
        "{} {} {} {} (sha256 {}…)",
        i.runtime,
        i.version,
        if i.downloaded {
            "installed at"
        } else {
            "already installed at"
        },
        i.path.display(),
        &i.sha256[..i.sha256.len().min(12)]
    )
}

fn tensor_rows(t: &mut Table, tensors: &[mlgate::runtime::TensorSummary]) {
    for s in tensors {
        let shape: Vec<String> = s.shape.iter().map(usize::to_string).collect();
        let fmt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
        let mut bad = Vec::new();
        if s.stats.nan_count > 0 {
            bad.push(format!("{} NaN", s.stats.nan_count));
        }
        if s.stats.inf_count > 0 {
            bad.push(format!("{} Inf", s.stats.inf_count));
        }
        t.add_row(vec![
            format!("  {}", s.name),
            s.dtype.clone(),
            format!("[{}]", shape.join(", ")),
            fmt(s.stats.min),
            fmt(s.stats.max),
            fmt(s.stats.mean),
            fmt(s.stats.std),
            bad.join(", "),
        ]);
    }
}

/// The `mlgate infer` view: what ran, inputs and outputs with summary statistics.
pub fn infer(r: &mlgate::runtime::InferReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {}{} · {:.2} ms (one run, not a benchmark)",
        r.model,
        r.session.backend,
        r.session
            .runtime_version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        r.run_ms
    );
    let _ = writeln!(out, "\nInputs ({})", r.input_source);
    let mut t = view::table(&[]);
    t.set_header(vec![
        "  name", "dtype", "shape", "min", "max", "mean", "std", "",
    ]);
    tensor_rows(&mut t, &r.inputs);
    let _ = writeln!(out, "{}", view::render(&t));
    for c in &r.input_choices {
        let _ = writeln!(out, "  · {c}");
    }
    let _ = writeln!(out, "\nOutputs");
    let mut t = view::table(&[]);
    t.set_header(vec![
        "  name", "dtype", "shape", "min", "max", "mean", "std", "",
    ]);
    tensor_rows(&mut t, &r.outputs);
    let _ = writeln!(out, "{}", view::render(&t));
    if let Some(p) = &r.saved_outputs {
        let _ = writeln!(out, "\nOutputs saved to {p}");
    }
    if let Some(p) = &r.saved_inputs {
        let _ = writeln!(out, "Inputs saved to {p}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(8_400_000), "8.40 MB");
        assert_eq!(bytes(1_500_000_000), "1.50 GB");
    }
}
