//! Tensors in memory and in numpy's `.npy` / `.npz` files.
//!
//! A [`Tensor`] is a name, a shape and typed little-endian-agnostic data; the shape's element
//! count always equals the data length (checked on construction, with checked arithmetic).
//! The readers never trust sizes a file claims: every length is checked against the bytes
//! that are actually there before anything is allocated for it.

use schemars::JsonSchema;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::DType;

/// Everything that can go wrong building, reading or writing tensors.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    #[error(
        "tensor '{name}': shape {shape:?} holds {expected} elements but its data has {actual}"
    )]
    ShapeMismatch {
        name: String,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },

    #[error("tensor '{name}': the element count of shape {shape:?} does not fit in memory")]
    ShapeOverflow { name: String, shape: Vec<usize> },

    #[error("{path}: cannot read or write: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file (or one array inside an `.npz`) is not something mlgate can read.
    #[error("{}: {detail}", location(path, array.as_deref()))]
    Format {
        path: PathBuf,
        array: Option<String>,
        detail: String,
    },
}

fn location(path: &Path, array: Option<&str>) -> String {
    match array {
        Some(a) => format!("{}: array '{a}'", path.display()),
        None => path.display().to_string(),
    }
}

impl TensorError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        TensorError::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn format(path: &Path, array: Option<&str>, detail: impl Into<String>) -> Self {
        TensorError::Format {
            path: path.to_owned(),
            array: array.map(str::to_owned),
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Typed element storage. `F16` keeps the IEEE half-precision bit patterns, so users of this
/// type need no half-float type of their own; [`f16_to_f32`] / [`f32_to_f16`] convert.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F16(Vec<u16>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

/// Applies `$body` to the typed vector inside a `TensorData`, whatever its type.
macro_rules! with_vec {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            TensorData::F32($v) => $body,
            TensorData::F16($v) => $body,
            TensorData::F64($v) => $body,
            TensorData::I8($v) => $body,
            TensorData::I16($v) => $body,
            TensorData::I32($v) => $body,
            TensorData::I64($v) => $body,
            TensorData::U8($v) => $body,
            TensorData::U16($v) => $body,
            TensorData::U32($v) => $body,
            TensorData::U64($v) => $body,
            TensorData::Bool($v) => $body,
        }
    };
}

