//! Graph facts from a TFLite model. TFLite has no 1-D convolution: converters express one as
//! CONV_2D over a `[N, 1, W, C]` map, so the rank is read from the conv's input shape.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use mlgate_ir::tflite::{Operator, Subgraph, TfliteModel};

use super::{looks_like_mel_filterbank, Embedding, GraphFacts, InputUse, PixelRange};

const MAX_WALK_NODES: usize = 512;
const MAX_TRACE_BACK: usize = 16;

pub(super) fn analyse(path: &Path, facts: &mut GraphFacts) -> Result<(), String> {
    let model = mlgate_ir::tflite::read_model(path).map_err(|e| e.to_string())?;
    for sg in &model.subgraphs {
        let g = Sub::new(&model, sg);
        for op in &sg.operators {
            let name = g.op_name(op);
            if let Some(slot) = conv_input_slot(&name) {
                *facts
                    .conv_ranks
                    .entry(g.conv_rank(&name, op, slot))
                    .or_default() += 1;
            }
        }
    }
    let Some(sg) = model.primary_subgraph() else {
        return Err("the model has no subgraphs".into());
    };
    let g = Sub::new(&model, sg);
    facts.embeddings = g.embeddings();
    facts.mel_filterbank = g.mel_filterbank();
    let ranges = metadata_ranges(path, &model);
    for (i, &t) in sg.inputs.iter().enumerate() {
        if let Some(tensor) = sg.tensors.get(t) {
            let mut used = g.walk_from(t);
            used.range = ranges.get(i).cloned().flatten();
            let name = model.primary_name(t).unwrap_or_else(|| tensor.name.clone());
            facts.inputs.insert(name, used);
        }
    }
    Ok(())
}

/// The input slot carrying the feature map of a convolution op.
fn conv_input_slot(op: &str) -> Option<usize> {
    match op {
        "CONV_2D" | "DEPTHWISE_CONV_2D" | "CONV_3D" => Some(0),
        // TRANSPOSE_CONV takes (output_shape, weights, input).
        "TRANSPOSE_CONV" | "Convolution2DTransposeBias" => Some(2),
        "CONV_3D_TRANSPOSE" => Some(2),
        _ => None,
    }
}

struct Sub<'m> {
    model: &'m TfliteModel,
    sg: &'m Subgraph,
    /// Tensors whose value is fixed: constant buffers and what DEQUANTIZE/DENSIFY make of them.
    consts: HashSet<usize>,
    producers: HashMap<usize, usize>,
    consumers: HashMap<usize, Vec<(usize, usize)>>,
}

