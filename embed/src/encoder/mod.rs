//! Hearth's own BERT encoder for the CPU: the forward pass of the reference
//! [`BertModel`](crate::BertModel), rebuilt for throughput.
//!
//! - **Packed sequences, no padding**: a batch's tokens are laid end to end
//!   (`T × hidden`); linear layers run once over all of them and attention runs
//!   per sequence, so no FLOP is spent on padding.
//! - **Weights** in f32 (GEMM from the `gemm` crate, runtime-dispatched SIMD) or
//!   int8 per output channel with activations quantized per token on the fly
//!   ([`QuantRows`], [`matmul_i8`]); the query, key and value projections are one
//!   fused matrix.
//! - **Fused steps** (bias + residual + LayerNorm, bias + GELU) on buffers reused
//!   from batch to batch.

mod ops;

pub use hearth_quant::int8::{QuantRows, matmul_i8};

use crate::bert::BertConfig;
use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use ops::AttentionShape;
use std::sync::Mutex;

/// How the encoder's linear weights are stored and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderPrecision {
    /// f32 weights, multiplied with f32 GEMM.
    F32,
    /// int8 weights per output channel, with activations quantized per token on the fly.
    Int8,
}

enum Weights {
    /// Row-major `out × in`, as stored in the checkpoint.
    F32(Vec<f32>),
    Int8(QuantRows),
}

struct Linear {
    weights: Weights,
    bias: Vec<f32>,
    zero_bias: Vec<f32>,
    outputs: usize,
    inputs: usize,
}

impl Linear {
    fn new(
        weight: Vec<f32>,
        bias: Vec<f32>,
        outputs: usize,
        inputs: usize,
        p: EncoderPrecision,
    ) -> Self {
        let weights = match p {
            EncoderPrecision::F32 => Weights::F32(weight),
            EncoderPrecision::Int8 => {
                Weights::Int8(QuantRows::quantize(&weight, outputs, inputs, false))
            }
        };
        Self {
            weights,
            bias,
            zero_bias: vec![0.0; outputs],
            outputs,
            inputs,
        }
    }

    fn bytes(&self) -> usize {
        let w = match &self.weights {
            Weights::F32(w) => 4 * w.len(),
            Weights::Int8(q) => q.data.len() + 4 * q.scales.len() + 2 * q.weights.len(),
        };
        w + 4 * self.bias.len()
    }

    /// `out (rows × outputs) = x (rows × inputs) · Wᵀ`, bias not added.
    fn matmul(&self, x: &[f32], rows: usize, out: &mut [f32], quantized: &mut QuantRows) {
        let (n, k) = (self.outputs, self.inputs);
        match &self.weights {
            Weights::F32(w) => {
                let threads = rayon::current_num_threads();
                let parallelism = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                assert!(x.len() >= rows * k && out.len() >= rows * n && w.len() == n * k);
                // SAFETY: the three buffers hold rows×k, n×k and rows×n elements
                // (asserted above) and the strides describe exactly those layouts.
                unsafe {
                    gemm::gemm(
                        rows,
                        n,
                        k,
                        out.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        x.as_ptr(),
                        1,
                        k as isize,
                        w.as_ptr(),
                        k as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        parallelism,
                    )
                }
            }
            Weights::Int8(w) => {
                quantized.quantize_from(&x[..rows * k], rows, k, true);
                matmul_i8(quantized, w, &self.zero_bias, out);
            }
        }
    }
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: (Vec<f32>, Vec<f32>),
    intermediate: Linear,
    output: Linear,
    out_norm: (Vec<f32>, Vec<f32>),
}

/// Buffers of one forward pass, kept for the next.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    h1: Vec<f32>,
    inter: Vec<f32>,
    quantized: QuantRows,
}

/// A BERT encoder with mean pooling and L2 normalisation, on packed sequences.
pub struct Encoder {
    cfg: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    norm: (Vec<f32>, Vec<f32>),
    layers: Vec<Layer>,
    scratch: Mutex<Scratch>,
}

fn flat(t: Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
}