impl TensorData {
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
            TensorData::U16(_) => DType::U16,
            TensorData::U32(_) => DType::U32,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_vec!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` zeros (false) of `dtype`; `None` for a dtype this type cannot hold.
    pub fn zeros(dtype: &DType, n: usize) -> Option<TensorData> {
        Some(match dtype {
            DType::F32 => TensorData::F32(vec![0.0; n]),
            DType::F16 => TensorData::F16(vec![0; n]),
            DType::F64 => TensorData::F64(vec![0.0; n]),
            DType::I8 => TensorData::I8(vec![0; n]),
            DType::I16 => TensorData::I16(vec![0; n]),
            DType::I32 => TensorData::I32(vec![0; n]),
            DType::I64 => TensorData::I64(vec![0; n]),
            DType::U8 => TensorData::U8(vec![0; n]),
            DType::U16 => TensorData::U16(vec![0; n]),
            DType::U32 => TensorData::U32(vec![0; n]),
            DType::U64 => TensorData::U64(vec![0; n]),
            DType::Bool => TensorData::Bool(vec![false; n]),
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn element_size(&self) -> usize {
        match self {
            TensorData::I8(_) | TensorData::U8(_) | TensorData::Bool(_) => 1,
            TensorData::F16(_) | TensorData::I16(_) | TensorData::U16(_) => 2,
            TensorData::F32(_) | TensorData::I32(_) | TensorData::U32(_) => 4,
            TensorData::F64(_) | TensorData::I64(_) | TensorData::U64(_) => 8,
        }
    }

    /// Size of the data in bytes.
    pub fn byte_len(&self) -> usize {
        // Cannot overflow: the vector already exists in memory.
        self.len() * self.element_size()
    }

    /// The elements as little-endian bytes, the layout of `.npy` files and of runtimes'
    /// host buffers on the platforms mlgate supports.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        match self {
            TensorData::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
            TensorData::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I8(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::U8(v) => out.extend_from_slice(v),
            TensorData::U16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::U32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::U64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
        out
    }

    /// Decodes little-endian bytes as `dtype`. `None` when `dtype` is not one this type
    /// holds or `bytes` is not a whole number of elements. Bools accept any non-zero byte
    /// as true, as numpy does.
    pub fn from_le_bytes(dtype: &DType, bytes: &[u8]) -> Option<TensorData> {
        macro_rules! decode {
            ($variant:ident, $t:ty) => {{
                const N: usize = std::mem::size_of::<$t>();
                if !bytes.chunks_exact(N).remainder().is_empty() {
                    return None;
                }
                TensorData::$variant(
                    bytes
                        .chunks_exact(N)
                        .map(|c| {
                            let mut a = [0u8; N];
                            a.copy_from_slice(c);
                            <$t>::from_le_bytes(a)
                        })
                        .collect(),
                )
            }};
        }
        Some(match dtype {
            DType::F32 => decode!(F32, f32),
            DType::F16 => decode!(F16, u16),
            DType::F64 => decode!(F64, f64),
            DType::I8 => decode!(I8, i8),
            DType::I16 => decode!(I16, i16),
            DType::I32 => decode!(I32, i32),
            DType::I64 => decode!(I64, i64),
            DType::U8 => TensorData::U8(bytes.to_vec()),
            DType::U16 => decode!(U16, u16),
            DType::U32 => decode!(U32, u32),
            DType::U64 => decode!(U64, u64),
            DType::Bool => TensorData::Bool(bytes.iter().map(|&b| b != 0).collect()),
            _ => return None,
        })
    }

    /// Element `i` as f64 (bool as 0/1, f16 widened); `None` past the end. Integers beyond
    /// 2^53 lose precision, which is fine for statistics and comparisons.
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        Some(match self {
            TensorData::F32(v) => f64::from(*v.get(i)?),
            TensorData::F16(v) => f64::from(f16_to_f32(*v.get(i)?)),
            TensorData::F64(v) => *v.get(i)?,
            TensorData::I8(v) => f64::from(*v.get(i)?),
            TensorData::I16(v) => f64::from(*v.get(i)?),
            TensorData::I32(v) => f64::from(*v.get(i)?),
            TensorData::I64(v) => *v.get(i)? as f64,
            TensorData::U8(v) => f64::from(*v.get(i)?),
            TensorData::U16(v) => f64::from(*v.get(i)?),
            TensorData::U32(v) => f64::from(*v.get(i)?),
            TensorData::U64(v) => *v.get(i)? as f64,
            TensorData::Bool(v) => f64::from(u8::from(*v.get(i)?)),
        })
    }

    /// All elements as f64, see [`TensorData::get_f64`].
    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.len()).filter_map(|i| self.get_f64(i)).collect()
    }
}

/// IEEE 754 half-precision bits to f32 (exact; NaN payloads kept, quieted).
pub fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// f32 to IEEE 754 half-precision bits, rounding to nearest even.
pub fn f32_to_f16(value: f32) -> u16 {
    half::f16::from_f32(value).to_bits()
}

/// A named, shaped array of one element type, stored row-major (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    name: String,
    shape: Vec<usize>,
    data: TensorData,
}

/// Product of `shape`, `None` on overflow. The empty shape (a scalar) has one element.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

impl Tensor {
    /// A tensor whose shape holds exactly `data.len()` elements.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: TensorData) -> Result<Tensor> {
        let name = name.into();
        let Some(expected) = element_count(&shape) else {
            return Err(TensorError::ShapeOverflow { name, shape });
        };
        if expected != data.len() {
            return Err(TensorError::ShapeMismatch {
                name,
                shape,
                expected,
                actual: data.len(),
            });
        }
        Ok(Tensor { name, shape, data })
    }

    /// A tensor of zeros; `None` for a dtype [`TensorData`] cannot hold or a shape whose
    /// element count overflows.
    pub fn zeros(name: impl Into<String>, dtype: &DType, shape: Vec<usize>) -> Option<Tensor> {
        let n = element_count(&shape)?;
        let data = TensorData::zeros(dtype, n)?;
        Some(Tensor {
            name: name.into(),
            shape,
            data,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Tensor {
        self.name = name.into();
        self
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    pub fn into_data(self) -> TensorData {
        self.data
    }

    pub fn into_parts(self) -> (String, Vec<usize>, TensorData) {
        (self.name, self.shape, self.data)
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn byte_len(&self) -> usize {
        self.data.byte_len()
    }

    /// Summary statistics over all elements.
    pub fn stats(&self) -> TensorStats {
        TensorStats::of(&self.data)
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}{:?}", self.name, self.dtype(), self.shape)
    }
}

/// Summary of a tensor's values. min/max/mean/std are over the finite values only (bools as
/// 0/1); they are `None` when there is none.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, JsonSchema)]
pub struct TensorStats {
    pub count: usize,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation.
    pub std: Option<f64>,
    pub nan_count: usize,
    pub inf_count: usize,
}

impl TensorStats {
    pub fn of(data: &TensorData) -> TensorStats {
        let mut s = TensorStats {
            count: data.len(),
            min: None,
            max: None,
            mean: None,
            std: None,
            nan_count: 0,
            inf_count: 0,
        };
        // Welford's update: stable for long tensors with a large mean.
        let (mut n, mut mean, mut m2) = (0u64, 0f64, 0f64);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..data.len() {
            let Some(x) = data.get_f64(i) else { break };
            if x.is_nan() {
                s.nan_count += 1;
                continue;
            }
            if x.is_infinite() {
                s.inf_count += 1;
                continue;
            }
            n += 1;
            let d = x - mean;
            mean += d / n as f64;
            m2 += d * (x - mean);
            lo = lo.min(x);
            hi = hi.max(x);
        }
        if n > 0 {
            s.min = Some(lo);
            s.max = Some(hi);
            s.mean = Some(mean);
            s.std = Some((m2 / n as f64).sqrt());
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// .npy

const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Far above anything numpy writes (it caps headers at 10 000 bytes when reading).
const MAX_HEADER_LEN: usize = 1 << 20;

/// numpy's `descr` for each dtype mlgate reads and writes.
fn npy_descr(dtype: &DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        _ => return None,
    })
}

fn parse_descr(descr: &str) -> std::result::Result<DType, String> {
    let supported = "supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1";
    let mut chars = descr.chars();
    let order = chars
        .next()
        .ok_or_else(|| "empty dtype descr".to_string())?;
    let kind_size: String = chars.collect();
    let one_byte = matches!(kind_size.as_str(), "i1" | "u1" | "b1");
    match order {
        '<' | '|' => {}
        '=' if cfg!(target_endian = "little") => {}
        '>' if one_byte => {}
        '>' => {
            return Err(format!(
                "dtype '{descr}' is big-endian; save it little-endian (arr.astype(arr.dtype.newbyteorder('<')))"
            ))
        }
        _ => return Err(format!("dtype '{descr}' is not supported ({supported})")),
    }
    Ok(match kind_size.as_str() {
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        k if k.starts_with('O') => return Err(
            "object arrays (dtype 'O') are not supported; they hold Python objects, not numbers"
                .into(),
        ),
        _ => return Err(format!("dtype '{descr}' is not supported ({supported})")),
    })
}

/// A value in the Python-literal header dict.
#[derive(Debug, PartialEq)]
enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
    /// Anything else (lists for structured dtypes, None, ...), kept as a description.
    Other(String),
}

/// A tiny parser for the header numpy writes: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`. It accepts either quote style and any whitespace.
struct HeaderParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> HeaderParser<'a> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "header: expected '{}' at byte {}",
                c as char, self.pos
            ))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let q = self
            .peek()
            .filter(|&c| c == b'\'' || c == b'"')
            .ok_or("header: expected a quoted string")?;
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != q {
            if self.s[self.pos] == b'\\' {
                return Err("header: escapes in strings are not supported".into());
            }
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return Err("header: unterminated string".into());
        }
        let out = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(out)
    }

    fn word(&mut self) -> &'a [u8] {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn tuple(&mut self) -> std::result::Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            if self.peek() == Some(b')') {
                self.pos += 1;
                return Ok(dims);
            }
            let w = self.word();
            // Python 2 era files write longs as `3L`.
            let w = w.strip_suffix(b"L").unwrap_or(w);
            let text = std::str::from_utf8(w).unwrap_or("");
            let d: u64 = text.parse().map_err(|_| {
                format!("header: shape entry '{text}' is not a non-negative integer")
            })?;
            dims.push(d);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {}
                _ => return Err("header: malformed shape tuple".into()),
            }
        }
    }

    fn value(&mut self) -> std::result::Result<PyValue, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(PyValue::Str),
            Some(b'(') => self.tuple().map(PyValue::Tuple),
            Some(b'[') => {
                // Structured dtype: skip to the matching bracket.
                let mut depth = 0usize;
                while let Some(&c) = self.s.get(self.pos) {
                    self.pos += 1;
                    match c {
                        b'[' | b'(' => depth += 1,
                        b']' | b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return Ok(PyValue::Other(
                                    "a structured dtype (list of fields)".into(),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                Err("header: unterminated list".into())
            }
            _ => match self.word() {
                b"True" => Ok(PyValue::Bool(true)),
                b"False" => Ok(PyValue::Bool(false)),
                w if !w.is_empty() => Ok(PyValue::Other(String::from_utf8_lossy(w).into_owned())),
                _ => Err(format!("header: unexpected character at byte {}", self.pos)),
            },
        }
    }

    fn dict(&mut self) -> std::result::Result<Vec<(String, PyValue)>, String> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(entries);
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            entries.push((key, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err("header: expected ',' or '}' in the dict".into()),
            }
        }
    }
}

