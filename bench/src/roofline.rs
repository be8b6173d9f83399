//! This machine's ceilings, measured in the run that uses them.
//!
//! - [`peak_f32_flops`]: every core runs a loop of independent fused
//!   multiply-adds on the widest vectors it has (AVX2+FMA on x86-64, detected at
//!   run time); the FLOPs they complete per second are the ceiling any f32 kernel
//!   on this machine can reach.
//! - [`memory_bandwidth`]: every core runs STREAM's copy and triad kernels over
//!   its own buffers, together far larger than the last-level cache; the bytes
//!   they move per second (counted as STREAM does) are the ceiling of any
//!   memory-bound loop, such as reading a model's weights once per token.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Peak f32 FLOP/s of all `threads` together, measured for about `duration`.
pub fn peak_f32_flops(threads: usize, duration: Duration) -> f64 {
    let threads = threads.max(1);
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || per_thread_flops(duration)))
        .collect();
    handles.into_iter().filter_map(|h| h.join().ok()).sum()
}

/// Runs the kernel in rounds until `duration` has passed; FLOP/s of this thread.
fn per_thread_flops(duration: Duration) -> f64 {
    const ROUND: u64 = 1 << 20;
    let start = Instant::now();
    let mut flops = 0u64;
    let mut sink = 0f32;
    while start.elapsed() < duration {
        let (f, s) = fma_round(ROUND);
        flops += f;
        sink += s;
    }
    std::hint::black_box(sink);
    flops as f64 / start.elapsed().as_secs_f64()
}

/// `iterations` steps of 10 independent vector FMAs; returns (FLOPs done, checksum).
fn fma_round(iterations: u64) -> (u64, f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { x86::fma_avx2(iterations) };
    }
    scalar_round(iterations)
}

/// Portable fallback: 8 independent scalar multiply-add chains.
fn scalar_round(iterations: u64) -> (u64, f32) {
    let mut acc = [1.0f32; 8];
    let m = std::hint::black_box(0.999_999f32);
    let a = std::hint::black_box(1e-7f32);
    for _ in 0..iterations {
        for x in &mut acc {
            *x = x.mul_add(m, a);
        }
    }
    (iterations * 8 * 2, acc.iter().sum())
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// 10 accumulators cover the FMA latency (4–5 cycles) times two FMA ports.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iterations: u64) -> (u64, f32) {
        let m = _mm256_set1_ps(std::hint::black_box(0.999_999));
        let a = _mm256_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); 10];
        for _ in 0..iterations {
            for x in &mut acc {
                *x = _mm256_fmadd_ps(*x, m, a);
            }
        }
        let mut lanes = [0f32; 8];
        let mut total = _mm256_setzero_ps();
        for x in acc {
            total = _mm256_add_ps(total, x);
        }
        // SAFETY: `lanes` holds 8 f32, the width of one __m256.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
        (iterations * 10 * 8 * 2, lanes.iter().sum())
    }
}

/// Main-memory bandwidth in bytes/s, STREAM-style (a copy moves 16 bytes per
/// element, a triad 24; write-allocate traffic is not counted).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MemoryBandwidth {
    /// `a[i] = b[i]`.
    pub copy: f64,
    /// `a[i] = b[i] + s·c[i]`.
    pub triad: f64,
}

impl MemoryBandwidth {
    /// The better of the two kernels: the ceiling a streaming read can reach.
    pub fn best(&self) -> f64 {
        self.copy.max(self.triad)
    }
}

/// Bandwidth of all `threads` together, each kernel measured for about
/// `duration`, over three buffers per thread that together hold
/// `working_set` bytes (see [`default_working_set`]).
pub fn memory_bandwidth(threads: usize, working_set: usize, duration: Duration) -> MemoryBandwidth {
    let threads = threads.max(1);
    let len = (working_set / (3 * 8 * threads)).max(1);
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || stream_thread(len, duration, &start))
        })
        .collect();
    let mut copy = (0.0, 0.0f64);
    let mut triad = (0.0, 0.0f64);
    for (c, t) in handles.into_iter().filter_map(|h| h.join().ok()) {
        // Bytes add up; the threads ran side by side, so the slowest one's time
        // is the time they took together.
        copy = (copy.0 + c.0, copy.1.max(c.1));
        triad = (triad.0 + t.0, triad.1.max(t.1));
    }
    let rate = |(bytes, secs): (f64, f64)| if secs > 0.0 { bytes / secs } else { 0.0 };
    MemoryBandwidth {
        copy: rate(copy),
        triad: rate(triad),
    }
}

