//! [`Generator`]: one GGUF model, loaded on first use and kept loaded, turning a
//! conversation into a streamed reply with its timings and confidence.

use crate::AssistantError;
use crate::generate::chat::{ChatMessage, ChatTemplate};
use crate::generate::engine::Engine;
use crate::generate::model::{LoadedModel, ModelInfo};
use crate::generate::sampling::Sampler;
use crate::generate::stream::StreamDecoder;
use crate::generate::tier::Tier;
use crate::generate::tokenizer::GgufTokenizer;
use hearth_embed::{ModelCatalog, ModelRegistry};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default cap on the context window, whatever the model was trained for: KV
/// cache memory and prefill time grow with it.
pub const DEFAULT_MAX_CONTEXT: usize = 4096;

/// How a [`Generator`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Upper bound on the context window (prompt + reply), in tokens.
    pub max_context: usize,
    /// Convert Q4_1 / Q5_0 / Q5_1 weights to Q8_0 at load: candle has only
    /// scalar kernels for those types, and both pinned models use them (see
    /// [`crate::generate::requant`]). Faster, nearly lossless, more memory.
    /// (candle engine only; Hearth's engine has fast kernels for every type.)
    pub convert_slow_weights: bool,
    /// Which implementation runs the forward pass.
    pub engine: Engine,
    /// MiB of KV caches kept for recent prompt prefixes besides the active one
    /// (Hearth's engine; 0 keeps only the last prompt's).
    pub prefix_cache_mb: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            max_context: DEFAULT_MAX_CONTEXT,
            convert_slow_weights: true,
            engine: Engine::default(),
            prefix_cache_mb: 64,
        }
    }
}

/// Decoding settings for one reply.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationParams {
    /// Most tokens to generate (the stop token included).
    pub max_new_tokens: usize,
    /// 0 is greedy decoding; higher flattens the distribution.
    pub temperature: f32,
    /// Nucleus sampling: keep the most likely tokens up to this much probability
    /// (1 keeps all). Ignored when greedy.
    pub top_p: f32,
    /// Seed of the sampler's random stream; same seed, same reply.
    pub seed: u64,
}

impl Default for GenerationParams {
    /// Greedy, up to 256 new tokens.
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model emitted a stop token (`<|im_end|>` or end of text).
    Stop,
    /// `max_new_tokens` were generated.
    Length,
    /// The context window is full.
    Context,
}

impl FinishReason {
    /// The reason's wire name: `stop`, `length` or `context` (as in OpenAI's API).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Context => "context",
        }
    }
}

impl std::fmt::Display for FinishReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finished reply with its measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The reply (stop token excluded); equal to the concatenation of the pieces
    /// streamed to `on_token`.
    pub text: String,
    /// Tokens of the prompt after any truncation.
    pub prompt_tokens: usize,
    /// Content tokens cut from the prompt to fit the context window.
    pub truncated_tokens: usize,
    /// Tokens generated, the stop token included (as OpenAI-style usage counts).
    pub completion_tokens: usize,
    /// From the start to the first sampled token: tokenizing and prefill. A
    /// model loaded by this call is not counted (see [`Generator::load_time`]).
    pub time_to_first_token: Duration,
    /// From the start (after any model load) to the end.
    pub total_time: Duration,
    /// Why generation ended: a stop token, the token cap, or a full context.
    pub finish_reason: FinishReason,
    /// Mean log-probability of the generated tokens (stop token included) under
    /// the raw logits at temperature 1: ≤ 0, nearer 0 is more confident.
    /// 0 when nothing was generated.
    pub mean_logprob: f32,
    /// Leading prompt tokens whose keys and values were already cached from
    /// the previous call (not computed again).
    pub reused_prompt_tokens: usize,
    /// Bytes of the KV cache at the end, where the engine reports it.
    pub kv_bytes: Option<u64>,
}

impl Generation {
    /// Prompt tokens per second of prefill (≈ prompt / time to first token).
    pub fn prompt_tokens_per_second(&self) -> f64 {
        rate(self.prompt_tokens, self.time_to_first_token)
    }

    /// Generated tokens per second after the first one.
    pub fn decode_tokens_per_second(&self) -> f64 {
        rate(
            self.completion_tokens.saturating_sub(1),
            self.total_time.saturating_sub(self.time_to_first_token),
        )
    }
}

