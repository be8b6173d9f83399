//! This CPU's peak f32 throughput, measured: every core runs a loop of
//! independent fused multiply-adds on the widest vectors it has (AVX2+FMA on
//! x86-64, detected at run time), and the FLOPs they complete per second are the
//! ceiling any f32 kernel on this machine can reach.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_positive_peak() {
        let one = peak_f32_flops(1, Duration::from_millis(50));
        assert!(one > 1e8, "implausible peak {one}");
        let (flops, sum) = scalar_round(10);
        assert_eq!(flops, 160);
        assert!(sum.is_finite());
    }
}