/// Working set for [`memory_bandwidth`]: 8× the last-level cache (from sysfs on
/// Linux), at least 512 MiB, at most 4 GiB.
pub fn default_working_set() -> usize {
    const MIB: usize = 1 << 20;
    (8 * last_level_cache().unwrap_or(0)).clamp(512 * MIB, 4096 * MIB)
}

/// The largest cache of CPU 0 in bytes, per sysfs (`index*/size`, e.g. `32768K`).
fn last_level_cache() -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("size")).ok())
        .filter_map(|s| parse_cache_size(s.trim()))
        .max()
}

fn parse_cache_size(s: &str) -> Option<usize> {
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: usize = digits.parse().ok()?;
    let scale = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// One thread's share: its own buffers (first touched here, so they are local
/// to its memory node), one untimed pass, then each kernel in passes until
/// `duration` has passed. Returns (bytes, seconds) for copy and for triad.
fn stream_thread(len: usize, duration: Duration, start: &Barrier) -> ((f64, f64), (f64, f64)) {
    let mut a = vec![1.0f64; len];
    let b = vec![2.0f64; len];
    let c = vec![0.5f64; len];
    let s = std::hint::black_box(3.0f64);
    triad_pass(&mut a, &b, &c, s);
    let timed = |bytes_per_pass: f64, pass: &mut dyn FnMut()| {
        start.wait();
        let t = Instant::now();
        let mut passes = 0u32;
        while passes == 0 || t.elapsed() < duration {
            pass();
            passes += 1;
        }
        (
            f64::from(passes) * bytes_per_pass,
            t.elapsed().as_secs_f64(),
        )
    };
    let elem = len as f64 * 8.0;
    let copy = timed(2.0 * elem, &mut || copy_pass(&mut a, &b));
    let triad = timed(3.0 * elem, &mut || triad_pass(&mut a, &b, &c, s));
    std::hint::black_box(&a);
    (copy, triad)
}

fn copy_pass(a: &mut [f64], b: &[f64]) {
    a.copy_from_slice(b);
    std::hint::black_box(&*a);
}

fn triad_pass(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((x, y), z) in a.iter_mut().zip(b).zip(c) {
        *x = y + s * z;
    }
    std::hint::black_box(&*a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_finite_positive_bandwidth() {
        // A tiny run: only that the figures are real numbers, no timing bounds.
        let bw = memory_bandwidth(2, 3 * 8 * 4096, Duration::from_millis(5));
        for v in [bw.copy, bw.triad, bw.best()] {
            assert!(v.is_finite() && v > 0.0, "{bw:?}");
        }
        let mut a = vec![0.0; 3];
        triad_pass(&mut a, &[1.0, 2.0, 3.0], &[1.0, 1.0, 2.0], 2.0);
        assert_eq!(a, [3.0, 4.0, 7.0]);
        copy_pass(&mut a, &[5.0, 6.0, 7.0]);
        assert_eq!(a, [5.0, 6.0, 7.0]);
    }

    #[test]
    fn cache_sizes_parse_and_the_working_set_is_bounded() {
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("12X"), None);
        assert_eq!(parse_cache_size(""), None);
        let ws = default_working_set();
        assert!((512 << 20..=4096 << 20).contains(&ws), "{ws}");
    }

    #[test]
    fn measures_a_positive_peak() {
        let one = peak_f32_flops(1, Duration::from_millis(50));
        assert!(one > 1e8, "implausible peak {one}");
        let (flops, sum) = scalar_round(10);
        assert_eq!(flops, 160);
        assert!(sum.is_finite());
    }
}
