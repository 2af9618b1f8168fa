//! candle (pure Rust, behind the default-on `candle` feature): GGUF decoders of the llama
//! family on the CPU, through `candle_transformers::models::quantized_llama`.
//!
//! Two ways in. The generic [`Session`] runs one forward pass from an empty cache: input
//! `tokens` (i32, `[seq]`), output `logits` (f32, `[vocab]`) of the last position,
//! so `mlgate infer model.gguf` works like for any model. Text generation goes through
//! [`crate::Decoder`] (prefill, then one greedy token at a time with the KV cache), which is
//! what `mlgate llm-bench` measures.
//!
//! candle's CPU kernels run on one process-wide thread pool sized once, on first use, from
//! `CANDLE_NUM_THREADS` (else `RAYON_NUM_THREADS`, else the physical cores): a session
//! records that count and cannot change it.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{DType as CDType, Device, Tensor as CTensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use mlgate_ir::tensor::{Tensor, TensorData};
use mlgate_ir::{DType, Dim, ModelFormat, TensorInfo};

use crate::{
    Backend, BackendError, BackendKind, Decoder, DecoderInfo, Result, RuntimeStatus, Session,
    SessionInfo, SessionOptions,
};

const KIND: BackendKind = BackendKind::Candle;
/// candle's version, pinned in the workspace manifest.
pub const CANDLE_VERSION: &str = "0.11.1";
/// Architectures `quantized_llama` reads (its metadata keys are `llama.*`).
const LLAMA_FAMILY: &[&str] = &["llama"];

pub struct CandleBackend;

impl Backend for CandleBackend {
    fn kind(&self) -> BackendKind {
        KIND
    }

    fn formats(&self) -> &'static [ModelFormat] {
        &[ModelFormat::Gguf]
    }

    fn probe(&self) -> RuntimeStatus {
        RuntimeStatus {
            backend: KIND,
            available: true,
            formats: self.formats().to_vec(),
            library: None,
            source: Some("built in".into()),
            version: Some(CANDLE_VERSION.into()),
            problem: None,
            install: None,
        }
    }

    fn load(&self, model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>> {
        let decoder = CandleDecoder::load(model, options)?;
        Ok(Box::new(CandleSession {
            inputs: vec![TensorInfo {
                name: "tokens".into(),
                tensor_name: None,
                dtype: DType::I32,
                shape: Some(vec![Dim::Symbolic("seq".into())]),
                quantization: None,
            }],
            outputs: vec![TensorInfo {
                name: "logits".into(),
                tensor_name: None,
                dtype: DType::F32,
                shape: Some(vec![Dim::Fixed(decoder.meta.vocab_size as u64)]),
                quantization: None,
            }],
            decoder,
            bound: Vec::new(),
            last: None,
        }))
    }
}

/// Threads candle's pool has (or will have, when first used): see the module docs.
fn candle_threads() -> usize {
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    env("CANDLE_NUM_THREADS")
        .or_else(|| env("RAYON_NUM_THREADS"))
        .unwrap_or_else(candle_core::utils::get_num_threads)
}

/// A llama-family GGUF decoder on the CPU, with its KV cache.
pub struct CandleDecoder {
    weights: ModelWeights,
    /// Tokens in the cache.
    pos: usize,
    meta: DecoderInfo,
    info: SessionInfo,
}

impl CandleDecoder {
    /// Loads `model` (GGUF, llama family) on the CPU.
    pub fn load(model: &Path, options: &SessionOptions) -> Result<CandleDecoder> {
        if options.execution_provider != crate::ExecutionProvider::Cpu {
            return Err(BackendError::Options {
                backend: KIND,
                detail: format!(
                    "the candle backend runs on the CPU only, not {}",
                    options.execution_provider
                ),
            });
        }
        let load_err = |detail: String| BackendError::Load {
            backend: KIND,
            model: model.to_owned(),
            detail,
        };
        let start = Instant::now();
        let file = File::open(model).map_err(|e| load_err(e.to_string()))?;
        let mut reader = BufReader::new(file);
        let content = gguf_file::Content::read(&mut reader).map_err(|e| load_err(e.to_string()))?;
        let arch = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| "unknown (no general.architecture)".into());
        if !LLAMA_FAMILY.contains(&arch.as_str()) {
            return Err(load_err(format!(
                "not supported yet: {arch} (the candle backend runs llama-family GGUF \
                 decoders: {})",
                LLAMA_FAMILY.join(", ")
            )));
        }
        let vocab_size = content
            .tensor_infos
            .get("token_embd.weight")
            .map(|t| t.shape.dims()[0])
            .ok_or_else(|| load_err("no token_embd.weight tensor".into()))?;
        let context_length = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map(|v| v as usize);
        let parameters: u64 = content
            .tensor_infos
            .values()
            .map(|t| t.shape.elem_count() as u64)
            .sum();
        let precision = precision_of(&content);
        let weights = ModelWeights::from_gguf(content, &mut reader, &Device::Cpu)
            .map_err(|e| load_err(e.to_string()))?;
        let threads = candle_threads();
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(CandleDecoder {
            weights,
            pos: 0,
            meta: DecoderInfo {
                architecture: arch,
                vocab_size,
                context_length,
                parameters,
                precision,
                file_bytes: std::fs::metadata(model).map(|m| m.len()).unwrap_or(0),
            },
            info: SessionInfo {
                backend: KIND,
                runtime_version: Some(CANDLE_VERSION.into()),
                library: None,
                model: model.to_owned(),
                intra_op_threads: Some(threads),
                inter_op_threads: Some(1),
                graph_optimization: options.graph_optimization,
                execution_provider: options.execution_provider,
                load_ms,
                session_config: Vec::new(),
                warnings: Vec::new(),
            },
        })
    }

    fn run_err(&self, detail: impl std::fmt::Display) -> BackendError {
        BackendError::Run {
            backend: KIND,
            model: self.info.model.clone(),
            detail: detail.to_string(),
        }
    }

    /// Feeds `tokens` after what the cache holds; the logits of the last one.
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        if tokens.is_empty() {
            return Err(self.run_err("no tokens to run"));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= self.meta.vocab_size) {
            return Err(self.run_err(format!(
                "token id {bad} is outside the vocabulary (size {})",
                self.meta.vocab_size
            )));
        }
        if let Some(ctx) = self.meta.context_length {
            if self.pos + tokens.len() > ctx {
                return Err(self.run_err(format!(
                    "{} tokens exceed the context length {ctx}",
                    self.pos + tokens.len()
                )));
            }
        }
        let pos = self.pos;
        let weights = &mut self.weights;
        let result = (|| -> candle_core::Result<Vec<f32>> {
            let x = CTensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
            let logits = weights.forward(&x, pos)?;
            logits.squeeze(0)?.to_dtype(CDType::F32)?.to_vec1::<f32>()
        })();
        let logits = result.map_err(|e| self.run_err(e))?;
        self.pos += tokens.len();
        Ok(logits)
    }
}

