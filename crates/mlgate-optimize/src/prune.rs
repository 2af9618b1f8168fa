//! Magnitude pruning: one global threshold over every eligible weight, so layers with many
//! small weights lose more of them than layers whose weights all matter.

use mlgate_ir::onnx::proto::ModelProto;

use crate::graph::{self, f32_tensor, float_values};
use crate::{OptimizeError, PassReport, Result, MIN_WEIGHT_ELEMENTS};

pub(crate) fn prune(model: &mut ModelProto, sparsity: f64) -> Result<PassReport> {
    let graph = model.graph.as_mut().expect("checked by optimize_onnx");
    let eligible = graph::weight_initializers(graph, MIN_WEIGHT_ELEMENTS);
    let mut report = PassReport::new();
    report.tensors_skipped = graph.initializer.len() - eligible.len();
    let mut tensors = Vec::with_capacity(eligible.len());
    let mut magnitudes = Vec::new();
    for &i in &eligible {
        let values = float_values(&graph.initializer[i])?.expect("float weights");
        magnitudes.extend(values.iter().map(|v| v.abs()));
        tensors.push((i, values));
    }
    if magnitudes.is_empty() {
        return Err(OptimizeError::unsupported(format!(
            "the model has no weights to prune: pruning takes float weights of Conv, \
             ConvTranspose, MatMul, Gemm and Gather with at least {MIN_WEIGHT_ELEMENTS} values, \
             and this model has none"
        )));
    }
    // The k-th smallest magnitude is the threshold; ties at it are pruned too, so the
    // sparsity reached is at least the one asked for.
    let k = ((sparsity * magnitudes.len() as f64).floor() as usize).min(magnitudes.len() - 1);
    let (_, threshold, _) = magnitudes.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    let threshold = *threshold;
    drop(magnitudes);
    let mut zeros = 0usize;
    let mut total = 0usize;
    for (i, mut values) in tensors {
        for v in values.iter_mut() {
            if v.abs() <= threshold {
                *v = 0.0;
            }
        }
        zeros += values.iter().filter(|v| **v == 0.0).count();
        total += values.len();
        let old = &graph.initializer[i];
        report.weight_bytes_before += graph::data_bytes(old);
        let mut new = f32_tensor(old.name(), &old.dims, &values);
        new.doc_string = old.doc_string.clone();
        new.metadata_props = old.metadata_props.clone();
        report.weight_bytes_after += graph::data_bytes(&new);
        graph.initializer[i] = new;
        report.tensors_changed += 1;
    }
    report.notes.push(format!(
        "{zeros} of {total} eligible weights are zero ({:.1}%), threshold |w| <= {threshold:e}",
        100.0 * zeros as f64 / total as f64
    ));
    report.notes.push(
        "unstructured zeros shrink the compressed size (zip, gzip) but not the file, and do not \
         speed up dense kernels; pair pruning with palettization or a sparse runtime to gain"
            .into(),
    );
    Ok(report)
}
