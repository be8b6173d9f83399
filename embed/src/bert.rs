//! A BERT encoder (the architecture of all-MiniLM-L6-v2) on candle, written out
//! here rather than taken from candle-transformers so that its linear layers can
//! hold quantized weights ([`WeightFormat`]).

use crate::quant::{QLinear, WeightFormat};
use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

/// The fields of a Hugging Face BERT `config.json` this encoder uses.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// Number of tokens in the vocabulary (rows of the word embedding).
    pub vocab_size: usize,
    /// Width of the hidden states (the embedding dimension).
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; divides `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer inside each transformer layer.
    pub intermediate_size: usize,
    /// Longest input in tokens (rows of the position embedding).
    pub max_position_embeddings: usize,
    /// Number of token types (segment ids).
    pub type_vocab_size: usize,
    /// Epsilon added to the variance in every LayerNorm.
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward layer; only `gelu` (the default) is supported.
    #[serde(default = "gelu")]
    pub hidden_act: String,
}

fn gelu() -> String {
    "gelu".into()
}

struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

struct Layer {
    query: QLinear,
    key: QLinear,
    value: QLinear,
    attn_out: QLinear,
    attn_norm: LayerNorm,
    intermediate: QLinear,
    output: QLinear,
    out_norm: LayerNorm,
}

/// The encoder: token ids and an attention mask in, hidden states out.
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

impl BertModel {
    /// Loads weights named like Hugging Face's `BertModel` (with or without `bert.`),
    /// converting the linear layers to `format` (embeddings and norms stay f32).
    pub fn load(vb: VarBuilder<'_>, cfg: &BertConfig, format: WeightFormat) -> Result<Self> {
        if cfg.hidden_act != "gelu" {
            candle_core::bail!("unsupported hidden_act `{}` (only gelu)", cfg.hidden_act);
        }
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            candle_core::bail!("hidden_size is not a multiple of num_attention_heads");
        }
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = cfg.hidden_size;
        let eps = cfg.layer_norm_eps;
        let e = vb.pp("embeddings");
        let embeddings = Embeddings {
            word: candle_nn::embedding(cfg.vocab_size, h, e.pp("word_embeddings"))?,
            position: candle_nn::embedding(
                cfg.max_position_embeddings,
                h,
                e.pp("position_embeddings"),
            )?,
            token_type: candle_nn::embedding(
                cfg.type_vocab_size,
                h,
                e.pp("token_type_embeddings"),
            )?,
            norm: candle_nn::layer_norm(h, eps, e.pp("LayerNorm"))?,
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let linear =
                |inp: usize, out: usize, vb: VarBuilder<'_>| QLinear::load(inp, out, format, vb);
            let inter = cfg.intermediate_size;
            layers.push(Layer {
                query: linear(h, h, a.pp("self.query"))?,
                key: linear(h, h, a.pp("self.key"))?,
                value: linear(h, h, a.pp("self.value"))?,
                attn_out: linear(h, h, a.pp("output.dense"))?,
                attn_norm: candle_nn::layer_norm(h, eps, a.pp("output.LayerNorm"))?,
                intermediate: linear(h, inter, l.pp("intermediate.dense"))?,
                output: linear(inter, h, l.pp("output.dense"))?,
                out_norm: candle_nn::layer_norm(h, eps, l.pp("output.LayerNorm"))?,
            });
        }
        Ok(Self {
            embeddings,
            layers,
            heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
        })
    }

    /// Bytes held by the linear layers' weights (the part quantization shrinks).
    pub fn linear_bytes(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| {
                [
                    &l.query,
                    &l.key,
                    &l.value,
                    &l.attn_out,
                    &l.intermediate,
                    &l.output,
                ]
            })
            .map(QLinear::bytes)
            .sum()
    }

    /// `input_ids` and `attention_mask` are `(batch, seq)` u32; returns
    /// `(batch, seq, hidden)` f32 hidden states of the last layer.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (batch, seq) = input_ids.dims2()?;
        let positions = Tensor::arange(0u32, seq as u32, input_ids.device())?
            .unsqueeze(0)?
            .broadcast_as((batch, seq))?;
        let token_types = input_ids.zeros_like()?;
        let e = &self.embeddings;
        let x = e.word.forward(input_ids)?;
        let x = x.add(&e.position.forward(&positions)?)?;
        let x = x.add(&e.token_type.forward(&token_types)?)?;
        let mut x = e.norm.forward(&x)?;
        // Additive mask: 0 where attended, a large negative number on padding.
        let mask = attention_mask.to_dtype(DType::F32)?;
        let mask = ((mask - 1.0)? * 1.0e9)?.reshape((batch, 1, 1, seq))?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &mask)?;
        }
        Ok(x)
    }

    fn layer_forward(&self, l: &Layer, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (batch, seq, hidden) = x.dims3()?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((batch, seq, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(l.query.forward(x)?)?;
        let k = split(l.key.forward(x)?)?;
        let v = split(l.value.forward(x)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch, seq, hidden))?;
        let attn = l.attn_norm.forward(&(l.attn_out.forward(&context)? + x)?)?;
        let inter = l.intermediate.forward(&attn)?.gelu_erf()?;
        l.out_norm.forward(&(l.output.forward(&inter)? + attn)?)
    }
}
