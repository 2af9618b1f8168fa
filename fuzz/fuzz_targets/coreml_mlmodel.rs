#![no_main]
//! CoreML `.mlmodel` protobuf specs.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::inspect_as("model.mlmodel", data);
});
