#![no_main]
//! ONNX: decoding arbitrary bytes never panics, and whatever decodes re-encodes stably.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(model) = mlgate_ir::onnx::decode(data) {
        let once = mlgate_ir::onnx::encode(&model);
        let again = mlgate_ir::onnx::decode(&once).expect("our own encoding decodes");
        assert_eq!(once, mlgate_ir::onnx::encode(&again), "re-encoding is not stable");
    }
    common::inspect_as("model.onnx", data);
});
