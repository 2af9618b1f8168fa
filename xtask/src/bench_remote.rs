//! `cargo xtask bench-remote`: how fast do push, pull and sync go against a real
//! S3-compatible server? Starts moto's server (the one the tests use) on loopback, then
//! drives the registry's remote code in-process: push and pull of one large artifact
//! (default 100 MB, n runs, each into a fresh bucket and workspace), and `sync` with N builds
//! (default 1,000, each with a small artifact and one benchmark) on each side.
//!
//! Not a test: numbers depend on the machine, and moto (a Python server) is far slower than
//! S3, so they bound mlgate's overhead rather than measure a real store. It prints n, method
//! and machine with them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mlgate_registry::remote::{
    NamedRemote, NoProgress, PushSelection, RemoteBackend, RemoteClient, RemoteSpec,
};
use mlgate_registry::{NewBenchmark, NewBuild, Registry};

const HELP: &str = "\
cargo xtask bench-remote [--mb M] [--runs R] [--builds N]

  --mb M       size of the large artifact, MB (default 100)
  --runs R     push/pull runs of the large artifact (default 3)
  --builds N   builds on each side for the sync measurement (default 1000; 0 skips it)
";

pub fn run(args: &[String]) -> Result<(), String> {
    let (mut mb, mut runs, mut builds) = (100usize, 3usize, 1000usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |flag: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{flag} takes a number"))
        };
        match a.as_str() {
            "--mb" => mb = num("--mb")?,
            "--runs" => runs = num("--runs")?.max(1),
            "--builds" => builds = num("--builds")?,
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n\n{HELP}")),
        }
    }
    let server = crate::testdata::s3_server(&crate::testdata_dir())?;
    let root = crate::workspace_root().join("target/bench-remote");
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let moto = Moto::start(&server, &root)?;
    println!("moto_server on {} (loopback)", moto.endpoint());

    // Large artifact: push into an empty bucket, pull into an empty workspace.
    let big = root.join("big.bin");
    write_pseudo_random(&big, mb << 20)?;
    let mut push_s = Vec::new();
    let mut pull_s = Vec::new();
    for r in 0..runs {
        let bucket = format!("big-{r}");
        moto.create_bucket(&bucket)?;
        let remote = moto.remote(&bucket)?;
        let (_, mut a) = workspace(&root.join(format!("a-{r}")))?;
        let artifact = a.store().put(&big).map_err(err)?;
        let (build, _) = a
            .insert_build(new_build("big", &artifact, 0))
            .map_err(err)?;
        let t = Instant::now();
        let pushed = a
            .push(
                &remote,
                &PushSelection::Reference(build.id.clone()),
                &mut NoProgress,
            )
            .map_err(err)?;
        push_s.push(t.elapsed().as_secs_f64());
        assert_eq!(pushed.objects.transferred, 1);
        let (_, mut b) = workspace(&root.join(format!("b-{r}")))?;
        let t = Instant::now();
        let pulled = b.pull(&remote, &build.id, &mut NoProgress).map_err(err)?;
        pull_s.push(t.elapsed().as_secs_f64());
        assert_eq!(pulled.objects.transferred, 1);
    }
    let mbytes = (mb << 20) as f64 / 1e6;
    report("push", mbytes, &push_s);
    report("pull (sha256 verified)", mbytes, &pull_s);

    if builds > 0 {
        moto.create_bucket("sync")?;
        let remote = moto.remote("sync")?;
        let (_, mut a) = workspace(&root.join("sync-a"))?;
        let (_, mut b) = workspace(&root.join("sync-b"))?;
        seed(&mut a, builds, "a", &root)?;
        seed(&mut b, builds, "b", &root)?;
        let t = Instant::now();
        let first = a.sync(&remote, &mut NoProgress).map_err(err)?;
        let a_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let second = b.sync(&remote, &mut NoProgress).map_err(err)?;
        let b_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let third = a.sync(&remote, &mut NoProgress).map_err(err)?;
        let c_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let noop = b.sync(&remote, &mut NoProgress).map_err(err)?;
        let d_s = t.elapsed().as_secs_f64();
        println!(
            "sync, {builds} builds on each side (each: a 4 KB artifact, one benchmark of 100 samples), n = 1:"
        );
        println!(
            "  A first, into an empty remote (pushes {}): {a_s:.1} s",
            first.1.builds.transferred
        );
        println!(
            "  B (pulls {}, pushes {}): {b_s:.1} s",
            second.0.builds.transferred, second.1.builds.transferred
        );
        println!(
            "  A again (pulls {}, pushes {}): {c_s:.1} s",
            third.0.builds.transferred, third.1.builds.transferred
        );
        println!(
            "  B again, nothing to do (pulls {}, pushes {}): {d_s:.1} s",
            noop.0.builds.transferred, noop.1.builds.transferred
        );
    }
    let profile = if cfg!(debug_assertions) {
        "a debug build (dependencies optimized)"
    } else {
        "a release build"
    };
    println!(
        "method: mlgate_registry's remote code in-process ({profile}), moto_server {} on \
         127.0.0.1 of the same machine; wall clock per operation",
        crate::testdata::MOTO
    );
    println!("machine: {}", machine());
    Ok(())
}

