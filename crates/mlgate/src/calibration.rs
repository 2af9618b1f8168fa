//! Calibration data for static int8: reading it (an `.npz`, a directory of `.npy` files, or
//! a directory of images), naming it by content, and running the calibration model over it
//! to get activation ranges. The optimize crate never runs a model; this is where it is run.

use std::path::{Path, PathBuf};

use mlgate_backends::{BackendKind, RuntimeCatalog, SessionOptions};
use mlgate_ir::tensor::{Tensor, TensorData};
use mlgate_ir::{DType, Dim, ModelInfo, TensorInfo};
use mlgate_optimize::{ActivationRanges, Calibration, CalibrationPlan, RangeCollector};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Extensions read as calibration images.
pub(crate) const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];
/// More samples than this are not read: ranges settle long before, and every sample is one
/// run of the model with all its activations exposed.
pub(crate) const MAX_SAMPLES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Npz,
    Npy,
    Images,
}

/// Calibration data found at a path, not read yet beyond its bytes' hash.
#[derive(Debug, Clone)]
pub(crate) struct CalibrationData {
    path: PathBuf,
    kind: Kind,
    files: Vec<PathBuf>,
    /// 8 hex digits of a SHA-256 over the files' contents (sorted, so file names and order do
    /// not matter): the same data is the same variant.
    pub(crate) hash: String,
}

fn invalid(path: &Path, hint: impl Into<String>) -> Error {
    Error::Invalid {
        what: "--calibration-data",
        value: path.display().to_string(),
        hint: hint.into(),
    }
}

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Finds the calibration files at `path` and hashes them.
pub(crate) fn scan(path: &Path) -> Result<CalibrationData> {
    let meta = std::fs::metadata(path).map_err(|e| {
        invalid(
            path,
            format!(
                "cannot read it ({e}); give a directory of images (.jpg .png .bmp .webp), a \
                 directory of .npy files (one sample each) or one .npz file"
            ),
        )
    })?;
    let (kind, files) = if meta.is_file() {
        if extension(path) != "npz" {
            return Err(invalid(
                path,
                "a calibration file must be an .npz (first axis = samples, one array per \
                 input); give a directory for .npy files or images",
            ));
        }
        (Kind::Npz, vec![path.to_path_buf()])
    } else {
        let entries = std::fs::read_dir(path)
            .map_err(|e| invalid(path, format!("cannot list the directory: {e}")))?;
        let (mut npy, mut images) = (Vec::new(), Vec::new());
        for entry in entries {
            let entry = entry.map_err(|e| invalid(path, format!("cannot list it: {e}")))?;
            let p = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden || !p.is_file() {
                continue;
            }
            let ext = extension(&p);
            if ext == "npy" {
                npy.push(p);
            } else if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
                images.push(p);
            }
        }
        match (npy.is_empty(), images.is_empty()) {
            (true, true) => {
                return Err(invalid(
                    path,
                    "the directory holds no calibration samples: put images (.jpg .png .bmp \
                     .webp) or .npy files (one sample each) in it, or give an .npz",
                ))
            }
            (false, false) => {
                return Err(invalid(
                    path,
                    format!(
                        "the directory mixes {} .npy files and {} images; keep one kind",
                        npy.len(),
                        images.len()
                    ),
                ))
            }
            (false, true) => (Kind::Npy, npy),
            (true, false) => (Kind::Images, images),
        }
    };
    let mut files = files;
    files.sort();
    if files.len() > MAX_SAMPLES {
        return Err(invalid(
            path,
            format!(
                "{} samples; use at most {MAX_SAMPLES} (a few hundred representative inputs \
                 are plenty)",
                files.len()
            ),
        ));
    }
    let mut digests = Vec::with_capacity(files.len());
    for f in &files {
        let bytes = std::fs::read(f)
            .map_err(|e| invalid(path, format!("cannot read {}: {e}", f.display())))?;
        digests.push(Sha256::digest(&bytes).to_vec());
    }
    digests.sort();
    let mut all = Sha256::new();
    all.update(format!("{kind:?}").as_bytes());
    for d in &digests {
        all.update(d);
    }
    let hash = hex::encode(all.finalize())[..8].to_string();
    Ok(CalibrationData {
        path: path.to_path_buf(),
        kind,
        files,
        hash,
    })
}

