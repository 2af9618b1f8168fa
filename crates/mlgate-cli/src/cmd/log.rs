//! `mlgate log`: the builds, newest first; `--tree` draws their lineage; `log BUILD` shows
//! one build in detail.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use mlgate::report::{BuildList, Envelope};
use mlgate::workspace::{BuildDetail, BuildFilter, BuildSummary};

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// Show this build in detail (a tag, a full id or an id prefix of 4+ characters).
    pub build: Option<String>,
    /// Only builds whose source path contains this (e.g. `mobilenet.onnx`).
    #[arg(long)]
    pub source: Option<String>,
    /// Only builds whose name contains this.
    #[arg(long)]
    pub name: Option<String>,
    /// Only this format: onnx, tflite, coreml.
    #[arg(long)]
    pub format: Option<String>,
    /// Only this task: vision, nlp, audio, ...
    #[arg(long)]
    pub task: Option<String>,
    /// Only this target.
    #[arg(long)]
    pub target: Option<String>,
    /// Only builds created at or after: `yesterday`, `7 days ago`, `2024-01-31` (UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Only builds created before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Only builds that are not derived from another build.
    #[arg(long)]
    pub roots_only: bool,
    /// At most this many builds (with --tree: lineage trees), newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Draw the lineage: each build under the build it was derived from.
    #[arg(long)]
    pub tree: bool,
    /// Also write the listed builds to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let workspace = ctx.open()?;
    if let Some(reference) = &args.build {
        let detail = workspace.build_detail(reference)?;
        if json {
            render::print_json(&Envelope::new(detail))?;
        } else {
            print!("{}", build_detail(&detail));
        }
        return Ok(Outcome::Success);
    }
    let filter = BuildFilter {
        source: args.source,
        name: args.name,
        format: args.format,
        task: args.task,
        target: args.target,
        since: args
            .since
            .as_deref()
            .map(|s| view::when("--since", s))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| view::when("--until", s))
            .transpose()?,
        roots_only: args.roots_only,
        limit: Some(args.limit),
    };
    let builds = if args.tree {
        workspace.lineage(&filter)?
    } else {
        workspace.builds(&filter)?
    };
    if let Some(path) = &args.csv {
        std::fs::write(path, csv(&builds)).map_err(|e| mlgate::Error::Invalid {
            what: "--csv file",
            value: path.display().to_string(),
            hint: format!("cannot write it: {e}"),
        })?;
    }
    if json {
        render::print_json(&Envelope::new(BuildList { builds }))?;
    } else if builds.is_empty() {
        println!("No builds match. `mlgate import --model PATH --target T` registers one.");
    } else if args.tree {
        print!("{}", tree(&builds));
    } else {
        println!("{}", list(&builds));
    }
    Ok(Outcome::Success)
}

fn name_cell(s: &BuildSummary) -> String {
    if s.build.imported {
        format!("{} [imported]", s.build.name)
    } else {
        s.build.name.clone()
    }
}

/// The flat list.
pub fn list(builds: &[BuildSummary]) -> String {
    let mut t = view::table(&[
        "BUILD", "NAME", "FORMAT", "TARGET", "METHOD", "SIZE", "P50", "CREATED",
    ]);
    for s in builds {
        let b = &s.build;
        t.add_row(vec![
            view::short(&b.id).to_string(),
            name_cell(s),
            b.format.clone(),
            b.target.clone(),
            b.method_label(),
            render::bytes(b.size_bytes),
            view::p50(&s.latest),
            view::ago(b.created_at),
        ]);
    }
    view::right_align(&mut t, &[5, 6]);
    view::render(&t)
}

