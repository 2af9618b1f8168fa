//! Task-aware synthetic inputs: shapes resolved sensibly, values a real input could have.

use std::collections::BTreeMap;

use mlgate_ir::tensor::{f32_to_f16, Tensor, TensorData};
use mlgate_ir::{DType, Dim, ModelInfo, TensorInfo};
use serde::{Deserialize, Serialize};

use crate::detect::{name_words, Analysis, InputPlan};
use crate::gen::{self, int_in, rng_for_input, Rng};
use crate::graph::{Layout, PixelRange, MEL_BINS};
use crate::{InputRole, Result, Task, TaskError, TaskReport};

/// Sequence lengths benchmarked by default, clipped to what the model accepts.
pub const DEFAULT_SEQ_LADDER: [usize; 4] = [16, 64, 128, 256];
/// The sequence length of a single synthesis when none is asked for.
pub const DEFAULT_SEQ_LEN: usize = 128;
/// One second at 16 kHz.
pub const DEFAULT_AUDIO_SAMPLES: usize = 16_000;
pub const DEFAULT_SAMPLE_RATE: u32 = 16_000;
/// Height and width of images whose size the model leaves open.
pub const DEFAULT_IMAGE_SIZE: usize = 224;
/// No synthesised input may be larger: a dimension of 10^9 is a broken model or a typo, and
/// should be an error naming the input, not an allocation failure.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Token ids stay below this when no embedding table says how large the vocabulary is:
/// every tokenizer in common use has at least this many entries.
const FALLBACK_VOCAB: u64 = 1000;
const DEFAULT_MEL_BINS: usize = 80;
/// 10 ms hops over one second.
const DEFAULT_FRAMES: usize = 100;

/// How to make inputs. `Default` gives what `mlgate infer MODEL` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthesisOptions {
    /// Mixed with each input's name to seed its data; the same seed gives the same inputs
    /// for every variant of a model.
    pub seed: u64,
    /// Batch size for dynamic batch dimensions.
    pub batch: usize,
    /// Sequence length for token inputs; `None` takes [`DEFAULT_SEQ_LEN`] (or the model's
    /// maximum when lower).
    pub seq_len: Option<usize>,
    /// The sequence lengths [`synthesize_ladder`] makes inputs for.
    pub seq_ladder: Vec<usize>,
    /// Overrides the detected task (`--task`).
    pub task: Option<Task>,
    /// Length of waveforms whose length the model leaves open; `None` takes one chunk for
    /// a streaming model (one with recurrent state inputs), else
    /// [`DEFAULT_AUDIO_SAMPLES`].
    pub audio_samples: Option<usize>,
    /// Height and width of images whose size the model leaves open; `None` takes the
    /// model's default size when it declares one, else [`DEFAULT_IMAGE_SIZE`].
    pub image_size: Option<usize>,
    /// Values for named dynamic dimensions (`seq=32`), ahead of every rule.
    pub dims: BTreeMap<String, usize>,
    /// Largest input allowed, in bytes.
    pub max_input_bytes: u64,
}

impl Default for SynthesisOptions {
    fn default() -> Self {
        SynthesisOptions {
            seed: 0,
            batch: 1,
            seq_len: None,
            seq_ladder: DEFAULT_SEQ_LADDER.to_vec(),
            task: None,
            audio_samples: None,
            image_size: None,
            dims: BTreeMap::new(),
            max_input_bytes: MAX_INPUT_BYTES,
        }
    }
}

/// Inputs for one run of a model, and how they were chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesizedInputs {
    /// One tensor per model input, in the model's order, named as the model names them.
    pub tensors: Vec<Tensor>,
    /// What each input holds and why, one line per input, then the dimension choices.
    pub choices: Vec<String>,
    /// What may make the inputs unrepresentative (unknown inputs left at zero, guessed
    /// sizes, ignored options).
    pub warnings: Vec<String>,
    /// The detection the inputs follow.
    pub task: TaskReport,
    /// The value given to every named dynamic dimension.
    pub dims: BTreeMap<String, usize>,
    /// Sequence length of the token inputs, when the model has any.
    pub seq_len: Option<usize>,
    /// The sequence lengths this model can be benchmarked at (empty without token inputs):
    /// the configured ladder clipped to the model's maximum, or its one fixed length.
    pub seq_ladder: Vec<usize>,
}

