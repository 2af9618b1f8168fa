//! The shell of mlgate's self-contained HTML pages: one file, inline CSS (a screen and a
//! print stylesheet), inline SVG charts, no script and nothing fetched from anywhere.

use std::fmt::Write;

pub use crate::svg::esc;

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827;
  background: #f9fafb; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
header { border-bottom: 2px solid #1f5fa8; margin-bottom: 12px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
nav { font-size: 13px; margin: 6px 0 10px; }
nav a { margin-right: 12px; color: #1f5fa8; text-decoration: none; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 12px 16px;
  margin: 12px 0; }
table { border-collapse: collapse; margin: 4px 0 8px; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 3px 10px 3px 0; text-align: left;
  vertical-align: top; }
th { font-weight: 600; color: #374151; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #6b7280; }
.note { background: #fffbeb; border-left: 3px solid #d97706; padding: 6px 10px; }
.ok { color: #15803d; font-weight: 600; }
.bad { color: #b91c1c; font-weight: 600; }
.rec { font-size: 15px; border-left: 4px solid #1f5fa8; padding: 6px 10px; background: #eff6ff; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { max-width: 100%; height: auto; background: #fff; }
ul.tree { list-style: none; padding-left: 16px; margin: 4px 0; }
ul.tree li::before { content: "└ "; color: #9ca3af; }
code { font-family: ui-monospace, "SF Mono", Menlo, monospace; font-size: 12px; }
footer { font-size: 12px; color: #6b7280; margin-top: 24px; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  section { border: none; border-top: 1px solid #9ca3af; border-radius: 0; padding: 6px 0;
    break-inside: avoid; page-break-inside: avoid; }
  .rec, .note { background: none; }
  a { color: inherit; text-decoration: none; }
  svg.chart { max-width: 100%; }
}
"#;

/// A whole page: `title` in the head and as the heading, `subtitle` under it, `nav` as
/// `(anchor, label)` links, then `body` (already HTML).
pub fn page(title: &str, subtitle: &str, nav: &[(&str, &str)], body: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"mlgate {}\">\
         <title>{}</title><style>{STYLE}</style></head><body><main><header><h1>{}</h1>\
         <div class=\"muted\">{}</div></header>",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        esc(title),
        esc(subtitle)
    );
    if !nav.is_empty() {
        s.push_str("<nav>");
        for (anchor, label) in nav {
            let _ = write!(s, "<a href=\"#{}\">{}</a>", esc(anchor), esc(label));
        }
        s.push_str("</nav>");
    }
    s.push_str(body);
    let _ = writeln!(
        s,
        "<footer>Written by mlgate {}. Self-contained: no script, nothing loaded from the \
         network.</footer></main></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

/// A section with an anchor and a heading.
pub fn section(id: &str, heading: &str, body: &str) -> String {
    format!(
        "<section id=\"{}\"><h2>{}</h2>{body}</section>",
        esc(id),
        esc(heading)
    )
}

/// A table from a header and rows of already-escaped cells; a cell starting with `#` is
/// right-aligned (the `#` dropped).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for cell in row {
            match cell.strip_prefix('#') {
                Some(num) => {
                    let _ = write!(s, "<td class=\"num\">{num}</td>");
                }
                None => {
                    let _ = write!(s, "<td>{cell}</td>");
                }
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}