/// What the header of an `.npy` says.
#[derive(Debug, PartialEq)]
struct NpyHeader {
    dtype: DType,
    shape: Vec<usize>,
    /// Offset of the first data byte.
    data_offset: usize,
}

fn parse_npy_header(bytes: &[u8]) -> std::result::Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != NPY_MAGIC {
        return Err("not a .npy array (bad magic; expected \\x93NUMPY)".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("truncated .npy header")?;
            let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (
                usize::try_from(n).map_err(|_| "header length overflows")?,
                12,
            )
        }
        _ => {
            return Err(format!(
                ".npy format version {major}.{minor} is not supported (1.0, 2.0, 3.0 are)"
            ))
        }
    };
    if header_len > MAX_HEADER_LEN {
        return Err(format!(
            "header claims {header_len} bytes, more than the {MAX_HEADER_LEN} allowed"
        ));
    }
    let end = start + header_len;
    let header = bytes.get(start..end).ok_or_else(|| {
        format!(
            "truncated: header claims {header_len} bytes, the file has {}",
            bytes.len() - start
        )
    })?;
    let mut p = HeaderParser { s: header, pos: 0 };
    let entries = p.dict()?;
    let get = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let dtype = match get("descr") {
        Some(PyValue::Str(d)) => parse_descr(d)?,
        Some(PyValue::Other(what)) => {
            return Err(format!(
                "{what} is not supported; save plain numeric arrays"
            ))
        }
        _ => return Err("header: missing or malformed 'descr'".into()),
    };
    match get("fortran_order") {
        Some(PyValue::Bool(false)) => {}
        Some(PyValue::Bool(true)) => {
            return Err(
                "Fortran-ordered arrays are not supported; save with np.ascontiguousarray(arr)"
                    .into(),
            )
        }
        _ => return Err("header: missing or malformed 'fortran_order'".into()),
    }
    let shape = match get("shape") {
        Some(PyValue::Tuple(dims)) => dims
            .iter()
            .map(|&d| {
                usize::try_from(d).map_err(|_| format!("shape entry {d} does not fit in memory"))
            })
            .collect::<std::result::Result<Vec<usize>, String>>()?,
        _ => return Err("header: missing or malformed 'shape'".into()),
    };
    Ok(NpyHeader {
        dtype,
        shape,
        data_offset: end,
    })
}

