//! Loading a GGUF decoder into Hearth's kernel formats: the hyper-parameters
//! from the metadata ([`DecoderConfig`]) and every tensor as a
//! [`BlockMatrix`] (matrices) or f32 (norms and biases).
//!
//! The per-tensor rule: `Q8_0`, `Q4_1` and `Q5_0` keep their bytes (the
//! kernels read them directly, so decode reads as few bytes as the file
//! holds); every other type (`Q4_K`, `Q6_K`, `F16`, `F32`, …) is dequantized
//! and stored as `Q8_0`, which costs memory over a 4–6-bit K-quant but keeps
//! one fast kernel family and is nearly lossless.

use crate::AssistantError;
use crate::generate::metadata::Metadata;
use crate::generate::model::Architecture;
use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use hearth_quant::blocks::{BlockMatrix, WeightFormat};
use std::path::Path;

/// How RoPE pairs the values of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs `(2i, 2i+1)`: GGUF's `llama` (its Q/K rows are permuted for it).
    Interleaved,
    /// Pairs `(i, i + d/2)`: GPT-NeoX style, `qwen2`.
    Neox,
}

/// Hyper-parameters of a decoder, from the GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// The architecture.
    pub architecture: Architecture,
    /// Transformer layers.
    pub layers: usize,
    /// Model width.
    pub dim: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Values per head.
    pub head_dim: usize,
    /// Width of the MLP.
    pub ffn_dim: usize,
    /// Tokens in the vocabulary (rows of the output projection).
    pub vocab: usize,
    /// RMSNorm epsilon.
    pub norm_eps: f32,
    /// RoPE frequency base.
    pub rope_base: f32,
    /// Linear RoPE scaling: positions are divided by this (1 = none).
    pub rope_scale: f32,
    /// How RoPE pairs values.
    pub rope_style: RopeStyle,
}

/// One transformer block's weights.
pub(crate) struct LayerWeights {
    pub(crate) attn_norm: Vec<f32>,
    pub(crate) wq: BlockMatrix,
    pub(crate) wk: BlockMatrix,
    pub(crate) wv: BlockMatrix,
    /// Qwen2's projection biases (empty for llama).
    pub(crate) bq: Vec<f32>,
    pub(crate) bk: Vec<f32>,
    pub(crate) bv: Vec<f32>,
    pub(crate) wo: BlockMatrix,
    pub(crate) ffn_norm: Vec<f32>,
    pub(crate) gate: BlockMatrix,
    pub(crate) up: BlockMatrix,
    pub(crate) down: BlockMatrix,
}

/// Every weight of a decoder.
pub(crate) struct DecoderWeights {
    pub(crate) config: DecoderConfig,
    pub(crate) embedding: BlockMatrix,
    /// `None` when the file ties the output projection to the embedding.
    pub(crate) output: Option<BlockMatrix>,
    pub(crate) output_norm: Vec<f32>,
    pub(crate) layers: Vec<LayerWeights>,
    /// Tensors converted to `Q8_0`, by source type (for the load log).
    pub(crate) converted: Vec<(String, GgmlDType)>,
}

impl DecoderWeights {
    /// Bytes of weights a full pass reads.
    pub(crate) fn bytes(&self) -> usize {
        self.sum_bytes(BlockMatrix::bytes)
    }

    /// Bytes of weights held (with the code sums only prefill reads).
    pub(crate) fn resident_bytes(&self) -> usize {
        self.sum_bytes(BlockMatrix::resident_bytes)
    }

    fn sum_bytes(&self, size: fn(&BlockMatrix) -> usize) -> usize {
        let layer = |l: &LayerWeights| {
            [&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down]
                .iter()
                .map(|m| size(m))
                .sum::<usize>()
                + 4 * (l.attn_norm.len() + l.ffn_norm.len() + l.bq.len() + l.bk.len() + l.bv.len())
        };
        size(&self.embedding)
            + self.output.as_ref().map_or(0, size)
            + self.layers.iter().map(layer).sum::<usize>()
    }

    /// The output projection (the embedding table when tied).
    pub(crate) fn output(&self) -> &BlockMatrix {
        self.output.as_ref().unwrap_or(&self.embedding)
    }

