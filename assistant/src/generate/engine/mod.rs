//! Hearth's own decoder runtime for GGUF `llama` and `qwen2` models: weights
//! in the block formats of `hearth-quant` ([`weights`]), prefill as one GEMM
//! per projection over all prompt tokens, decode as bandwidth-bound GEMVs,
//! RoPE ([`rope`]), grouped-query attention over a [`KvCache`] ([`kv`]) that
//! Hearth owns, so that a prompt prefix already in the cache is not computed
//! again.
//!
//! The forward pass per layer: RMSNorm → Q/K/V (+ Qwen2's biases) → RoPE →
//! append K/V → causal attention per head → output projection + residual →
//! RMSNorm → SwiGLU MLP + residual; then the final norm and the logits of the
//! last token. Activations are quantized per 32-value block before each
//! product (as llama.cpp and candle do for these weight types); norms,
//! attention and softmax run in f32.

pub mod kv;
pub(crate) mod prefix;
mod rope;
pub mod weights;

pub use kv::{F32KvCache, KvCache, KvLayout};
pub use weights::{DecoderConfig, RopeStyle};

use crate::AssistantError;
use hearth_quant::blocks::{BlockMatrix, QuantizedActivations, gemm, gemv, gemv_many};
use hearth_quant::vector;
use rayon::prelude::*;
use rope::Rope;
use weights::DecoderWeights;

/// Which implementation runs a generator's forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// Hearth's own runtime (this module): the default.
    #[default]
    Hearth,
    /// candle's `quantized_llama` / `quantized_qwen2`, the reference.
    Candle,
}

impl Engine {
    /// The configuration name: `hearth` or `candle`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hearth => "hearth",
            Self::Candle => "candle",
        }
    }

    /// Parses `hearth` or `candle`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "hearth" => Some(Self::Hearth),
            "candle" => Some(Self::Candle),
            _ => None,
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Buffers reused from call to call.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    quant: QuantizedActivations,
}

/// A loaded decoder with its KV cache.
pub(crate) struct Decoder {
    weights: DecoderWeights,
    rope: Rope,
    cache: Box<dyn KvCache>,
    scratch: Scratch,
}

fn resize(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    buf.resize(n, 0.0);
    &mut buf[..n]
}

fn add_bias(x: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in x.chunks_exact_mut(bias.len()) {
        vector::add_assign(row, bias);
    }
}

fn product(w: &BlockMatrix, x: &QuantizedActivations, out: &mut [f32]) {
    if x.rows() == 1 {
        gemv(w, x, out);
    } else {
        gemm(w, x, out);
    }
}

impl Decoder {
    pub(crate) fn new(weights: DecoderWeights) -> Self {
        let c = &weights.config;
        let layout = KvLayout {
            layers: c.layers,
            kv_heads: c.kv_heads,
            head_dim: c.head_dim,
        };
        Self {
            rope: Rope::new(c),
            cache: Box::new(F32KvCache::new(layout)),
            weights,
            scratch: Scratch::default(),
        }
    }

    /// Bytes of weights held.
    pub(crate) fn weight_bytes(&self) -> usize {
        self.weights.resident_bytes()
    }

    /// Bytes of weights one decoded token reads: everything but the embedding
    /// table, unless it is also the output projection.
    pub(crate) fn decode_bytes(&self) -> usize {
        let table = if self.weights.output.is_some() {
            self.weights.embedding.bytes()
        } else {
            0
        };
        self.weights.bytes() - table
    }

    /// Tensors converted to Q8_0 at load, with their GGUF types.
    pub(crate) fn converted(&self) -> &[(String, candle_core::quantized::GgmlDType)] {
        &self.weights.converted
    }

    /// The KV cache.
    pub(crate) fn cache(&self) -> &dyn KvCache {
        self.cache.as_ref()
    }

    /// Takes the KV cache out, leaving an empty one of the same layout.
    pub(crate) fn take_cache(&mut self) -> Box<dyn KvCache> {
        let layout = self.cache.layout();
        std::mem::replace(&mut self.cache, Box::new(F32KvCache::new(layout)))
    }

    /// Puts a KV cache (of this model's layout) in place of the current one.
    pub(crate) fn put_cache(&mut self, cache: Box<dyn KvCache>) {
        debug_assert_eq!(cache.layout(), self.cache.layout());
        self.cache = cache;
    }