/// Parses a whole `.npy` held in memory; `name` becomes the tensor's name.
fn parse_npy(bytes: &[u8], name: &str) -> std::result::Result<Tensor, String> {
    let h = parse_npy_header(bytes)?;
    let count = element_count(&h.shape)
        .ok_or_else(|| format!("shape {:?} overflows the element count", h.shape))?;
    let size = h.dtype.size_bytes().unwrap_or(1) as usize;
    let available = bytes.len() - h.data_offset;
    // Compare against what is there before decoding anything: a header may claim 10^12
    // elements in a 1 KB file.
    let need = count
        .checked_mul(size)
        .ok_or_else(|| format!("shape {:?} overflows the byte count", h.shape))?;
    if need != available {
        return Err(if need > available {
            format!(
                "truncated: shape {:?} of {} needs {need} data bytes, the file has {available}",
                h.shape, h.dtype
            )
        } else {
            format!(
                "{} unexpected bytes after the data of shape {:?} of {}",
                available - need,
                h.shape,
                h.dtype
            )
        });
    }
    let data = TensorData::from_le_bytes(&h.dtype, &bytes[h.data_offset..])
        .ok_or_else(|| format!("cannot decode {} data", h.dtype))?;
    Tensor::new(name, h.shape, data).map_err(|e| e.to_string())
}

