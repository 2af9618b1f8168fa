//! Remotes end to end: the `mlgate` binary against a real S3-compatible server (moto's, on
//! loopback, installed by `cargo xtask test`). Two or three independent workspaces share
//! one bucket, as CI runners and laptops would.

use std::process::Output;

use mlgate_testkit::s3::{S3Server, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use mlgate_testkit::{json, sandbox, stderr, stdout, Sandbox};
use serde_json::Value;

/// Bad remote input fails before any network use, naming the value (no server needed).
#[test]
fn bad_remote_input_is_refused_naming_the_value() {
    let s = sandbox!();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "remote",
                "add",
                "origin",
                "--backend",
                "s3",
                "--bucket",
                "Bad_Bucket",
            ],
            "Bad_Bucket",
        ),
        (
            &[
                "remote",
                "add",
                "origin",
                "--backend",
                "s3",
                "--bucket",
                "okay",
                "--endpoint",
                "ftp://x",
            ],
            "ftp://x",
        ),
        (
            &[
                "remote",
                "add",
                "origin",
                "--backend",
                "s3",
                "--bucket",
                "okay",
                "--endpoint",
                "http://127.0.0.1:9",
            ],
            "--allow-http",
        ),
        (&["remote", "remove", "nope"], "nope"),
        (&["push", "--all", "--remote", "nope"], "nope"),
    ];
    for (args, needle) in cases {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let list = s.json_ok(&["remote", "list"]);
    assert_eq!(list["remotes"], serde_json::json!([]));
}

mod needs_downloads {
    use super::*;