impl Encoder {
    /// Loads the checkpoint under `vb` (Hugging Face `BertModel` names, with or
    /// without `bert.`) in `precision`.
    pub fn load(
        vb: VarBuilder<'_>,
        cfg: &BertConfig,
        precision: EncoderPrecision,
    ) -> candle_core::Result<Self> {
        let (h, inter) = (cfg.hidden_size, cfg.intermediate_size);
        if cfg.hidden_act != "gelu" {
            candle_core::bail!("unsupported hidden_act `{}` (only gelu)", cfg.hidden_act);
        }
        if !h.is_multiple_of(cfg.num_attention_heads) || h / cfg.num_attention_heads > 128 {
            candle_core::bail!("unsupported head size {h}/{}", cfg.num_attention_heads);
        }
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let e = vb.pp("embeddings");
        let norm = |vb: VarBuilder<'_>| -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
            Ok((flat(vb.get(h, "weight")?)?, flat(vb.get(h, "bias")?)?))
        };
        let linear =
            |vb: &[VarBuilder<'_>], outputs: usize, inputs: usize| -> candle_core::Result<Linear> {
                let mut weight = Vec::new();
                let mut bias = Vec::new();
                for part in vb {
                    weight.extend(flat(part.get((outputs, inputs), "weight")?)?);
                    bias.extend(flat(part.get(outputs, "bias")?)?);
                }
                Ok(Linear::new(
                    weight,
                    bias,
                    outputs * vb.len(),
                    inputs,
                    precision,
                ))
            };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                qkv: linear(
                    &[a.pp("self.query"), a.pp("self.key"), a.pp("self.value")],
                    h,
                    h,
                )?,
                attn_out: linear(&[a.pp("output.dense")], h, h)?,
                attn_norm: norm(a.pp("output.LayerNorm"))?,
                intermediate: linear(&[l.pp("intermediate.dense")], inter, h)?,
                output: linear(&[l.pp("output.dense")], h, inter)?,
                out_norm: norm(l.pp("output.LayerNorm"))?,
            });
        }
        let token_type = flat(e.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?)?;
        Ok(Self {
            cfg: cfg.clone(),
            word: flat(e.get((cfg.vocab_size, h), "word_embeddings.weight")?)?,
            position: flat(e.get(
                (cfg.max_position_embeddings, h),
                "position_embeddings.weight",
            )?)?,
            token_type: token_type[..h].to_vec(),
            norm: norm(e.pp("LayerNorm"))?,
            layers,
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// Bytes held by the linear layers' weights.
    pub fn linear_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.qkv.bytes() + l.attn_out.bytes() + l.intermediate.bytes() + l.output.bytes())
            .sum()
    }

    /// Mean-pooled, L2-normalised embeddings of `sequences` (token ids with `[CLS]`
    /// and `[SEP]`), row-major `sequences.len() × hidden`.
    pub fn embed(&self, sequences: &[&[u32]]) -> candle_core::Result<Vec<f32>> {
        let h = self.cfg.hidden_size;
        let mut offsets = Vec::with_capacity(sequences.len() + 1);
        offsets.push(0usize);
        for s in sequences {
            if s.len() > self.cfg.max_position_embeddings {
                candle_core::bail!(
                    "sequence of {} tokens exceeds {}",
                    s.len(),
                    self.cfg.max_position_embeddings
                );
            }
            if let Some(&bad) = s.iter().find(|&&id| id as usize >= self.cfg.vocab_size) {
                candle_core::bail!("token id {bad} outside the vocabulary");
            }
            offsets.push(offsets.last().copied().unwrap_or(0) + s.len());
        }
        let tokens = offsets.last().copied().unwrap_or(0);
        let mut fresh = Scratch::default();
        let mut guard = self.scratch.try_lock().ok();
        let scratch: &mut Scratch = match guard.as_deref_mut() {
            Some(s) => s,
            None => &mut fresh,
        };
        let resize = |v: &mut Vec<f32>, n: usize| {
            v.clear();
            v.resize(n, 0.0);
        };
        resize(&mut scratch.x, tokens * h);
        resize(&mut scratch.qkv, tokens * 3 * h);
        resize(&mut scratch.ctx, tokens * h);
        resize(&mut scratch.h1, tokens * h);
        resize(&mut scratch.inter, tokens * self.cfg.intermediate_size);

        // Embeddings: word + position + token type 0, then LayerNorm.
        for (s, seq) in sequences.iter().enumerate() {
            for (p, &id) in seq.iter().enumerate() {
                let row = &mut scratch.x[(offsets[s] + p) * h..(offsets[s] + p + 1) * h];
                let word = &self.word[id as usize * h..(id as usize + 1) * h];
                let pos = &self.position[p * h..(p + 1) * h];
                for (((o, w), q), t) in row.iter_mut().zip(word).zip(pos).zip(&self.token_type) {
                    *o = w + q + t;
                }
            }
        }
        let eps = self.cfg.layer_norm_eps as f32;
        ops::layer_norm(&mut scratch.x, &self.norm.0, &self.norm.1, eps);
        let shape = AttentionShape {
            hidden: h,
            heads: self.cfg.num_attention_heads,
        };
        for l in &self.layers {
            let Scratch {
                x,
                qkv,
                ctx,
                h1,
                inter,
                quantized,
            } = &mut *scratch;
            l.qkv.matmul(x, tokens, qkv, quantized);
            ops::add_bias(qkv, &l.qkv.bias);
            ops::attention(qkv, &offsets, shape, ctx);
            l.attn_out.matmul(ctx, tokens, h1, quantized);
            ops::add_layer_norm(h1, &l.attn_out.bias, x, &l.attn_norm.0, &l.attn_norm.1, eps);
            l.intermediate.matmul(h1, tokens, inter, quantized);
            ops::add_gelu(inter, &l.intermediate.bias);
            l.output.matmul(inter, tokens, x, quantized);
            ops::add_layer_norm(x, &l.output.bias, h1, &l.out_norm.0, &l.out_norm.1, eps);
        }

        // Mean pooling per sequence, then L2 normalisation.
        let mut out = vec![0f32; sequences.len() * h];
        for (s, pooled) in out.chunks_exact_mut(h).enumerate() {
            let (start, end) = (offsets[s], offsets[s + 1]);
            for row in scratch.x[start * h..end * h].chunks_exact(h) {
                for (p, v) in pooled.iter_mut().zip(row) {
                    *p += v;
                }
            }
            let count = (end - start).max(1) as f32;
            let norm = pooled
                .iter()
                .map(|v| (v / count) * (v / count))
                .sum::<f32>()
                .sqrt()
                .max(1e-12);
            for p in pooled.iter_mut() {
                *p = *p / count / norm;
            }
        }
        Ok(out)
    }
}
