//! Loading a GGUF generator: the architecture named by
//! `general.architecture` and the configured [`Engine`] pick the forward pass
//! (Hearth's own [`crate::generate::engine`], or candle's `quantized_llama` /
//! `quantized_qwen2`), and the same file supplies the tokenizer, chat
//! template and context length.

use crate::AssistantError;
use crate::generate::chat::ChatTemplate;
use crate::generate::engine::prefix::{CachedPrefix, PrefixStore};
use crate::generate::engine::{Decoder, Engine, weights::DecoderWeights};
use crate::generate::generator::GeneratorConfig;
use crate::generate::metadata::Metadata;
use crate::generate::requant;
use crate::generate::tokenizer::GgufTokenizer;
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A transformer architecture Hearth can run from GGUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// `llama` (SmolLM2): `candle_transformers::models::quantized_llama`.
    Llama,
    /// `qwen2` (Qwen2.5): `candle_transformers::models::quantized_qwen2`.
    Qwen2,
}

impl Architecture {
    /// The architecture for a `general.architecture` value.
    pub fn from_gguf(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Self::Llama),
            "qwen2" => Some(Self::Qwen2),
            _ => None,
        }
    }

    /// The `general.architecture` name, also the prefix of its metadata keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
        }
    }

    /// The longest sequence an engine's implementation can take, whatever the
    /// file says (candle's llama rotary table has `MAX_SEQ_LEN` rows; Hearth's
    /// grows its tables on demand).
    fn implementation_limit(self, engine: Engine) -> Option<usize> {
        match (engine, self) {
            (Engine::Candle, Self::Llama) => Some(quantized_llama::MAX_SEQ_LEN),
            _ => None,
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a loaded GGUF model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The GGUF file the model was loaded from.
    pub path: PathBuf,
    /// `general.name`, if the file has one.
    pub name: Option<String>,
    /// The network architecture, from `general.architecture`.
    pub architecture: Architecture,
    /// `<arch>.context_length` from the file.
    pub trained_context: usize,
    /// The window Hearth uses: the trained context capped by the configuration
    /// and by the implementation.
    pub context_window: usize,
    /// Tokens in the tokenizer's vocabulary (from the file's metadata).
    pub vocab_size: usize,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// The engine running the forward pass.
    pub engine: Engine,
}

enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Hearth(Box<Decoder>),
}

/// The forward pass: weights with their KV cache, on a device, the tokens
/// whose keys and values the cache holds, and recent prefixes' caches.
pub(crate) struct Network {
    weights: Weights,
    device: Device,
    cached: Vec<u32>,
    prefixes: PrefixStore,
}

fn build<R: std::io::Read + std::io::Seek>(
    architecture: Architecture,
    content: gguf_file::Content,
    reader: &mut R,
    device: &Device,
) -> candle_core::Result<Weights> {
    Ok(match architecture {
        Architecture::Llama => Weights::Llama(quantized_llama::ModelWeights::from_gguf(
            content, reader, device,
        )?),
        Architecture::Qwen2 => Weights::Qwen2(quantized_qwen2::ModelWeights::from_gguf(
            content, reader, device,
        )?),
    })
}

/// A model in memory: network, tokenizer and template.
pub(crate) struct LoadedModel {
    pub(crate) network: Network,
    pub(crate) tokenizer: GgufTokenizer,
    pub(crate) template: ChatTemplate,
    pub(crate) info: ModelInfo,
    pub(crate) load_time: Duration,
    /// Weight bytes one decoded token reads (see [`decode_weight_bytes`]).
    pub(crate) weight_bytes: u64,
}