    /// One workspace of the test, with the server's credentials in its environment.
    struct Machine<'a> {
        sb: Sandbox,
        server: &'a S3Server,
        /// Every stdout and stderr it printed, grepped for credentials at the end.
        printed: std::cell::RefCell<String>,
    }

    impl<'a> Machine<'a> {
        fn new(server: &'a S3Server, bucket: &str) -> Machine<'a> {
            let m = Machine {
                sb: sandbox!(),
                server,
                printed: Default::default(),
            };
            m.ok(&[
                "remote",
                "add",
                "origin",
                "--backend",
                "s3",
                "--bucket",
                bucket,
                "--endpoint",
                &server.endpoint(),
                "--allow-http",
                "--default",
            ]);
            m
        }

        fn run(&self, args: &[&str]) -> Output {
            let mut cmd = self.sb.command(args);
            cmd.envs(self.server.env());
            let out = cmd.output().expect("run mlgate");
            let mut p = self.printed.borrow_mut();
            p.push_str(&stdout(&out));
            p.push_str(&stderr(&out));
            out
        }

        fn ok(&self, args: &[&str]) -> Value {
            let mut all = args.to_vec();
            all.push("--json");
            let out = self.run(&all);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}\n{}\n{}",
                stdout(&out),
                stderr(&out)
            );
            json(&out)
        }

        fn import(&self, model: &str, target: &str) -> String {
            let models = self.sb.fixtures();
            let path = models.join(model);
            let v = self.ok(&[
                "import",
                "--model",
                path.to_str().unwrap(),
                "--target",
                target,
            ]);
            v["build"]["id"].as_str().unwrap().to_string()
        }

        fn benchmark(&self, build: &str) {
            self.ok(&[
                "benchmark",
                build,
                "--runs",
                "20",
                "--warmup",
                "1",
                "--max-time",
                "1",
            ]);
        }

        /// `log --json`'s builds by id, without the local row number of their latest
        /// benchmark (each registry numbers its own rows).
        fn log(&self) -> std::collections::BTreeMap<String, Value> {
            let v = self.ok(&["log"]);
            v["builds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    if let Some(l) = b.get_mut("latest").and_then(|l| l.as_object_mut()) {
                        l.remove("benchmark_id");
                    }
                    (b["build"]["id"].as_str().unwrap().to_string(), b)
                })
                .collect()
        }

        /// Neither credential appears in anything printed or in any file of the workspace.
        fn assert_no_credentials(&self) {
            let printed = self.printed.borrow();
            for secret in [SECRET_ACCESS_KEY, ACCESS_KEY_ID] {
                assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
            }
            for entry in walkdir::WalkDir::new(self.sb.path()) {
                let entry = entry.unwrap();
                if !entry.file_type().is_file() {
                    continue;
                }
                let bytes = std::fs::read(entry.path()).unwrap();
                for secret in [SECRET_ACCESS_KEY, ACCESS_KEY_ID] {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{secret} written to {}",
                        entry.path().display()
                    );
                }
            }
        }
    }

    fn counts(v: &Value, kind: &str) -> (u64, u64) {
        (
            v[kind]["transferred"].as_u64().unwrap(),
            v[kind]["skipped"].as_u64().unwrap(),
        )
    }

    #[test]
    fn a_fresh_runner_gates_against_a_baseline_another_machine_pushed() {
        let server = S3Server::shared();
        server.create_bucket("shared-history");
        let a = Machine::new(server, "shared-history");
        let build = a.import("vision_cnn.onnx", "tract_cpu");
        a.benchmark(&build);
        a.ok(&["tag", "create", &build, "main-cnn"]);
        let pushed = a.ok(&["push", "main-cnn"]);
        assert_eq!(pushed["schema"], "mlgate.push/v1");
        assert_eq!(counts(&pushed, "objects"), (1, 0));
        assert_eq!(counts(&pushed, "builds"), (1, 0));
        assert_eq!(counts(&pushed, "benchmarks"), (1, 0));
        assert_eq!(counts(&pushed, "tag_events"), (1, 0));
        // Pushing again sends nothing.
        let again = a.ok(&["push", "main-cnn"]);
        assert_eq!(again["objects"]["transferred"], 0);
        assert_eq!(again["builds"]["transferred"], 0);
        assert_eq!(again["benchmarks"]["transferred"], 0);
        assert_eq!(again["tag_events"]["transferred"], 0);
        assert_eq!(again["bytes"], 0);

        // B: an empty workspace and the remote; `ci --remote` pulls the baseline first.
        let b = Machine::new(server, "shared-history");
        let model = b.sb.fixtures().join("vision_cnn.onnx");
        let out = b.run(&[
            "ci",
            "--model",
            model.to_str().unwrap(),
            "--baseline",
            "main-cnn",
            "--remote",
            "origin",
            "--max-time",
            "1",
            "--json",
        ]);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let report = json(&out);
        assert!(
            matches!(report["verdict"]["status"].as_str(), Some("pass" | "fail")),
            "{report}"
        );
        assert!(
            stderr(&out).contains("pulled baseline `main-cnn`"),
            "{}",
            stderr(&out)
        );
        // The pulled artifact is the pushed one, checked.
        b.ok(&["verify"]);

        // Afterwards both sides agree on every shared build.
        b.ok(&["sync"]);
        a.ok(&["sync"]);
        let (la, lb) = (a.log(), b.log());
        assert!(la.contains_key(&build));
        assert_eq!(la, lb);
        assert_eq!(
            a.ok(&["tag", "list"])["tags"],
            b.ok(&["tag", "list"])["tags"]
        );

        // A wrong secret is refused with what to check, and never echoed.
        let mut cmd = b.sb.command(&["pull", "main-cnn"]);
        cmd.envs(server.env())
            .env("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-7781");
        let out = cmd.output().unwrap();
        // moto accepts any signature unless told otherwise: a wrong secret may pass, but
        // the message, if any, must not contain it.
        assert!(!stderr(&out).contains("wrong-secret-value-7781"));
        // A bucket that does not exist: exit 2 naming it.
        let c = Machine::new(server, "no-such-bucket");
        let out = c.run(&["pull", "main-cnn"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("no-such-bucket"), "{}", stderr(&out));
        // No credentials at all: exit 2 saying where they are looked for.
        let mut cmd = b.sb.command(&["pull", "main-cnn"]);
        cmd.envs(server.env())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("AWS_ACCESS_KEY_ID"),
            "{}",
            stderr(&out)
        );

        a.assert_no_credentials();
        b.assert_no_credentials();
        c.assert_no_credentials();
    }

    #[test]
    fn concurrent_pushes_lose_nothing_and_tag_conflicts_are_reported() {
        let server = S3Server::shared();
        server.create_bucket("concurrent");
        let a = Machine::new(server, "concurrent");
        let b = Machine::new(server, "concurrent");
        let build_a = a.import("tiny_mlp.onnx", "tract_cpu");
        let build_b = b.import("vision_cnn.onnx", "tract_cpu");
        a.ok(&["tag", "create", &build_a, "release"]);
        b.ok(&["tag", "create", &build_b, "release"]);
        // Both push at once.
        let spawn = |m: &Machine| {
            let mut cmd = m.sb.command(&["push", "--all", "--json"]);
            cmd.envs(server.env());
            cmd.spawn().unwrap()
        };
        let (pa, pb) = (spawn(&a), spawn(&b));
        let (oa, ob) = (
            pa.wait_with_output().unwrap(),
            pb.wait_with_output().unwrap(),
        );
        assert_eq!(oa.status.code(), Some(0), "{}", stderr(&oa));
        assert_eq!(ob.status.code(), Some(0), "{}", stderr(&ob));

        // A third machine sees both builds and the tag resolved by the rule, with the
        // conflict reported.
        let c = Machine::new(server, "concurrent");
        let out = c.run(&["sync", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let synced = json(&out);
        assert_eq!(synced["schema"], "mlgate.sync/v1");
        let log = c.log();
        assert!(
            log.contains_key(&build_a) && log.contains_key(&build_b),
            "{log:?}"
        );
        let conflicts = synced["pulled"]["conflicts"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "{synced}");
        assert!(
            stderr(&out).contains("tag `release` was moved concurrently"),
            "{}",
            stderr(&out)
        );
        let kept = conflicts[0]["kept_build_id"].as_str().unwrap().to_string();
        let tags = c.ok(&["tag", "list"]);
        assert_eq!(tags["tags"][0]["build_id"], kept.as_str());
        // The machines that raced converge on the same answer.
        a.ok(&["sync"]);
        b.ok(&["sync"]);
        for m in [&a, &b] {
            assert_eq!(m.ok(&["tag", "list"])["tags"][0]["build_id"], kept.as_str());
        }
        a.assert_no_credentials();
    }

    #[test]
    fn a_tampered_object_is_caught_and_nothing_becomes_visible() {
        let server = S3Server::shared();
        server.create_bucket("tampered");
        let a = Machine::new(server, "tampered");
        let build = a.import("tiny_mlp.onnx", "tract_cpu");
        a.ok(&["push", &build]);
        let objects = server.keys("tampered", "objects/sha256/");
        assert_eq!(objects.len(), 1, "{objects:?}");
        server.put_object("tampered", &objects[0], b"not the model");

        let b = Machine::new(server, "tampered");
        let out = b.run(&["pull", &build[..12]]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(&objects[0]), "{}", stderr(&out));
        assert!(b.log().is_empty());
        let store = b.sb.workspace().join("artifacts/sha256");
        assert_eq!(std::fs::read_dir(&store).map(|d| d.count()).unwrap_or(0), 0);
        b.ok(&["verify"]);
    }

    #[test]
    fn an_interrupted_push_stays_invisible_and_a_rerun_completes_it() {
        let server = S3Server::shared();
        server.create_bucket("interrupted");
        let a = Machine::new(server, "interrupted");
        let build = a.import("vision_cnn.onnx", "tract_cpu");
        a.ok(&["tag", "create", &build, "main"]);
        a.ok(&["push", "main"]);
        // As if the push had died after its objects: the records are gone.
        for prefix in ["builds/", "benchmarks/", "tags/"] {
            server.delete_objects("interrupted", &server.keys("interrupted", prefix));
        }
        let b = Machine::new(server, "interrupted");
        let out = b.run(&["pull", "main"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("has no build or tag matching `main`"),
            "{}",
            stderr(&out)
        );
        assert!(b.log().is_empty());

        let rerun = a.ok(&["push", "main"]);
        assert_eq!(counts(&rerun, "objects"), (0, 1));
        assert_eq!(counts(&rerun, "builds"), (1, 0));
        let pulled = b.ok(&["pull", "main"]);
        assert_eq!(pulled["schema"], "mlgate.pull/v1");
        assert_eq!(counts(&pulled, "objects"), (1, 0));
        assert_eq!(b.log().keys().collect::<Vec<_>>(), vec![&build]);
        assert_eq!(b.ok(&["tag", "list"])["tags"][0]["name"], "main");
    }
}
