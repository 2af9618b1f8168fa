//! Decoder benchmarks (`mlgate llm-bench`): prompt processing and token generation on a
//! [`Decoder`], with the serving latencies (TTFT, TPOT, ITL) of each request.
//!
//! One request is a prompt of `p` random in-vocabulary token ids (seeded; tokenization is
//! not part of the measurement) prefilled from an empty KV cache, then `n` greedy decode
//! steps, each waited for. With `t_0` the start, `t_p` the end of the prefill and `t_k` the
//! end of decode step `k`:
//! - prefill tokens/s = `p / (t_p − t_0)`; decode tokens/s = `n / (t_n − t_p)`;
//! - TTFT = `t_1 − t_0` (prefill and the first decode step);
//! - TPOT = `(t_n − t_0 − TTFT) / (n − 1)` (undefined for `n = 1`);
//! - ITL = every gap `t_k − t_{k−1}`, `k = 2..n`.
//!
//! Each test runs once unmeasured (warm-up), then `repetitions` times. Throughputs are
//! reported as mean ± sample standard deviation (n − 1) over repetitions, like llama-bench;
//! TTFT, TPOT and ITL as [`LatencySummary`]s, whose percentiles are withheld when there are
//! too few samples to bound them.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use mlgate_backends::{BackendKind, Decoder, DecoderInfo, SessionInfo, SessionOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compare::{
    begin_pair, compare_workload_sets, CompareConfig, CompareResult, Comparison, Loaded, TimedRun,
    Workload,
};
use crate::memory::PhaseMemory;
use crate::stats::{self, LatencySummary};
use crate::{BenchError, MeasurementEnvironment, Progress, ProgressUpdate, Result};

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LlmBenchConfig {
    /// Prompt lengths, tokens (`-p`).
    pub prompt_lengths: Vec<usize>,
    /// Tokens generated per request (`-n`).
    pub generate_lengths: Vec<usize>,
    /// Measured requests per test, after one warm-up (`-r`).
    pub repetitions: usize,
    /// Tokens already in the KV cache when each request's prompt arrives (`-d`), filled
    /// untimed before the request starts; every depth is a sweep of its own.
    #[serde(default = "zero_depth")]
    pub depths: Vec<usize>,
    /// Seeds the prompts' token ids and the bootstraps.
    pub seed: u64,
    /// Confidence of every interval.
    pub confidence: f64,
}

fn zero_depth() -> Vec<usize> {
    vec![0]
}

impl Default for LlmBenchConfig {
    fn default() -> Self {
        LlmBenchConfig {
            prompt_lengths: vec![128, 512],
            generate_lengths: vec![32, 128],
            repetitions: 5,
            depths: zero_depth(),
            seed: 0,
            confidence: 0.95,
        }
    }
}

/// The clock readings of one request, milliseconds from its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestTimes {
    /// End of the prefill, `t_p`.
    pub prefill_end_ms: f64,
    /// End of each decode step, `t_1..t_n`.
    pub token_end_ms: Vec<f64>,
}

/// The serving latencies of one request (see the module docs for the definitions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestMetrics {
    pub prefill_ms: f64,
    /// `t_n − t_p`.
    pub decode_ms: f64,
    pub end_to_end_ms: f64,
    /// `None` when no token was generated.
    pub ttft_ms: Option<f64>,
    /// `None` for fewer than two generated tokens.
    pub tpot_ms: Option<f64>,
    pub itl_ms: Vec<f64>,
}

impl RequestTimes {
    /// TTFT, TPOT, ITL and the phase times of this request.
    pub fn metrics(&self) -> RequestMetrics {
        let n = self.token_end_ms.len();
        let end = self
            .token_end_ms
            .last()
            .copied()
            .unwrap_or(self.prefill_end_ms);
        let ttft = self.token_end_ms.first().copied();
        RequestMetrics {
            prefill_ms: self.prefill_end_ms,
            decode_ms: end - self.prefill_end_ms,
            end_to_end_ms: end,
            ttft_ms: ttft,
            tpot_ms: match (ttft, n) {
                (Some(t), n) if n >= 2 => Some((end - t) / (n - 1) as f64),
                _ => None,
            },
            itl_ms: self.token_end_ms.windows(2).map(|w| w[1] - w[0]).collect(),
        }
    }
}

