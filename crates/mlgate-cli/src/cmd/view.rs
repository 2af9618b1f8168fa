//! Rendering helpers shared by the workspace commands: plain tables, short ids, times.
//! Pure functions returning strings.

use comfy_table::{presets, CellAlignment, Table};
use mlgate::workspace::{time, LatestMetric};

/// A borderless table whose lines carry no trailing blanks.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    if !header.is_empty() {
        t.set_header(header.to_vec());
    }
    t
}

pub fn right_align(t: &mut Table, columns: &[usize]) {
    for &c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

pub fn render(t: &Table) -> String {
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first 12 hex digits: enough to be unique in any real registry, short enough to read.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

pub fn opt_ms(v: Option<f64>) -> String {
    v.map(ms).unwrap_or_else(|| "—".into())
}

pub fn p50(m: &Option<LatestMetric>) -> String {
    opt_ms(m.as_ref().map(|m| m.p50_ms))
}

pub fn mb(v: f64) -> String {
    format!("{v:.2} MB")
}

/// `3m ago`, `5h ago`, `2d ago`, then the date.
pub fn ago(at_ms: i64) -> String {
    let secs = (time::now_ms() - at_ms).max(0) / 1000;
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        86_400..=2_591_999 => format!("{}d ago", secs / 86_400),
        _ => time::format_utc(at_ms)[..10].to_string(),
    }
}

/// Signed percentage change from `a` to `b`.
pub fn delta_pct(a: f64, b: f64) -> String {
    if a == 0.0 {
        return if b == 0.0 { "0%".into() } else { "—".into() };
    }
    let pct = (b - a) / a * 100.0;
    format!("{pct:+.1}%")
}

/// Parse `--since`/`--until` text, naming the flag in the error.
pub fn when(flag: &'static str, text: &str) -> mlgate::Result<i64> {
    time::parse_when(text, time::now_ms()).map_err(|hint| mlgate::Error::Invalid {
        what: flag,
        value: text.to_string(),
        hint,
    })
}