    /// Keeps the first `len` cached positions and forgets the rest.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.cache.truncate(len);
    }

    /// Runs `ids` at positions `pos..pos + ids.len()`, extending the cache,
    /// and returns the next-token logits after the last one. `pos` must be
    /// the cache's length.
    pub(crate) fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>, AssistantError> {
        if ids.is_empty() {
            return Err(AssistantError::Generation(
                "forward pass of no tokens".into(),
            ));
        }
        if pos != self.cache.len() {
            return Err(AssistantError::Generation(format!(
                "forward pass at position {pos}, but the KV cache holds {}",
                self.cache.len()
            )));
        }
        let c = self.weights.config.clone();
        let t = ids.len();
        let (d, qd, kvd) = (c.dim, c.heads * c.head_dim, c.kv_heads * c.head_dim);
        let s = &mut self.scratch;

        let x = resize(&mut s.x, t * d);
        for (row, &id) in x.chunks_exact_mut(d).zip(ids) {
            if id as usize >= c.vocab {
                return Err(AssistantError::Generation(format!(
                    "token {id} is outside the vocabulary of {}",
                    c.vocab
                )));
            }
            self.weights.embedding.dequantize_row(id as usize, row);
        }

        let scale = 1.0 / (c.head_dim as f32).sqrt();
        let group = c.heads / c.kv_heads;
        for (l, layer) in self.weights.layers.iter().enumerate() {
            // Attention.
            let h = resize(&mut s.h, t * d);
            vector::rms_norm(&s.x, &layer.attn_norm, c.norm_eps, h);
            s.quant.quantize(h, t, d);
            let q = resize(&mut s.q, t * qd);
            let k = resize(&mut s.k, t * kvd);
            let v = resize(&mut s.v, t * kvd);
            if t == 1 {
                gemv_many(
                    &[&layer.wq, &layer.wk, &layer.wv],
                    &s.quant,
                    &mut [&mut *q, &mut *k, &mut *v],
                );
            } else {
                gemm(&layer.wq, &s.quant, q);
                gemm(&layer.wk, &s.quant, k);
                gemm(&layer.wv, &s.quant, v);
            }
            add_bias(q, &layer.bq);
            add_bias(k, &layer.bk);
            add_bias(v, &layer.bv);
            self.rope.apply(q, c.heads, pos);
            self.rope.apply(k, c.kv_heads, pos);
            self.cache.append(l, k, v);

            let att = resize(&mut s.att, t * qd);
            let cache = self.cache.as_ref();
            let q = &s.q;
            let hd = c.head_dim;
            att.par_chunks_mut(hd)
                .enumerate()
                .for_each_init(Vec::new, |scores, (i, out)| {
                    let (token, head) = (i / c.heads, i % c.heads);
                    let query = &q[i * hd..(i + 1) * hd];
                    cache.attend(l, head / group, query, pos + token + 1, scale, scores, out);
                });
            s.quant.quantize(att, t, qd);
            let proj = resize(&mut s.proj, t * d);
            product(&layer.wo, &s.quant, proj);
            vector::add_assign(&mut s.x, proj);

            // MLP.
            let h = resize(&mut s.h, t * d);
            vector::rms_norm(&s.x, &layer.ffn_norm, c.norm_eps, h);
            s.quant.quantize(h, t, d);
            let gate = resize(&mut s.gate, t * c.ffn_dim);
            let up = resize(&mut s.up, t * c.ffn_dim);
            if t == 1 {
                gemv_many(
                    &[&layer.gate, &layer.up],
                    &s.quant,
                    &mut [&mut *gate, &mut *up],
                );
            } else {
                gemm(&layer.gate, &s.quant, gate);
                gemm(&layer.up, &s.quant, up);
            }
            vector::silu_mul(gate, up);
            s.quant.quantize(gate, t, c.ffn_dim);
            let proj = resize(&mut s.proj, t * d);
            product(&layer.down, &s.quant, proj);
            vector::add_assign(&mut s.x, proj);
        }

        let last = &s.x[(t - 1) * d..t * d];
        let h = resize(&mut s.h, d);
        vector::rms_norm(last, &self.weights.output_norm, c.norm_eps, h);
        s.quant.quantize(h, 1, d);
        let mut logits = vec![0f32; c.vocab];
        gemv(self.weights.output(), &s.quant, &mut logits);
        Ok(logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
    use candle_core::{Device, Module, Tensor};
    use hearth_quant::blocks::WeightFormat;

    /// Hearth's block products against candle's quantized matmul on the same
    /// GGUF bytes and the same activations.
    #[test]
    fn block_products_match_candle() {
        let (rows, cols) = (64, 576);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i as f32) * 0.7311).sin() * 0.05)
            .collect();
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i as f32) * 0.377).cos() * 2.0 + if i % 97 == 0 { 9.0 } else { 0.0 })
            .collect();
        let wt = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
        let xt = Tensor::from_vec(x.clone(), (1, cols), &Device::Cpu).unwrap();
        for (dtype, format) in [
            (GgmlDType::Q8_0, WeightFormat::Q8_0),
            (GgmlDType::Q4_1, WeightFormat::Q4_1),
            (GgmlDType::Q5_0, WeightFormat::Q5_0),
        ] {
            let q = QTensor::quantize(&wt, dtype).unwrap();
            let m = BlockMatrix::from_ggml(format, rows, cols, &q.data().unwrap()).unwrap();
            let want: Vec<f32> = QMatMul::from_qtensor(q)
                .unwrap()
                .forward(&xt)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let mut a = QuantizedActivations::new();
            a.quantize(&x, 1, cols);
            let mut got = vec![0f32; rows];
            gemv(&m, &a, &mut got);
            let err = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0f32, f32::max);
            let mag = want.iter().map(|w| w.abs()).fold(0f32, f32::max);
            // candle keeps a Q4_1 product's activation block sum at f16
            // precision (`s = f16(Σq)·d`); Hearth keeps it in f32.
            let tolerance = if format == WeightFormat::Q4_1 {
                5e-4
            } else {
                1e-4
            };
            assert!(err <= tolerance * mag, "{format}: max error {err} of {mag}");
        }
    }
}