/// The `.npy` bytes for `tensor` (format 1.0, or 2.0 when the header needs it).
pub fn npy_bytes(tensor: &Tensor) -> std::result::Result<Vec<u8>, String> {
    let descr = npy_descr(&tensor.dtype())
        .ok_or_else(|| format!("dtype {} has no .npy form", tensor.dtype()))?;
    let shape = match tensor.shape.as_slice() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // numpy pads the header with spaces and a newline so the data starts 64-byte aligned.
    let (version, prefix) = if header.len() + 11 <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let total = (prefix + header.len() + 1).div_ceil(64) * 64;
    header.extend(std::iter::repeat_n(' ', total - prefix - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + tensor.byte_len());
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        let len = u32::try_from(header.len()).map_err(|_| "header too long".to_string())?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&tensor.data.to_le_bytes());
    Ok(out)
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads one `.npy` file; the tensor is named after the file stem.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| TensorError::io(path, e))?;
    parse_npy(&bytes, &file_stem(path)).map_err(|d| TensorError::format(path, None, d))
}

/// Writes one `.npy` file (the tensor's name is not stored).
pub fn write_npy(path: &Path, tensor: &Tensor) -> Result<()> {
    let bytes = npy_bytes(tensor).map_err(|d| TensorError::format(path, Some(tensor.name()), d))?;
    std::fs::write(path, bytes).map_err(|e| TensorError::io(path, e))
}

// ---------------------------------------------------------------------------------------
// .npz

/// Deflate cannot expand data by more than about 1032:1; a zip entry claiming more than
/// this ratio is lying, and is refused before anything is inflated.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// Reads every array of an `.npz` (stored or deflated), in archive order, named as
/// `np.savez` names them (the entry name without `.npy`).
pub fn read_npz(path: &Path) -> Result<Vec<Tensor>> {
    let file = File::open(path).map_err(|e| TensorError::io(path, e))?;
    read_npz_from(file, path)
}