impl LoadedModel {
    /// Reads the whole GGUF file at `path` onto the CPU, set up by `config`
    /// (context cap, engine, candle's Q8_0 conversion, prefix-cache budget).
    pub(crate) fn load(path: &Path, config: &GeneratorConfig) -> Result<Self, AssistantError> {
        let (max_context, convert, engine) = (
            config.max_context,
            config.convert_slow_weights,
            config.engine,
        );
        let started = Instant::now();
        let io = |source| AssistantError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let file_size = file.metadata().map_err(io)?.len();
        let mut reader = BufReader::new(file);
        let format = |reason: String| AssistantError::ModelFormat {
            path: path.to_path_buf(),
            reason,
        };
        let content = gguf_file::Content::read(&mut reader)
            .map_err(|e| format(format!("not a readable GGUF file: {e}")))?;

        let md = Metadata::new(path, &content.metadata);
        let arch_name = md.str("general.architecture")?;
        let architecture = Architecture::from_gguf(arch_name).ok_or_else(|| {
            md.error(format!(
                "architecture `{arch_name}` is not supported (llama, qwen2)"
            ))
        })?;
        let trained_context = md.u64(&format!("{arch_name}.context_length"))?;
        let trained_context = usize::try_from(trained_context).unwrap_or(usize::MAX);
        let mut context_window = trained_context.min(max_context);
        if let Some(limit) = architecture.implementation_limit(engine) {
            context_window = context_window.min(limit);
        }
        if context_window < 2 {
            return Err(md.error(format!("context window of {context_window} tokens")));
        }
        let tokenizer = GgufTokenizer::from_metadata(&md)?;
        let template = match md.opt_str("tokenizer.chat_template")? {
            Some(jinja) => ChatTemplate::from_jinja(jinja)?,
            None => {
                return Err(AssistantError::ChatTemplate(format!(
                    "{} has no tokenizer.chat_template",
                    path.display()
                )));
            }
        };
        let name = md.opt_str("general.name")?.map(str::to_owned);
        let vocab_size = tokenizer.vocab_size();

        let device = Device::Cpu;
        let (weights, weight_bytes) = if engine == Engine::Hearth {
            let weights = DecoderWeights::load(path, architecture, &content, &mut reader)?;
            let decoder = Decoder::new(weights);
            for (name, dtype) in decoder.converted() {
                tracing::debug!(tensor = %name, from = ?dtype, "converted to Q8_0");
            }
            tracing::debug!(
                resident_mb = decoder.weight_bytes() as f64 / 1e6,
                "weights in Hearth's block formats"
            );
            let bytes = decoder.decode_bytes() as u64;
            (Ok(Weights::Hearth(Box::new(decoder))), bytes)
        } else if convert {
            // The embedding table is dequantized to f32 by candle anyway; it is a
            // matrix product only when the file ties the output to it.
            let tied = !content.tensor_infos.contains_key("output.weight");
            let skip = |name: &str| name == "token_embd.weight" && !tied;
            let (content, mut overlay, converted) = requant::convert(content, reader, &skip)?;
            tracing::debug!(converted, "weight tensors converted to Q8_0");
            let bytes = decode_weight_bytes(&content);
            (build(architecture, content, &mut overlay, &device), bytes)
        } else {
            let bytes = decode_weight_bytes(&content);
            (build(architecture, content, &mut reader, &device), bytes)
        };
        let weights =
            weights.map_err(|e| format(format!("cannot load the {architecture} weights: {e}")))?;

        let load_time = started.elapsed();
        tracing::info!(
            path = %path.display(),
            %architecture,
            context_window,
            ms = load_time.as_millis() as u64,
            "loaded generator"
        );
        Ok(Self {
            network: Network {
                weights,
                device,
                cached: Vec::new(),
                prefixes: PrefixStore::new(config.prefix_cache_mb.saturating_mul(1 << 20)),
            },
            tokenizer,
            template,
            info: ModelInfo {
                path: path.to_path_buf(),
                name,
                architecture,
                trained_context,
                context_window,
                vocab_size,
                file_size,
                engine,
            },
            load_time,
            weight_bytes,
        })
    }
}

/// Bytes of weights one decoded token reads, as loaded (after any conversion):
/// every tensor except the token embedding table, of which a token reads one
/// row — unless the file ties the output projection to it, when the whole
/// table is that matrix.
fn decode_weight_bytes(content: &gguf_file::Content) -> u64 {
    let tied = !content.tensor_infos.contains_key("output.weight");
    content
        .tensor_infos
        .iter()
        .filter(|(name, _)| tied || name.as_str() != "token_embd.weight")
        .map(|(_, info)| {
            let blocks = info.shape.elem_count() / info.ggml_dtype.block_size();
            (blocks * info.ggml_dtype.type_size()) as u64
        })
        .sum()
}

impl Network {
    /// Forgets the KV cache (before a new, unrelated prompt).
    pub(crate) fn clear_cache(&mut self) {
        self.cached.clear();
        match &mut self.weights {
            Weights::Llama(m) => m.clear_kv_cache(),
            Weights::Qwen2(m) => m.clear_kv_cache(),
            Weights::Hearth(d) => d.truncate(0),
        }
    }

