//! The tokenizer of a GGUF generator, rebuilt from the file's own metadata
//! (`tokenizer.ggml.*`): a byte-level BPE (`tokenizer.ggml.model` = `gpt2`) whose
//! pre-tokenizer follows llama.cpp's `tokenizer.ggml.pre`, with every control token
//! (token type 3) registered as a special added token so that ChatML tags such as
//! `<|im_start|>` encode to one id instead of being split into pieces.

use crate::AssistantError;
use crate::generate::metadata::Metadata;
use candle_core::quantized::gguf_file;
use std::collections::HashSet;
use std::path::Path;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Qwen2's split regex (from its `tokenizer.json`, as llama.cpp's `qwen2` pre-type).
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// How text is split into words before BPE, after llama.cpp's `tokenizer.ggml.pre`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizerKind {
    /// GPT-2's regex inside the byte-level pre-tokenizer (`gpt2`).
    Gpt2,
    /// Every digit on its own, then GPT-2's regex (`smollm`, `starcoder`, `refact`:
    /// SmolLM2's `tokenizer.json` is `Digits(individual) + ByteLevel`).
    Gpt2Digits,
    /// Qwen2's regex split, then a byte-level mapping without regex, NFC first
    /// (`qwen2`).
    Qwen2,
}

impl PreTokenizerKind {
    /// The kind for a `tokenizer.ggml.pre` value; `None` for one Hearth does not know.
    pub fn from_gguf_pre(pre: &str) -> Option<Self> {
        match pre {
            "gpt2" | "gpt-2" => Some(Self::Gpt2),
            "smollm" | "starcoder" | "refact" => Some(Self::Gpt2Digits),
            "qwen2" => Some(Self::Qwen2),
            _ => None,
        }
    }
}

/// A byte-level BPE tokenizer built from a GGUF file's metadata.
///
/// ```no_run
/// use hearth_assistant::GgufTokenizer;
/// let tok = GgufTokenizer::from_gguf_file("SmolLM2-135M-Instruct.Q4_1.gguf".as_ref())?;
/// let ids = tok.encode("<|im_start|>user\nhi<|im_end|>")?;
/// assert_eq!(ids[0], tok.token_id("<|im_start|>").unwrap());
/// assert_eq!(tok.decode(&ids, false)?, "<|im_start|>user\nhi<|im_end|>");
/// # Ok::<(), hearth_assistant::AssistantError>(())
/// ```
#[derive(Clone)]
pub struct GgufTokenizer {
    /// Recognises special tokens in the text.
    tokenizer: Tokenizer,
    /// Encodes special-token text as ordinary text (for message contents).
    plain: Tokenizer,
    kind: PreTokenizerKind,
    bos: Option<u32>,
    eos: Option<u32>,
    control: Vec<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("kind", &self.kind)
            .field("vocab_size", &self.vocab_size())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("control_tokens", &self.control.len())
            .finish()
    }
}