impl CalibrationData {
    /// What the data is, for a report note.
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            Kind::Npz => format!("{} (.npz)", self.path.display()),
            Kind::Npy => format!("{} ({} .npy files)", self.path.display(), self.files.len()),
            Kind::Images => format!("{} ({} images)", self.path.display(), self.files.len()),
        }
    }

    /// The samples, one input set each, shaped and typed as `model` takes them.
    pub(crate) fn load(&self, model: &Path) -> Result<Vec<Vec<Tensor>>> {
        let info = crate::inspect(model)?;
        // The shapes synthesis resolves are the shapes a sample must have (batch 1).
        let synth = mlgate_tasks::synthesize(&info, model, &Default::default())?.tensors;
        let samples = match self.kind {
            Kind::Npz => self.load_npz(&info, &synth)?,
            Kind::Npy => self.load_npy(&info, &synth)?,
            Kind::Images => self.load_images(&info, model, &synth)?,
        };
        if samples.is_empty() {
            return Err(invalid(&self.path, "it holds no samples (first axis 0)"));
        }
        Ok(samples)
    }

    fn load_npz(&self, info: &ModelInfo, synth: &[Tensor]) -> Result<Vec<Vec<Tensor>>> {
        let arrays = mlgate_ir::tensor::read_npz(&self.path).map_err(Error::Tensor)?;
        let single = info.inputs.len() == 1 && arrays.len() == 1;
        let mut per_input: Vec<Vec<Tensor>> = Vec::new();
        for (t, want) in info.inputs.iter().zip(synth) {
            let array = arrays
                .iter()
                .find(|a| a.name() == t.name || Some(a.name()) == t.tensor_name.as_deref())
                .or_else(|| single.then(|| &arrays[0]))
                .ok_or_else(|| {
                    invalid(
                        &self.path,
                        format!(
                            "it has no array named '{}' (it has {}); name one array per model \
                             input, first axis = samples (np.savez(path, {}=...))",
                            t.name,
                            names(&arrays),
                            t.name
                        ),
                    )
                })?;
            per_input.push(split_samples(&self.path, array, t, want)?);
        }
        let n = per_input.first().map_or(0, Vec::len);
        if let Some((t, v)) = info
            .inputs
            .iter()
            .zip(&per_input)
            .find(|(_, v)| v.len() != n)
        {
            return Err(invalid(
                &self.path,
                format!(
                    "its arrays hold different numbers of samples ({n} for '{}', {} for '{}'); \
                     give every input the same first axis",
                    info.inputs[0].name,
                    v.len(),
                    t.name
                ),
            ));
        }
        Ok((0..n)
            .map(|i| per_input.iter().map(|v| v[i].clone()).collect())
            .collect())
    }

    fn load_npy(&self, info: &ModelInfo, synth: &[Tensor]) -> Result<Vec<Vec<Tensor>>> {
        let (t, want) = single_input(&self.path, info, synth, "a directory of .npy files")?;
        self.files
            .iter()
            .map(|f| {
                let array = mlgate_ir::tensor::read_npy(f).map_err(Error::Tensor)?;
                Ok(vec![one_sample(f, array, t, want)?])
            })
            .collect()
    }

    fn load_images(
        &self,
        info: &ModelInfo,
        model: &Path,
        synth: &[Tensor],
    ) -> Result<Vec<Vec<Tensor>>> {
        let (t, want) = single_input(&self.path, info, synth, "a directory of images")?;
        let convention = mlgate_tasks::image_conventions(info, model)
            .into_iter()
            .find(|c| c.input == t.name)
            .ok_or_else(|| {
                invalid(
                    &self.path,
                    format!(
                        "the model's input '{}' ({} {}) is not a float image, so images cannot \
                         fill it; give .npy files or an .npz of its values",
                        t.name,
                        t.dtype,
                        t.shape_text()
                    ),
                )
            })?;
        let shape = want.shape().to_vec();
        let (c, h, w) = match (shape.len(), convention.channels_last) {
            (4, false) if shape[0] == 1 => (shape[1], shape[2], shape[3]),
            (4, true) if shape[0] == 1 => (shape[3], shape[1], shape[2]),
            (3, false) => (shape[0], shape[1], shape[2]),
            (3, true) => (shape[2], shape[0], shape[1]),
            _ => {
                return Err(invalid(
                    &self.path,
                    format!(
                        "the model's image input '{}' has shape {:?}, which images cannot fill \
                         (batch 1, height, width and 1, 3 or 4 channels); give .npy files",
                        t.name, shape
                    ),
                ))
            }
        };
        if !matches!(c, 1 | 3 | 4) {
            return Err(invalid(
                &self.path,
                format!(
                    "the model's image input '{}' has {c} channels; images give 1, 3 or 4: \
                     give .npy files instead",
                    t.name
                ),
            ));
        }
        let (hu, wu) = (
            u32::try_from(h).unwrap_or(u32::MAX),
            u32::try_from(w).unwrap_or(u32::MAX),
        );
        let mut out = Vec::with_capacity(self.files.len());
        for f in &self.files {
            let img = image::ImageReader::open(f)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| invalid(f, format!("cannot read the image: {e}")))?
                .decode()
                .map_err(|e| {
                    invalid(
                        f,
                        format!("cannot decode the image ({e}); use .jpg, .png, .bmp or .webp"),
                    )
                })?;
            let filter = image::imageops::FilterType::Triangle;
            let pixels: Vec<u8> = match c {
                1 => image::imageops::resize(&img.to_luma8(), wu, hu, filter).into_raw(),
                3 => image::imageops::resize(&img.to_rgb8(), wu, hu, filter).into_raw(),
                _ => image::imageops::resize(&img.to_rgba8(), wu, hu, filter).into_raw(),
            };
            let mut values = vec![0f32; c * h * w];
            for (i, &p) in pixels.iter().enumerate() {
                let (pos, ch) = (i / c, i % c);
                let idx = if convention.channels_last {
                    i
                } else {
                    ch * h * w + pos
                };
                values[idx] = convention.value(f64::from(p) / 255.0, ch) as f32;
            }
            let tensor = Tensor::new(t.name.clone(), shape.clone(), TensorData::F32(values))
                .map_err(Error::Tensor)?;
            out.push(vec![as_dtype(f, tensor, &t.dtype)?]);
        }
        Ok(out)
    }
}

