//! Hearth's kernels and codecs, shared by the encoder (`hearth-embed`), the
//! vector store (`hearth-store`) and the decoder runtime (`hearth-assistant`).
//!
//! - [`dispatch!`]: run-time SIMD dispatch (AVX2+FMA or the portable build).
//! - [`blocks`]: GGUF-style block formats for decoder weights (Q8_0, Q4_1,
//!   Q5_0) and activations ([`blocks::QuantizedActivations`]), with the
//!   bandwidth-bound GEMV of decode and the blocked GEMM of prefill.
//! - [`vector`]: f32 vector kernels of the decoder (dot, axpy, RMSNorm, SiLU,
//!   softmax).
//! - [`int8`]: int8 GEMM with per-row scales and power-of-two block weights
//!   ([`int8::QuantRows`], [`int8::matmul_i8`]), for the encoder's int8
//!   linear layers.
//! - [`rotation`]: seeded random rotations of R^d (randomized Hadamard or
//!   dense Haar) applied before scalar quantization of stored vectors.
//! - [`lloyd_max`]: Lloyd–Max codebooks for the coordinates of a rotated unit
//!   vector ([`lloyd_max::Codebook`]).
//! - [`rng`]: the portable seeded random numbers the rotations and
//!   projections are drawn from (the same seed gives the same bits
//!   everywhere).
//! - [`linalg`]: the f32 dot and matrix-vector products, bit-identical with
//!   or without SIMD.

mod dispatch;

pub mod blocks;
pub mod int8;
pub mod linalg;
pub mod lloyd_max;
pub mod rng;
pub mod rotation;
pub mod vector;