/// One measured request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LlmTrial {
    /// 1-based; the warm-up is not listed.
    pub trial: usize,
    pub times: RequestTimes,
    pub metrics: RequestMetrics,
    /// `p / prefill_ms` in tokens per second.
    pub prefill_tokens_per_second: f64,
    /// `n / decode_ms` in tokens per second; `None` when nothing was generated.
    pub decode_tokens_per_second: Option<f64>,
    /// The greedy tokens generated (the same every trial: decoding is deterministic).
    pub generated: Vec<u32>,
}

/// Mean ± sample standard deviation (n − 1) over repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeanStd {
    pub n: usize,
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    pub fn of(values: &[f64]) -> MeanStd {
        MeanStd {
            n: values.len(),
            mean: stats::mean(values),
            std: stats::std_dev(values),
        }
    }
}

/// One test: requests of `prompt_tokens` then `generate_tokens`, after `depth` cached
/// tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LlmTest {
    /// Tokens in the cache before the prompt (filled untimed).
    #[serde(default)]
    pub depth: usize,
    pub prompt_tokens: usize,
    pub generate_tokens: usize,
    pub trials: Vec<LlmTrial>,
    pub prefill_tokens_per_second: MeanStd,
    /// `None` when no token is generated.
    pub decode_tokens_per_second: Option<MeanStd>,
    /// Over trials; `None` when no token is generated.
    pub ttft: Option<LatencySummary>,
    /// Over trials; `None` for fewer than two generated tokens.
    pub tpot: Option<LatencySummary>,
    /// Every inter-token gap of every trial; `None` for fewer than two generated tokens.
    pub itl: Option<LatencySummary>,
}

/// Everything one `llm-bench` run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LlmBenchResult {
    pub config: LlmBenchConfig,
    pub model: DecoderInfo,
    pub session: SessionInfo,
    /// Model load time, milliseconds (the session's own measurement).
    pub load_ms: f64,
    /// Peak resident memory of the load; `None` where the OS offers no reading.
    pub load_memory: Option<PhaseMemory>,
    /// Peak resident memory over every request of the sweep, so at the largest KV cache
    /// (depth + prompt + generated tokens); `None` where the OS offers no reading.
    #[serde(default)]
    pub sweep_memory: Option<PhaseMemory>,
    pub environment: MeasurementEnvironment,
    pub tests: Vec<LlmTest>,
    /// How the numbers were taken, in words.
    pub method: String,
}

/// `method` of every result.
pub const METHOD: &str = "prompts are random in-vocabulary token ids (seeded): tokenization is \
     excluded; each request prefills from an empty KV cache, then decodes greedily one token \
     at a time, each step waited for; one warm-up request per test, then the repetitions; \
     throughput mean ± sample std (n − 1); percentiles by nearest rank with order-statistic \
     intervals, withheld below their minimum sample counts";

/// Seed stream of the cached context, so it does not repeat the prompt's ids.
const DEPTH_STREAM: u64 = 0x4445_5054;

/// `n` random token ids below `vocab`, from `seed`.
pub fn random_prompt(vocab: usize, n: usize, seed: u64) -> Vec<u32> {
    let mut rng = stats::rng(seed);
    (0..n).map(|_| rng.below(vocab.max(1)) as u32).collect()
}

/// Runs one request and returns its clock readings and generated tokens. With a
/// `context`, the cache is first filled with it (untimed) and the prompt extends it.
pub fn run_request(
    decoder: &mut dyn Decoder,
    context: &[u32],
    prompt: &[u32],
    generate: usize,
) -> Result<(RequestTimes, Vec<u32>)> {
    if !context.is_empty() {
        decoder.prefill(context)?;
    }
    let start = Instant::now();
    let mut next = if context.is_empty() {
        decoder.prefill(prompt)?
    } else {
        decoder.extend(prompt)?
    };
    let prefill_end_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut token_end_ms = Vec::with_capacity(generate);
    let mut generated = Vec::with_capacity(generate);
    for _ in 0..generate {
        next = decoder.decode(next)?;
        token_end_ms.push(start.elapsed().as_secs_f64() * 1e3);
        generated.push(next);
    }
    Ok((
        RequestTimes {
            prefill_end_ms,
            token_end_ms,
        },
        generated,
    ))
}

fn summarize_opt(values: &[f64], config: &LlmBenchConfig) -> Option<LatencySummary> {
    (!values.is_empty()).then(|| stats::summarize(values, config.confidence, config.seed))
}

