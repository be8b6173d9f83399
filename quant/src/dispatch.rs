//! Run-time SIMD dispatch: one function body compiled twice, for AVX2+FMA and
//! for the baseline target, picked by CPU detection at each call (no
//! `-C target-cpu` needed, so one binary serves every x86-64 machine).

/// Defines `fn $name` that runs an AVX2+FMA build of `$body` when the CPU has
/// it and the baseline build otherwise. The body is ordinary safe Rust written
/// so that LLVM vectorizes it (chunked loops, several accumulators); explicit
/// intrinsics live in `#[target_feature]` functions of their own.
///
/// ```
/// hearth_quant::dispatch! {
///     /// Sum of squares.
///     fn sum_sq(xs: &[f32], out: &mut f32) {
///         *out = xs.iter().map(|x| x * x).sum();
///     }
/// }
/// let mut s = 0.0;
/// sum_sq(&[1.0, 2.0], &mut s);
/// assert_eq!(s, 5.0);
/// ```
#[macro_export]
macro_rules! dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn inner($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) { inner($($arg),*) }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            inner($($arg),*)
        }
    };
}