pub(crate) fn check_options(o: &SynthesisOptions) -> Result<()> {
    let positive = |option: &'static str, v: usize| {
        if v == 0 {
            Err(TaskError::InvalidOption {
                option,
                detail: "must be at least 1".into(),
            })
        } else {
            Ok(())
        }
    };
    positive("--batch", o.batch)?;
    if let Some(s) = o.audio_samples {
        positive("--audio-samples", s)?;
    }
    if let Some(s) = o.seq_len {
        positive("--seq-len", s)?;
    }
    if let Some(s) = o.image_size {
        positive("--image-size", s)?;
    }
    if o.seq_ladder.contains(&0) {
        return Err(TaskError::InvalidOption {
            option: "sequence ladder",
            detail: "lengths must be at least 1".into(),
        });
    }
    Ok(())
}

/// The sequence facts of a model: its token inputs' fixed length, if any, and its maximum.
struct Sequence {
    fixed: Option<u64>,
    max: Option<(u64, String)>,
}

fn is_sequence_role(r: InputRole) -> bool {
    matches!(
        r,
        InputRole::TokenIds
            | InputRole::AttentionMask
            | InputRole::TokenTypeIds
            | InputRole::PositionIds
    )
}

fn sequence(info: &ModelInfo, a: &Analysis) -> Option<Sequence> {
    let mut any = false;
    let mut fixed = None;
    for (t, p) in info.inputs.iter().zip(&a.plans) {
        if !is_sequence_role(p.role) {
            continue;
        }
        let Some(last) = t.shape.as_ref().and_then(|s| s.last()) else {
            continue;
        };
        any = true;
        if let Dim::Fixed(n) = last {
            fixed.get_or_insert(*n);
        }
    }
    any.then(|| Sequence {
        fixed,
        max: a.max_positions(),
    })
}

/// The ladder for this model and the length a single synthesis uses.
fn seq_plan(
    info: &ModelInfo,
    a: &Analysis,
    o: &SynthesisOptions,
    warnings: &mut Vec<String>,
) -> Result<(Vec<usize>, Option<usize>)> {
    let Some(seq) = sequence(info, a) else {
        if o.seq_len.is_some() {
            warnings.push("--seq-len is ignored: the model has no token inputs".into());
        }
        return Ok((Vec::new(), None));
    };
    if let Some(n) = seq.fixed {
        let n = usize::try_from(n).map_err(|_| TaskError::InvalidOption {
            option: "--seq-len",
            detail: format!("cannot be the model's fixed length {n}"),
        })?;
        if o.seq_len.is_some_and(|s| s != n) {
            warnings.push(format!(
                "--seq-len is ignored: the model fixes the sequence length at {n}"
            ));
        }
        return Ok((vec![n], Some(n)));
    }
    let max = seq
        .max
        .as_ref()
        .map(|(m, _)| usize::try_from(*m).unwrap_or(usize::MAX));
    if let (Some(asked), Some((m, table))) = (o.seq_len, &seq.max) {
        if asked as u64 > *m {
            return Err(TaskError::InvalidOption {
                option: "--seq-len",
                detail: format!(
                    "{asked} exceeds the model's maximum of {m} tokens (position table \
                     '{table}'); use {m} or less"
                ),
            });
        }
    }
    let mut ladder: Vec<usize> = o
        .seq_ladder
        .iter()
        .copied()
        .filter(|&l| max.is_none_or(|m| l <= m))
        .collect();
    if let Some(m) = max {
        if ladder.len() < o.seq_ladder.len() && !ladder.contains(&m) {
            ladder.push(m);
        }
    }
    ladder.sort_unstable();
    ladder.dedup();
    let chosen = o
        .seq_len
        .unwrap_or_else(|| max.map_or(DEFAULT_SEQ_LEN, |m| DEFAULT_SEQ_LEN.min(m)));
    Ok((ladder, Some(chosen)))
}

/// Makes one set of inputs; see [`crate::synthesize`].
pub(crate) fn synthesize_analysed(
    info: &ModelInfo,
    a: &Analysis,
    o: &SynthesisOptions,
) -> Result<SynthesizedInputs> {
    check_options(o)?;
    let mut warnings = Vec::new();
    let (seq_ladder, seq_len) = seq_plan(info, a, o, &mut warnings)?;
    make(info, a, o, seq_ladder, seq_len, warnings)
}