fn report(what: &str, mbytes: f64, secs: &[f64]) {
    let mut s = secs.to_vec();
    s.sort_by(f64::total_cmp);
    let median = s[s.len() / 2];
    println!(
        "{what}: {mbytes:.0} MB, n = {}: median {median:.2} s ({:.0} MB/s); runs: {}",
        s.len(),
        mbytes / median,
        secs.iter()
            .map(|x| format!("{x:.2} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn workspace(dir: &Path) -> Result<(PathBuf, Registry), String> {
    let ws = dir.join(".mlgate");
    let (reg, _) = Registry::open(&ws, true).map_err(err)?;
    Ok((ws, reg))
}

fn new_build(name: &str, artifact: &mlgate_registry::StoredArtifact, i: usize) -> NewBuild {
    NewBuild {
        name: name.to_string(),
        source_path: format!("/bench/{name}.onnx"),
        source_hash: artifact.hash.clone(),
        artifact: artifact.clone(),
        format: "onnx".into(),
        target: "tract_cpu".into(),
        backend: None,
        task: None,
        method: None,
        parent_id: None,
        imported: true,
        notes: None,
        created_at: Some(1_700_000_000_000 + i as i64),
    }
}

/// `n` builds, each with its own 4 KB artifact and one benchmark.
fn seed(reg: &mut Registry, n: usize, side: &str, root: &Path) -> Result<(), String> {
    let tmp = root.join(format!("seed-{side}"));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut news = Vec::with_capacity(n);
    for i in 0..n {
        let f = tmp.join(format!("{i}.onnx"));
        let mut bytes = format!("{side}-{i}").into_bytes();
        bytes.resize(4096, 7);
        std::fs::write(&f, &bytes).map_err(|e| format!("{}: {e}", f.display()))?;
        let artifact = reg.store().put(&f).map_err(err)?;
        news.push(new_build(&format!("{side}_{i}"), &artifact, i));
    }
    let built = reg.insert_builds(news).map_err(err)?;
    let benches: Vec<(String, NewBenchmark)> = built
        .iter()
        .map(|(b, _)| {
            let samples: Vec<f64> = (0..100).map(|k| 1.0 + (k % 7) as f64 * 0.01).collect();
            (
                b.id.clone(),
                NewBenchmark {
                    backend: "tract".into(),
                    p50_ms: 1.0,
                    p95_ms: Some(1.06),
                    memory_mb: None,
                    n: 100,
                    samples_ms: samples,
                    statistics: serde_json::json!({"mean": 1.03}),
                    settings: serde_json::json!({"runs": 100}),
                    fingerprint: serde_json::json!({"cpu": "bench"}),
                    created_at: None,
                },
            )
        })
        .collect();
    reg.record_benchmarks(&benches).map_err(err)?;
    Ok(())
}

fn write_pseudo_random(path: &Path, len: usize) -> Result<(), String> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(buf.len());
        f.write_all(&buf[..n])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        left -= n;
    }
    f.flush().map_err(|e| format!("{}: {e}", path.display()))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

/// moto's server on a free loopback port, ended on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start(server: &Path, root: &Path) -> Result<Moto, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        let log = std::fs::File::create(root.join("moto.log")).map_err(err)?;
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(err)?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if moto.request("GET", "/").is_ok() {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("moto_server did not answer within 60 s (see target/bench-remote/moto.log)".into())
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto creates buckets from unsigned requests.
    fn create_bucket(&self, name: &str) -> Result<(), String> {
        let status = self.request("PUT", &format!("/{name}"))?;
        if status == 200 {
            Ok(())
        } else {
            Err(format!("creating bucket {name}: HTTP {status}"))
        }
    }

    fn request(&self, method: &str, path: &str) -> Result<u16, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(err)?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(head.as_bytes()).map_err(err)?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(err)?;
        out.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| "no HTTP status".to_string())
    }

    fn remote(&self, bucket: &str) -> Result<RemoteClient, String> {
        let named = NamedRemote {
            name: "bench".into(),
            spec: RemoteSpec {
                backend: RemoteBackend::S3,
                bucket: bucket.into(),
                prefix: None,
                region: Some("us-east-1".into()),
                endpoint: Some(self.endpoint()),
                allow_http: true,
                default: false,
            },
        };
        // Fake keys for the loopback server, never the machine's own.
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIAMLGATEBENCH".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("mlgate-bench-secret".to_string()),
            _ => None,
        };
        RemoteClient::connect(&named, &env).map_err(err)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