    /// Runs `ids` at positions `pos..pos + ids.len()` (extending the KV cache,
    /// which must hold exactly `pos` positions) and returns the logits for the
    /// next token, as f32.
    pub(crate) fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>, AssistantError> {
        let logits = match &mut self.weights {
            Weights::Hearth(d) => d.forward(ids, pos)?,
            Weights::Llama(_) | Weights::Qwen2(_) => {
                let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
                let logits = match &mut self.weights {
                    Weights::Llama(m) => m.forward(&input, pos)?,
                    Weights::Qwen2(m) => m.forward(&input, pos)?,
                    Weights::Hearth(_) => unreachable!("matched above"),
                };
                logits
                    .squeeze(0)?
                    .to_dtype(candle_core::DType::F32)?
                    .to_vec1::<f32>()?
            }
        };
        self.cached.truncate(pos);
        self.cached.extend_from_slice(ids);
        Ok(logits)
    }

    /// Runs a whole prompt and returns the logits after its last token and how
    /// many of its leading tokens were already in the KV cache. Hearth's
    /// engine keeps the longest prefix the cache shares with `prompt` (a
    /// system prompt, the sources of a cascade) and computes only the rest;
    /// candle's cache cannot be cut, so it starts over.
    pub(crate) fn prefill(&mut self, prompt: &[u32]) -> Result<(Vec<f32>, usize), AssistantError> {
        let reuse = match &mut self.weights {
            Weights::Hearth(d) => {
                let mut active = CachedPrefix {
                    tokens: std::mem::take(&mut self.cached),
                    cache: d.take_cache(),
                };
                let shared = self.prefixes.select(&mut active, prompt);
                self.cached = active.tokens;
                d.put_cache(active.cache);
                // At least one token runs, to give the logits.
                let shared = shared.min(prompt.len().saturating_sub(1));
                d.truncate(shared);
                self.cached.truncate(shared);
                shared
            }
            _ => {
                self.clear_cache();
                0
            }
        };
        let logits = self.forward(&prompt[reuse..], reuse)?;
        Ok((logits, reuse))
    }

    /// Bytes the KV cache holds now, where the engine reports it.
    pub(crate) fn kv_bytes(&self) -> Option<u64> {
        match &self.weights {
            Weights::Hearth(d) => Some(d.cache().bytes() as u64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use std::io::Cursor;

    fn content_with(names: &[&str]) -> gguf_file::Content {
        let dense = Tensor::ones((8, 64), candle_core::DType::F32, &Device::Cpu).unwrap();
        let q = QTensor::quantize(&dense, GgmlDType::Q8_0).unwrap();
        let tensors: Vec<(&str, &QTensor)> = names.iter().map(|n| (*n, &q)).collect();
        let mut file = Cursor::new(Vec::new());
        gguf_file::write(&mut file, &[], &tensors).unwrap();
        file.set_position(0);
        gguf_file::Content::read(&mut file).unwrap()
    }

    #[test]
    fn an_unsupported_architecture_is_named_on_either_engine() {
        let dense = Tensor::ones((8, 64), candle_core::DType::F32, &Device::Cpu).unwrap();
        let q = QTensor::quantize(&dense, GgmlDType::Q8_0).unwrap();
        let arch = gguf_file::Value::String("gemma3".into());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gemma.gguf");
        let mut file = std::fs::File::create(&path).unwrap();
        gguf_file::write(
            &mut file,
            &[("general.architecture", &arch)],
            &[("token_embd.weight", &q)],
        )
        .unwrap();
        drop(file);
        for engine in [Engine::Hearth, Engine::Candle] {
            let config = GeneratorConfig {
                engine,
                ..GeneratorConfig::default()
            };
            let err = LoadedModel::load(&path, &config)
                .err()
                .expect("gemma3 is refused");
            let text = err.to_string();
            assert!(
                text.contains("architecture `gemma3` is not supported"),
                "{text}"
            );
            assert!(text.contains("gemma.gguf"), "{text}");
        }
    }

    #[test]
    fn decode_bytes_count_the_embedding_table_only_when_tied() {
        // 8 × 64 values in Q8_0: 16 blocks of 34 bytes.
        let one = 16 * 34;
        let tied = content_with(&["token_embd.weight", "blk.0.attn_q.weight"]);
        assert_eq!(decode_weight_bytes(&tied), 2 * one);
        let untied = content_with(&["token_embd.weight", "blk.0.attn_q.weight", "output.weight"]);
        assert_eq!(decode_weight_bytes(&untied), 2 * one);
    }
}