/// One set per rung of the sequence ladder, or one set for a model without token inputs.
pub(crate) fn synthesize_ladder_analysed(
    info: &ModelInfo,
    a: &Analysis,
    o: &SynthesisOptions,
) -> Result<Vec<SynthesizedInputs>> {
    check_options(o)?;
    let mut warnings = Vec::new();
    let (ladder, seq_len) = seq_plan(info, a, o, &mut warnings)?;
    if ladder.is_empty() || o.seq_len.is_some() {
        return Ok(vec![make(info, a, o, ladder, seq_len, warnings)?]);
    }
    ladder
        .iter()
        .map(|&len| make(info, a, o, ladder.clone(), Some(len), warnings.clone()))
        .collect()
}

/// What a dimension stands for, which decides its value when the model leaves it open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Batch,
    Seq,
    Samples,
    Height,
    Width,
    Channels,
    Mel,
    Frames,
    Other,
}

fn meanings(plan: &InputPlan, dims: &[Dim]) -> Vec<Meaning> {
    use Meaning::*;
    let n = dims.len();
    let mel_at = |i: usize| matches!(dims.get(i), Some(Dim::Fixed(m)) if MEL_BINS.contains(m));
    match (plan.role, n) {
        (InputRole::Image, 4) => match plan.layout {
            Some(Layout::Nhwc) => vec![Batch, Height, Width, Channels],
            _ => vec![Batch, Channels, Height, Width],
        },
        (InputRole::Image, 3) => match plan.layout {
            Some(Layout::Nhwc) => vec![Height, Width, Channels],
            _ => vec![Channels, Height, Width],
        },
        (r, 1) if is_sequence_role(r) => vec![Seq],
        (r, _) if is_sequence_role(r) => {
            let mut m = vec![Batch];
            m.extend(std::iter::repeat_n(Other, n.saturating_sub(2)));
            m.push(Seq);
            m
        }
        (InputRole::Waveform, 1) => vec![Samples],
        (InputRole::Waveform, 2) => vec![Batch, Samples],
        (InputRole::Waveform, _) => {
            let mut m = vec![Batch];
            m.extend(std::iter::repeat_n(Other, n.saturating_sub(2)));
            m.push(Samples);
            m
        }
        (InputRole::Spectrogram, 2) if mel_at(1) => vec![Frames, Mel],
        (InputRole::Spectrogram, 2) => vec![Mel, Frames],
        (InputRole::Spectrogram, 3) if mel_at(2) && !mel_at(1) => vec![Batch, Frames, Mel],
        (InputRole::Spectrogram, 3) => vec![Batch, Mel, Frames],
        (InputRole::Spectrogram, 4) if mel_at(3) && !mel_at(2) => vec![Batch, Other, Frames, Mel],
        (InputRole::Spectrogram, 4) => vec![Batch, Other, Mel, Frames],
        // Dynamic dims of carried state follow the batch (silero's state is [2, batch, 128]).
        (InputRole::State, _) => vec![Batch; n],
        (_, 0) => vec![],
        (_, 1) => vec![Other],
        _ => {
            let mut m = vec![Batch];
            m.extend(std::iter::repeat_n(Other, n - 1));
            m
        }
    }
}

/// The model's own default for one dimension of an input, where it declares one (CoreML
/// flexible shapes and image sizes).
fn model_default(info: &ModelInfo, input: &str, axis: usize, m: Meaning) -> Option<usize> {
    let key = |what: &str| format!("coreml.input.{input}.{what}");
    if let Some(text) = info.metadata.get(&key("default_shape")) {
        let dims: Vec<usize> = text
            .trim_matches(['[', ']'])
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        return dims.get(axis).copied();
    }
    if let Some(text) = info.metadata.get(&key("default_size")) {
        let (w, h) = text.split_once('x')?;
        return match m {
            Meaning::Width => w.trim().parse().ok(),
            Meaning::Height => h.trim().parse().ok(),
            _ => None,
        };
    }
    None
}

/// Resolves every dimension of every input; shared symbols get one value.
struct DimResolver<'a> {
    o: &'a SynthesisOptions,
    seq_len: Option<usize>,
    symbols: BTreeMap<String, usize>,
    notes: Vec<String>,
}