impl GgufTokenizer {
    /// Reads only the metadata of the GGUF file at `path` (not the weights).
    pub fn from_gguf_file(path: &Path) -> Result<Self, AssistantError> {
        let mut file = std::fs::File::open(path).map_err(|source| AssistantError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let content =
            gguf_file::Content::read(&mut file).map_err(|e| AssistantError::ModelFormat {
                path: path.to_path_buf(),
                reason: format!("not a readable GGUF file: {e}"),
            })?;
        Self::from_gguf(path, &content)
    }

    /// Builds the tokenizer from parsed GGUF content (`path` names the file in errors).
    pub fn from_gguf(path: &Path, content: &gguf_file::Content) -> Result<Self, AssistantError> {
        Self::from_metadata(&Metadata::new(path, &content.metadata))
    }

    pub(crate) fn from_metadata(md: &Metadata<'_>) -> Result<Self, AssistantError> {
        let model = md.str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(md.error(format!(
                "tokenizer model `{model}` is not supported (only byte-level BPE, `gpt2`)"
            )));
        }
        let kind = match md.opt_str("tokenizer.ggml.pre")? {
            None => {
                tracing::warn!("GGUF has no tokenizer.ggml.pre; assuming GPT-2 pre-tokenization");
                PreTokenizerKind::Gpt2
            }
            Some(pre) => PreTokenizerKind::from_gguf_pre(pre).ok_or_else(|| {
                md.error(format!(
                    "pre-tokenizer `{pre}` (tokenizer.ggml.pre) is not supported; known: gpt2, smollm, starcoder, refact, qwen2"
                ))
            })?,
        };
        let tokens = md.str_array("tokenizer.ggml.tokens")?;
        let n = tokens.len();
        let id = |i: usize| {
            u32::try_from(i).map_err(|_| md.error(format!("vocabulary of {n} tokens is too large")))
        };
        let types = md.opt_int_array("tokenizer.ggml.token_type")?;
        if let Some(types) = &types
            && types.len() != n
        {
            return Err(md.error(format!("{} token types for {n} tokens", types.len())));
        }

        let mut vocab = Vocab::default();
        for (i, token) in tokens.iter().enumerate() {
            // A duplicate would make id -> token ambiguous; the first one wins, as in llama.cpp's map.
            vocab.entry((*token).to_owned()).or_insert(id(i)?);
        }
        let merges = md
            .str_array("tokenizer.ggml.merges")?
            .into_iter()
            .map(|merge| {
                merge
                    .split_once(' ')
                    .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains(' '))
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| md.error(format!("malformed merge `{merge}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| md.error(format!("cannot build the BPE model: {e}")))?;

        let mut tokenizer = Tokenizer::new(bpe);
        match kind {
            PreTokenizerKind::Gpt2 => {
                tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
            }
            PreTokenizerKind::Gpt2Digits => {
                tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
                    PreTokenizerWrapper::from(Digits::new(true)),
                    PreTokenizerWrapper::from(ByteLevel::new(false, true, true)),
                ])));
            }
            PreTokenizerKind::Qwen2 => {
                let split = Split::new(
                    SplitPattern::Regex(QWEN2_PATTERN.to_owned()),
                    SplitDelimiterBehavior::Isolated,
                    false,
                )
                .map_err(|e| AssistantError::Tokenizer(format!("qwen2 split regex: {e}")))?;
                tokenizer
                    .with_normalizer(Some(NFC))
                    .map_err(|e| AssistantError::Tokenizer(e.to_string()))?;
                tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
                    PreTokenizerWrapper::from(split),
                    PreTokenizerWrapper::from(ByteLevel::new(false, false, false)),
                ])));
            }
        }
        tokenizer.with_decoder(Some(ByteLevel::default()));

        // Control tokens become special (split out before BPE, skippable on decode);
        // user-defined tokens are matched whole but decoded like text.
        let mut control = Vec::new();
        let mut special = Vec::new();
        let mut user_defined = Vec::new();
        if let Some(types) = &types {
            for (i, (token, ty)) in tokens.iter().zip(types).enumerate() {
                // An empty token cannot be matched in text; skip it rather than fail.
                if token.is_empty() {
                    continue;
                }
                if *ty == TOKEN_TYPE_CONTROL {
                    control.push(id(i)?);
                    special.push(AddedToken::from(*token, true).normalized(false));
                } else if *ty == TOKEN_TYPE_USER_DEFINED {
                    user_defined.push(AddedToken::from(*token, false).normalized(false));
                }
            }
        }
        tokenizer
            .add_special_tokens(special)
            .map_err(|e| AssistantError::Tokenizer(e.to_string()))?;
        tokenizer
            .add_tokens(user_defined)
            .map_err(|e| AssistantError::Tokenizer(e.to_string()))?;

        let special_id = |key: &str| -> Result<Option<u32>, AssistantError> {
            match md.opt_u64(key)? {
                None => Ok(None),
                Some(v) => usize::try_from(v)
                    .ok()
                    .filter(|&v| v < n)
                    .and_then(|v| u32::try_from(v).ok())
                    .map(Some)
                    .ok_or_else(|| md.error(format!("`{key}` = {v} is outside the vocabulary"))),
            }
        };
        let bos = special_id("tokenizer.ggml.bos_token_id")?;
        let eos = special_id("tokenizer.ggml.eos_token_id")?;

        let mut plain = tokenizer.clone();
        plain.set_encode_special_tokens(true);
        Ok(Self {
            tokenizer,
            plain,
            kind,
            bos,
            eos,
            control,
        })
    }

    /// The underlying `tokenizers` tokenizer (special tokens recognised in text).
    pub fn inner(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Which pre-tokenization the file asked for.
    pub fn pre_tokenizer(&self) -> PreTokenizerKind {
        self.kind
    }

    /// Number of token ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// `tokenizer.ggml.bos_token_id`.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    /// `tokenizer.ggml.eos_token_id`.
    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// Ids of the control tokens (token type 3).
    pub fn control_ids(&self) -> &[u32] {
        &self.control
    }

    /// The id of a token string (special tokens included).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// Encodes `text`, turning special-token text such as `<|im_end|>` into its id.
    /// No BOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, AssistantError> {
        encode_with(&self.tokenizer, text)
    }

    /// Encodes `text` as plain text: `<|im_end|>` inside it becomes ordinary
    /// pieces, never a control token (used for message contents, so a document
    /// cannot inject chat structure).
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>, AssistantError> {
        encode_with(&self.plain, text)
    }

    /// Decodes ids to text; `skip_special` drops control tokens.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, AssistantError> {
        self.tokenizer
            .decode(ids, skip_special)
            .map_err(|e| AssistantError::Tokenizer(e.to_string()))
    }

    /// Ids whose generation ends a reply: `<|im_end|>`, `<|endoftext|>` and the
    /// file's EOS, those that exist.
    pub fn stop_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = ["<|im_end|>", "<|endoftext|>"]
            .iter()
            .filter_map(|t| self.token_id(t))
            .chain(self.eos)
            .collect();
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(*id));
        ids
    }
}

