//! Text generation with a KV cache: the interface `mlgate llm-bench` measures. The generic
//! [`crate::Session`] (tensors in, tensors out) cannot express a cache that persists
//! between steps, so decoders have this one beside it.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{BackendError, BackendKind, Result, SessionInfo, SessionOptions};

/// What a loaded decoder is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DecoderInfo {
    /// `general.architecture` of the GGUF file (`llama`).
    pub architecture: String,
    pub vocab_size: usize,
    /// The longest sequence the model was trained for, when the file says.
    pub context_length: Option<usize>,
    /// Number of weights (elements of every tensor in the file).
    pub parameters: u64,
    /// The most common type of the 2-D weight tensors (`Q4_1`, `F16`…).
    pub precision: String,
    /// Size of the model file.
    pub file_bytes: u64,
}

/// A decoder-only language model with its KV cache. Every call returns only once the
/// runtime has computed the logits, so timing a call times the work.
pub trait Decoder: Send {
    fn info(&self) -> &SessionInfo;

    fn describe(&self) -> &DecoderInfo;

    /// Empties the KV cache.
    fn reset(&mut self);

    /// Empties the cache, runs `tokens` as one batch and returns the greedy (argmax) next
    /// token.
    fn prefill(&mut self, tokens: &[u32]) -> Result<u32>;

    /// Runs `tokens` as one batch after what the cache holds (a prompt at a depth) and
    /// returns the greedy next token.
    fn extend(&mut self, tokens: &[u32]) -> Result<u32>;

    /// Appends `token` to the cache and returns the greedy next token.
    fn decode(&mut self, token: u32) -> Result<u32>;
}

/// Loads a GGUF decoder on `backend` (only `candle` generates text).
pub fn load_decoder(
    backend: BackendKind,
    model: &Path,
    options: &SessionOptions,
) -> Result<Box<dyn Decoder>> {
    match backend {
        #[cfg(feature = "candle")]
        BackendKind::Candle => crate::candle::load_decoder(model, options),
        other => {
            let _ = (model, options);
            Err(BackendError::Unavailable {
                backend: other,
                reason: if other == BackendKind::Candle {
                    "this build of mlgate has no candle backend (cargo feature `candle`)".into()
                } else {
                    "text generation runs on the candle backend only".into()
                },
            })
        }
    }
}
