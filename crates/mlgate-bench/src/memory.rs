//! Resident memory of this process: the peak of a phase, and a timeline sampled by a
//! background thread.
//!
//! Why in-process and not a child process: the numbers must describe the very session
//! that is timed (a child would load a second copy, and the timing would then either lose
//! its memory figures or pay a process hop per run), and mlgate-bench is a library that
//! cannot assume a binary to re-execute. On Linux, writing `5` to `/proc/self/clear_refs`
//! resets the high-water mark `VmHWM`, so the peak of one phase (load, inference) is read
//! exactly, at the cost of including what the process already holds: [`PhaseMemory`]
//! reports the RSS before the phase too, and the delta is what the phase added. Where the
//! reset is refused the peak is since process start, and the method says so. Other systems
//! report no memory figures rather than wrong ones.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `VmRSS` and `VmHWM` of this process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcMemory {
    pub rss_bytes: u64,
    pub hwm_bytes: u64,
}

fn status_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// Reads `/proc/self/status`; `None` off Linux.
pub fn read_proc_memory() -> Option<ProcMemory> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(ProcMemory {
        rss_bytes: status_kb(&text, "VmRSS:")?,
        hwm_bytes: status_kb(&text, "VmHWM:")?,
    })
}

/// Resets `VmHWM` to the current RSS. `false` where the kernel does not allow it.
pub fn reset_peak() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

/// Hands freed heap memory back to the OS where the allocator allows it (glibc's
/// `malloc_trim`), so a phase measured after another cannot hide its growth in pages the
/// earlier phase freed. Elsewhere a no-op.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; 0 keeps no padding.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Memory of one phase (model load, inference).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseMemory {
    /// Resident memory when the phase began.
    pub rss_before_bytes: u64,
    /// Highest resident memory during the phase (the whole process).
    pub peak_rss_bytes: u64,
    pub rss_after_bytes: u64,
    /// `peak − before`: what the phase itself added at its worst.
    pub peak_delta_bytes: u64,
    /// How the peak was measured.
    pub method: String,
}

/// Measures the peak RSS between [`PeakMeter::start`] and [`PeakMeter::finish`].
pub struct PeakMeter {
    before: Option<ProcMemory>,
    reset: bool,
}

impl PeakMeter {
    pub fn start() -> PeakMeter {
        let reset = reset_peak();
        PeakMeter {
            before: read_proc_memory(),
            reset,
        }
    }

    /// `None` where the OS offers no reading.
    pub fn finish(self) -> Option<PhaseMemory> {
        let before = self.before?;
        let after = read_proc_memory()?;
        let peak = after.hwm_bytes.max(after.rss_bytes);
        Some(PhaseMemory {
            rss_before_bytes: before.rss_bytes,
            peak_rss_bytes: peak,
            rss_after_bytes: after.rss_bytes,
            peak_delta_bytes: peak.saturating_sub(before.rss_bytes),
            method: if self.reset {
                "VmHWM of this process after resetting it (/proc/self/clear_refs = 5) at the start of the phase".into()
            } else {
                "VmHWM since process start (the kernel refused the reset): an upper bound for the phase".into()
            },
        })
    }
}

/// One sample of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineSample {
    /// Milliseconds since the sampler started.
    pub t_ms: f64,
    pub rss_bytes: u64,
    /// CPU time of this process over the last interval, as a percentage of one core (can
    /// exceed 100 with several threads busy): user plus system.
    pub cpu_percent: f64,
    /// The user-mode part of `cpu_percent` (running the model's own code). Absent in files
    /// written before mlgate recorded the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_user_percent: Option<f64>,
    /// The kernel-mode part of `cpu_percent` (page faults, memory mapping, I/O, thread
    /// wake-ups): high values during a timed phase point at allocation or paging, not
    /// compute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_system_percent: Option<f64>,
    /// What the harness was doing: `load`, `warmup`, `measure`, `idle`.
    pub phase: String,
}

/// Phases the harness announces to the sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Idle = 0,
    Load = 1,
    Warmup = 2,
    Measure = 3,
}

impl Phase {
    fn name(v: u8) -> &'static str {
        match v {
            1 => "load",
            2 => "warmup",
            3 => "measure",
            _ => "idle",
        }
    }
}