    /// Reads the decoder of `architecture` from an opened GGUF file.
    pub(crate) fn load<R: std::io::Read + std::io::Seek>(
        path: &Path,
        architecture: Architecture,
        content: &gguf_file::Content,
        reader: &mut R,
    ) -> Result<Self, AssistantError> {
        let md = Metadata::new(path, &content.metadata);
        let config = DecoderConfig::from_metadata(&md, architecture)?;
        let mut loader = Loader {
            path,
            architecture,
            content,
            reader,
            converted: Vec::new(),
        };
        let embedding = loader.matrix("token_embd.weight", config.vocab, config.dim)?;
        let output = if content.tensor_infos.contains_key("output.weight") {
            Some(loader.matrix("output.weight", config.vocab, config.dim)?)
        } else {
            None
        };
        let output_norm = loader.vector("output_norm.weight", config.dim)?;
        let (q_dim, kv_dim) = (
            config.heads * config.head_dim,
            config.kv_heads * config.head_dim,
        );
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let name = |t: &str| format!("blk.{l}.{t}");
            let bias = |loader: &mut Loader<'_, R>, t: &str, n: usize| {
                if architecture == Architecture::Qwen2 {
                    loader.vector(&name(t), n)
                } else {
                    Ok(Vec::new())
                }
            };
            layers.push(LayerWeights {
                attn_norm: loader.vector(&name("attn_norm.weight"), config.dim)?,
                wq: loader.matrix(&name("attn_q.weight"), q_dim, config.dim)?,
                wk: loader.matrix(&name("attn_k.weight"), kv_dim, config.dim)?,
                wv: loader.matrix(&name("attn_v.weight"), kv_dim, config.dim)?,
                bq: bias(&mut loader, "attn_q.bias", q_dim)?,
                bk: bias(&mut loader, "attn_k.bias", kv_dim)?,
                bv: bias(&mut loader, "attn_v.bias", kv_dim)?,
                wo: loader.matrix(&name("attn_output.weight"), config.dim, q_dim)?,
                ffn_norm: loader.vector(&name("ffn_norm.weight"), config.dim)?,
                gate: loader.matrix(&name("ffn_gate.weight"), config.ffn_dim, config.dim)?,
                up: loader.matrix(&name("ffn_up.weight"), config.ffn_dim, config.dim)?,
                down: loader.matrix(&name("ffn_down.weight"), config.dim, config.ffn_dim)?,
            });
        }
        Ok(Self {
            config,
            embedding,
            output,
            output_norm,
            layers,
            converted: loader.converted,
        })
    }
}

impl DecoderConfig {
    fn from_metadata(
        md: &Metadata<'_>,
        architecture: Architecture,
    ) -> Result<Self, AssistantError> {
        let arch = architecture.as_str();
        let get = |key: &str| -> Result<usize, AssistantError> {
            let v = md.u64(&format!("{arch}.{key}"))?;
            usize::try_from(v).map_err(|_| md.error(format!("`{arch}.{key}` = {v} is too large")))
        };
        let layers = get("block_count")?;
        let dim = get("embedding_length")?;
        let heads = get("attention.head_count")?;
        let kv_heads = get("attention.head_count_kv")?;
        let ffn_dim = get("feed_forward_length")?;
        if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
            return Err(md.error(format!(
                "{heads} query heads, {kv_heads} key/value heads and width {dim} do not divide"
            )));
        }
        let head_dim = dim / heads;
        if let Some(rope_dim) = md.opt_u64(&format!("{arch}.rope.dimension_count"))?
            && rope_dim as usize != head_dim
        {
            return Err(md.error(format!(
                "partial RoPE ({rope_dim} of {head_dim} head values) is not supported by Hearth's engine; set `[generation] engine = \"candle\"`"
            )));
        }
        let rope_scale = match md.opt_str(&format!("{arch}.rope.scaling.type"))? {
            None | Some("none") => 1.0,
            Some("linear") => md
                .opt_f32(&format!("{arch}.rope.scaling.factor"))?
                .filter(|f| *f > 0.0)
                .unwrap_or(1.0),
            Some(other) => {
                return Err(md.error(format!(
                    "RoPE scaling `{other}` is not supported by Hearth's engine (none, linear); set `[generation] engine = \"candle\"`"
                )));
            }
        };
        let vocab = match md.opt_u64(&format!("{arch}.vocab_size"))? {
            Some(v) => v as usize,
            None => md.str_array("tokenizer.ggml.tokens")?.len(),
        };
        Ok(Self {
            architecture,
            layers,
            dim,
            heads,
            kv_heads,
            head_dim,
            ffn_dim,
            vocab,
            norm_eps: md
                .opt_f32(&format!("{arch}.attention.layer_norm_rms_epsilon"))?
                .unwrap_or(1e-5),
            rope_base: md
                .opt_f32(&format!("{arch}.rope.freq_base"))?
                .unwrap_or(10_000.0),
            rope_scale,
            rope_style: match architecture {
                Architecture::Llama => RopeStyle::Interleaved,
                Architecture::Qwen2 => RopeStyle::Neox,
            },
        })
    }
}