impl<'m> Sub<'m> {
    fn new(model: &'m TfliteModel, sg: &'m Subgraph) -> Sub<'m> {
        let mut s = Sub {
            model,
            sg,
            consts: HashSet::new(),
            producers: HashMap::new(),
            consumers: HashMap::new(),
        };
        for (i, t) in sg.tensors.iter().enumerate() {
            if model.tensor_buffer(t).is_some() {
                s.consts.insert(i);
            }
        }
        for (oi, op) in sg.operators.iter().enumerate() {
            for o in op.outputs.iter().flatten() {
                s.producers.insert(*o, oi);
            }
            for (slot, i) in op.inputs.iter().enumerate() {
                if let Some(i) = i {
                    s.consumers.entry(*i).or_default().push((oi, slot));
                }
            }
        }
        // fp16 and sparse weights are stored compressed and expanded by these ops.
        for op in &sg.operators {
            let name = s.op_name(op);
            if matches!(name.as_str(), "DEQUANTIZE" | "DENSIFY")
                && op
                    .inputs
                    .first()
                    .copied()
                    .flatten()
                    .is_some_and(|i| s.consts.contains(&i))
            {
                s.consts.extend(op.outputs.iter().flatten().copied());
            }
        }
        s
    }

    fn op_name(&self, op: &Operator) -> String {
        self.model
            .operator_codes
            .get(op.opcode_index)
            .map(|c| c.name())
            .unwrap_or_default()
    }

    fn shape(&self, t: usize) -> Option<&'m [i32]> {
        self.sg.tensors.get(t).map(|t| t.shape.as_slice())
    }

    fn conv_rank(&self, name: &str, op: &Operator, slot: usize) -> Option<u8> {
        if name.starts_with("CONV_3D") {
            return Some(3);
        }
        let input = op.inputs.get(slot).copied().flatten()?;
        match self.shape(input)? {
            // [N, H, W, C]: one spatial extent of 1 means a 1-D conv over the other.
            [_, h, w, _] if (*h == 1) != (*w == 1) => Some(1),
            [_, _, _, _] => Some(2),
            _ => None,
        }
    }

    /// The constant `rows × width` table an op gathers from, and the slot of its indices.
    fn gather_table(&self, name: &str, op: &Operator) -> Option<(usize, u64, u64, usize)> {
        let (table_slot, ids_slot) = match name {
            "GATHER" => (0, 1),
            "EMBEDDING_LOOKUP" => (1, 0),
            _ => return None,
        };
        let table = op.inputs.get(table_slot).copied().flatten()?;
        if !self.consts.contains(&table) {
            return None;
        }
        match self.shape(table)? {
            [rows, width] if *rows > 1 && *width > 0 => {
                Some((table, *rows as u64, *width as u64, ids_slot))
            }
            _ => None,
        }
    }

    fn tensor_name(&self, t: usize) -> String {
        self.sg
            .tensors
            .get(t)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    /// An input as users call it: by its signature name in the primary subgraph.
    fn input_name(&self, t: usize) -> String {
        let primary = self
            .model
            .primary_subgraph()
            .is_some_and(|p| std::ptr::eq(p, self.sg));
        match primary {
            true => self.model.primary_name(t).unwrap_or_default(),
            false => self.tensor_name(t),
        }
    }

    fn source_input(&self, mut t: usize) -> Option<usize> {
        for _ in 0..MAX_TRACE_BACK {
            if self.sg.inputs.contains(&t) {
                return Some(t);
            }
            let op = &self.sg.operators[*self.producers.get(&t)?];
            let preserving = matches!(
                self.op_name(op).as_str(),
                "CAST"
                    | "RESHAPE"
                    | "EXPAND_DIMS"
                    | "SQUEEZE"
                    | "STRIDED_SLICE"
                    | "SLICE"
                    | "TRANSPOSE"
                    | "MINIMUM"
                    | "MAXIMUM"
            );
            if !preserving {
                return None;
            }
            t = op.inputs.first().copied().flatten()?;
        }
        None
    }

    fn embeddings(&self) -> Vec<Embedding> {
        let mut out = Vec::new();
        for op in &self.sg.operators {
            let name = self.op_name(op);
            if let Some((table, rows, width, ids_slot)) = self.gather_table(&name, op) {
                let input = op
                    .inputs
                    .get(ids_slot)
                    .copied()
                    .flatten()
                    .and_then(|i| self.source_input(i))
                    .map(|i| self.input_name(i));
                out.push(Embedding {
                    table: self.tensor_name(table),
                    rows,
                    width,
                    input,
                });
            }
        }
        out
    }

    fn mel_filterbank(&self) -> Option<String> {
        self.sg.operators.iter().find_map(|op| {
            let name = self.op_name(op);
            if !matches!(name.as_str(), "BATCH_MATMUL" | "FULLY_CONNECTED") {
                return None;
            }
            op.inputs.iter().flatten().find_map(|&t| {
                if !self.consts.contains(&t) {
                    return None;
                }
                let dims: Vec<u64> = self.shape(t)?.iter().map(|&d| d.max(0) as u64).collect();
                looks_like_mel_filterbank(&dims)
                    .then(|| format!("'{}' ({} × {})", self.tensor_name(t), dims[0], dims[1]))
            })
        })
    }

    fn walk_from(&self, input: usize) -> InputUse {
        let mut found = InputUse::default();
        let mut queue = VecDeque::from([input]);
        let mut seen: HashSet<usize> = HashSet::new();
        while let Some(t) = queue.pop_front() {
            let Some(uses) = self.consumers.get(&t) else {
                continue;
            };
            for &(oi, slot) in uses {
                if !seen.insert(oi) || seen.len() > MAX_WALK_NODES {
                    continue;
                }
                let op = &self.sg.operators[oi];
                let name = self.op_name(op);
                if let Some(conv_slot) = conv_input_slot(&name) {
                    if slot == conv_slot && found.conv.is_none() {
                        let rank = self.conv_rank(&name, op, conv_slot);
                        found.conv = Some((name, rank));
                        found.channels_last = true;
                    }
                    continue;
                }
                if let Some((table, rows, width, ids_slot)) = self.gather_table(&name, op) {
                    if slot == ids_slot {
                        found
                            .embedding
                            .get_or_insert((self.tensor_name(table), rows, width));
                        continue;
                    }
                }
                if matches!(name.as_str(), "ADD" | "SUB" | "MUL" | "DIV") {
                    // Mixed with another computed value, the result is no longer this input.
                    let other = op.inputs.get(1 - slot.min(1)).copied().flatten();
                    if other.is_some_and(|o| !self.consts.contains(&o)) {
                        continue;
                    }
                }
                match name.as_str() {
                    "RFFT2D" | "AudioSpectrogram" | "Mfcc" | "AudioMicrofrontend" => {
                        found.spectral.get_or_insert(name);
                        continue;
                    }
                    "SHAPE" | "RANGE" => continue,
                    // Past a learned projection the values are features, not the input.
                    "FULLY_CONNECTED" | "BATCH_MATMUL" => continue,
                    // Recurrent ops take their state as variable tensors, not inputs; an
                    // input reaching one past slot 0 is state fed from outside.
                    "UNIDIRECTIONAL_SEQUENCE_LSTM"
                    | "UNIDIRECTIONAL_SEQUENCE_RNN"
                    | "BIDIRECTIONAL_SEQUENCE_LSTM"
                    | "LSTM" => {
                        if slot > 0 {
                            found.recurrent_state.get_or_insert(name);
                        }
                        continue;
                    }
                    _ => {}
                }
                queue.extend(op.outputs.iter().flatten().copied());
            }
        }
        found
    }
}