/// Measures every (prompt, generate) pair of `config` on a loaded decoder. `load_memory` is
/// the load's peak RSS, measured by the caller around the load.
pub fn bench_decoder(
    decoder: &mut dyn Decoder,
    config: &LlmBenchConfig,
    load_memory: Option<PhaseMemory>,
    progress: &mut dyn Progress,
) -> Result<LlmBenchResult> {
    if config.prompt_lengths.is_empty() || config.prompt_lengths.contains(&0) {
        return Err(BenchError::Config(
            "prompt lengths must be at least 1 token".into(),
        ));
    }
    if config.repetitions == 0 {
        return Err(BenchError::Config("repetitions must be at least 1".into()));
    }
    let generate_lengths = if config.generate_lengths.is_empty() {
        vec![0]
    } else {
        config.generate_lengths.clone()
    };
    let depths = if config.depths.is_empty() {
        zero_depth()
    } else {
        config.depths.clone()
    };
    let info = decoder.describe().clone();
    if let Some(ctx) = info.context_length {
        let d = depths.iter().max().copied().unwrap_or(0);
        let p = config.prompt_lengths.iter().max().copied().unwrap_or(0);
        let n = generate_lengths.iter().max().copied().unwrap_or(0);
        if d + p + n > ctx {
            return Err(BenchError::Config(format!(
                "{d} cached + {p} prompt + {n} generated tokens exceed the model's context length {ctx}"
            )));
        }
    }
    let environment = MeasurementEnvironment::capture(decoder.info());
    let started = Instant::now();
    let meter = crate::memory::PeakMeter::start();
    let mut tests = Vec::new();
    let (prompts, gens) = (&config.prompt_lengths, &generate_lengths);
    let sweep = depths.iter().flat_map(|&d| {
        prompts
            .iter()
            .flat_map(move |&p| gens.iter().map(move |&n| (d, p, n)))
    });
    for (d, p, n) in sweep {
        {
            let label = if d == 0 {
                format!("pp{p}+tg{n}")
            } else {
                format!("pp{p}+tg{n} @ d{d}")
            };
            let mut trials = Vec::with_capacity(config.repetitions);
            for rep in 0..=config.repetitions {
                progress.update(&ProgressUpdate {
                    phase: if rep == 0 { "warmup" } else { "measuring" },
                    label: label.clone(),
                    elapsed_s: started.elapsed().as_secs_f64(),
                    budget_s: 0.0,
                    runs: rep as u64,
                    rel_half_width: None,
                });
                let seed = config
                    .seed
                    .wrapping_add((p as u64) << 32)
                    .wrapping_add(rep as u64);
                let prompt = random_prompt(info.vocab_size, p, seed);
                let context = random_prompt(info.vocab_size, d, seed ^ DEPTH_STREAM);
                let (times, generated) = run_request(decoder, &context, &prompt, n)?;
                if rep == 0 {
                    continue;
                }
                let metrics = times.metrics();
                trials.push(LlmTrial {
                    trial: rep,
                    prefill_tokens_per_second: p as f64 / (metrics.prefill_ms / 1e3),
                    decode_tokens_per_second: (n > 0).then(|| n as f64 / (metrics.decode_ms / 1e3)),
                    times,
                    metrics,
                    generated,
                });
            }
            progress.finish();
            let pp: Vec<f64> = trials.iter().map(|t| t.prefill_tokens_per_second).collect();
            let tg: Vec<f64> = trials
                .iter()
                .filter_map(|t| t.decode_tokens_per_second)
                .collect();
            let ttft: Vec<f64> = trials.iter().filter_map(|t| t.metrics.ttft_ms).collect();
            let tpot: Vec<f64> = trials.iter().filter_map(|t| t.metrics.tpot_ms).collect();
            let itl: Vec<f64> = trials
                .iter()
                .flat_map(|t| t.metrics.itl_ms.iter().copied())
                .collect();
            tests.push(LlmTest {
                depth: d,
                prompt_tokens: p,
                generate_tokens: n,
                prefill_tokens_per_second: MeanStd::of(&pp),
                decode_tokens_per_second: (!tg.is_empty()).then(|| MeanStd::of(&tg)),
                ttft: summarize_opt(&ttft, config),
                tpot: summarize_opt(&tpot, config),
                itl: summarize_opt(&itl, config),
                trials,
            });
        }
    }
    Ok(LlmBenchResult {
        config: LlmBenchConfig {
            generate_lengths,
            depths,
            ..config.clone()
        },
        model: info,
        session: decoder.info().clone(),
        load_ms: decoder.info().load_ms,
        load_memory,
        sweep_memory: meter.finish().map(|mut m| {
            m.method = format!("{}; phase: every request of the sweep", m.method);
            m
        }),
        environment,
        tests,
        method: METHOD.into(),
    })
}

