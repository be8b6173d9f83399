//! GGUF-style block formats for decoder weights and activations, and the
//! matrix products over them.
//!
//! Every format cuts a row into blocks of [`BLOCK`] (32) values with an f32
//! scale per block, as GGUF's `Q8_0`, `Q4_1` and `Q5_0` do, so weights in
//! those types are taken over bit for bit and every other type is re-quantized
//! to `Q8_0` at load (see [`WeightFormat`]). Activations are quantized on the
//! fly to signed bytes with a scale per block ([`QuantizedActivations`]), and a
//! block product is `d_w·d_a·Σ q_w·q_a (+ m_w·d_a·Σ q_a)`, summed in i32 inside
//! the block and in f32 across blocks.
//!
//! - [`BlockMatrix`]: a row-major weight matrix in one [`WeightFormat`].
//! - [`gemv`]: one token (decode): reads each weight byte once, rows split
//!   across threads — bandwidth-bound by design.
//! - [`gemm`]: many tokens (prefill): each weight block is decoded once and
//!   multiplied with four tokens at a time.

mod activations;
mod kernels;
mod matmul;
mod matrix;

pub use activations::QuantizedActivations;
pub use kernels::Kernel;
pub use matmul::{gemm, gemv, gemv_many};
pub use matrix::{BlockMatrix, FormatError, WeightFormat};

/// Values per block in every format here (GGUF's `QK8_0 = QK4_1 = QK5_0 = 32`).
pub const BLOCK: usize = 32;