/// The most common tensor type among the 2-D weights (`Q4_1`, `F16`…).
fn precision_of(content: &gguf_file::Content) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for t in content.tensor_infos.values() {
        if t.shape.rank() < 2 {
            continue;
        }
        let name = format!("{:?}", t.ggml_dtype);
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
        .into_iter()
        .next()
        .map(|(n, _)| n.to_uppercase())
        .unwrap_or_else(|| "unknown".into())
}

/// Index of the largest logit (the first on ties): greedy decoding.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

impl Decoder for CandleDecoder {
    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn describe(&self) -> &DecoderInfo {
        &self.meta
    }

    fn reset(&mut self) {
        self.weights.clear_kv_cache();
        self.pos = 0;
    }

    fn prefill(&mut self, tokens: &[u32]) -> Result<u32> {
        self.reset();
        Ok(argmax(&self.forward(tokens)?))
    }

    fn extend(&mut self, tokens: &[u32]) -> Result<u32> {
        Ok(argmax(&self.forward(tokens)?))
    }

    fn decode(&mut self, token: u32) -> Result<u32> {
        Ok(argmax(&self.forward(&[token])?))
    }
}

/// The [`Session`] view: `tokens` in, last-position `logits` out, from an empty cache.
struct CandleSession {
    decoder: CandleDecoder,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    bound: Vec<u32>,
    last: Option<Vec<f32>>,
}

impl Session for CandleSession {
    fn info(&self) -> &SessionInfo {
        &self.decoder.info
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    fn bind(&mut self, ordered: &[&Tensor]) -> Result<()> {
        let input_err = |detail: String| BackendError::Input {
            backend: KIND,
            model: self.decoder.info.model.clone(),
            detail,
        };
        let t = ordered
            .first()
            .ok_or_else(|| input_err("expected one input, `tokens`".into()))?;
        let ids: Vec<i64> = match t.data() {
            TensorData::I64(v) => v.clone(),
            TensorData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            other => {
                return Err(input_err(format!(
                    "tokens must be i32 or i64, not {}",
                    other.dtype()
                )))
            }
        };
        let vocab = self.decoder.meta.vocab_size as i64;
        if let Some(bad) = ids.iter().find(|&&x| x < 0 || x >= vocab) {
            return Err(input_err(format!(
                "token id {bad} is outside the vocabulary (0..{vocab})"
            )));
        }
        self.bound = ids.into_iter().map(|x| x as u32).collect();
        self.last = None;
        Ok(())
    }

    fn run_prepared(&mut self) -> Result<()> {
        self.decoder.reset();
        let tokens = std::mem::take(&mut self.bound);
        let logits = self.decoder.forward(&tokens);
        self.bound = tokens;
        self.last = Some(logits?);
        Ok(())
    }

    fn take_outputs(&mut self) -> Result<Vec<Tensor>> {
        let logits = self.last.take().ok_or_else(|| BackendError::Run {
            backend: KIND,
            model: self.decoder.info.model.clone(),
            detail: "no outputs: run the session first".into(),
        })?;
        let n = logits.len();
        let t = Tensor::new("logits", vec![n], TensorData::F32(logits)).map_err(|e| {
            BackendError::Run {
                backend: KIND,
                model: self.decoder.info.model.clone(),
                detail: e.to_string(),
            }
        })?;
        Ok(vec![t])
    }
}

/// Loads `model` as a [`Decoder`].
pub(crate) fn load_decoder(model: &Path, options: &SessionOptions) -> Result<Box<dyn Decoder>> {
    Ok(Box::new(CandleDecoder::load(model, options)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.0, 2.0, 2.0, -1.0]), 1);
        assert_eq!(argmax(&[5.0]), 0);
    }
}
