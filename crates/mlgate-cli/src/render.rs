//! Human-readable rendering. Pure functions returning strings, so snapshots pin them.

use std::fmt::Write;

use comfy_table::{presets, CellAlignment, ColumnConstraint, Table, Width};
use mlgate::{FormatDetails, ModelInfo, TensorInfo};

pub fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot serialize JSON output: {e}"),
    }
}

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
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

fn table() -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t
}

fn tensor_table(tensors: &[TensorInfo]) -> Table {
    let mut t = table();
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
        t.add_row(vec![
            format!("  {}", tensor.name),
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
    }
}

/// The `mlgate inspect` view.
pub fn model_info(info: &ModelInfo) -> String {
    let mut out = String::new();
    let mut head = table();
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
        _ => {}
    }
    if let Some(c) = head.column_mut(0) {
        c.set_cell_alignment(CellAlignment::Left);
    }
    let _ = writeln!(out, "{}", trim_lines(&head.to_string()));

    let _ = writeln!(out, "\nInputs ({})", info.inputs.len());
    let _ = writeln!(
        out,
        "{}",
        trim_lines(&tensor_table(&info.inputs).to_string())
    );
    let _ = writeln!(out, "\nOutputs ({})", info.outputs.len());
    let _ = writeln!(
        out,
        "{}",
        trim_lines(&tensor_table(&info.outputs).to_string())
    );

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
    let mut ops = table();
    for (name, n) in info.top_ops(TOP) {
        ops.add_row(vec![format!("  {name}"), count(n)]);
    }
    if let Some(c) = ops.column_mut(1) {
        c.set_cell_alignment(CellAlignment::Right);
    }
    let _ = writeln!(out, "{}", trim_lines(&ops.to_string()));
    out
}

/// comfy-table pads every line to the table width; trailing blanks only add noise in
/// terminals and diffs.
fn trim_lines(s: &str) -> String {
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
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