/// What a decoder comparison gates on: one number per request, always a time, so "slower"
/// means the same thing for every metric (a throughput regression is a time-per-token
/// regression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LlmMetric {
    /// Generation: decode time / generated tokens, the inverse of tg tokens/s.
    Tg,
    /// Prompt processing: prefill time / prompt tokens, the inverse of pp tokens/s.
    Pp,
    /// Time to first token: prefill and the first decode step.
    Ttft,
    /// Time per output token after the first: `(end-to-end − TTFT) / (n − 1)`.
    #[default]
    Tpot,
}

impl LlmMetric {
    /// Every metric, in the order the CLI lists them.
    pub const ALL: [LlmMetric; 4] = [
        LlmMetric::Tg,
        LlmMetric::Pp,
        LlmMetric::Ttft,
        LlmMetric::Tpot,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            LlmMetric::Tg => "tg",
            LlmMetric::Pp => "pp",
            LlmMetric::Ttft => "ttft",
            LlmMetric::Tpot => "tpot",
        }
    }

    /// What the compared number of one request is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            LlmMetric::Tg => "decode time per generated token (1000 / tg tokens/s)",
            LlmMetric::Pp => "prefill time per prompt token (1000 / pp tokens/s)",
            LlmMetric::Ttft => "time to first token (prefill + first decode step)",
            LlmMetric::Tpot => "time per output token after the first",
        }
    }

    /// Tokens a request must generate for the metric to exist.
    pub fn min_generated(self) -> usize {
        match self {
            LlmMetric::Pp => 0,
            LlmMetric::Tg | LlmMetric::Ttft => 1,
            LlmMetric::Tpot => 2,
        }
    }

    /// Generated tokens per request when the user names none: what the metric needs, and
    /// for the per-token metrics enough steps to average over.
    pub fn default_generated(self) -> usize {
        match self {
            LlmMetric::Pp => 0,
            LlmMetric::Ttft => 1,
            LlmMetric::Tg | LlmMetric::Tpot => 32,
        }
    }

    /// The metric's value for one request, milliseconds; `None` where it is undefined.
    pub fn value_ms(
        self,
        m: &RequestMetrics,
        prompt_tokens: usize,
        generated: usize,
    ) -> Option<f64> {
        match self {
            LlmMetric::Tg => (generated > 0).then(|| m.decode_ms / generated as f64),
            LlmMetric::Pp => (prompt_tokens > 0).then(|| m.prefill_ms / prompt_tokens as f64),
            LlmMetric::Ttft => m.ttft_ms,
            LlmMetric::Tpot => m.tpot_ms,
        }
    }
}

impl fmt::Display for LlmMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LlmMetric {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<LlmMetric> {
        let lower = s.to_ascii_lowercase();
        LlmMetric::ALL
            .into_iter()
            .find(|m| m.name() == lower)
            .ok_or_else(|| {
                BenchError::Config(format!(
                    "unknown LLM metric '{s}'; valid: {}",
                    LlmMetric::ALL.map(LlmMetric::name).join(", ")
                ))
            })
    }
}

/// The request both sides of a decoder comparison serve, and the number taken from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequestShape {
    pub metric: LlmMetric,
    pub prompt_tokens: usize,
    pub generate_tokens: usize,
}

impl RequestShape {
    /// `metric` on requests of `prompt_tokens` (default 128) and `generate_tokens` (default:
    /// what the metric needs, [`LlmMetric::default_generated`]).
    pub fn new(
        metric: LlmMetric,
        prompt_tokens: Option<usize>,
        generate_tokens: Option<usize>,
    ) -> Result<RequestShape> {
        let shape = RequestShape {
            metric,
            prompt_tokens: prompt_tokens.unwrap_or(128),
            generate_tokens: generate_tokens.unwrap_or(metric.default_generated()),
        };
        if shape.prompt_tokens == 0 {
            return Err(BenchError::Config(
                "the prompt must be at least 1 token".into(),
            ));
        }
        if shape.generate_tokens < metric.min_generated() {
            return Err(BenchError::Config(format!(
                "{} needs at least {} generated tokens per request, not {}",
                metric,
                metric.min_generated(),
                shape.generate_tokens
            )));
        }
        Ok(shape)
    }
}