impl DimResolver<'_> {
    /// The model's default for a dimension, unless the user chose an image size.
    fn model_default(
        &self,
        info: &ModelInfo,
        input: &str,
        axis: usize,
        m: Meaning,
    ) -> Option<usize> {
        let image_axis = matches!(m, Meaning::Height | Meaning::Width);
        if image_axis && self.o.image_size.is_some() {
            return None;
        }
        model_default(info, input, axis, m)
    }

    fn value(&self, m: Meaning, sym: Option<&str>, plan: &InputPlan) -> (usize, Option<String>) {
        let words = sym.map(name_words).unwrap_or_default();
        let said = |w: &str| words.iter().any(|x| x == w);
        if said("batch") || matches!(sym, Some("N" | "n" | "b" | "B" | "bs")) {
            return (self.o.batch, None);
        }
        match m {
            Meaning::Batch => (self.o.batch, None),
            Meaning::Seq => (self.seq_len.unwrap_or(DEFAULT_SEQ_LEN), None),
            Meaning::Samples => match (self.o.audio_samples, plan.chunk) {
                (Some(n), _) => (n, None),
                (None, Some(chunk)) => (
                    usize::try_from(chunk).unwrap_or(DEFAULT_AUDIO_SAMPLES),
                    None,
                ),
                (None, None) => (DEFAULT_AUDIO_SAMPLES, None),
            },
            Meaning::Height | Meaning::Width => {
                (self.o.image_size.unwrap_or(DEFAULT_IMAGE_SIZE), None)
            }
            Meaning::Channels => (3, None),
            Meaning::Mel => (DEFAULT_MEL_BINS, None),
            Meaning::Frames => (DEFAULT_FRAMES, None),
            Meaning::Other => (
                1,
                Some("a dimension nothing explains was set to 1".to_string()),
            ),
        }
    }

    fn shape(&mut self, info: &ModelInfo, t: &TensorInfo, plan: &InputPlan) -> Result<Vec<usize>> {
        let Some(dims) = &t.shape else {
            return Err(TaskError::input(
                &t.name,
                "the model does not declare its rank, so no shape can be chosen; pass the \
                 inputs yourself (an .npz file)",
            ));
        };
        let means = meanings(plan, dims);
        let mut out = Vec::with_capacity(dims.len());
        for (axis, (d, &m)) in dims.iter().zip(&means).enumerate() {
            let v = match d {
                Dim::Fixed(n) => usize::try_from(*n).map_err(|_| {
                    TaskError::input(&t.name, format!("dimension {n} does not fit in memory"))
                })?,
                Dim::Symbolic(s) => {
                    if let Some(v) = self.o.dims.get(s).or(self.symbols.get(s)) {
                        *v
                    } else {
                        let (v, note) = match self.model_default(info, &t.name, axis, m) {
                            Some(v) => (v, None),
                            None => self.value(m, Some(s), plan),
                        };
                        if let Some(note) = note {
                            self.notes
                                .push(format!("input '{}': {note} ('{s}')", t.name));
                        }
                        self.symbols.insert(s.clone(), v);
                        v
                    }
                }
                Dim::Unknown => {
                    let (v, note) = match self.model_default(info, &t.name, axis, m) {
                        Some(v) => (v, None),
                        None => self.value(m, None, plan),
                    };
                    if let Some(note) = note {
                        self.notes
                            .push(format!("input '{}': {note} (axis {axis})", t.name));
                    }
                    v
                }
            };
            out.push(v);
        }
        Ok(out)
    }
}

fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(", "))
}