fn encode_with(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, AssistantError> {
    tokenizer
        .encode(text, false)
        .map(|e| e.get_ids().to_vec())
        .map_err(|e| AssistantError::Tokenizer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file::Value;
    use std::collections::HashMap;

    /// A tiny byte-level vocabulary: all 256 byte symbols, a few merges, and ChatML tags.
    fn toy_metadata(pre: &str) -> HashMap<String, Value> {
        let mut tokens: Vec<String> = Vec::new();
        let mut types = Vec::new();
        for tag in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] {
            tokens.push(tag.to_owned());
            types.push(Value::I32(3));
        }
        let alphabet: Vec<char> = {
            let mut v: Vec<char> = ByteLevel::alphabet().into_iter().collect();
            v.sort_unstable();
            v
        };
        for c in alphabet {
            tokens.push(c.to_string());
            types.push(Value::I32(1));
        }
        for t in ["hi", "Ġhi"] {
            tokens.push(t.to_owned());
            types.push(Value::I32(1));
        }
        let merges = ["h i", "Ġ hi"];
        let mut md = HashMap::new();
        md.insert("tokenizer.ggml.model".into(), Value::String("gpt2".into()));
        md.insert("tokenizer.ggml.pre".into(), Value::String(pre.into()));
        md.insert(
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        );
        md.insert("tokenizer.ggml.token_type".into(), Value::Array(types));
        md.insert(
            "tokenizer.ggml.merges".into(),
            Value::Array(merges.iter().map(|m| Value::String((*m).into())).collect()),
        );
        md.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(2));
        md
    }

    #[test]
    fn toy_vocab_encodes_tags_whole_and_round_trips() {
        for pre in ["gpt2", "smollm", "qwen2"] {
            let map = toy_metadata(pre);
            let tok = GgufTokenizer::from_metadata(&Metadata::new(Path::new("toy"), &map)).unwrap();
            let text = "<|im_start|>user\nhi hi é 日本 🙂 42<|im_end|>";
            let ids = tok.encode(text).unwrap();
            assert_eq!(ids.first(), Some(&1), "{pre}");
            assert_eq!(ids.last(), Some(&2), "{pre}");
            assert_eq!(tok.decode(&ids, false).unwrap(), text, "{pre}");
            let plain = tok.encode_plain("<|im_end|>").unwrap();
            assert!(plain.len() > 1 && !plain.contains(&2), "{pre}");
            assert_eq!(tok.stop_ids(), vec![2, 0]);
        }
    }

    #[test]
    fn unknown_pre_tokenizer_and_bad_merges_are_errors() {
        let map = toy_metadata("llama-bpe-unknown");
        let err = GgufTokenizer::from_metadata(&Metadata::new(Path::new("toy"), &map))
            .unwrap_err()
            .to_string();
        assert!(err.contains("llama-bpe-unknown"), "{err}");

        let mut map = toy_metadata("gpt2");
        map.insert(
            "tokenizer.ggml.merges".into(),
            Value::Array(vec![Value::String("nospace".into())]),
        );
        assert!(GgufTokenizer::from_metadata(&Metadata::new(Path::new("toy"), &map)).is_err());

        let mut map = toy_metadata("gpt2");
        map.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(1_000_000));
        assert!(GgufTokenizer::from_metadata(&Metadata::new(Path::new("toy"), &map)).is_err());
    }
}
