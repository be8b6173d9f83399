//! Vector codecs: compressed storage of embedding vectors and fast approximate
//! inner-product scans over them, behind one interface ([`VectorCodec`]).
//!
//! Kinds ([`CodecKind`]):
//! * **TurboQuant** (Zandieh et al., arXiv 2504.19874): keep ‖x‖ (f32), rotate
//!   x/‖x‖ by a seeded random rotation ([`rotation`](RandomRotation)), and
//!   quantize each coordinate to the nearest level of a Lloyd–Max codebook
//!   computed for the coordinate density of a rotated unit vector in d
//!   dimensions ([`Codebook`]). b = 1–4 bits per coordinate; d × MSE ≈ 0.36,
//!   0.117, 0.034, 0.0094.
//! * **TurboQuant + QJL**: b − 1 bits of the above plus one sign bit per
//!   coordinate of a Gaussian projection of the residual and its norm, which
//!   makes inner-product estimates unbiased.
//! * **Int8** (per-vector symmetric scale) and **F32** (exact) baselines.
//!
//! Scans are asymmetric: the query is rotated once, then per group of
//! coordinates a table of ⟨q_group, levels⟩ is built and quantized to u8, and
//! the codes (packed in 32-row blocks, exactly b·d/8 bytes per row) are
//! scored with 4-bit table lookups, 32 rows per AVX2 shuffle (FAISS
//! "fast-scan" style), with a portable scalar path that gives identical sums.
//! Blocks are spread over rayon's threads; a [`RowMask`] filter skips whole
//! blocks. The scores pick candidates; callers rerank them exactly.
//!
//! Codes are a pure function of the vectors and the [`CodecSpec`] (seeded
//! ChaCha8, portable arithmetic): the same seed gives the same codes on
//! every machine.
//!
//! Scan time for 1 000 000 vectors, d = 384, k = 100, 2 rayon threads,
//! release (`cargo test --release -p hearth-store --lib -- --ignored
//! scan_speed --nocapture`), on the 2-core build VM (≈ 6–10 GB/s of read
//! bandwidth) while other jobs were using it (load 2–4), so best-of-20 and
//! median per run vary between runs; ranges over four runs:
//!
//! | codec   | bytes/vector | scan ms (best … median) | encode s (1M, 2 threads) |
//! |---------|--------------|-------------------------|--------------------------|
//! | tq1     | 52           | 2.5 … 6                 | 4                        |
//! | tq2     | 100          | 8 … 12.5                | 4–5                      |
//! | tq3     | 148          | 14 … 23                 | 5–6                      |
//! | tq4     | 196          | 12 … 24                 | 5–6                      |
//! | tq2-qjl | 104          | 6.5 … 12.5              | 21                       |
//! | tq3-qjl | 152          | 10 … 21                 | 21–25                    |
//! | tq4-qjl | 200          | 13 … 32                 | 13–22                    |
//! | int8    | 388          | 29 … 63                 | 1.5–3                    |
//! | f32     | 1536         | 87 … 172                | 1.5–3                    |
//!
//! In the quietest window tq4 took 11.8 ms best, 12.8 ms mean. The 4-bit
//! scan is memory-bound (its CPU time per pass equals a plain read of the
//! same 196 MB); single-threaded on a cache-resident 100k table it costs
//! ~1.4 ms (tq4), 1.0 ms (tq2), 1.7–2.2 ms (tq3). QJL encoding is dominated
//! by the dense d × d Gaussian projection of the residual. A filter that
//! allows 0.1% of rows costs 0.4–4 ms (blocks with no allowed row are
//! skipped unread).

mod flat;
/// The f32 dot product the scans use (AVX2 where available); search's exact
/// rerank uses it too.
pub(crate) use hearth_quant::linalg::dot;
mod kernel;
mod layout;
mod mask;
mod qjl;
mod quant;
#[cfg(test)]
mod reports;
mod scan;
mod spec;
mod table;
mod topk;
mod vector;

pub use hearth_quant::lloyd_max::Codebook;
pub use hearth_quant::rotation::{RandomRotation, Rotation};
pub use mask::RowMask;
pub use spec::{CodecKind, CodecSpec, DEFAULT_SEED};
pub use table::{CodeTable, PreparedQuery};
pub use vector::{MAX_DIM, VectorCodec};