/// One side's decoder as an A/B workload: a repetition is one request of the shape; its
/// value is the metric, its wall time the whole request. The k-th request of every decoder
/// gets the same prompt.
struct DecoderRequests<'a> {
    decoder: &'a mut (dyn Decoder + 'a),
    shape: RequestShape,
    vocab: usize,
    seed: u64,
    served: u64,
}

impl<'a> DecoderRequests<'a> {
    fn for_side(
        side: &'a mut [&mut dyn Decoder],
        shape: RequestShape,
        vocab: usize,
        seed: u64,
    ) -> Vec<DecoderRequests<'a>> {
        side.iter_mut()
            .map(|d| DecoderRequests {
                decoder: &mut **d,
                shape,
                vocab,
                seed,
                served: 0,
            })
            .collect()
    }
}

impl Workload for DecoderRequests<'_> {
    fn run_timed(&mut self) -> Result<TimedRun> {
        let s = self.shape;
        let prompt = random_prompt(
            self.vocab,
            s.prompt_tokens,
            self.seed.wrapping_add(self.served),
        );
        self.served += 1;
        let start = Instant::now();
        let (times, _) = run_request(self.decoder, &[], &prompt, s.generate_tokens)?;
        let wall_ns = start.elapsed().as_nanos() as u64;
        let value = s
            .metric
            .value_ms(&times.metrics(), s.prompt_tokens, s.generate_tokens)
            .ok_or_else(|| {
                BenchError::Config(format!("{} is undefined for this request", s.metric))
            })?;
        Ok(TimedRun {
            value_ns: (value * 1e6).round() as u64,
            wall_ns,
        })
    }
}