/// The lineage forest: children under their parent, oldest first, with readable method
/// labels. Iterative, so a long chain of derived builds cannot overflow the stack.
pub fn tree(builds: &[BuildSummary]) -> String {
    let by_id: HashMap<&str, usize> = builds
        .iter()
        .enumerate()
        .map(|(i, s)| (s.build.id.as_str(), i))
        .collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in builds.iter().enumerate() {
        match s.build.parent_id.as_deref() {
            Some(p) if by_id.contains_key(p) => children.entry(p).or_default().push(i),
            _ => roots.push(i),
        }
    }
    // (left part, rest of the line) per output line, aligned afterwards.
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut stack: Vec<(usize, String, Option<bool>)> = roots
        .iter()
        .rev()
        .map(|&i| (i, String::new(), None))
        .collect();
    while let Some((i, prefix, last)) = stack.pop() {
        let s = &builds[i];
        let b = &s.build;
        let (connector, child_prefix) = match last {
            None => ("", String::new()),
            Some(true) => ("└── ", format!("{prefix}    ")),
            Some(false) => ("├── ", format!("{prefix}│   ")),
        };
        let left = format!("{prefix}{connector}{}", view::short(&b.id));
        let name = if last.is_none() {
            name_cell(s)
        } else {
            String::new()
        };
        lines.push((
            left,
            format!(
                "{name}\t{}\t{}\t{}\t{}",
                b.format,
                b.method_label(),
                render::bytes(b.size_bytes),
                view::p50(&s.latest)
            ),
        ));
        if let Some(kids) = children.get(b.id.as_str()) {
            for (k, &c) in kids.iter().enumerate().rev() {
                stack.push((c, child_prefix.clone(), Some(k + 1 == kids.len())));
            }
        }
    }
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let cols: Vec<Vec<&str>> = lines.iter().map(|(_, r)| r.split('\t').collect()).collect();
    let mut widths = [0usize; 5];
    for c in &cols {
        for (j, cell) in c.iter().enumerate().take(5) {
            widths[j] = widths[j].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for ((left, _), c) in lines.iter().zip(&cols) {
        let pad = width - left.chars().count();
        let mut line = format!("{left}{}", " ".repeat(pad));
        for (j, cell) in c.iter().enumerate() {
            let w = widths[j.min(4)];
            // Size and latency read best right-aligned.
            if j >= 3 {
                let _ = write!(line, "  {cell:>w$}");
            } else {
                let _ = write!(line, "  {cell:<w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn csv(builds: &[BuildSummary]) -> String {
    let mut out = String::from(
        "id,name,source_path,format,target,backend,task,method,size_bytes,parent_id,root_id,\
         imported,created_at,p50_ms,p95_ms,notes\n",
    );
    for s in builds {
        let b = &s.build;
        let fields = [
            b.id.clone(),
            b.name.clone(),
            b.source_path.clone(),
            b.format.clone(),
            b.target.clone(),
            b.backend.clone().unwrap_or_default(),
            b.task.clone().unwrap_or_default(),
            b.method.clone().unwrap_or_default(),
            b.size_bytes.to_string(),
            b.parent_id.clone().unwrap_or_default(),
            b.root_id.clone(),
            b.imported.to_string(),
            mlgate::workspace::time::format_utc(b.created_at),
            s.latest
                .as_ref()
                .map(|m| m.p50_ms.to_string())
                .unwrap_or_default(),
            s.latest
                .as_ref()
                .and_then(|m| m.p95_ms)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            b.notes.clone().unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

pub fn build_detail(d: &BuildDetail) -> String {
    let b = &d.build;
    let mut t = view::table(&[]);
    let mut row = |k: &str, v: String| {
        t.add_row(vec![k.to_string(), v]);
    };
    row("Build", b.id.clone());
    row("Name", b.name.clone());
    if !d.tags.is_empty() {
        row("Tags", d.tags.join(", "));
    }
    row("Format", b.format.clone());
    row("Target", b.target.clone());
    if let Some(backend) = &b.backend {
        row("Backend", backend.clone());
    }
    if let Some(task) = &b.task {
        row("Task", task.clone());
    }
    row("Method", b.method_label());
    row("Size", render::bytes(b.size_bytes));
    row("Source", b.source_path.clone());
    row("Source sha256", b.source_hash.clone());
    row(
        "Artifact",
        format!("{} (verified)", d.artifact_path.display()),
    );
    if let Some(p) = &d.parent {
        row(
            "Parent",
            format!("{}  {} ({})", view::short(&p.id), p.name, p.method),
        );
    }
    if b.parent_id.is_some() {
        row("Root", b.root_id.clone());
    }
    for c in &d.children {
        row(
            "Child",
            format!("{}  {} ({})", view::short(&c.id), c.name, c.method),
        );
    }
    row(
        "Imported",
        if b.imported { "yes" } else { "no" }.to_string(),
    );
    if let Some(n) = &b.notes {
        row("Notes", n.clone());
    }
    row(
        "Created",
        format!(
            "{} ({}) on {}",
            mlgate::workspace::time::format_utc(b.created_at),
            view::ago(b.created_at),
            b.hostname
        ),
    );
    let mut out = view::render(&t);
    out.push('\n');
    if d.benchmarks.is_empty() {
        out.push_str("\nNo benchmarks yet.\n");
    } else {
        let _ = writeln!(out, "\nBenchmarks ({} most recent)", d.benchmarks.len());
        let mut bt = view::table(&["  WHEN", "BACKEND", "P50", "P95", "MEMORY", "N"]);
        for m in &d.benchmarks {
            bt.add_row(vec![
                format!("  {}", view::ago(m.created_at)),
                m.backend.clone(),
                view::ms(m.p50_ms),
                view::opt_ms(m.p95_ms),
                m.memory_mb.map(view::mb).unwrap_or_else(|| "—".into()),
                m.n.to_string(),
            ]);
        }
        view::right_align(&mut bt, &[2, 3, 4, 5]);
        let _ = writeln!(out, "{}", view::render(&bt));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlgate::workspace::{ArtifactKind, Build};

    fn build(id: &str, parent: Option<&str>, method: Option<&str>) -> BuildSummary {
        BuildSummary {
            build: Build {
                id: id.repeat(64 / id.len()),
                name: "mobilenet".into(),
                source_path: "/m/mobilenet.onnx".into(),
                source_hash: "h".into(),
                artifact_hash: "h".into(),
                artifact_kind: ArtifactKind::File,
                format: "onnx".into(),
                target: "onnxruntime_cpu".into(),
                backend: None,
                task: None,
                size_bytes: 13_390_000,
                parent_id: parent.map(|p| p.repeat(64 / p.len())),
                root_id: "a".repeat(64),
                method: method.map(str::to_string),
                imported: false,
                notes: None,
                created_at: 0,
                machine_id: "m".into(),
                hostname: "h".into(),
            },
            latest: None,
        }
    }

    #[test]
    fn tree_nests_method_chains() {
        let builds = vec![
            build("a", None, None),
            build("b", Some("a"), Some("fp16")),
            build("c", Some("a"), Some("prune_0.50")),
            build("d", Some("c"), Some("int8_static")),
        ];
        let out = tree(&builds);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("aaaaaaaaaaaa ") && lines[0].contains("mobilenet"),
            "{out}"
        );
        assert!(lines[1].starts_with("├── bbbbbbbbbbbb"), "{out}");
        assert!(lines[2].starts_with("└── cccccccccccc") && lines[2].contains("prune(0.50)"));
        assert!(lines[3].starts_with("    └── dddddddddddd") && lines[3].contains("int8(static)"));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
