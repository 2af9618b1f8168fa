//! Seeded generators for synthetic data: images, token ids, audio, features.
//!
//! Everything derives from a [`Rng`] (SplitMix64) seeded by the input's name and the user's seed, so two
//! variants of a model (same input names) get identical data and comparisons between them
//! are fair.

use std::f64::consts::PI;

/// The generator behind every synthesized value.
pub(crate) use mlgate_ir::rng::SplitMix64 as Rng;

/// The generator for the input called `name` under the user's `seed`.
pub(crate) fn rng_for_input(name: &str, seed: u64) -> Rng {
    // FNV-1a over the name, then mixed with the seed, so "a"/seed 1 and "b"/seed 0 do not
    // collide the way a plain XOR of small numbers could.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut r = Rng::new(h ^ Rng::new(seed).next_u64());
    r.next_u64();
    r
}

/// Uniform integer in [lo, hi); `lo` when the range is empty.
pub(crate) fn int_in(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    // Modulo rather than `Rng::below`: the bias is below 2^-40 for any vocabulary, and
    // changing the method would change every synthesized token id.
    lo + rng.next_u64() % (hi - lo)
}

/// A natural-looking image in [0, 1], handed to `emit(pixel, channel, value)` pixel by pixel
/// (pixels in row-major order): a colour gradient, soft blobs and low-amplitude noise. Real images are mostly smooth with
/// edges; uniform noise or zeros would exercise neither property.
pub(crate) fn image_hwc(
    rng: &mut Rng,
    height: usize,
    width: usize,
    channels: usize,
    mut emit: impl FnMut(usize, usize, f64),
) {
    struct Blob {
        cx: f64,
        cy: f64,
        inv_two_sigma2: f64,
        amp: f64,
        tint: [f64; 4],
    }
    let angle = rng.range(0.0, 2.0 * PI);
    let (gx, gy) = (angle.cos(), angle.sin());
    let slope = rng.range(0.2, 0.45);
    let base: Vec<f64> = (0..channels).map(|_| rng.range(0.3, 0.7)).collect();
    let blobs: Vec<Blob> = (0..6)
        .map(|_| {
            let sigma = rng.range(0.05, 0.3);
            Blob {
                cx: rng.uniform(),
                cy: rng.uniform(),
                inv_two_sigma2: 1.0 / (2.0 * sigma * sigma),
                amp: rng.range(-0.45, 0.45),
                tint: [
                    rng.range(0.4, 1.0),
                    rng.range(0.4, 1.0),
                    rng.range(0.4, 1.0),
                    rng.range(0.4, 1.0),
                ],
            }
        })
        .collect();
    let mut weights = vec![0f64; blobs.len()];
    for i in 0..height {
        let y = (i as f64 + 0.5) / height.max(1) as f64;
        for j in 0..width {
            let x = (j as f64 + 0.5) / width.max(1) as f64;
            let grad = slope * ((x - 0.5) * gx + (y - 0.5) * gy);
            for (w, b) in weights.iter_mut().zip(&blobs) {
                let d2 = (x - b.cx).powi(2) + (y - b.cy).powi(2);
                *w = b.amp * (-d2 * b.inv_two_sigma2).exp();
            }
            for (c, base) in base.iter().enumerate() {
                let blob: f64 = weights
                    .iter()
                    .zip(&blobs)
                    .map(|(w, b)| w * b.tint[c % 4])
                    .sum();
                let noise = 0.04 * (rng.uniform() - 0.5);
                emit(
                    i * width + j,
                    c,
                    (base + grad + blob + noise).clamp(0.0, 1.0),
                );
            }
        }
    }
}

/// ImageNet channel statistics, the normalization torchvision, timm and Hugging Face use.
pub(crate) const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
pub(crate) const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