/// Serves requests of `shape` on one decoder — one warm-up, then until `budget_s` has
/// passed and at least `min_requests` were served, at most `max_requests` — and returns the
/// metric of each measured request, ms, in order (what `validate` judges budgets on).
pub fn measure_requests(
    decoder: &mut dyn Decoder,
    shape: RequestShape,
    budget_s: f64,
    (min_requests, max_requests): (usize, usize),
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<Vec<f64>> {
    let vocab = decoder.describe().vocab_size;
    let mut work = DecoderRequests {
        decoder,
        shape,
        vocab,
        seed,
        served: 0,
    };
    let label = format!(
        "pp{}+tg{}: {}",
        shape.prompt_tokens, shape.generate_tokens, shape.metric
    );
    let started = Instant::now();
    work.run_timed()?;
    let mut values = Vec::new();
    while values.len() < max_requests.max(1)
        && (values.len() < min_requests || started.elapsed().as_secs_f64() < budget_s)
    {
        progress.update(&ProgressUpdate {
            phase: "measuring",
            label: label.clone(),
            elapsed_s: started.elapsed().as_secs_f64(),
            budget_s,
            runs: values.len() as u64,
            rel_half_width: None,
        });
        values.push(work.run_timed()?.value_ns as f64 / 1e6);
    }
    progress.finish();
    Ok(values)
}

/// Compares loaded decoders with the A/B engine: requests interleaved in randomized AB/BA
/// blocks over each side's instances, the metric's per-request values judged as latencies
/// are ([`crate::compare`]).
pub fn compare_decoders(
    baseline: &mut [&mut dyn Decoder],
    candidate: &mut [&mut dyn Decoder],
    shape: RequestShape,
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<Comparison> {
    let infos: Vec<DecoderInfo> = baseline
        .iter()
        .map(|d| d.describe().clone())
        .chain(candidate.iter().map(|d| d.describe().clone()))
        .collect();
    let vocab = infos.iter().map(|i| i.vocab_size).min().unwrap_or(1);
    let context = infos.iter().filter_map(|i| i.context_length).min();
    if let Some(ctx) = context {
        if shape.prompt_tokens + shape.generate_tokens > ctx {
            return Err(BenchError::Config(format!(
                "{} prompt + {} generated tokens exceed the context length {ctx}",
                shape.prompt_tokens, shape.generate_tokens
            )));
        }
    }
    let seed = config.seed_or_fresh();
    let config = CompareConfig {
        seed: Some(seed),
        ..config.clone()
    };
    let mut a = DecoderRequests::for_side(baseline, shape, vocab, seed);
    let mut b = DecoderRequests::for_side(candidate, shape, vocab, seed);
    let mut a: Vec<&mut dyn Workload> = a.iter_mut().map(|w| w as &mut dyn Workload).collect();
    let mut b: Vec<&mut dyn Workload> = b.iter_mut().map(|w| w as &mut dyn Workload).collect();
    let mut comparison = compare_workload_sets(&mut a, &mut b, &config, progress)?;
    comparison.method = format!(
        "each run is one request: {} random prompt tokens prefilled from an empty KV cache, then \
         {} greedy decode steps (tokenization excluded); the value compared is its {} ({}); {}",
        shape.prompt_tokens,
        shape.generate_tokens,
        shape.metric,
        shape.metric.describe(),
        comparison.method
    );
    Ok(comparison)
}

/// Loads both GGUF decoders on `backend` (several instances per side, as
/// [`CompareConfig::sessions_per_side`] says) and compares them on `shape`. Each side's
/// memory is its first load's peak RSS, measured with the freed heap handed back first;
/// which side loads first is the seed's choice.
pub fn compare_decoder_models(
    backend: BackendKind,
    baseline: &Path,
    candidate: &Path,
    options: &SessionOptions,
    shape: RequestShape,
    config: &CompareConfig,
    progress: &mut dyn Progress,
) -> Result<CompareResult> {
    let config = begin_pair(config, progress)?;
    let seed = config.seed_or_fresh();
    let load = |model: &Path| -> Result<(Box<dyn Decoder>, f64, Option<PhaseMemory>)> {
        crate::memory::release_free_heap();
        let meter = crate::memory::PeakMeter::start();
        let start = Instant::now();
        let decoder = mlgate_backends::load_decoder(backend, model, options)?;
        let load_ms = start.elapsed().as_secs_f64() * 1e3;
        let mut memory = meter.finish();
        if let Some(m) = memory.as_mut() {
            m.method = format!(
                "{}; phase: the load of this decoder alone (weights)",
                m.method
            );
        }
        Ok((decoder, load_ms, memory))
    };
    let baseline_first = stats::rng(seed ^ crate::compare::LOAD_ORDER).coin();
    let ((a, a_ms, a_mem), (b, b_ms, b_mem)) = if baseline_first {
        let a = load(baseline)?;
        (a, load(candidate)?)
    } else {
        let b = load(candidate)?;
        (load(baseline)?, b)
    };
    let mut sides_a = vec![a];
    let mut sides_b = vec![b];
    for _ in 1..config.sessions_per_side {
        sides_a.push(mlgate_backends::load_decoder(backend, baseline, options)?);
        sides_b.push(mlgate_backends::load_decoder(backend, candidate, options)?);
    }
    let environment = MeasurementEnvironment::capture(sides_a[0].info());
    let (info_a, info_b) = (sides_a[0].info().clone(), sides_b[0].info().clone());
    let mut refs_a: Vec<&mut dyn Decoder> = sides_a
        .iter_mut()
        .map(|d| d.as_mut() as &mut dyn Decoder)
        .collect();
    let mut refs_b: Vec<&mut dyn Decoder> = sides_b
        .iter_mut()
        .map(|d| d.as_mut() as &mut dyn Decoder)
        .collect();
    let comparison = compare_decoders(&mut refs_a, &mut refs_b, shape, &config, progress)?;
    let position = |first: bool| if first { 1 } else { 2 };
    Ok(CompareResult {
        baseline: Loaded {
            model: baseline.to_owned(),
            session: info_a,
            load_ms: a_ms,
            memory: a_mem,
            load_position: position(baseline_first),
        },
        candidate: Loaded {
            model: candidate.to_owned(),
            session: info_b,
            load_ms: b_ms,
            memory: b_mem,
            load_position: position(!baseline_first),
        },
        input_shapes: Vec::new(),
        requests: Some(shape),
        environment,
        config,
        comparison,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn request_metrics_follow_the_definitions() {
        // Prefill ends at 40 ms; tokens at 50, 55, 62, 70 ms.
        let t = RequestTimes {
            prefill_end_ms: 40.0,
            token_end_ms: vec![50.0, 55.0, 62.0, 70.0],
        };
        let m = t.metrics();
        assert!(close(m.prefill_ms, 40.0));
        assert!(close(m.decode_ms, 30.0));
        assert!(close(m.end_to_end_ms, 70.0));
        assert_eq!(m.ttft_ms, Some(50.0));
        // (70 − 50) / (4 − 1)
        assert!(close(m.tpot_ms.unwrap(), 20.0 / 3.0));
        assert_eq!(m.itl_ms, vec![5.0, 7.0, 8.0]);
        // TPOT is the mean ITL.
        assert!(close(stats::mean(&m.itl_ms), m.tpot_ms.unwrap()));
        // TTFT includes the prefill.
        assert!(m.ttft_ms.unwrap() >= m.prefill_ms);
    }

    #[test]
    fn short_requests_leave_undefined_metrics_out() {
        let one = RequestTimes {
            prefill_end_ms: 10.0,
            token_end_ms: vec![12.0],
        }
        .metrics();
        assert_eq!(one.ttft_ms, Some(12.0));
        assert_eq!(one.tpot_ms, None);
        assert!(one.itl_ms.is_empty());
        let none = RequestTimes {
            prefill_end_ms: 10.0,
            token_end_ms: vec![],
        }
        .metrics();
        assert_eq!(none.ttft_ms, None);
        assert!(close(none.decode_ms, 0.0));
    }

    #[test]
    fn mean_std_is_the_sample_std() {
        let m = MeanStd::of(&[10.0, 12.0, 14.0]);
        assert!(close(m.mean, 12.0));
        assert!(close(m.std, 2.0));
    }

    #[test]
    fn prompts_are_seeded_and_in_vocabulary() {
        let a = random_prompt(100, 50, 7);
        assert_eq!(a, random_prompt(100, 50, 7));
        assert_ne!(a, random_prompt(100, 50, 8));
        assert!(a.iter().all(|&t| t < 100));
    }

    /// A fake decoder whose steps take no time: the loop and the bookkeeping.
    struct Fake(SessionInfo, DecoderInfo);

    impl Decoder for Fake {
        fn info(&self) -> &SessionInfo {
            &self.0
        }
        fn describe(&self) -> &DecoderInfo {
            &self.1
        }
        fn reset(&mut self) {}
        fn prefill(&mut self, tokens: &[u32]) -> mlgate_backends::Result<u32> {
            Ok(tokens[0])
        }
        fn extend(&mut self, tokens: &[u32]) -> mlgate_backends::Result<u32> {
            Ok(tokens[0])
        }
        fn decode(&mut self, token: u32) -> mlgate_backends::Result<u32> {
            Ok((token + 1) % 10)
        }
    }

    #[test]
    fn bench_runs_every_pair_with_its_repetitions() {
        let info = SessionInfo {
            backend: mlgate_backends::BackendKind::Candle,
            runtime_version: None,
            library: None,
            model: "fake.gguf".into(),
            intra_op_threads: Some(1),
            inter_op_threads: Some(1),
            graph_optimization: Default::default(),
            execution_provider: Default::default(),
            load_ms: 1.0,
            session_config: Vec::new(),
            warnings: Vec::new(),
        };
        let meta = DecoderInfo {
            architecture: "llama".into(),
            vocab_size: 10,
            context_length: Some(64),
            parameters: 1,
            precision: "F32".into(),
            file_bytes: 1,
        };
        let mut fake = Fake(info, meta);
        let config = LlmBenchConfig {
            prompt_lengths: vec![4, 8],
            generate_lengths: vec![3],
            repetitions: 2,
            ..LlmBenchConfig::default()
        };
        let r = bench_decoder(&mut fake, &config, None, &mut crate::NoProgress).unwrap();
        assert_eq!(r.tests.len(), 2);
        assert!(r.tests.iter().all(|t| t.trials.len() == 2));
        assert_eq!(r.tests[0].trials[0].generated.len(), 3);
        assert_eq!(r.tests[0].itl.as_ref().unwrap().n, 4);
        let too_long = LlmBenchConfig {
            prompt_lengths: vec![60],
            generate_lengths: vec![8],
            ..config
        };
        let e = bench_decoder(&mut fake, &too_long, None, &mut crate::NoProgress).unwrap_err();
        assert!(e.to_string().contains("context length 64"), "{e}");
    }
}
