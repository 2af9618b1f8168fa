//! Task detection in three tiers: how the graph uses each input (high confidence), what the
//! inputs are called (medium), their shapes and dtypes (low).
//!
//! Detection first gives every input a role, then the model the task of its main inputs:
//! per-input roles are what synthesis needs, and they keep multi-input models (an image plus
//! an `im_info`, token ids plus a mask) from being judged by whichever input comes first.

use mlgate_ir::{DType, Dim, ModelFormat, ModelInfo, TensorInfo};

use crate::graph::{is_plain_dense_op, GraphFacts, Layout, OpClass, PixelRange, MEL_BINS};
use crate::{Confidence, InputAssessment, InputRole, Task, TaskReport, TaskSource};

/// Shortest float axis (in samples) read as audio by shape alone: half a second at 16 kHz.
const MIN_WAVEFORM_SAMPLES: u64 = 8000;

/// What detection decided for one input, with what synthesis needs to fill it.
#[derive(Debug, Clone)]
pub(crate) struct InputPlan {
    pub role: InputRole,
    /// The tier that decided the role; `None` when no tier did and the role was inferred from
    /// the model's task.
    pub tier: Option<Confidence>,
    /// Why, in a few words, for the synthesis choices.
    pub why: String,
    pub layout: Option<Layout>,
    pub range: Option<(PixelRange, String)>,
    /// Rows of the embedding table the input indexes, and the table's name.
    pub vocab: Option<(u64, String)>,
    /// Samples per call of a streaming audio model (one step of its conv stack).
    pub chunk: Option<u64>,
}

/// Detection's full result: the public report plus per-input plans and graph facts.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    pub report: TaskReport,
    pub plans: Vec<InputPlan>,
    pub facts: GraphFacts,
}

impl Analysis {
    /// The longest sequence the model accepts, from its position-embedding table.
    pub fn max_positions(&self) -> Option<(u64, String)> {
        let from_input = self.plans.iter().find_map(|p| {
            (p.role == InputRole::PositionIds)
                .then_some(p.vocab.clone())
                .flatten()
        });
        let (rows, table) = from_input.or_else(|| {
            self.facts
                .position_table()
                .map(|e| (e.rows, e.table.clone()))
        })?;
        // RoBERTa-style tables keep two extra rows for the padding offset of positions.
        let usable = if matches!(rows, 514 | 1026 | 4098) {
            rows - 2
        } else {
            rows
        };
        Some((usable, table))
    }
}

pub(crate) fn analyse(
    info: &ModelInfo,
    facts: GraphFacts,
    task_override: Option<Task>,
) -> Analysis {
    let mut evidence = Evidence::default();
    let mut plans: Vec<InputPlan> = info
        .inputs
        .iter()
        .map(|t| plan_input(info, t, &facts, &mut evidence))
        .collect();

    let (mut task, mut confidence, basis) = decide_task(info, &plans, &facts, &mut evidence);
    model_evidence(task, &facts, &mut evidence);

    // Inputs nothing recognised take the model's main role when they fit it.
    for (plan, t) in plans.iter_mut().zip(&info.inputs) {
        if plan.role == InputRole::Unknown {
            if let Some(role) = main_role(task, t).filter(|r| fits(*r, t).is_ok()) {
                plan.role = role;
                plan.why = format!("the model's task is {task}");
            }
        }
    }

    let detected = (task, confidence);
    let mut source = TaskSource::Detected;
    if let Some(forced) = task_override {
        source = TaskSource::Override;
        evidence.overrides.push(format!(
            "override: task set to {forced} by the user (detected {} with {} confidence)",
            detected.0, detected.1
        ));
        // The user knows better even than the graph (a 2-D CNN over spectrograms looks like
        // vision), but only main inputs change, and only to a role their dtype and rank allow.
        for (plan, t) in plans.iter_mut().zip(&info.inputs) {
            let replaceable = plan.role == InputRole::Unknown || plan.role.primary_task().is_some();
            if !replaceable || plan.role.primary_task() == Some(forced) {
                continue;
            }
            let role = if forced == Task::Unknown {
                Some(InputRole::Unknown)
            } else {
                main_role(forced, t).filter(|r| fits(*r, t).is_ok())
            };
            if let Some(role) = role {
                plan.role = role;
                plan.tier = None;
                plan.why = format!("--task {forced}");
            }
        }
        task = forced;
        confidence = Confidence::High;
    }
    // A model that carries recurrent state between calls streams: each call takes one step
    // of its conv stack, not a whole clip.
    let streaming = plans.iter().any(|p| p.role == InputRole::State);
    for (plan, t) in plans.iter_mut().zip(&info.inputs) {
        if plan.role != InputRole::Waveform || !streaming {
            plan.chunk = None;
        }
        if plan.role == InputRole::Image {
            plan.layout = Some(
                plan.layout
                    .unwrap_or_else(|| layout_from_shape(t, info.format)),
            );
            if plan.range.is_none() {
                plan.range = Some(default_range(info.format));
            }
        }
    }

    let warning = match (source, task, confidence) {
        (TaskSource::Override, _, _) => None,
        (_, Task::Unknown, _) => Some(
            "could not tell what this model does, so its inputs are zeros, which can skip \
             branches and hit fast paths; pass --task vision|nlp|audio|tabular for meaningful \
             inputs"
                .to_string(),
        ),
        (_, _, Confidence::High) => None,
        (_, task, c) => Some(format!(
            "task detected as {task} with {c} confidence (from {basis}); if that is wrong, \
             pass --task vision|nlp|audio|tabular"
        )),
    };
    let report = TaskReport {
        task,
        confidence,
        source,
        evidence: evidence.into_lines(),
        inputs: info
            .inputs
            .iter()
            .zip(&plans)
            .map(|(t, p)| InputAssessment {
                name: t.name.clone(),
                role: p.role,
            })
            .collect(),
        warning,
    };
    Analysis {
        report,
        plans,
        facts,
    }
}