struct Loader<'a, R> {
    path: &'a Path,
    architecture: Architecture,
    content: &'a gguf_file::Content,
    reader: &'a mut R,
    converted: Vec<(String, GgmlDType)>,
}

impl<R: std::io::Read + std::io::Seek> Loader<'_, R> {
    fn error(&self, reason: String) -> AssistantError {
        AssistantError::ModelFormat {
            path: self.path.to_path_buf(),
            reason,
        }
    }

    fn read(&mut self, name: &str) -> Result<QTensor, AssistantError> {
        if !self.content.tensor_infos.contains_key(name) {
            return Err(self.error(format!(
                "tensor `{name}` is missing for architecture {}",
                self.architecture
            )));
        }
        self.content
            .tensor(self.reader, name, &Device::Cpu)
            .map_err(|e| self.error(format!("cannot read tensor `{name}`: {e}")))
    }

    /// A `rows × cols` matrix (GGUF dims `[cols, rows]`).
    fn matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<BlockMatrix, AssistantError> {
        let t = self.read(name)?;
        let dims = t.shape().dims().to_vec();
        if dims != [rows, cols] {
            return Err(self.error(format!(
                "tensor `{name}` has shape {dims:?}, expected [{rows}, {cols}]"
            )));
        }
        let native = match t.dtype() {
            GgmlDType::Q8_0 => Some(WeightFormat::Q8_0),
            GgmlDType::Q4_1 => Some(WeightFormat::Q4_1),
            GgmlDType::Q5_0 => Some(WeightFormat::Q5_0),
            _ => None,
        };
        let unsupported = |e: String| {
            self.error(format!(
                "tensor `{name}` ({:?}) of architecture {}: {e}; set `[generation] engine = \"candle\"`",
                t.dtype(),
                self.architecture
            ))
        };
        let mut converted = false;
        let matrix = match native {
            Some(format) => {
                let bytes = t.data().map_err(|e| unsupported(e.to_string()))?;
                BlockMatrix::from_ggml(format, rows, cols, &bytes)
            }
            None => {
                let values = t
                    .dequantize(&Device::Cpu)
                    .and_then(|v| v.flatten_all())
                    .and_then(|v| v.to_vec1::<f32>())
                    .map_err(|e| unsupported(format!("cannot dequantize: {e}")))?;
                converted = true;
                BlockMatrix::quantize_q8_0(rows, cols, &values)
            }
        };
        let matrix = matrix.map_err(|e| unsupported(e.to_string()))?;
        if converted {
            self.converted.push((name.to_owned(), t.dtype()));
        }
        Ok(matrix)
    }

    /// A vector of `n` f32 values (norm weights, biases).
    fn vector(&mut self, name: &str, n: usize) -> Result<Vec<f32>, AssistantError> {
        let t = self.read(name)?;
        if t.shape().elem_count() != n {
            return Err(self.error(format!(
                "tensor `{name}` has {} values, expected {n}",
                t.shape().elem_count()
            )));
        }
        t.dequantize(&Device::Cpu)
            .and_then(|v| v.flatten_all())
            .and_then(|v| v.to_vec1::<f32>())
            .map_err(|e| self.error(format!("cannot read tensor `{name}`: {e}")))
    }
}