fn names(arrays: &[Tensor]) -> String {
    if arrays.is_empty() {
        return "none".into();
    }
    arrays
        .iter()
        .map(|a| format!("'{}'", a.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn single_input<'a>(
    path: &Path,
    info: &'a ModelInfo,
    synth: &'a [Tensor],
    what: &str,
) -> Result<(&'a TensorInfo, &'a Tensor)> {
    match (info.inputs.as_slice(), synth) {
        ([t], [want]) => Ok((t, want)),
        _ => Err(invalid(
            path,
            format!(
                "{what} fills one input, and the model has {} ({}); give an .npz with one \
                 array per input (first axis = samples)",
                info.inputs.len(),
                info.inputs
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Whether `shape` fits the input: `want`'s rank, and every dimension the model fixes.
fn fits(shape: &[usize], t: &TensorInfo, want: &Tensor) -> bool {
    if shape.len() != want.shape().len() {
        return false;
    }
    match &t.shape {
        Some(dims) if dims.len() == shape.len() => dims.iter().zip(shape).all(|(d, &s)| match d {
            Dim::Fixed(n) => *n == s as u64,
            _ => s > 0,
        }),
        _ => true,
    }
}

/// A float64 array for a float32 input is converted (numpy's default); any other dtype must
/// be the input's.
fn as_dtype(file: &Path, tensor: Tensor, want: &DType) -> Result<Tensor> {
    let have = tensor.dtype();
    if &have == want {
        return Ok(tensor);
    }
    let (name, shape, data) = tensor.into_parts();
    let converted = match (data, want) {
        (TensorData::F64(v), DType::F32) => TensorData::F32(v.iter().map(|&x| x as f32).collect()),
        (TensorData::F32(v), DType::F16) => TensorData::F16(
            v.iter()
                .map(|&x| mlgate_ir::tensor::f32_to_f16(x))
                .collect(),
        ),
        _ => {
            return Err(invalid(
                file,
                format!("'{name}' holds {have}; the model's input takes {want}"),
            ))
        }
    };
    Tensor::new(name, shape, converted).map_err(Error::Tensor)
}

/// One `.npy` sample: the input's shape, or that shape without its leading batch of 1.
fn one_sample(file: &Path, array: Tensor, t: &TensorInfo, want: &Tensor) -> Result<Tensor> {
    let mut shape = array.shape().to_vec();
    if !fits(&shape, t, want) && want.shape().first() == Some(&1) {
        shape.insert(0, 1);
    }
    if !fits(&shape, t, want) {
        return Err(invalid(
            file,
            format!(
                "shape {:?} does not fit the model's input '{}' {} (one sample per .npy, e.g. \
                 {:?})",
                array.shape(),
                t.name,
                t.shape_text(),
                want.shape()
            ),
        ));
    }
    let (_, _, data) = array.into_parts();
    let tensor = Tensor::new(t.name.clone(), shape, data).map_err(Error::Tensor)?;
    as_dtype(file, tensor, &t.dtype)
}

/// An `.npz` array's samples along its first axis: each is the input's shape (the array has
/// one more axis), or the input's shape with batch 1 (the first axis is the batch).
fn split_samples(
    file: &Path,
    array: &Tensor,
    t: &TensorInfo,
    want: &Tensor,
) -> Result<Vec<Tensor>> {
    let shape = array.shape();
    let bad = || {
        invalid(
            file,
            format!(
                "array '{}' of shape {:?} does not fit the model's input '{}' {}: the first \
                 axis counts samples, the rest is one sample (e.g. [8, {}])",
                array.name(),
                shape,
                t.name,
                t.shape_text(),
                want.shape()
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    let Some((&n, rest)) = shape.split_first() else {
        return Err(bad());
    };
    let sample_shape = if fits(rest, t, want) {
        rest.to_vec()
    } else {
        let mut s = rest.to_vec();
        s.insert(0, 1);
        if !fits(&s, t, want) {
            return Err(bad());
        }
        s
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let bytes = array.data().to_le_bytes();
    let per = bytes.len() / n;
    let dtype = array.dtype();
    bytes
        .chunks_exact(per.max(1))
        .take(n)
        .map(|chunk| {
            let data = TensorData::from_le_bytes(&dtype, chunk).ok_or_else(bad)?;
            let tensor =
                Tensor::new(t.name.clone(), sample_shape.clone(), data).map_err(Error::Tensor)?;
            as_dtype(file, tensor, &t.dtype)
        })
        .collect()
}

/// Runs the calibration model over every sample on the first runtime of `candidates` that
/// can, and collects the ranges of the plan's tensors.
pub(crate) fn collect_ranges(
    catalog: &RuntimeCatalog,
    candidates: &[BackendKind],
    model: &Path,
    plan: &CalibrationPlan,
    samples: &[Vec<Tensor>],
    calibration: Calibration,
) -> Result<(ActivationRanges, BackendKind)> {
    let mut errors = Vec::new();
    for &kind in candidates {
        match collect_on(catalog, kind, model, plan, samples, calibration) {
            Ok(r) => return Ok((r, kind)),
            Err(e) => errors.push(format!("{kind}: {e}")),
        }
    }
    Err(Error::Host {
        what: "no runtime here runs the calibration model".into(),
        hint: errors.join("; "),
    })
}

fn collect_on(
    catalog: &RuntimeCatalog,
    kind: BackendKind,
    model: &Path,
    plan: &CalibrationPlan,
    samples: &[Vec<Tensor>],
    calibration: Calibration,
) -> Result<ActivationRanges> {
    let mut session = catalog
        .load(kind, model, &SessionOptions::default())
        .map_err(Error::runtime)?;
    let mut ranges = RangeCollector::new(&plan.tensors(), calibration);
    for pass in 0..ranges.passes() {
        for sample in samples {
            for t in sample
                .iter()
                .filter(|t| plan.inputs.iter().any(|i| i == t.name()))
            {
                ranges.observe(pass, t.name(), &as_f32(t));
            }
            let outputs = session.run(sample).map_err(Error::runtime)?;
            if outputs.len() != plan.outputs.len() {
                return Err(Error::Host {
                    what: format!("{kind} returned {} calibration outputs", outputs.len()),
                    hint: format!("expected {}; report this", plan.outputs.len()),
                });
            }
            for (name, t) in plan.outputs.iter().zip(&outputs) {
                ranges.observe(pass, name, &as_f32(t));
            }
            if pass == 0 {
                ranges.sample_done();
            }
        }
    }
    ranges.finish().map_err(Error::Optimize)
}

fn as_f32(t: &Tensor) -> Vec<f32> {
    match t.data() {
        TensorData::F32(v) => v.clone(),
        other => other.to_f64_vec().iter().map(|&v| v as f32).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::new(name, shape, TensorData::F32(v)).unwrap()
    }

    #[test]
    fn the_hash_follows_the_content_not_names_or_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let x = t("x", vec![2], vec![1.0, 2.0]);
        let y = t("x", vec![2], vec![3.0, 4.0]);
        mlgate_ir::tensor::write_npy(&a.join("1.npy"), &x).unwrap();
        mlgate_ir::tensor::write_npy(&a.join("2.npy"), &y).unwrap();
        mlgate_ir::tensor::write_npy(&b.join("first.npy"), &y).unwrap();
        mlgate_ir::tensor::write_npy(&b.join("second.npy"), &x).unwrap();
        // Files of other kinds are not samples.
        std::fs::write(b.join("README.txt"), "notes").unwrap();
        let (ha, hb) = (scan(&a).unwrap(), scan(&b).unwrap());
        assert_eq!(ha.hash, hb.hash);
        assert_eq!(ha.hash.len(), 8);
        mlgate_ir::tensor::write_npy(&b.join("third.npy"), &x).unwrap();
        assert_ne!(scan(&b).unwrap().hash, ha.hash);
    }

    #[test]
    fn an_npz_splits_along_its_first_axis_with_or_without_a_batch_axis() {
        let info = TensorInfo {
            name: "x".into(),
            tensor_name: None,
            dtype: DType::F32,
            shape: Some(vec![Dim::Fixed(1), Dim::Fixed(2)]),
            quantization: None,
        };
        let want = t("x", vec![1, 2], vec![0.0; 2]);
        let p = Path::new("c.npz");
        for shape in [vec![3, 2], vec![3, 1, 2]] {
            let array = t("x", shape, (0..6).map(|v| v as f32).collect());
            let samples = split_samples(p, &array, &info, &want).unwrap();
            assert_eq!(samples.len(), 3);
            assert_eq!(samples[2].shape(), &[1, 2]);
            assert_eq!(samples[2].data().to_f64_vec(), vec![4.0, 5.0]);
        }
        let wrong = t("x", vec![2, 3], vec![0.0; 6]);
        let e = split_samples(p, &wrong, &info, &want)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not fit") && e.contains("c.npz"), "{e}");
        // float64 (numpy's default) becomes the input's float32; integers are refused.
        let f64s = Tensor::new("x", vec![1, 2], TensorData::F64(vec![1.0, 2.0])).unwrap();
        assert_eq!(as_dtype(p, f64s, &DType::F32).unwrap().dtype(), DType::F32);
        let ints = Tensor::new("x", vec![1, 2], TensorData::I64(vec![1, 2])).unwrap();
        assert!(as_dtype(p, ints, &DType::F32).is_err());
    }
}