/// Evidence lines by tier, so the report lists the most telling first.
#[derive(Default)]
struct Evidence {
    overrides: Vec<String>,
    graph: Vec<String>,
    names: Vec<String>,
    shapes: Vec<String>,
}

impl Evidence {
    fn into_lines(self) -> Vec<String> {
        let mut out = self.overrides;
        for line in self.graph.into_iter().chain(self.names).chain(self.shapes) {
            if !out.contains(&line) {
                out.push(line);
            }
        }
        out
    }
}

fn plan_input(
    info: &ModelInfo,
    t: &TensorInfo,
    facts: &GraphFacts,
    ev: &mut Evidence,
) -> InputPlan {
    let used = facts.inputs.get(&t.name).cloned().unwrap_or_default();
    let name_role = role_from_name(&t.name);
    let mut plan = InputPlan {
        role: InputRole::Unknown,
        tier: None,
        why: "nothing says what it is".into(),
        layout: None,
        range: used.range.clone(),
        vocab: used
            .embedding
            .as_ref()
            .map(|(table, rows, _)| (*rows, table.clone())),
        chunk: used.frame_hop,
    };
    if plan.vocab.is_none() {
        plan.vocab = facts
            .embeddings
            .iter()
            .filter(|e| e.input.as_deref() == Some(t.name.as_str()))
            .min_by_key(|e| e.rows)
            .map(|e| (e.rows, e.table.clone()));
    }

    let graph = role_from_graph(t, &used, facts, name_role);
    let name = name_role.map(|r| (r, fits(r, t)));
    let shape = role_from_shape(t, info.format);
    if let Some((role, line, layout)) = &graph {
        plan.role = *role;
        plan.tier = Some(Confidence::High);
        plan.why = line.clone();
        plan.layout = *layout;
    } else if let Some((role, Ok(()))) = &name {
        plan.role = *role;
        plan.tier = Some(Confidence::Medium);
        plan.why = format!("its name says {}", role.name());
    } else if let Some((role, _)) = &shape {
        plan.role = *role;
        plan.tier = Some(Confidence::Low);
        plan.why = format!("its shape looks like {}", article(*role));
    }

    // Evidence: everything that decided or agrees, plus names that were overruled, since a
    // misleading name is worth knowing about; shape guesses that lost are noise.
    if let Some((_, line, _)) = graph {
        ev.graph.push(format!("graph: {line}"));
    }
    let n = &t.name;
    match name {
        // The graph can vouch for a name its dtype contradicts (float ids cast inside).
        Some((role, _)) if role == plan.role => ev
            .names
            .push(format!("name: '{n}' is a usual name for {}", article(role))),
        Some((role, Ok(()))) => ev.names.push(format!(
            "name: '{n}' sounds like {}, but the graph uses it as {}",
            article(role),
            article(plan.role)
        )),
        Some((role, Err(why))) => ev.names.push(format!(
            "name: '{n}' sounds like {}, but {why}; the name is not trusted",
            article(role)
        )),
        None => {}
    }
    if let Some((role, line)) = shape {
        if role == plan.role {
            ev.shapes.push(format!("shape: {line}"));
        }
    }
    plan
}

