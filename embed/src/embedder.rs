//! Sentence embeddings: tokenize, run the encoder in length-sorted batches,
//! mean-pool over the tokens and L2-normalise. The encoder is Hearth's own
//! ([`Encoder`], f32 or int8) or, as the reference, the candle [`BertModel`].

use crate::bert::{BertConfig, BertModel};
use crate::encoder::{Encoder, EncoderPrecision};
use crate::error::{EmbedError, io_err};
use crate::quant::WeightFormat;
use candle_core::{D, DType, Device, Tensor};
use candle_nn::VarBuilder;
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

/// Id of the pinned embedding model, recorded in the index manifest.
pub const DEFAULT_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// How an [`Embedder`] is set up.
#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    /// Recorded in the index: an index built by one model can't be searched with another.
    pub model_id: String,
    /// Longest input in tokens, `[CLS]` and `[SEP]` included (256 for all-MiniLM-L6-v2).
    pub max_tokens: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// How the linear-layer weights are held: quantized by default, f32 as reference.
    pub weights: WeightFormat,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        Self {
            model_id: DEFAULT_MODEL_ID.to_owned(),
            max_tokens: 256,
            batch_size: 32,
            weights: WeightFormat::default(),
        }
    }
}

/// The runtime that computes the hidden states.
enum Engine {
    /// The reference BERT on candle (padded batches).
    Candle(BertModel),
    /// Hearth's own encoder (packed sequences, pooled inside).
    Own(Box<Encoder>),
}

/// Row-major embeddings: `len()` vectors of `dim` floats each, unit length.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Floats per vector (the model's embedding dimension).
    pub dim: usize,
    /// All vectors end to end: vector `i` is `data[i * dim..(i + 1) * dim]`.
    pub data: Vec<f32>,
}

impl Embeddings {
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The `i`-th vector.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// all-MiniLM-L6-v2 (or any BERT sentence encoder in the same layout) on the CPU.
///
/// ```no_run
/// use hearth_embed::{Embedder, EmbedderOptions};
/// let embedder = Embedder::load("/path/to/all-minilm-l6-v2".as_ref(), EmbedderOptions::default())?;
/// let v = embedder.embed(&["The new movie is awesome", "The new movie is so great"])?;
/// let cos: f32 = v.row(0).iter().zip(v.row(1)).map(|(a, b)| a * b).sum();
/// assert!((cos - 0.894).abs() < 0.01);
/// # Ok::<(), hearth_embed::EmbedError>(())
/// ```
pub struct Embedder {
    engine: Engine,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
    config: BertConfig,
    options: EmbedderOptions,
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path, options: EmbedderOptions) -> Result<Self, EmbedError> {
        let corrupt = |file: &str, reason: String| EmbedError::ModelCorrupt {
            model: options.model_id.clone(),
            path: dir.join(file),
            reason,
        };
        let config_path = dir.join("config.json");
        let config_bytes = std::fs::read(&config_path).map_err(io_err(&config_path))?;
        let config: BertConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| corrupt("config.json", e.to_string()))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| corrupt("tokenizer.json", e.to_string()))?;
        // The shipped tokenizer pads and truncates to 128: we pad per batch ourselves
        // and truncate at the model's real limit.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: options.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is mmapped read-only; it was size/hash-checked by the
        // registry and Hearth never writes to installed model files.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| corrupt("model.safetensors", e.to_string()))?;
        let engine = match options.weights {
            WeightFormat::F32 => Engine::Own(Box::new(
                Encoder::load(vb, &config, EncoderPrecision::F32)
                    .map_err(|e| corrupt("model.safetensors", e.to_string()))?,
            )),
            WeightFormat::Int8 => Engine::Own(Box::new(
                Encoder::load(vb, &config, EncoderPrecision::Int8)
                    .map_err(|e| corrupt("model.safetensors", e.to_string()))?,
            )),
            candle => Engine::Candle(
                BertModel::load(vb, &config, candle)
                    .map_err(|e| corrupt("model.safetensors", e.to_string()))?,
            ),
        };
        Ok(Self {
            engine,
            tokenizer,
            device,
            dim: config.hidden_size,
            config,
            options,
        })
    }

    /// Vector dimension (384 for all-MiniLM-L6-v2).
    pub fn dimension(&self) -> usize {
        self.dim
    }

    /// The model id recorded in indexes built with this embedder.
    pub fn model_id(&self) -> &str {
        &self.options.model_id
    }

    /// The encoder's shape (layers, widths), for FLOP counts.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Bytes of linear-layer weights in memory, in the loaded format.
    pub fn linear_weight_bytes(&self) -> usize {
        match &self.engine {
            Engine::Candle(m) => m.linear_bytes(),
            Engine::Own(e) => e.linear_bytes(),
        }
    }

    /// The format the linear-layer weights were loaded in.
    pub fn weight_format(&self) -> WeightFormat {
        self.options.weights
    }

    /// Longest input in tokens; longer texts are truncated.
    pub fn max_tokens(&self) -> usize {
        self.options.max_tokens
    }

    /// The tokenizer without padding or truncation, for sizing chunks in tokens.
    pub fn sizing_tokenizer(&self) -> Tokenizer {
        let mut t = self.tokenizer.clone();
        t.with_padding(None);
        // Removing truncation cannot fail.
        let _ = t.with_truncation(None);
        t
    }

    /// Token ids of `text` as the model sees it (`[CLS]` … `[SEP]`, truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds `texts`, returning one unit vector per text in input order.
    pub fn embed<S: AsRef<str> + Send + Sync>(
        &self,
        texts: &[S],
    ) -> Result<Embeddings, EmbedError> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // Sort by length so a batch holds similar lengths (the candle model pads
        // to the longest; the own encoder's attention work stays even).
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut data = vec![0f32; encodings.len() * self.dim];
        for batch in order.chunks(self.options.batch_size.max(1)) {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| encodings[i].get_ids()).collect();
            let pooled = match &self.engine {
                Engine::Own(encoder) => encoder.embed(&seqs)?,
                Engine::Candle(model) => self.candle_batch(model, &seqs)?,
            };
            for (row, &i) in batch.iter().enumerate() {
                data[i * self.dim..(i + 1) * self.dim]
                    .copy_from_slice(&pooled[row * self.dim..(row + 1) * self.dim]);
            }
        }
        Ok(Embeddings {
            dim: self.dim,
            data,
        })
    }

    /// Embeds one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed(&[text])?.data)
    }

    /// One padded batch through the candle reference model; row-major pooled vectors.
    fn candle_batch(&self, model: &BertModel, seqs: &[&[u32]]) -> Result<Vec<f32>, EmbedError> {
        let width = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = vec![0u32; seqs.len() * width];
        let mut mask = vec![0u32; seqs.len() * width];
        for (row, enc) in seqs.iter().enumerate() {
            ids[row * width..row * width + enc.len()].copy_from_slice(enc);
            mask[row * width..row * width + enc.len()].fill(1);
        }
        let ids = Tensor::from_vec(ids, (seqs.len(), width), &self.device)?;
        let mask = Tensor::from_vec(mask, (seqs.len(), width), &self.device)?;
        let pooled = self.pool(&model.forward(&ids, &mask)?, &mask)?;
        Ok(pooled.flatten_all()?.to_vec1()?)
    }

    /// Mean over unmasked tokens, then L2 normalisation.
    fn pool(&self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor, EmbedError> {
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean
            .sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?)
    }
}