/// `samples` of audio at `rate` Hz in [-1, 1], handed to `emit(sample, value)`: a few tones
/// under a syllable-rate envelope, plus a noise floor, so both the spectrum and the loudness
/// vary as in speech.
pub(crate) fn waveform(rng: &mut Rng, samples: usize, rate: f64, mut emit: impl FnMut(usize, f64)) {
    let tones: Vec<(f64, f64, f64)> = (0..3)
        .map(|_| {
            (
                rng.range(100.0, 3000.0),
                rng.range(0.1, 0.25),
                rng.range(0.0, 2.0 * PI),
            )
        })
        .collect();
    let env_rate = rng.range(2.0, 6.0);
    let env_phase = rng.range(0.0, 2.0 * PI);
    for i in 0..samples {
        let t = i as f64 / rate;
        let env = 0.55 + 0.45 * (2.0 * PI * env_rate * t + env_phase).sin();
        let voiced: f64 = tones
            .iter()
            .map(|(f, a, p)| a * (2.0 * PI * f * t + p).sin())
            .sum();
        let noise = 0.02 * (rng.uniform() * 2.0 - 1.0);
        emit(i, (env * voiced + noise).clamp(-1.0, 1.0));
    }
}

/// A log-mel spectrogram of `mels × frames`, handed to `emit(mel, frame, value)`, on
/// Whisper's normalized scale (about [-1, 1]): energy falling with frequency, a few harmonic
/// bands drifting over time, and a noise floor.
pub(crate) fn log_mel(
    rng: &mut Rng,
    mels: usize,
    frames: usize,
    mut emit: impl FnMut(usize, usize, f64),
) {
    let bands: Vec<(f64, f64, f64)> = (0..4)
        .map(|_| {
            (
                rng.range(0.05, 0.6),
                rng.range(0.01, 0.04),
                rng.range(-0.002, 0.002),
            )
        })
        .collect();
    let env_rate = rng.range(0.02, 0.08);
    for m in 0..mels {
        let f = m as f64 / mels.max(1) as f64;
        for t in 0..frames {
            let loud = 0.5 + 0.5 * (2.0 * PI * env_rate * t as f64).sin();
            let tilt = -1.2 * f;
            let harmonics: f64 = bands
                .iter()
                .map(|(c, w, drift)| {
                    let centre = c + drift * t as f64;
                    (-(f - centre).powi(2) / (2.0 * w * w)).exp()
                })
                .sum();
            let noise = 0.1 * (rng.uniform() - 0.5);
            emit(
                m,
                t,
                (0.2 + tilt + loud * 0.8 * harmonics + noise).clamp(-1.0, 1.5),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_follow_name_and_user_seed() {
        let a = rng_for_input("x", 0).next_u64();
        assert_eq!(a, rng_for_input("x", 0).next_u64());
        assert_ne!(a, rng_for_input("y", 0).next_u64());
        assert_ne!(a, rng_for_input("x", 1).next_u64());
    }

    #[test]
    fn generators_stay_in_range_and_have_structure() {
        let mut r = rng_for_input("img", 0);
        let mut img = vec![0f64; 32 * 32 * 3];
        image_hwc(&mut r, 32, 32, 3, |p, c, v| img[p * 3 + c] = v);
        assert_eq!(img.len(), 32 * 32 * 3);
        assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
        // Smooth: neighbouring pixels differ far less than random pixels would.
        let step: f64 = (0..img.len() - 3)
            .map(|i| (img[i] - img[i + 3]).abs())
            .sum::<f64>()
            / (img.len() - 3) as f64;
        assert!(step < 0.05, "mean neighbour step {step}");
        let mut wav = vec![0f64; 16000];
        waveform(&mut r, 16000, 16000.0, |i, v| wav[i] = v);
        assert!(wav.iter().all(|v| (-1.0..=1.0).contains(v)));
        let peak = wav.iter().fold(0f64, |m, v| m.max(v.abs()));
        assert!(peak > 0.2, "peak {peak}");
        let mut mel = vec![9f64; 80 * 100];
        log_mel(&mut r, 80, 100, |m, t, v| mel[m * 100 + t] = v);
        assert!(mel.iter().all(|v| (-1.0..=1.5).contains(v)));
        for _ in 0..1000 {
            let v = int_in(&mut r, 5, 9);
            assert!((5..9).contains(&v));
        }
        assert_eq!(int_in(&mut r, 3, 3), 3);
    }
}
