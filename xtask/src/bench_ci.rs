//! `cargo xtask bench-ci`: what `mlgate ci --model` costs a pipeline — wall time and peak
//! memory of the release binary on the CNN fixture at default settings, both sides measured
//! (median of N runs, every run listed). Peak RSS is the child's own `ru_maxrss` from
//! `wait4`, so each run is measured alone.

use std::process::Command;
use std::time::Instant;

const HELP: &str = "\
cargo xtask bench-ci [--runs N]

  --runs N   runs of `mlgate ci --model vision_cnn_slow.onnx --baseline main-cnn` (default 5)
";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut runs = 5usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--runs needs a positive number\n\n{HELP}"))?
            }
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    let mlgate = crate::release_binary()?;
    let fixtures = crate::testdata_dir().join("fixtures");
    crate::gen_models(Some(fixtures.clone()))?;
    let dir = crate::workspace_root().join("target/bench-ci");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ws = dir.join(".mlgate");
    let base = fixtures.join("vision_cnn.onnx");
    let slow = fixtures.join("vision_cnn_slow.onnx");
    crate::tag_baseline(&mlgate, &ws, &base, "main-cnn")?;
    let mut rows = Vec::new();
    for i in 0..runs {
        let (secs, rss, code) = timed(
            Command::new(&mlgate)
                .arg("--workspace")
                .arg(&ws)
                .args(["ci", "--baseline", "main-cnn", "--json", "--model"])
                .arg(&slow),
        )?;
        if code == Some(2) {
            return Err(format!("run {i}: mlgate ci failed (exit 2)"));
        }
        let report: serde_json::Value = std::fs::read_to_string(ws.join("ci_report.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let verdict = report["verdict"]["status"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        println!(
            "run {}: {secs:.2} s wall, peak RSS {:.1} MB, exit {}, verdict {verdict}",
            i + 1,
            rss as f64 / 1e6,
            code.map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into())
        );
        rows.push((secs, rss));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\nmlgate ci --model (CNN fixture, default settings, both sides measured), n = {runs}: \
         median {:.2} s wall (max {:.2}), median peak RSS {:.1} MB (max {:.1}); release build",
        median(rows.iter().map(|r| r.0).collect()),
        rows.iter().map(|r| r.0).fold(0.0, f64::max),
        median(rows.iter().map(|r| r.1 as f64 / 1e6).collect()),
        rows.iter().map(|r| r.1 as f64 / 1e6).fold(0.0, f64::max),
    );
    Ok(())
}

/// Runs a command; returns wall seconds, the child's peak RSS in bytes and its exit code.
fn timed(cmd: &mut Command) -> Result<(f64, u64, Option<i32>), String> {
    let start = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped; status and usage are valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    let secs = start.elapsed().as_secs_f64();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in kilobytes.
    Ok((secs, usage.ru_maxrss as u64 * 1024, code))
}