/// "an image", "a waveform", "token ids".
fn article(role: InputRole) -> String {
    let name = role.name();
    if name.ends_with('s') {
        name.to_string()
    } else if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

fn rank(t: &TensorInfo) -> Option<usize> {
    t.shape.as_ref().map(Vec::len)
}

fn is_coreml_image(t: &TensorInfo) -> bool {
    matches!(&t.dtype, DType::Other(s) if s.starts_with("image"))
}

fn is_small_int(d: &DType) -> bool {
    matches!(d, DType::U8 | DType::I8)
}

/// Role from how the graph uses the input, with the evidence line and, for images, the
/// layout the graph implies.
fn role_from_graph(
    t: &TensorInfo,
    used: &crate::graph::InputUse,
    facts: &GraphFacts,
    name_role: Option<InputRole>,
) -> Option<(InputRole, String, Option<Layout>)> {
    let r = rank(t);
    let name = &t.name;
    if is_coreml_image(t) {
        return Some((
            InputRole::Image,
            format!("'{name}' is declared an image input ({})", t.dtype),
            Some(Layout::Nchw),
        ));
    }
    if let Some((table, rows, width)) = &used.embedding {
        let role = match name_role {
            Some(
                r @ (InputRole::AttentionMask | InputRole::TokenTypeIds | InputRole::PositionIds),
            ) => r,
            _ => InputRole::TokenIds,
        };
        return Some((
            role,
            format!("'{name}' indexes embedding table '{table}' ({rows} × {width})"),
            None,
        ));
    }
    if let Some(op) = &used.spectral {
        return Some((InputRole::Waveform, format!("'{name}' feeds {op}"), None));
    }
    // Carried state (a streaming conv's cache, an LSTM's c) may well feed a conv; the name
    // says what it is better than the conv does.
    let conv = used.conv.as_ref().filter(|_| {
        !matches!(name_role, Some(InputRole::State)) || fits(InputRole::State, t).is_err()
    });
    if let Some((op, conv_rank)) = conv {
        let spatial = conv_rank.or(match r {
            Some(4) => Some(2),
            Some(2 | 3) => Some(1),
            _ => None,
        });
        let layout = if used.channels_last {
            Layout::Nhwc
        } else {
            Layout::Nchw
        };
        let spectrogram_name = name_role == Some(InputRole::Spectrogram);
        match spatial {
            Some(1) if t.dtype.is_float() => {
                let channels = t
                    .shape
                    .as_ref()
                    .filter(|s| s.len() == 3)
                    .and_then(|s| s[1].fixed());
                let role = if spectrogram_name || channels.is_some_and(|c| c > 1) {
                    InputRole::Spectrogram
                } else {
                    InputRole::Waveform
                };
                return Some((role, format!("'{name}' feeds a 1-D {op}"), None));
            }
            // Video (rank 5) is left to names and shapes: synthesis knows no frames axis.
            Some(2 | 3) if r.is_some_and(|r| (3..=4).contains(&r)) => {
                let role = if spectrogram_name {
                    InputRole::Spectrogram
                } else {
                    InputRole::Image
                };
                let line = format!(
                    "'{name}' feeds a {}-D {op} ({})",
                    spatial.unwrap_or(2),
                    layout.name()
                );
                return Some((role, line, Some(layout)));
            }
            _ => {}
        }
    }
    if let Some(op) = &used.recurrent_state {
        return Some((
            InputRole::State,
            format!("'{name}' is the initial state of {op}"),
            None,
        ));
    }
    // Without a graph walk (CoreML, or a file that could not be re-read), op names together
    // with the input's shape are still graph evidence.
    if facts.limited.is_some() {
        let conv = facts.ops.count(OpClass::Conv);
        if conv > 0 && r == Some(4) && (t.dtype.is_float() || is_small_int(&t.dtype)) {
            return Some((
                InputRole::Image,
                format!(
                    "convolution layers ({}) over '{name}', which is rank 4",
                    facts.ops.describe(OpClass::Conv)
                ),
                None,
            ));
        }
        if facts.ops.count(OpClass::Embedding) > 0 && t.dtype.is_integer() {
            return Some((
                InputRole::TokenIds,
                format!(
                    "embedding layers ({}) and '{name}' is integer",
                    facts.ops.describe(OpClass::Embedding)
                ),
                None,
            ));
        }
    }
    if facts.ops.count(OpClass::ClassicMl) > 0
        && (t.dtype.is_float() || t.dtype.is_integer())
        && r.is_some_and(|r| r <= 2)
    {
        return Some((
            InputRole::Features,
            format!(
                "classic ML ops ({}) read '{name}'",
                facts.ops.describe(OpClass::ClassicMl)
            ),
            None,
        ));
    }
    if let Some(fb) = &facts.mel_filterbank {
        if t.dtype.is_float() && r.is_some_and(|r| (1..=2).contains(&r)) {
            return Some((
                InputRole::Waveform,
                format!("the graph applies a mel filterbank {fb} to '{name}'"),
                None,
            ));
        }
    }
    None
}

/// Lowercase words of a tensor name: `gpu_0/data_0` → gpu, 0, data, 0; `pixelValues` →
/// pixel, values.
pub(crate) fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase() || ch.is_numeric();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The role a tensor's name suggests, before checking that its dtype and shape agree.
pub(crate) fn role_from_name(name: &str) -> Option<InputRole> {
    let w = name_words(name);
    let has = |s: &str| w.iter().any(|x| x == s);
    let joined = w.join("_");
    let role = if has("mask") {
        InputRole::AttentionMask
    } else if joined.contains("token_type") || (has("segment") && (has("ids") || has("id"))) {
        InputRole::TokenTypeIds
    } else if has("position") || has("positions") || (has("pos") && has("ids")) {
        InputRole::PositionIds
    } else if has("ids") || has("tokens") || has("token") || joined == "input_id" {
        InputRole::TokenIds
    } else if [
        "pixel", "pixels", "image", "images", "img", "imgs", "rgb", "photo",
    ]
    .iter()
    .any(|s| has(s))
    {
        InputRole::Image
    } else if [
        "mel",
        "mels",
        "melspec",
        "logmel",
        "spectrogram",
        "spec",
        "fbank",
        "fbanks",
        "mfcc",
    ]
    .iter()
    .any(|s| has(s))
        || joined == "input_features"
    {
        InputRole::Spectrogram
    } else if ["waveform", "wav", "audio", "speech", "pcm", "samples"]
        .iter()
        .any(|s| has(s))
        || joined == "input_values"
    {
        InputRole::Waveform
    } else if has("sr")
        || ["sample_rate", "sampling_rate", "samplerate"]
            .iter()
            .any(|s| joined.contains(s))
    {
        InputRole::SampleRate
    } else if [
        "state", "states", "hidden", "cell", "cache", "past", "memory", "hx", "cx",
    ]
    .iter()
    .any(|s| has(s))
        || matches!(joined.as_str(), "h" | "c" | "h0" | "c0" | "hn" | "cn")
    {
        InputRole::State
    } else if has("features") || matches!(joined.as_str(), "float_input" | "feature" | "tabular") {
        InputRole::Features
    } else {
        return None;
    };
    Some(role)
}

/// Whether a tensor can carry `role`; the reason when it cannot.
pub(crate) fn fits(role: InputRole, t: &TensorInfo) -> Result<(), String> {
    let r = rank(t);
    let d = &t.dtype;
    let rank_in = |lo: usize, hi: usize| r.is_some_and(|r| (lo..=hi).contains(&r));
    let ok = match role {
        InputRole::Image => {
            (d.is_float() || is_small_int(d) || is_coreml_image(t)) && rank_in(3, 4)
        }
        InputRole::TokenIds | InputRole::TokenTypeIds | InputRole::PositionIds => {
            d.is_integer() && rank_in(1, 2)
        }
        InputRole::AttentionMask => {
            (d.is_integer() || d.is_float() || *d == DType::Bool) && rank_in(1, 4)
        }
        InputRole::Waveform => d.is_float() && rank_in(1, 3),
        InputRole::Spectrogram => d.is_float() && rank_in(2, 4),
        InputRole::Features => (d.is_float() || d.is_integer()) && rank_in(1, 2),
        InputRole::State => {
            let single_letter = t.name.chars().filter(|c| c.is_alphanumeric()).count() <= 2;
            (d.is_float() || d.is_integer()) && rank_in(if single_letter { 2 } else { 1 }, 8)
        }
        InputRole::SampleRate => {
            (d.is_integer() || d.is_float())
                && t.shape
                    .as_ref()
                    .is_some_and(|s| s.is_empty() || (s.len() == 1 && s[0] == Dim::Fixed(1)))
        }
        InputRole::Flag => *d == DType::Bool,
        InputRole::Unknown => true,
    };
    if ok {
        return Ok(());
    }
    Err(format!("it is {} {}", t.dtype, t.shape_text()))
}

/// The main role of `task` for a tensor of this shape.
fn main_role(task: Task, t: &TensorInfo) -> Option<InputRole> {
    Some(match task {
        Task::Vision => InputRole::Image,
        Task::Nlp => InputRole::TokenIds,
        Task::Audio => match rank(t) {
            Some(3 | 4) => InputRole::Spectrogram,
            _ => InputRole::Waveform,
        },
        Task::Tabular => InputRole::Features,
        Task::Unknown => return None,
    })
}

fn is_channel_count(d: &Dim) -> bool {
    matches!(d, Dim::Fixed(1 | 3 | 4))
}

/// Role from shape and dtype alone.
fn role_from_shape(t: &TensorInfo, format: ModelFormat) -> Option<(InputRole, String)> {
    let name = &t.name;
    let desc = format!("'{name}' is {} {}", t.dtype, t.shape_text());
    if t.dtype == DType::Bool {
        return Some((InputRole::Flag, format!("{desc}: a boolean switch")));
    }
    let dims = t.shape.as_ref()?;
    let float = t.dtype.is_float();
    let long = |d: &Dim| !matches!(d, Dim::Fixed(n) if *n < MIN_WAVEFORM_SAMPLES);
    match dims.len() {
        4 if float || is_small_int(&t.dtype) => {
            if is_channel_count(&dims[1]) || is_channel_count(&dims[3]) {
                let layout = layout_from_shape(t, format);
                let what = if float { "" } else { " of quantized pixels" };
                return Some((
                    InputRole::Image,
                    format!(
                        "{desc}: rank 4 with a {}-channel axis ({}){what}",
                        channels(dims, layout),
                        layout.name()
                    ),
                ));
            }
            None
        }
        3 if t.dtype == DType::U8 && is_channel_count(&dims[2]) => Some((
            InputRole::Image,
            format!("{desc}: height × width × channels of 8-bit pixels"),
        )),
        3 if float => {
            let mel = dims
                .iter()
                .skip(1)
                .position(|d| matches!(d, Dim::Fixed(n) if MEL_BINS.contains(n)))?;
            let other = &dims[if mel == 0 { 2 } else { 1 }];
            let frames_like = !matches!(other, Dim::Fixed(n) if *n < 10);
            frames_like.then(|| {
                (
                    InputRole::Spectrogram,
                    format!(
                        "{desc}: an axis of {} mel bins and a time axis",
                        dims[mel + 1]
                    ),
                )
            })
        }
        2 if t.dtype.is_integer() && matches!(t.dtype, DType::I32 | DType::I64) => Some((
            InputRole::TokenIds,
            format!("{desc}: rank-2 integers, like batches of token ids"),
        )),
        1 if matches!(t.dtype, DType::I32 | DType::I64)
            && !matches!(dims[0], Dim::Fixed(0 | 1)) =>
        {
            Some((
                InputRole::TokenIds,
                format!("{desc}: a sequence of integers"),
            ))
        }
        2 if float && long(&dims[1]) => Some((
            InputRole::Waveform,
            format!("{desc}: a long float axis, like audio samples"),
        )),
        1 if float && long(&dims[0]) => Some((
            InputRole::Waveform,
            format!("{desc}: a long float axis, like audio samples"),
        )),
        // One float is a parameter (a gate, a threshold), not a feature vector.
        1 | 2 if float && dims.iter().any(|d| *d != Dim::Fixed(1)) => Some((
            InputRole::Features,
            format!("{desc}: a flat vector of features"),
        )),
        _ => None,
    }
}

fn channels(dims: &[Dim], layout: Layout) -> String {
    let axis = match (dims.len(), layout) {
        (4, Layout::Nchw) => 1,
        (4, Layout::Nhwc) => 3,
        (3, Layout::Nchw) => 0,
        _ => 2,
    };
    dims.get(axis).map_or("?".into(), Dim::to_string)
}

/// NCHW or NHWC from which axis holds 1, 3 or 4 channels; the format's convention when
/// both or neither do.
pub(crate) fn layout_from_shape(t: &TensorInfo, format: ModelFormat) -> Layout {
    let default = match format {
        ModelFormat::Tflite => Layout::Nhwc,
        _ => Layout::Nchw,
    };
    let Some(dims) = &t.shape else {
        return default;
    };
    let (first, last) = match dims.len() {
        4 => (&dims[1], &dims[3]),
        3 => (&dims[0], &dims[2]),
        _ => return default,
    };
    match (is_channel_count(first), is_channel_count(last)) {
        (true, false) => Layout::Nchw,
        (false, true) => Layout::Nhwc,
        _ => default,
    }
}

/// The range float images are expected in when the graph does not say: PyTorch exports
/// (most ONNX vision models) expect ImageNet normalization; TFLite and CoreML models
/// expect [0, 1] more often than not.
fn default_range(format: ModelFormat) -> (PixelRange, String) {
    match format {
        ModelFormat::Onnx => (
            PixelRange::ImageNet,
            "that is what ONNX vision models exported from PyTorch expect".into(),
        ),
        ModelFormat::Tflite => (
            PixelRange::Unit,
            "that is what most float TFLite vision models expect".into(),
        ),
        ModelFormat::Coreml | ModelFormat::Gguf => (
            PixelRange::Unit,
            "that is what most CoreML multi-array images hold".into(),
        ),
    }
}

/// The model's task, how sure, and what it rests on (for the warning).
fn decide_task(
    info: &ModelInfo,
    plans: &[InputPlan],
    facts: &GraphFacts,
    ev: &mut Evidence,
) -> (Task, Confidence, &'static str) {
    let basis = |c: Confidence| match c {
        Confidence::High => "how the graph uses the inputs",
        Confidence::Medium => "tensor names",
        Confidence::Low => "tensor shapes and dtypes",
    };
    let primaries: Vec<(Task, Confidence)> = plans
        .iter()
        .filter_map(|p| Some((p.role.primary_task()?, p.tier?)))
        .collect();
    if let Some(best) = primaries.iter().map(|p| p.1).max() {
        let mut tally: Vec<(Task, usize)> = Vec::new();
        for (task, _) in primaries.iter().filter(|p| p.1 == best) {
            match tally.iter_mut().find(|(t, _)| t == task) {
                Some(e) => e.1 += 1,
                None => tally.push((*task, 1)),
            }
        }
        // The most inputs win; on a tie, the first input's task.
        let task = tally
            .iter()
            .fold(None, |acc: Option<(Task, usize)>, &(t, n)| match acc {
                Some((_, m)) if m >= n => acc,
                _ => Some((t, n)),
            })
            .map_or(Task::Unknown, |(t, _)| t);
        let confidence = best;
        if task == Task::Tabular && confidence < Confidence::Medium && dense_only(info) {
            let layers = [OpClass::Dense, OpClass::MatMul]
                .map(|c| facts.ops.describe(c))
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            ev.graph.push(format!(
                "graph: only dense layers ({layers}) and activations, nothing spatial or sequential"
            ));
            return (
                task,
                Confidence::Medium,
                "a graph of dense layers only and the input shape",
            );
        }
        return (task, confidence, basis(confidence));
    }
    // No main input: auxiliary roles still point somewhere.
    let aux = |roles: &[InputRole]| {
        plans
            .iter()
            .filter(|p| roles.contains(&p.role))
            .filter_map(|p| p.tier)
            .max()
    };
    if let Some(c) = aux(&[
        InputRole::AttentionMask,
        InputRole::TokenTypeIds,
        InputRole::PositionIds,
    ]) {
        return (Task::Nlp, c, basis(c));
    }
    if let Some(c) = aux(&[InputRole::SampleRate]) {
        return (Task::Audio, c, basis(c));
    }
    if facts.ops.count(OpClass::Spectral) > 0 {
        ev.graph.push(format!(
            "graph: spectral ops ({})",
            facts.ops.describe(OpClass::Spectral)
        ));
        return (Task::Audio, Confidence::High, basis(Confidence::High));
    }
    (Task::Unknown, Confidence::Low, "nothing")
}

/// Every op is a dense layer or an activation.
fn dense_only(info: &ModelInfo) -> bool {
    let layers = info.ops.keys().any(|k| {
        matches!(
            crate::graph::op_class(k),
            Some(OpClass::Dense | OpClass::MatMul)
        )
    });
    layers && info.ops.keys().all(|k| is_plain_dense_op(k))
}

/// Model-wide graph findings that support the chosen task.
fn model_evidence(task: Task, facts: &GraphFacts, ev: &mut Evidence) {
    let ops = &facts.ops;
    let mut push = |line: String| ev.graph.push(format!("graph: {line}"));
    match task {
        Task::Vision => {
            let conv2 = facts.conv_count(2);
            if conv2 > 0 {
                push(format!(
                    "{conv2} 2-D convolutions ({})",
                    ops.describe(OpClass::Conv)
                ));
            } else if ops.count(OpClass::Conv) > 0 && facts.limited.is_none() {
                push(format!("convolutions ({})", ops.describe(OpClass::Conv)));
            }
            if ops.count(OpClass::Pool) > 0 {
                push(format!("pooling ({})", ops.describe(OpClass::Pool)));
            }
            if ops.count(OpClass::Resize) > 0 {
                push(format!("resizing ({})", ops.describe(OpClass::Resize)));
            }
        }
        Task::Nlp => {
            let (mm, sm) = (ops.count(OpClass::MatMul), ops.count(OpClass::Softmax));
            if mm >= 2 && sm > 0 {
                push(format!(
                    "attention pattern: {} with {}",
                    ops.describe(OpClass::MatMul),
                    ops.describe(OpClass::Softmax)
                ));
            }
            if ops.count(OpClass::Attention) > 0 {
                push(format!(
                    "fused attention ({})",
                    ops.describe(OpClass::Attention)
                ));
            }
            if ops.count(OpClass::LayerNorm) > 0 {
                push(format!(
                    "layer normalization ({})",
                    ops.describe(OpClass::LayerNorm)
                ));
            }
            if let Some(p) = facts.position_table() {
                push(format!(
                    "position table '{}' has {} rows: sequences up to {} tokens",
                    p.table, p.rows, p.rows
                ));
            }
        }
        Task::Audio => {
            let conv1 = facts.conv_count(1);
            if conv1 > 0 {
                push(format!("{conv1} 1-D convolutions over time"));
            }
            if ops.count(OpClass::Spectral) > 0 {
                push(format!(
                    "spectral ops ({})",
                    ops.describe(OpClass::Spectral)
                ));
            }
            if let Some(fb) = &facts.mel_filterbank {
                push(format!("mel filterbank {fb}"));
            }
            if ops.count(OpClass::Recurrent) > 0 {
                push(format!(
                    "recurrent layers ({})",
                    ops.describe(OpClass::Recurrent)
                ));
            }
        }
        Task::Tabular | Task::Unknown => {}
    }
    if let Some(why) = &facts.limited {
        ev.graph
            .push(format!("graph: judged from op names only ({why})"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(name_words("gpu_0/data_0"), ["gpu", "0", "data", "0"]);
        assert_eq!(name_words("pixelValues"), ["pixel", "values"]);
        assert_eq!(name_words("stateN"), ["state", "n"]);
        assert_eq!(name_words("input.1"), ["input", "1"]);
    }

    #[test]
    fn names_map_to_roles() {
        use InputRole::*;
        for (name, role) in [
            ("input_ids", Some(TokenIds)),
            ("decoder_input_ids", Some(TokenIds)),
            ("attention_mask", Some(AttentionMask)),
            ("token_type_ids", Some(TokenTypeIds)),
            ("segment_ids", Some(TokenTypeIds)),
            ("position_ids", Some(PositionIds)),
            ("pixel_values", Some(Image)),
            ("input_image", Some(Image)),
            ("input_features", Some(Spectrogram)),
            ("log_mel", Some(Spectrogram)),
            ("waveform", Some(Waveform)),
            ("input_values", Some(Waveform)),
            ("sr", Some(SampleRate)),
            ("sample_rate", Some(SampleRate)),
            ("state", Some(State)),
            ("h0", Some(State)),
            ("past_key_values.0.key", Some(State)),
            ("float_input", Some(Features)),
            ("input", None),
            ("data_0", None),
            ("x", None),
        ] {
            assert_eq!(role_from_name(name), role, "{name}");
        }
    }
}
