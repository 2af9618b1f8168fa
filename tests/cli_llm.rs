//! `mlgate llm-bench` and `mlgate infer` on a GGUF decoder (candle), end to end.

use mlgate_testkit::{sandbox, stderr, stdout};

/// A non-GGUF model is refused by llm-bench, naming the file (no download needed).
#[test]
fn llm_bench_refuses_a_model_that_is_not_gguf() {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let o = s.run(&[
        "llm-bench",
        cnn.to_str().unwrap(),
        "-p",
        "4",
        "-n",
        "2",
        "-r",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains("vision_cnn.onnx"), "{e}");
}

mod needs_downloads {
    use super::*;

    fn smollm2() -> std::path::PathBuf {
        mlgate_testkit::testdata("smollm2").join("SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// A short run on SmolLM2-135M: the numbers agree with each other, every request is
    /// there, and the text and CSV outputs have their shapes.
    #[test]
    fn llm_bench_on_smollm2_is_self_consistent() {
        let s = sandbox!();
        let model = smollm2();
        let m = model.to_str().unwrap();
        let v = s.json_ok(&[
            "llm-bench",
            m,
            "-p",
            "16",
            "-n",
            "8",
            "-r",
            "2",
            "--threads",
            "2",
        ]);
        assert_eq!(v["schema"], "mlgate.llm-bench/v1");
        assert_eq!(v["tokenization"], "excluded");
        let r = &v["result"];
        assert_eq!(r["model"]["architecture"], "llama");
        assert_eq!(r["model"]["vocab_size"], 49152);
        assert_eq!(r["session"]["backend"], "candle");
        assert_eq!(r["session"]["intra_op_threads"], 2);
        assert!(r["load_ms"].as_f64().unwrap() > 0.0);
        let tests = r["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 1);
        let t = &tests[0];
        let trials = t["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 2);
        for trial in trials {
            let mtr = &trial["metrics"];
            let ttft = mtr["ttft_ms"].as_f64().unwrap();
            assert!(ttft >= mtr["prefill_ms"].as_f64().unwrap(), "{trial}");
            assert_eq!(trial["times"]["token_end_ms"].as_array().unwrap().len(), 8);
            assert_eq!(mtr["itl_ms"].as_array().unwrap().len(), 7);
            assert!(trial["generated"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.as_u64().unwrap() < 49152));
        }
        // Greedy decoding of the same prompt length is deterministic only per prompt; the
        // prompts differ per trial, so only the counts are compared.
        let tg = t["decode_tokens_per_second"]["mean"].as_f64().unwrap();
        let tpot = t["tpot"]["mean_ms"].as_f64().unwrap();
        let ratio = tg / (1000.0 / tpot);
        assert!(
            (0.9..=1.1).contains(&ratio),
            "tg {tg} t/s vs TPOT {tpot} ms"
        );
        // Two TTFT samples are too few for a percentile: withheld, not estimated.
        assert_eq!(t["ttft"]["percentiles"][0]["sufficient"], false);
        assert!(t["itl"]["n"].as_u64().unwrap() == 14);

        let md = stdout(&s.run(&["llm-bench", m, "-p", "8", "-n", "2", "-r", "1"]));
        assert!(
            md.contains("| model | size | params | backend | threads | test | t/s |")
                && md.contains("| pp8 |")
                && md.contains("tg2 @ d8")
                && md.contains("tokenization excluded"),
            "{md}"
        );
        let csv = stdout(&s.run(&["llm-bench", m, "-p", "8", "-n", "2", "-r", "2", "-o", "csv"]));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "backend,model,precision,context_length,generate_length,trial,latency_ms,tokens_per_second,ttft_ms,tpot_ms");
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(
            lines[1].starts_with("candle,") && lines[1].contains(",Q4_1,8,2,1,"),
            "{csv}"
        );
    }

    /// `infer` runs one forward pass: the logits of the last position, one per token of
    /// the vocabulary.
    #[test]
    fn infer_gguf_returns_the_last_position_logits() {
        let s = sandbox!();
        let v = s.json_ok(&["infer", smollm2().to_str().unwrap(), "--seq-len", "8"]);
        assert_eq!(v["session"]["backend"], "candle", "{v}");
        assert_eq!(v["outputs"][0]["name"], "logits");
        assert_eq!(v["outputs"][0]["shape"], serde_json::json!([49152]), "{v}");
    }

    /// A GGUF model registers for the llm_cpu target.
    #[test]
    fn import_gguf_for_llm_cpu() {
        let s = sandbox!();
        s.json_ok(&["init"]);
        let v = s.json_ok(&[
            "import",
            "--model",
            smollm2().to_str().unwrap(),
            "--target",
            "llm_cpu",
        ]);
        assert_eq!(v["build"]["target"], "llm_cpu", "{v}");
    }
}