/// `(utime, stime)` of this process in clock ticks, from `/proc/self/stat`.
fn cpu_ticks() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    Some((
        fields.get(11)?.parse::<u64>().ok()?,
        fields.get(12)?.parse::<u64>().ok()?,
    ))
}

/// Linux's USER_HZ, the unit of `/proc/self/stat` times: 100 on every mainstream
/// architecture (it is fixed by the ABI, unlike the kernel's internal HZ).
const TICKS_PER_SECOND: f64 = 100.0;

/// A background thread that samples RSS and CPU every `interval` until stopped. It reads two
/// small /proc files per sample (tens of microseconds), so at 100 ms it costs well under 0.1%
/// of a core; it is still off unless asked for, because any extra thread can perturb a
/// single-core timing.
pub struct Sampler {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<Vec<TimelineSample>>,
    phase: Arc<AtomicU8>,
}

impl Sampler {
    /// `None` where /proc is unavailable.
    pub fn start(interval: Duration) -> Option<Sampler> {
        read_proc_memory()?;
        let (stop, rx) = mpsc::channel::<()>();
        let phase = Arc::new(AtomicU8::new(Phase::Idle as u8));
        let shared = phase.clone();
        let interval = interval.max(Duration::from_millis(10));
        let handle = std::thread::Builder::new()
            .name("mlgate-sampler".into())
            .spawn(move || {
                let start = Instant::now();
                let mut samples = Vec::new();
                let mut last = (start, cpu_ticks().unwrap_or((0, 0)));
                loop {
                    let now = Instant::now();
                    let ticks = cpu_ticks().unwrap_or(last.1);
                    let dt = now.duration_since(last.0).as_secs_f64();
                    let percent = |now: u64, before: u64| {
                        if dt > 0.0 {
                            now.saturating_sub(before) as f64 / TICKS_PER_SECOND / dt * 100.0
                        } else {
                            0.0
                        }
                    };
                    let user = percent(ticks.0, last.1 .0);
                    let system = percent(ticks.1, last.1 .1);
                    last = (now, ticks);
                    if let Some(m) = read_proc_memory() {
                        samples.push(TimelineSample {
                            t_ms: now.duration_since(start).as_secs_f64() * 1e3,
                            rss_bytes: m.rss_bytes,
                            cpu_percent: user + system,
                            cpu_user_percent: Some(user),
                            cpu_system_percent: Some(system),
                            phase: Phase::name(shared.load(Ordering::Relaxed)).to_string(),
                        });
                    }
                    match rx.recv_timeout(interval) {
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        _ => break,
                    }
                }
                samples
            })
            .ok()?;
        Some(Sampler {
            stop,
            handle,
            phase,
        })
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub fn finish(self) -> Vec<TimelineSample> {
        let _ = self.stop.send(());
        self.handle.join().unwrap_or_default()
    }
}

/// Writes samples as JSON Lines, one object per sample.
pub fn write_timeline_jsonl(
    samples: &[TimelineSample],
    mut out: impl Write,
) -> std::io::Result<()> {
    for s in samples {
        serde_json::to_writer(&mut out, s)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reported as ignored, not passed, where there is no /proc to read.
    #[test]
    #[cfg_attr(not(target_os = "linux"), ignore = "needs /proc")]
    fn peak_of_a_phase_sees_an_allocation() {
        let meter = PeakMeter::start();
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        drop(big);
        let m = meter.finish().unwrap();
        assert!(m.peak_delta_bytes >= 60 << 20, "{m:?}");
        assert!(m.peak_rss_bytes >= m.rss_after_bytes);
    }

    #[test]
    #[cfg_attr(not(target_os = "linux"), ignore = "needs /proc")]
    fn sampler_records_and_exports_jsonl() {
        let s = Sampler::start(Duration::from_millis(10)).expect("/proc/self/status");
        s.set_phase(Phase::Measure);
        std::thread::sleep(Duration::from_millis(60));
        let samples = s.finish();
        assert!(samples.len() >= 2, "{samples:?}");
        assert!(samples.iter().any(|x| x.phase == "measure"));
        let mut out = Vec::new();
        write_timeline_jsonl(&samples, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), samples.len());
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert!(first["rss_bytes"].as_u64().unwrap() > 0);
    }
}
