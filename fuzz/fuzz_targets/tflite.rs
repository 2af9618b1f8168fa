#![no_main]
//! TFLite: arbitrary bytes (the fuzzer quickly learns the TFL3 identifier from the seeds).

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = mlgate_ir::tflite::parse_model(std::path::Path::new("fuzz.tflite"), data);
    common::inspect_as("model.tflite", data);
});