fn read_npz_from<R: Read + Seek>(reader: R, path: &Path) -> Result<Vec<Tensor>> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        TensorError::format(path, None, format!("not a valid .npz (zip) archive: {e}"))
    })?;
    let mut out = Vec::with_capacity(zip.len().min(4096));
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| TensorError::format(path, None, format!("zip entry {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name: Cow<'_, str> = entry
            .name()
            .map_err(|e| TensorError::format(path, None, format!("zip entry {i}: {e}")))?;
        let name = entry_name
            .strip_suffix(".npy")
            .unwrap_or(&entry_name)
            .to_string();
        let fail = |d: String| TensorError::format(path, Some(&name), d);
        let claimed = entry.size();
        let limit = entry
            .compressed_size()
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(4096);
        if claimed > limit {
            return Err(fail(format!(
                "entry claims {claimed} bytes from {} compressed bytes; the archive is corrupt",
                entry.compressed_size()
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(claimed).unwrap_or(0).min(1 << 30));
        // One byte more than claimed detects an entry that inflates past its stated size.
        (&mut entry)
            .take(claimed.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("cannot inflate: {e}")))?;
        if bytes.len() as u64 != claimed {
            return Err(fail(format!(
                "entry holds {} bytes, its header says {claimed}",
                bytes.len()
            )));
        }
        out.push(parse_npy(&bytes, &name).map_err(fail)?);
    }
    Ok(out)
}

/// Writes `tensors` as an `.npz`, each as `<name>.npy`; `compress` chooses deflate
/// (`np.savez_compressed`) over stored (`np.savez`). Names must be unique and non-empty.
pub fn write_npz(path: &Path, tensors: &[Tensor], compress: bool) -> Result<()> {
    let mut seen = BTreeSet::new();
    for t in tensors {
        if t.name().is_empty() {
            return Err(TensorError::format(
                path,
                None,
                "every array in an .npz needs a name",
            ));
        }
        if !seen.insert(t.name()) {
            return Err(TensorError::format(
                path,
                Some(t.name()),
                "two arrays have this name",
            ));
        }
    }
    let file = File::create(path).map_err(|e| TensorError::io(path, e))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let method = if compress {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    for t in tensors {
        let bytes = npy_bytes(t).map_err(|d| TensorError::format(path, Some(t.name()), d))?;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        let zip_err = |e: zip::result::ZipError| {
            TensorError::format(path, Some(t.name()), format!("cannot write: {e}"))
        };
        zip.start_file(format!("{}.npy", t.name()), options)
            .map_err(zip_err)?;
        zip.write_all(&bytes)
            .map_err(|e| TensorError::io(path, e))?;
    }
    let mut w = zip
        .finish()
        .map_err(|e| TensorError::format(path, None, format!("cannot finish the archive: {e}")))?;
    w.flush().map_err(|e| TensorError::io(path, e))
}

/// Reads a `.npy` (one tensor named after the file) or an `.npz` (all its arrays), chosen
/// by the file's content.
pub fn read_tensors(path: &Path) -> Result<Vec<Tensor>> {
    let mut head = [0u8; 6];
    let mut f = File::open(path).map_err(|e| TensorError::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| TensorError::io(path, e))?;
    if head[..n].starts_with(b"PK") {
        read_npz(path)
    } else {
        read_npy(path).map(|t| vec![t])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn t(name: &str, shape: Vec<usize>, data: TensorData) -> Tensor {
        Tensor::new(name, shape, data).unwrap()
    }

    fn samples() -> Vec<Tensor> {
        vec![
            t(
                "f32",
                vec![2, 3],
                TensorData::F32(vec![1.0, -2.5, 3.0, f32::NAN, f32::INFINITY, 0.0]),
            ),
            t(
                "f16",
                vec![3],
                TensorData::F16(vec![f32_to_f16(1.0), f32_to_f16(-0.5), f32_to_f16(65504.0)]),
            ),
            t("f64", vec![], TensorData::F64(vec![std::f64::consts::PI])),
            t("i8", vec![2], TensorData::I8(vec![-128, 127])),
            t("i16", vec![1, 2], TensorData::I16(vec![-3, 4])),
            t("i32", vec![2, 1], TensorData::I32(vec![i32::MIN, i32::MAX])),
            t("i64", vec![2], TensorData::I64(vec![i64::MIN, 7])),
            t("u8", vec![0, 4], TensorData::U8(vec![])),
            t("u16", vec![1], TensorData::U16(vec![65535])),
            t("u32", vec![1], TensorData::U32(vec![u32::MAX])),
            t("u64", vec![1], TensorData::U64(vec![u64::MAX])),
            t("bool", vec![3], TensorData::Bool(vec![true, false, true])),
        ]
    }

    #[test]
    fn shape_must_match_data() {
        let e = Tensor::new("x", vec![2, 2], TensorData::F32(vec![1.0])).unwrap_err();
        assert!(
            matches!(
                e,
                TensorError::ShapeMismatch {
                    expected: 4,
                    actual: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = Tensor::new("x", vec![usize::MAX, 3], TensorData::F32(vec![])).unwrap_err();
        assert!(matches!(e, TensorError::ShapeOverflow { .. }));
        assert!(Tensor::zeros("z", &DType::String, vec![1]).is_none());
        assert_eq!(
            Tensor::zeros("z", &DType::I64, vec![2, 3]).unwrap().len(),
            6
        );
    }

    #[test]
    fn npy_round_trip_every_dtype() {
        for tensor in samples() {
            let bytes = npy_bytes(&tensor).unwrap();
            assert_eq!(
                bytes.len() % 64,
                tensor.byte_len() % 64,
                "data must start 64-byte aligned"
            );
            let back = parse_npy(&bytes, tensor.name()).unwrap();
            assert_eq!(back.shape(), tensor.shape());
            assert_eq!(back.dtype(), tensor.dtype());
            assert_eq!(
                back.data().to_le_bytes(),
                tensor.data().to_le_bytes(),
                "{}",
                tensor.name()
            );
        }
    }

    #[test]
    fn npz_round_trip_stored_and_deflated() {
        let dir = tempfile::tempdir().unwrap();
        for compress in [false, true] {
            let p = dir.path().join(format!("a{compress}.npz"));
            write_npz(&p, &samples(), compress).unwrap();
            let back = read_tensors(&p).unwrap();
            assert_eq!(back.len(), samples().len());
            for (a, b) in back.iter().zip(samples()) {
                assert_eq!(a.name(), b.name());
                assert_eq!(a.shape(), b.shape());
                assert_eq!(a.data().to_le_bytes(), b.data().to_le_bytes());
            }
        }
        let p = dir.path().join("x.npy");
        write_npy(&p, &samples()[0]).unwrap();
        let back = read_tensors(&p).unwrap();
        assert_eq!(back[0].name(), "x");
    }

    #[test]
    fn npz_rejects_duplicate_names() {
        let dir = tempfile::tempdir().unwrap();
        let a = samples().remove(0);
        let e = write_npz(&dir.path().join("d.npz"), &[a.clone(), a], false).unwrap_err();
        assert!(e.to_string().contains("two arrays"), "{e}");
    }

    fn header(dict: &str) -> Vec<u8> {
        let mut v = NPY_MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        v.extend_from_slice(dict.as_bytes());
        v
    }

    fn err(bytes: &[u8]) -> String {
        parse_npy(bytes, "a").unwrap_err()
    }

    #[test]
    fn npy_bad_input_is_an_error_not_a_panic() {
        assert!(err(b"").contains("magic"));
        assert!(err(b"PK\x03\x04 not npy at all").contains("magic"));
        let good = npy_bytes(&samples()[0]).unwrap();
        for cut in [7, 9, 11, 40, good.len() - 1] {
            let _ = err(&good[..cut]); // truncated anywhere: an error
        }
        assert!(err(&good[..good.len() - 4]).contains("truncated"));
        let mut bad_version = good.clone();
        bad_version[6] = 9;
        assert!(err(&bad_version).contains("version 9"));
        let mut long = NPY_MAGIC.to_vec();
        long.extend_from_slice(&[2, 0]);
        long.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(err(&long).contains("allowed"));

        assert!(err(&header(
            "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"
        ))
        .contains("big-endian"));
        assert!(err(&header(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }"
        ))
        .contains("Fortran"));
        assert!(err(&header(
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
        ))
        .contains("object"));
        assert!(err(&header(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"
        ))
        .contains("structured"));
        assert!(err(&header(
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"
        ))
        .contains("not supported"));
        assert!(err(&header("{'descr': '<f4', 'shape': (1,), }")).contains("fortran_order"));
        assert!(err(&header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"
        ))
        .contains("non-negative"));
        assert!(err(&header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,"
        ))
        .contains("header"));
        assert!(err(&header("not a dict")).contains("header"));
        // A header claiming 10^12 elements in a tiny file fails before any allocation.
        let absurd =
            header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }");
        assert!(err(&absurd).contains("truncated"), "{}", err(&absurd));
        let overflow = header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 3), }",
        );
        assert!(err(&overflow).contains("overflows"), "{}", err(&overflow));
        let mut extra = header("{'descr': '|u1', 'fortran_order': False, \"shape\": (2,), }");
        extra.extend_from_slice(&[1, 2, 3]);
        assert!(err(&extra).contains("unexpected bytes"));
    }

    #[test]
    fn npy_header_variants() {
        let mut b = header("{\"descr\":\"<i4\",\"fortran_order\":False,\"shape\":(2L,)}");
        b.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(
            parse_npy(&b, "a").unwrap().data(),
            &TensorData::I32(vec![1, 2])
        );
    }

    #[test]
    fn npz_bad_input() {
        let p = Path::new("bad.npz");
        assert!(read_npz_from(Cursor::new(b"PK\x03\x04garbage".to_vec()), p).is_err());
        // A stored entry that is not an npy names the array.
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("x.npy", zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(b"hello").unwrap();
            z.finish().unwrap();
        }
        buf.set_position(0);
        let e = read_npz_from(buf, p).unwrap_err().to_string();
        assert!(
            e.contains("bad.npz: array 'x'") && e.contains("magic"),
            "{e}"
        );
    }

    /// Mutated and truncated files never panic the readers.
    #[test]
    fn mutations_never_panic() {
        let mut rng = crate::rng::SplitMix64::new(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.next_u64();
        let npy = npy_bytes(&samples()[0]).unwrap();
        let mut npz = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut npz);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            z.start_file("a.npy", opts).unwrap();
            z.write_all(&npy).unwrap();
            z.finish().unwrap();
        }
        let npz = npz.into_inner();
        for _ in 0..3000 {
            let mut a = npy.clone();
            let mut b = npz.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % a.len();
                a[i] = next() as u8;
                let j = (next() as usize) % b.len();
                b[j] = next() as u8;
            }
            a.truncate((next() as usize) % (a.len() + 1));
            let _ = parse_npy(&a, "x");
            let _ = read_npz_from(Cursor::new(b), Path::new("m.npz"));
        }
    }

    #[test]
    fn stats_skip_non_finite() {
        let s = samples()[0].stats();
        assert_eq!((s.count, s.nan_count, s.inf_count), (6, 1, 1));
        assert_eq!((s.min, s.max), (Some(-2.5), Some(3.0)));
        assert!((s.mean.unwrap() - 0.375).abs() < 1e-12);
        let var: f64 = [1.0f64, -2.5, 3.0, 0.0]
            .iter()
            .map(|x| (x - 0.375).powi(2))
            .sum::<f64>()
            / 4.0;
        assert!((s.std.unwrap() - var.sqrt()).abs() < 1e-12);
        assert_eq!(t("e", vec![0], TensorData::F32(vec![])).stats().mean, None);
    }

    #[test]
    fn f16_conversions() {
        for bits in 0..=u16::MAX {
            let f = f16_to_f32(bits);
            if f.is_nan() {
                assert!(f16_to_f32(f32_to_f16(f)).is_nan());
            } else {
                assert_eq!(f32_to_f16(f), bits, "bits {bits:#x} -> {f}");
            }
        }
        assert_eq!(f32_to_f16(1e6), 0x7c00);
        assert_eq!(f32_to_f16(1e-9), 0);
        assert_eq!(f16_to_f32(f32_to_f16(0.1)), 0.099_975_586);
    }

    /// The conversions came from the `half` crate after mlgate had its own; this keeps the
    /// hand-written ones as the reference and checks they agree bit for bit: every f16, and
    /// for f32 every f16 value, the midpoints between neighbours (ties to even) and one ulp
    /// either side, NaN payloads, the overflow and subnormal edges, and a stride through all
    /// 2^32 patterns.
    #[test]
    fn f16_conversions_match_the_reference() {
        for bits in 0..=u16::MAX {
            let (ours, want) = (f16_to_f32(bits), reference::f16_to_f32(bits));
            assert_eq!(ours.to_bits(), want.to_bits(), "f16 {bits:#06x}");
        }
        let check = |x: u32| {
            let v = f32::from_bits(x);
            assert_eq!(
                f32_to_f16(v),
                reference::f32_to_f16(v),
                "f32 {x:#010x} ({v:e})"
            );
        };
        for bits in 0..=u16::MAX {
            let lo = f64::from(reference::f16_to_f32(bits));
            let hi = f64::from(reference::f16_to_f32(bits.wrapping_add(1)));
            let mid = ((lo + hi) / 2.0) as f32;
            for x in [lo as f32, mid] {
                let b = x.to_bits();
                for d in [b.wrapping_sub(1), b, b.wrapping_add(1)] {
                    check(d);
                }
            }
        }
        for x in (0..=u32::MAX).step_by(65_521) {
            check(x);
        }
        for x in [
            0x7f80_0001,
            0x7fc0_0000,
            0x7fff_ffff,
            0xffc0_1234,
            0x7f80_0000,
            0xff80_0000,
            0x477f_f000, // 65520: rounds up to infinity
            0x477f_efff,
            0x3380_0000, // 2^-24: smallest subnormal
            0x3300_0000, // 2^-25: ties to zero
            0x3300_0001,
            0x0000_0001,
            0x8000_0000,
        ] {
            check(x);
        }
    }

    mod reference {
        /// IEEE 754 half-precision bits to f32 (exact).
        pub(super) fn f16_to_f32(bits: u16) -> f32 {
            let sign = u32::from(bits >> 15) << 31;
            let exp = u32::from((bits >> 10) & 0x1f);
            let man = u32::from(bits & 0x3ff);
            let out = match (exp, man) {
                (0, 0) => sign,
                (0, _) => {
                    // Subnormal: value = man * 2^-24, exact in f32.
                    let v = man as f32 * f32::from_bits(0x3380_0000); // 2^-24
                    return if sign != 0 { -v } else { v };
                }
                (0x1f, 0) => sign | 0x7f80_0000,
                (0x1f, _) => sign | 0x7fc0_0000 | (man << 13),
                _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
            };
            f32::from_bits(out)
        }

        /// f32 to IEEE 754 half-precision bits, rounding to nearest even.
        pub(super) fn f32_to_f16(value: f32) -> u16 {
            let x = value.to_bits();
            let sign = ((x >> 16) & 0x8000) as u16;
            let exp = ((x >> 23) & 0xff) as i32;
            let man = x & 0x7f_ffff;
            if exp == 0xff {
                return sign
                    | 0x7c00
                    | if man != 0 {
                        0x200 | (man >> 13) as u16
                    } else {
                        0
                    };
            }
            let e = exp - 127 + 15;
            if e >= 0x1f {
                return sign | 0x7c00;
            }
            if e <= 0 {
                if e < -10 {
                    return sign;
                }
                let m = man | 0x80_0000;
                let shift = (14 - e) as u32;
                let half = 1u32 << (shift - 1);
                let rest = m & ((1u32 << shift) - 1);
                let mut r = m >> shift;
                if rest > half || (rest == half && r & 1 == 1) {
                    r += 1;
                }
                return sign | r as u16;
            }
            let mut r = ((e as u32) << 10) | (man >> 13);
            let rest = man & 0x1fff;
            if rest > 0x1000 || (rest == 0x1000 && r & 1 == 1) {
                // A carry into the exponent is the correct rounding (up to infinity).
                r += 1;
            }
            sign | r as u16
        }
    }
}