fn make(
    info: &ModelInfo,
    a: &Analysis,
    o: &SynthesisOptions,
    seq_ladder: Vec<usize>,
    seq_len: Option<usize>,
    mut warnings: Vec<String>,
) -> Result<SynthesizedInputs> {
    let mut resolver = DimResolver {
        o,
        seq_len,
        symbols: BTreeMap::new(),
        notes: Vec::new(),
    };
    // Main inputs first, so a symbol they share with auxiliary inputs (batch, seq) takes the
    // value its main meaning gives.
    let mut order: Vec<usize> = (0..info.inputs.len()).collect();
    order.sort_by_key(|&i| {
        let r = a.plans[i].role;
        match r {
            _ if r.primary_task().is_some() => 0,
            _ if is_sequence_role(r) => 1,
            InputRole::Unknown | InputRole::State => 3,
            _ => 2,
        }
    });
    let mut shapes: Vec<Vec<usize>> = vec![Vec::new(); info.inputs.len()];
    for &i in &order {
        shapes[i] = resolver.shape(info, &info.inputs[i], &a.plans[i])?;
    }
    warnings.append(&mut resolver.notes);

    let mut tensors = Vec::with_capacity(info.inputs.len());
    let mut choices = Vec::with_capacity(info.inputs.len() + 2);
    for ((t, plan), shape) in info.inputs.iter().zip(&a.plans).zip(shapes) {
        check_size(t, &shape, o.max_input_bytes)?;
        let mut rng = rng_for_input(&t.name, o.seed);
        let (data, what) = fill(t, plan, &shape, &mut rng, &mut warnings)?;
        let tensor = Tensor::new(t.name.clone(), shape, data)
            .map_err(|e| TaskError::input(&t.name, e.to_string()))?;
        let tier = match plan.tier {
            Some(c) => format!("{}; {c} confidence", plan.why),
            None => plan.why.clone(),
        };
        choices.push(format!(
            "{} {}{}: {what} ({tier})",
            t.name,
            tensor.dtype(),
            shape_text(tensor.shape())
        ));
        tensors.push(tensor);
    }
    if let Some(len) = seq_len {
        let max = a
            .max_positions()
            .map(|(m, table)| format!("; model maximum {m} from '{table}'"))
            .unwrap_or_default();
        let ladder: Vec<String> = seq_ladder.iter().map(usize::to_string).collect();
        choices.push(format!(
            "sequence length {len} (ladder {}{max})",
            ladder.join(", ")
        ));
    }
    if !resolver.symbols.is_empty() {
        let dims: Vec<String> = resolver
            .symbols
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        choices.push(format!("dynamic dimensions: {}", dims.join(", ")));
    }
    if let Some(w) = &a.report.warning {
        warnings.insert(0, w.clone());
    }
    Ok(SynthesizedInputs {
        tensors,
        choices,
        warnings,
        task: a.report.clone(),
        dims: resolver.symbols,
        seq_len,
        seq_ladder,
    })
}

/// Bytes per element as synthesised: CoreML images become 8-bit pixels.
fn element_bytes(t: &TensorInfo) -> Result<u64> {
    match &t.dtype {
        DType::Other(s) if s.starts_with("image") => Ok(1),
        DType::Bf16
        | DType::I4
        | DType::U4
        | DType::String
        | DType::Complex64
        | DType::Complex128
        | DType::Other(_) => Err(TaskError::UnsupportedDtype {
            input: t.name.clone(),
            dtype: t.dtype.to_string(),
        }),
        d => Ok(d.size_bytes().unwrap_or(1)),
    }
}

