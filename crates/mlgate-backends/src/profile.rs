//! What a runtime's own per-op profiler recorded: one [`OpCall`] per op execution, tagged
//! with the run it belongs to, so a caller can drop warm-up runs and aggregate the rest.
//!
//! Times come from the runtime (ONNX Runtime's session profiler, or mlgate's clock around
//! each of tract's op evaluations); shapes and byte counts come with them where the runtime
//! reports them. Nothing here is estimated: FLOP estimates belong to the caller, and the
//! only cost figure carried is the runtime's own cost model, labelled as such.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Everything one profiled session recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpProfile {
    /// What measured the ops, in words (`ONNX Runtime session profiler`, ...).
    pub profiler: String,
    /// Every op execution, in the order the runtime reported them.
    pub calls: Vec<OpCall>,
    /// The runtime's own time for each whole run (ONNX Runtime's `model_run` event), ms;
    /// empty when it reports none.
    pub run_ms: Vec<f64>,
}

/// One execution of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpCall {
    /// Which run of the session (0 = the first after loading).
    pub run: usize,
    /// The node's name in the runtime's graph (after the runtime's own rewrites: fused
    /// nodes carry the runtime's names).
    pub node: String,
    /// Op type as the runtime calls it (`Conv`, `FusedConv`, `OptMatMul`, ...).
    pub op_type: String,
    /// Microseconds the runtime spent in the op.
    pub duration_us: f64,
    /// Input shapes as the runtime saw them (empty when it does not say).
    pub input_shapes: Vec<Vec<i64>>,
    /// Output shapes as the runtime saw them.
    pub output_shapes: Vec<Vec<i64>>,
    /// Bytes read and written: inputs (activations and weights) plus outputs, as the
    /// runtime reports or its shapes and types give; `None` when unknown.
    pub bytes: Option<u64>,
    /// FLOPs by the runtime's own cost model (tract: 2 × its FMA count), when it has one.
    pub runtime_flops: Option<f64>,
    /// The execution provider or kernel family that ran it, when reported.
    pub provider: Option<String>,
}

/// The error of [`crate::Session::end_op_profile`] on a session of a runtime that has a
/// profiler but was loaded without `profile_ops`, or whose profile was already taken.
pub(crate) fn not_profiling(backend: crate::BackendKind) -> crate::BackendError {
    crate::BackendError::Options {
        backend,
        detail: "this session was loaded without profile_ops, or its profile was already taken"
            .into(),
    }
}

/// Reads the Chrome-trace JSON that ONNX Runtime's session profiler writes: every
/// `<node>_kernel_time` event is one call, assigned to the `model_run` event whose time span
/// holds it; fence events and session set-up are skipped.
pub fn parse_onnxruntime_trace(text: &str) -> Result<OpProfile, String> {
    let events: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON array of events: {e}"))?;
    let num = |v: &serde_json::Value| -> Option<f64> {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    let mut runs: Vec<(f64, f64)> = events
        .iter()
        .filter(|e| e["cat"] == "Session" && e["name"] == "model_run")
        .filter_map(|e| Some((num(&e["ts"])?, num(&e["dur"])?)))
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let shapes = |v: &serde_json::Value| -> Vec<Vec<i64>> {
        // `[{"float": [1, 3, 224, 224]}, ...]`: one single-key object per tensor.
        v.as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|t| t.as_object()?.values().next()?.as_array().cloned())
                    .map(|dims| dims.iter().filter_map(|d| d.as_i64()).collect())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut calls = Vec::new();
    for e in &events {
        if e["cat"] != "Node" {
            continue;
        }
        let Some(node) = e["name"]
            .as_str()
            .and_then(|n| n.strip_suffix("_kernel_time"))
        else {
            continue;
        };
        let (Some(ts), Some(dur)) = (num(&e["ts"]), num(&e["dur"])) else {
            continue;
        };
        let args = &e["args"];
        let Some(run) = runs
            .iter()
            .position(|(start, length)| ts >= *start && ts <= start + length)
        else {
            continue;
        };
        let sizes: Vec<Option<f64>> = ["activation_size", "parameter_size", "output_size"]
            .iter()
            .map(|k| num(&args[*k]))
            .collect();
        let bytes = sizes
            .iter()
            .copied()
            .sum::<Option<f64>>()
            .map(|b| b.max(0.0) as u64);
        calls.push(OpCall {
            run,
            node: node.to_string(),
            op_type: args["op_name"].as_str().unwrap_or("?").to_string(),
            duration_us: dur,
            input_shapes: shapes(&args["input_type_shape"]),
            output_shapes: shapes(&args["output_type_shape"]),
            bytes,
            runtime_flops: None,
            provider: args["provider"].as_str().map(str::to_string),
        });
    }
    Ok(OpProfile {
        profiler: "ONNX Runtime's session profiler (per-kernel wall time)".into(),
        calls,
        run_ms: runs.iter().map(|(_, d)| d / 1e3).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_events_are_assigned_to_the_run_that_holds_them() {
        // Two runs; a fence event and a set-up event that must be skipped; sizes as strings,
        // the way the profiler writes them.
        let trace = r#"[
          {"cat":"Session","name":"session_initialization","ts":1,"dur":50,"args":{}},
          {"cat":"Node","name":"conv1_fence_before","ts":101,"dur":0,"args":{"op_name":"Conv"}},
          {"cat":"Node","name":"conv1_kernel_time","ts":102,"dur":40,"args":{"op_name":"FusedConv",
            "provider":"CPUExecutionProvider","activation_size":"100","parameter_size":"20",
            "output_size":"80","input_type_shape":[{"float":[1,3,8,8]},{"float":[4,3,3,3]}],
            "output_type_shape":[{"float":[1,4,6,6]}]}},
          {"cat":"Session","name":"model_run","ts":100,"dur":60,"args":{}},
          {"cat":"Node","name":"conv1_kernel_time","ts":202,"dur":30,"args":{"op_name":"FusedConv"}},
          {"cat":"Session","name":"model_run","ts":200,"dur":45,"args":{}}
        ]"#;
        let p = parse_onnxruntime_trace(trace).unwrap();
        assert_eq!(p.run_ms, [0.06, 0.045]);
        assert_eq!(p.calls.len(), 2);
        let first = &p.calls[0];
        assert_eq!((first.run, first.node.as_str()), (0, "conv1"));
        assert_eq!(first.op_type, "FusedConv");
        assert_eq!(first.bytes, Some(200));
        assert_eq!(first.input_shapes, [vec![1, 3, 8, 8], vec![4, 3, 3, 3]]);
        assert_eq!(first.output_shapes, [vec![1, 4, 6, 6]]);
        assert_eq!((p.calls[1].run, p.calls[1].bytes), (1, None));
        assert!(parse_onnxruntime_trace("{").is_err());
    }
}