/// Value ranges the model's `TFLITE_METADATA` documents for its inputs (normalization mean
/// and std, or min/max stats), by subgraph input position. MediaPipe and Model Maker
/// models carry it; the metadata is optional, so anything unreadable is simply `None`.
fn metadata_ranges(path: &Path, model: &TfliteModel) -> Vec<Option<(PixelRange, String)>> {
    let Some(meta) = model.metadata.iter().find(|m| m.name == "TFLITE_METADATA") else {
        return Vec::new();
    };
    let Some(buffer) = model
        .buffers
        .get(meta.buffer)
        .filter(|b| b.len <= MAX_METADATA_BYTES)
    else {
        return Vec::new();
    };
    let Some(bytes) = read_range(path, buffer.offset, buffer.len) else {
        return Vec::new();
    };
    let fb = Fb(&bytes);
    let inputs = (|| {
        let root = fb.root()?;
        let subgraph = fb.vector_tables(root, 3)?.into_iter().next()?;
        fb.vector_tables(subgraph, 2)
    })()
    .unwrap_or_default();
    inputs
        .into_iter()
        .map(|tensor| {
            // ProcessUnit { options_type: u8 (slot 0), options (slot 1) }; 1 = normalization.
            let units = fb.vector_tables(tensor, 4).unwrap_or_default();
            for unit in units {
                if fb.scalar_u8(unit, 0) == Some(1) {
                    let norm = fb.table(unit, 1)?;
                    let mean = fb.floats(norm, 0)?.first().copied()?;
                    let std = fb.floats(norm, 1)?.first().copied()?;
                    if std == 0.0 || !mean.is_finite() || !std.is_finite() {
                        return None;
                    }
                    let (lo, hi) = ((0.0 - mean) / std, (255.0 - mean) / std);
                    let why = format!(
                        "the model's metadata normalizes pixels with mean {mean} and std {std}"
                    );
                    return classify_range(lo, hi).map(|r| (r, why));
                }
            }
            let stats = fb.table(tensor, 5)?;
            let hi = fb.floats(stats, 0)?.first().copied()?;
            let lo = fb.floats(stats, 1)?.first().copied()?;
            let why = format!("the model's metadata gives the input range [{lo}, {hi}]");
            classify_range(lo, hi).map(|r| (r, why))
        })
        .collect()
}