fn check_size(t: &TensorInfo, shape: &[usize], limit: u64) -> Result<()> {
    let element = u128::from(element_bytes(t)?);
    let bytes = shape
        .iter()
        .try_fold(element, |acc, &d| acc.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    if bytes > u128::from(limit) {
        return Err(TaskError::TooLarge {
            input: t.name.clone(),
            shape: shape_text(shape),
            bytes,
            limit,
        });
    }
    Ok(())
}

/// The tensor being filled, in its final dtype, so no wider copy of the data ever exists:
/// floats are stored as they are, integers rounded and clamped to the type's range, bools
/// as non-zero.
struct Sink(TensorData);

impl Sink {
    fn new(t: &TensorInfo, n: usize) -> Result<Sink> {
        let dtype = match &t.dtype {
            // CoreML image inputs are filled with 8-bit pixels.
            DType::Other(s) if s.starts_with("image") => DType::U8,
            d => d.clone(),
        };
        TensorData::zeros(&dtype, n)
            .map(Sink)
            .ok_or_else(|| TaskError::UnsupportedDtype {
                input: t.name.clone(),
                dtype: t.dtype.to_string(),
            })
    }

    fn set(&mut self, i: usize, x: f64) {
        fn int<T: TryFrom<i64> + Default>(x: f64, lo: f64, hi: f64) -> T {
            T::try_from(x.round().clamp(lo, hi) as i64).unwrap_or_default()
        }
        match &mut self.0 {
            TensorData::F32(v) => v[i] = x as f32,
            TensorData::F64(v) => v[i] = x,
            TensorData::F16(v) => v[i] = f32_to_f16(x as f32),
            TensorData::I8(v) => v[i] = int(x, -128.0, 127.0),
            TensorData::I16(v) => v[i] = int(x, -32768.0, 32767.0),
            TensorData::I32(v) => v[i] = int(x, -2147483648.0, 2147483647.0),
            TensorData::I64(v) => v[i] = x.round() as i64,
            TensorData::U8(v) => v[i] = int(x, 0.0, 255.0),
            TensorData::U16(v) => v[i] = int(x, 0.0, 65535.0),
            TensorData::U32(v) => v[i] = int(x, 0.0, 4294967295.0),
            TensorData::U64(v) => v[i] = x.round().max(0.0) as u64,
            TensorData::Bool(v) => v[i] = x != 0.0,
        }
    }

    fn fill_with(&mut self, n: usize, mut f: impl FnMut(usize) -> f64) {
        for i in 0..n {
            self.set(i, f(i));
        }
    }
}

/// The largest integer a dtype holds, as f64 (for clamping vocabularies and rates).
fn int_max(d: &DType) -> f64 {
    match d {
        DType::I8 => 127.0,
        DType::U8 => 255.0,
        DType::I16 => 32767.0,
        DType::U16 => 65535.0,
        DType::I32 => 2147483647.0,
        DType::U32 => 4294967295.0,
        _ => 9.0e15,
    }
}

fn fill(
    t: &TensorInfo,
    plan: &InputPlan,
    shape: &[usize],
    rng: &mut Rng,
    warnings: &mut Vec<String>,
) -> Result<(TensorData, String)> {
    // `check_size` bounded the product, so this cannot overflow.
    let n: usize = shape.iter().product();
    let last = shape.last().copied().unwrap_or(1).max(1);
    let mut out = Sink::new(t, n)?;
    let what = match plan.role {
        InputRole::Image => image(t, plan, shape, rng, &mut out),
        InputRole::TokenIds => {
            let (vocab, source) = match &plan.vocab {
                Some((rows, table)) => (
                    *rows,
                    format!("vocabulary {rows} from embedding table '{table}'"),
                ),
                None => {
                    warnings.push(format!(
                        "input '{}': no embedding table found, so token ids stay below {FALLBACK_VOCAB}",
                        t.name
                    ));
                    (FALLBACK_VOCAB, "no embedding table found".to_string())
                }
            };
            let hi = (vocab as f64).min(int_max(&t.dtype) + 1.0) as u64;
            // Id 0 is padding in most vocabularies; real text rarely contains it.
            let lo = u64::from(hi > 2);
            out.fill_with(n, |_| int_in(rng, lo, hi) as f64);
            format!("token ids uniform in [{lo}, {hi}) ({source})")
        }
        InputRole::AttentionMask => {
            out.fill_with(n, |_| 1.0);
            "ones: every token attended".into()
        }
        InputRole::TokenTypeIds => "zeros: one segment".into(),
        InputRole::PositionIds => {
            out.fill_with(n, |i| (i % last) as f64);
            format!("positions 0..{last}")
        }
        InputRole::Waveform => {
            for row in 0..n / last {
                let base = row * last;
                gen::waveform(rng, last, f64::from(DEFAULT_SAMPLE_RATE), |i, v| {
                    out.set(base + i, v)
                });
            }
            let mut what =
                "audio in [-1, 1]: tones under a speech-rate envelope, plus noise (16 kHz)"
                    .to_string();
            if let Some(chunk) = plan.chunk.filter(|c| *c == last as u64) {
                what.push_str(&format!(
                    "; one {chunk}-sample chunk, because the model carries state between calls \
                     and its conv stack steps {chunk} samples at a time"
                ));
            }
            what
        }
        InputRole::Spectrogram => spectrogram(plan, shape, rng, &mut out),
        InputRole::Features => {
            out.fill_with(n, |_| rng.normal().clamp(-4.0, 4.0));
            "standard-normal features, as after a scaler".into()
        }
        InputRole::State => "zeros: the state at the start of a stream".into(),
        InputRole::SampleRate => {
            let rate = f64::from(DEFAULT_SAMPLE_RATE);
            if t.dtype.is_integer() && int_max(&t.dtype) < rate {
                warnings.push(format!(
                    "input '{}': {} cannot hold a sample rate of {rate}; clamped",
                    t.name, t.dtype
                ));
            }
            out.fill_with(n, |_| rate);
            format!("{DEFAULT_SAMPLE_RATE} Hz")
        }
        InputRole::Flag => "false".into(),
        InputRole::Unknown => {
            warnings.push(format!(
                "input '{}': nothing says what it holds, so it is zeros; pass --task or your \
                 own inputs if the model needs real values there",
                t.name
            ));
            "zeros".into()
        }
    };
    Ok((out.0, what))
}

fn image(
    t: &TensorInfo,
    plan: &InputPlan,
    shape: &[usize],
    rng: &mut Rng,
    out: &mut Sink,
) -> String {
    let layout = plan.layout.unwrap_or(Layout::Nchw);
    let (batch, c, h, w) = match (shape.len(), layout) {
        (4, Layout::Nchw) => (shape[0], shape[1], shape[2], shape[3]),
        (4, Layout::Nhwc) => (shape[0], shape[3], shape[1], shape[2]),
        (3, Layout::Nchw) => (1, shape[0], shape[1], shape[2]),
        _ => (1, shape[2], shape[0], shape[1]),
    };
    // Integer images (quantized models, CoreML image inputs) hold raw 8-bit pixels.
    let quantized = !t.dtype.is_float();
    let coreml_image = matches!(&t.dtype, DType::Other(s) if s.starts_with("image"));
    let range = plan.range.clone();
    let map: Box<dyn Fn(f64, usize) -> f64> = if quantized {
        let offset = if t.dtype == DType::I8 { 128.0 } else { 0.0 };
        Box::new(move |v, _| (v * 255.0).round() - offset)
    } else {
        let r = range.as_ref().map_or(PixelRange::Unit, |r| r.0);
        Box::new(move |v, ch| r.value_of_unit(v, ch))
    };
    // The shape's element count was checked, so these products cannot overflow.
    let plane = h * w;
    for b in 0..batch {
        gen::image_hwc(rng, h, w, c, |p, ch, v| {
            let idx = match layout {
                Layout::Nchw => (b * c + ch) * plane + p,
                Layout::Nhwc => (b * plane + p) * c + ch,
            };
            out.set(idx, map(v, ch));
        });
    }
    let values = if coreml_image {
        "8-bit pixels 0..255 (CoreML image input)".to_string()
    } else if quantized {
        let q = t.quantization.as_ref().filter(|q| q.scale.len() == 1);
        let (lo, hi) = if t.dtype == DType::I8 {
            (-128.0, 127.0)
        } else {
            (0.0, 255.0)
        };
        match q {
            Some(q) => {
                let zp = q.zero_point.first().copied().unwrap_or(0) as f64;
                let s = f64::from(q.scale[0]);
                format!(
                    "{} pixels over the full range [{lo}, {hi}] (quantization scale {s} zero \
                     point {zp}: real values [{:.3}, {:.3}])",
                    t.dtype,
                    s * (lo - zp),
                    s * (hi - zp)
                )
            }
            None => format!("{} pixels over the full range [{lo}, {hi}]", t.dtype),
        }
    } else {
        let (r, why) = range.unwrap_or((PixelRange::Unit, String::new()));
        format!("values {}, because {why}", r.describe())
    };
    format!(
        "image, {} {h}×{w}×{c}: gradients, blobs and noise; {values}",
        layout.name()
    )
}

fn spectrogram(plan: &InputPlan, shape: &[usize], rng: &mut Rng, out: &mut Sink) -> String {
    let dims: Vec<Dim> = shape.iter().map(|&d| Dim::Fixed(d as u64)).collect();
    let means = meanings(plan, &dims);
    let mel_axis = means.iter().position(|m| *m == Meaning::Mel).unwrap_or(0);
    let frame_axis = means
        .iter()
        .position(|m| *m == Meaning::Frames)
        .unwrap_or(0);
    let (mels, frames) = (
        shape.get(mel_axis).copied().unwrap_or(1),
        shape.get(frame_axis).copied().unwrap_or(1),
    );
    // Mel and frame axes are the last two (see `meanings`); whatever precedes them repeats.
    let n: usize = shape.iter().product();
    let per = mels * frames;
    let mel_first = mel_axis < frame_axis;
    for block in 0..n.checked_div(per).unwrap_or(0) {
        let base = block * per;
        gen::log_mel(rng, mels, frames, |m, f, v| {
            let idx = if mel_first {
                m * frames + f
            } else {
                f * mels + m
            };
            out.set(base + idx, v);
        });
    }
    format!(
        "log-mel spectrogram, {mels} mel bins × {frames} frames, Whisper-normalized (about \
         [-1, 1])"
    )
}