fn rate(tokens: usize, time: Duration) -> f64 {
    let secs = time.as_secs_f64();
    if secs > 0.0 {
        tokens as f64 / secs
    } else {
        0.0
    }
}

/// A local text generator over one GGUF file. The weights are read on first use
/// (or by [`Generator::load`]) and stay in memory until [`Generator::unload`].
///
/// ```no_run
/// use hearth_assistant::{ChatMessage, GenerationParams, Generator, Tier};
/// let mut generator = Generator::for_tier(Tier::Micro)?;
/// let messages = [ChatMessage::user("What is the capital of France?")];
/// let reply = generator.generate(&messages, &GenerationParams::default(), |piece| {
///     print!("{piece}");
/// })?;
/// println!("\n{} tokens, confidence {:.2}", reply.completion_tokens, reply.mean_logprob);
/// # Ok::<(), hearth_assistant::AssistantError>(())
/// ```
pub struct Generator {
    path: PathBuf,
    config: GeneratorConfig,
    model: Option<LoadedModel>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("path", &self.path)
            .field("config", &self.config)
            .field("loaded", &self.model.is_some())
            .finish()
    }
}

impl Generator {
    /// A generator for any supported GGUF file (nothing is read yet).
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            config: GeneratorConfig::default(),
            model: None,
        }
    }

    /// The tier's model from `registry`; an error naming `hearth models install
    /// <model>` when it is not installed or damaged.
    pub fn from_registry(registry: &ModelRegistry, tier: Tier) -> Result<Self, AssistantError> {
        Ok(Self::from_path(tier_path(registry, tier)?))
    }

    /// The tier's model from the default model cache
    /// ([`ModelRegistry::default_root`]).
    pub fn for_tier(tier: Tier) -> Result<Self, AssistantError> {
        Self::from_registry(&ModelRegistry::new(ModelRegistry::default_root()), tier)
    }

    /// Uses `config` (takes effect at the next load).
    pub fn with_config(mut self, config: GeneratorConfig) -> Self {
        self.config = config;
        self
    }

    /// The GGUF file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the weights are in memory.
    pub fn is_loaded(&self) -> bool {
        self.model.is_some()
    }

    /// Loads the model now, if not loaded yet.
    pub fn load(&mut self) -> Result<&ModelInfo, AssistantError> {
        Ok(&self.loaded()?.info)
    }

    /// Frees the weights; the next call loads them again.
    pub fn unload(&mut self) {
        self.model = None;
    }

    /// How long the last load took, if loaded.
    pub fn load_time(&self) -> Option<Duration> {
        self.model.as_ref().map(|m| m.load_time)
    }

    /// Bytes of weights one decoded token reads, as loaded (after any Q8_0
    /// conversion), if loaded: every matrix and norm, the output projection
    /// included; the embedding table only when it is that projection.
    pub fn weight_bytes(&self) -> Option<u64> {
        self.model.as_ref().map(|m| m.weight_bytes)
    }

    /// Threads candle's quantized matrix products run on: `CANDLE_NUM_THREADS`,
    /// else `RAYON_NUM_THREADS`, else the physical cores (as candle reads them).
    pub fn compute_threads() -> usize {
        std::env::var("CANDLE_NUM_THREADS")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(candle_core::utils::get_num_threads)
    }

    /// For benchmarks: clears the KV cache, runs `prompt` as one prefill, then
    /// `steps` greedy single-token steps with stop tokens ignored (as llama.cpp's
    /// `llama-bench` does). Returns the prefill time and the decode time.
    pub fn time_forward(
        &mut self,
        prompt: &[u32],
        steps: usize,
    ) -> Result<(Duration, Duration), AssistantError> {
        let mut sampler = Sampler::new(0.0, 1.0, 0)?;
        let model = self.loaded()?;
        let window = model.info.context_window;
        if prompt.is_empty() || prompt.len() + steps > window {
            return Err(AssistantError::Generation(format!(
                "{} prompt + {steps} generated tokens do not fit a window of {window}",
                prompt.len()
            )));
        }
        model.network.clear_cache();
        let started = Instant::now();
        let mut logits = model.network.forward(prompt, 0)?;
        let prefill = started.elapsed();
        let started = Instant::now();
        for pos in prompt.len()..prompt.len() + steps {
            let next = sampler.sample(&logits)?.token;
            logits = model.network.forward(&[next], pos)?;
        }
        Ok((prefill, started.elapsed()))
    }

    /// Teacher-forced evaluation: clears the KV cache, then runs `tokens` one
    /// position at a time and hands `visit(i, logits)` the next-token logits
    /// after token `i` — for perplexity, KL divergence and engine comparisons.
    pub fn evaluate(
        &mut self,
        tokens: &[u32],
        mut visit: impl FnMut(usize, &[f32]),
    ) -> Result<(), AssistantError> {
        let model = self.loaded()?;
        if tokens.len() > model.info.context_window {
            return Err(AssistantError::Generation(format!(
                "{} tokens do not fit a window of {}",
                tokens.len(),
                model.info.context_window
            )));
        }
        model.network.clear_cache();
        for (i, &token) in tokens.iter().enumerate() {
            let logits = model.network.forward(&[token], i)?;
            visit(i, &logits);
        }
        Ok(())
    }

    /// The engine running this generator's forward pass.
    pub fn engine(&self) -> Engine {
        self.config.engine
    }

    /// For benchmarks: prefills `prompt` as [`Generator::generate`] does —
    /// continuing from the longest cached prefix — and returns the time it
    /// took and how many leading tokens were reused.
    pub fn time_prefill(&mut self, prompt: &[u32]) -> Result<(Duration, usize), AssistantError> {
        let model = self.loaded()?;
        if prompt.is_empty() || prompt.len() > model.info.context_window {
            return Err(AssistantError::Generation(format!(
                "a prompt of {} tokens for a window of {}",
                prompt.len(),
                model.info.context_window
            )));
        }
        let started = Instant::now();
        let (_, reused) = model.network.prefill(prompt)?;
        Ok((started.elapsed(), reused))
    }

    /// Forgets the active KV cache (stored prefixes stay).
    pub fn clear_cache(&mut self) {
        if let Some(model) = self.model.as_mut() {
            model.network.clear_cache();
        }
    }

    /// The model's tokenizer (loads the model).
    pub fn tokenizer(&mut self) -> Result<&GgufTokenizer, AssistantError> {
        Ok(&self.loaded()?.tokenizer)
    }

    /// The model's chat template (loads the model).
    pub fn template(&mut self) -> Result<&ChatTemplate, AssistantError> {
        Ok(&self.loaded()?.template)
    }

    fn loaded(&mut self) -> Result<&mut LoadedModel, AssistantError> {
        if self.model.is_none() {
            self.model = Some(LoadedModel::load(&self.path, &self.config)?);
        }
        self.model
            .as_mut()
            .ok_or_else(|| AssistantError::Generation("model failed to stay loaded".into()))
    }

    /// Generates the assistant's reply to `messages`, streaming the text to
    /// `on_token` piece by piece (whole characters only).
    ///
    /// The prompt is fitted to the context window minus room for the reply
    /// (`min(max_new_tokens, window / 2)` tokens) by cutting the front of the
    /// earliest non-system messages (see [`crate::generate::chat`]); generation
    /// then stops at a stop token, after `max_new_tokens`, or when the window is
    /// full.
    pub fn generate(
        &mut self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        mut on_token: impl FnMut(&str),
    ) -> Result<Generation, AssistantError> {
        let started = Instant::now();
        let model = self.loaded()?;
        let window = model.info.context_window;
        let reserve = params.max_new_tokens.min(window / 2).max(1);
        let (prompt, truncated_tokens) =
            model
                .template
                .encode(&model.tokenizer, messages, window - reserve)?;
        if truncated_tokens > 0 {
            tracing::warn!(
                truncated_tokens,
                window,
                "prompt cut from the front to fit the context window"
            );
        }
        self.run(&prompt, truncated_tokens, started, params, &mut on_token)
    }

    /// Continues `text` as it is, with no chat template (`hearth generate
    /// --raw`). A text longer than the window (less room for the reply) loses
    /// its front, counted in [`Generation::truncated_tokens`].
    pub fn complete(
        &mut self,
        text: &str,
        params: &GenerationParams,
        mut on_token: impl FnMut(&str),
    ) -> Result<Generation, AssistantError> {
        let started = Instant::now();
        let model = self.loaded()?;
        let window = model.info.context_window;
        let reserve = params.max_new_tokens.min(window / 2).max(1);
        let mut prompt = model.tokenizer.encode_plain(text)?;
        if prompt.is_empty() {
            return Err(AssistantError::InvalidParams("an empty prompt".into()));
        }
        let budget = window - reserve;
        let truncated_tokens = prompt.len().saturating_sub(budget);
        if truncated_tokens > 0 {
            tracing::warn!(
                truncated_tokens,
                window,
                "prompt cut from the front to fit the context window"
            );
            prompt.drain(..truncated_tokens);
        }
        self.run(&prompt, truncated_tokens, started, params, &mut on_token)
    }

    /// Prefills `prompt` (reusing any cached prefix) and samples the reply.
    fn run(
        &mut self,
        prompt: &[u32],
        truncated_tokens: usize,
        started: Instant,
        params: &GenerationParams,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation, AssistantError> {
        let mut sampler = Sampler::new(params.temperature, params.top_p, params.seed)?;
        let model = self.loaded()?;
        let window = model.info.context_window;
        let stop = model.tokenizer.stop_ids();

        let mut result = Generation {
            text: String::new(),
            prompt_tokens: prompt.len(),
            truncated_tokens,
            completion_tokens: 0,
            time_to_first_token: Duration::ZERO,
            total_time: Duration::ZERO,
            finish_reason: FinishReason::Length,
            mean_logprob: 0.0,
            reused_prompt_tokens: 0,
            kv_bytes: None,
        };
        if params.max_new_tokens == 0 {
            result.time_to_first_token = started.elapsed();
            result.total_time = result.time_to_first_token;
            return Ok(result);
        }

        let (mut logits, reused) = model.network.prefill(prompt)?;
        result.reused_prompt_tokens = reused;
        let mut pos = prompt.len();
        let mut stream = StreamDecoder::new();
        let tokenizer = &model.tokenizer;
        let decode = |ids: &[u32]| tokenizer.decode(ids, true);
        let mut logprob_sum = 0.0f64;
        let finish = loop {
            let choice = sampler.sample(&logits)?;
            if result.completion_tokens == 0 {
                result.time_to_first_token = started.elapsed();
            }
            result.completion_tokens += 1;
            logprob_sum += f64::from(choice.logprob);
            if stop.contains(&choice.token) {
                break FinishReason::Stop;
            }
            if let Some(piece) = stream.push(choice.token, decode)? {
                on_token(&piece);
                result.text.push_str(&piece);
            }
            if result.completion_tokens >= params.max_new_tokens {
                break FinishReason::Length;
            }
            // The sampled token would go in at position `pos`.
            if pos >= window {
                break FinishReason::Context;
            }
            logits = model.network.forward(&[choice.token], pos)?;
            pos += 1;
        };
        let rest = stream.finish(decode)?;
        if !rest.is_empty() {
            on_token(&rest);
            result.text.push_str(&rest);
        }
        result.finish_reason = finish;
        result.mean_logprob = (logprob_sum / result.completion_tokens as f64) as f32;
        result.total_time = started.elapsed();
        result.kv_bytes = model.network.kv_bytes();
        tracing::debug!(
            prompt_tokens = result.prompt_tokens,
            completion_tokens = result.completion_tokens,
            finish = %finish,
            prefill_tps = result.prompt_tokens_per_second(),
            decode_tps = result.decode_tokens_per_second(),
            "generated"
        );
        Ok(result)
    }
}

