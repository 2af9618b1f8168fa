//! A real S3-compatible server on loopback for the remote tests: moto's server, installed
//! by `cargo xtask test` into `<testdata>/pyenv-moto`. Nothing in mlgate is mocked: the
//! binary talks HTTP to this server exactly as it would to S3.
//!
//! One server per test binary ([`S3Server::shared`]); each test uses buckets of its own.
//! The server is started through a small shell watchdog that ends it when the test process
//! exits (a `static` is never dropped), and [`Drop`] kills a server owned by a test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// An access key id for the tests; the server accepts any.
pub const ACCESS_KEY_ID: &str = "AKIAMLGATETESTKEY01";
/// A distinctive fake secret: tests grep every output and file for it.
pub const SECRET_ACCESS_KEY: &str = "mlgate-fake-secret-Zq8v3NwX1pL7";

pub struct S3Server {
    child: Child,
    port: u16,
    _log: tempfile::TempDir,
}

impl S3Server {
    /// The server of this test binary, started on first use.
    pub fn shared() -> &'static S3Server {
        static SERVER: OnceLock<S3Server> = OnceLock::new();
        SERVER.get_or_init(S3Server::start)
    }

    /// Start a server on a free loopback port and wait until it answers.
    pub fn start() -> S3Server {
        crate::assert_needs_downloads("the S3 test server (moto)");
        let server = crate::testdata_root().join("pyenv-moto/bin/moto_server");
        assert!(
            server.is_file(),
            "{} is missing: the remote tests need moto's S3 server; {}",
            server.display(),
            crate::HOW_TO_GET_IT
        );
        let mut last = String::new();
        // A port taken between choosing and binding it: try fresh ports.
        for _ in 0..3 {
            match S3Server::start_once(&server) {
                Ok(s) => return s,
                Err(log) => last = log,
            }
        }
        panic!("moto_server did not start: {last}");
    }

    fn start_once(server: &std::path::Path) -> Result<S3Server, String> {
        use std::os::unix::process::CommandExt;
        let log = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let log_file = log.path().join("moto.log");
        // The watchdog ends the server once this process is gone; its own process group
        // lets Drop end both at once.
        let script = format!(
            "\"$0\" -H 127.0.0.1 -p {port} >\"$1\" 2>&1 & s=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 0.5; done; \
             kill $s 2>/dev/null",
            parent = std::process::id()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(server)
            .arg(&log_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start moto_server");
        let mut s = S3Server {
            child,
            port,
            _log: log,
        };
        if s.wait_ready(Duration::from_secs(60)) {
            Ok(s)
        } else {
            Err(std::fs::read_to_string(&log_file).unwrap_or_default())
        }
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok((status, _)) = self.request("GET", "/", &[]) {
                if status > 0 {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The variables a test gives mlgate: fake credentials, and nothing from the machine's
    /// own AWS configuration (files pointed away, instance metadata off).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/credentials".into(),
            ),
            ("AWS_CONFIG_FILE", "/nonexistent/config".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Create a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.boto(&["create", bucket], b"");
    }

    /// Every key in `bucket` starting with `prefix`.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.boto(&["keys", bucket, prefix], b"")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Overwrite an object's bytes behind mlgate's back.
    pub fn put_object(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.boto(&["put", bucket, key], bytes);
    }

    /// Delete objects behind mlgate's back.
    pub fn delete_objects(&self, bucket: &str, keys: &[String]) {
        let mut args = vec!["delete", bucket];
        args.extend(keys.iter().map(String::as_str));
        self.boto(&args, b"");
    }

    /// What a test does to the bucket behind mlgate's back goes through boto3 (installed
    /// with moto), signed like any client's: moto refuses unsigned writes to objects.
    fn boto(&self, args: &[&str], stdin: &[u8]) -> String {
        const SCRIPT: &str = r#"
import sys, boto3
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
op, bucket, rest = sys.argv[4], sys.argv[5], sys.argv[6:]
if op == "create":
    c.create_bucket(Bucket=bucket)
elif op == "keys":
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=rest[0]):
        for o in page.get("Contents", []):
            print(o["Key"])
elif op == "put":
    c.put_object(Bucket=bucket, Key=rest[0], Body=sys.stdin.buffer.read())
elif op == "delete":
    for k in rest:
        c.delete_object(Bucket=bucket, Key=k)
"#;
        let mut child = Command::new(python())
            .arg("-c")
            .arg(SCRIPT)
            .arg(self.endpoint())
            .arg(ACCESS_KEY_ID)
            .arg(SECRET_ACCESS_KEY)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the moto venv's python");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        let out = child.wait_with_output().expect("boto3 helper");
        assert!(
            out.status.success(),
            "boto3 {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One plain HTTP/1.1 request; (status, body). Enough for a test's few calls.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            self.port,
            body.len()
        );
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        Ok((status, body))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // The watchdog and the server share a process group: end both.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// The path of the server's Python (for tests that need more than the helpers above).
pub fn python() -> PathBuf {
    crate::testdata_root().join("pyenv-moto/bin/python")
}