const MAX_METADATA_BYTES: u64 = 1 << 20;

fn classify_range(lo: f32, hi: f32) -> Option<PixelRange> {
    let near = |a: f32, b: f32| (a - b).abs() <= 0.05 * b.abs().max(1.0);
    match (lo, hi) {
        (l, h) if near(l, 0.0) && near(h, 1.0) => Some(PixelRange::Unit),
        (l, h) if near(l, -1.0) && near(h, 1.0) => Some(PixelRange::Symmetric),
        (l, h) if near(l, 0.0) && near(h, 255.0) => Some(PixelRange::Pixels),
        _ => None,
    }
}

fn read_range(path: &Path, offset: u64, len: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut out = Vec::new();
    f.take(len).read_to_end(&mut out).ok()?;
    (out.len() as u64 == len).then_some(out)
}

/// A bounds-checked reader for the few flatbuffer tables the metadata needs. Every read
/// checks its range, so a corrupt buffer yields `None`, never a panic.
struct Fb<'b>(&'b [u8]);

impl Fb<'_> {
    fn u32_at(&self, pos: usize) -> Option<u32> {
        let b = self.0.get(pos..pos.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    fn u16_at(&self, pos: usize) -> Option<u16> {
        let b = self.0.get(pos..pos.checked_add(2)?)?;
        Some(u16::from_le_bytes(b.try_into().ok()?))
    }

    fn root(&self) -> Option<usize> {
        usize::try_from(self.u32_at(0)?).ok()
    }

    /// Absolute position of field `slot` of the table at `table`, if present.
    fn field(&self, table: usize, slot: usize) -> Option<usize> {
        let soffset = self.u32_at(table)? as i32;
        let vtable = usize::try_from(i64::try_from(table).ok()? - i64::from(soffset)).ok()?;
        let vsize = usize::from(self.u16_at(vtable)?);
        let entry = 4 + 2 * slot;
        if entry + 2 > vsize {
            return None;
        }
        let off = usize::from(self.u16_at(vtable + entry)?);
        (off != 0).then(|| table + off)
    }

    fn deref(&self, pos: usize) -> Option<usize> {
        pos.checked_add(usize::try_from(self.u32_at(pos)?).ok()?)
    }

    fn table(&self, table: usize, slot: usize) -> Option<usize> {
        self.deref(self.field(table, slot)?)
    }

    fn scalar_u8(&self, table: usize, slot: usize) -> Option<u8> {
        self.0.get(self.field(table, slot)?).copied()
    }

    /// (first element position, length) of a vector field.
    fn vector(&self, table: usize, slot: usize) -> Option<(usize, usize)> {
        let v = self.deref(self.field(table, slot)?)?;
        let len = usize::try_from(self.u32_at(v)?).ok()?;
        Some((v + 4, len))
    }

    fn vector_tables(&self, table: usize, slot: usize) -> Option<Vec<usize>> {
        let (start, len) = self.vector(table, slot)?;
        (0..len.min(1024))
            .map(|i| self.deref(start.checked_add(4 * i)?))
            .collect()
    }

    fn floats(&self, table: usize, slot: usize) -> Option<Vec<f32>> {
        let (start, len) = self.vector(table, slot)?;
        (0..len.min(64))
            .map(|i| Some(f32::from_bits(self.u32_at(start.checked_add(4 * i)?)?)))
            .collect()
    }
}