/// Path of a tier's GGUF file, checked by the registry.
fn tier_path(registry: &ModelRegistry, tier: Tier) -> Result<PathBuf, AssistantError> {
    let catalog = ModelCatalog::pinned()?;
    let spec = catalog.get(tier.model_name())?;
    Ok(registry.locate(spec)?.join(tier.gguf_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Generator>();
        assert_send::<Generation>();
    }

    #[test]
    fn rates_handle_zero_durations() {
        let g = Generation {
            text: String::new(),
            prompt_tokens: 10,
            truncated_tokens: 0,
            completion_tokens: 5,
            time_to_first_token: Duration::from_millis(500),
            total_time: Duration::from_millis(1500),
            finish_reason: FinishReason::Length,
            mean_logprob: -0.5,
            reused_prompt_tokens: 0,
            kv_bytes: None,
        };
        assert!((g.prompt_tokens_per_second() - 20.0).abs() < 1e-9);
        assert!((g.decode_tokens_per_second() - 4.0).abs() < 1e-9);
        let zero = Generation {
            total_time: Duration::ZERO,
            time_to_first_token: Duration::ZERO,
            ..g
        };
        assert_eq!(zero.prompt_tokens_per_second(), 0.0);
        assert_eq!(FinishReason::Context.to_string(), "context");
    }
}
