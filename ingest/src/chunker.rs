//! Token-aware chunking: documents are split with text-splitter, sized by the
//! embedder's own tokenizer, so no chunk is ever truncated by the model. Markdown
//! is split along its structure; each chunk keeps its byte range in the document.

use crate::error::IngestError;
use hearth_connectors::Document;
use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tokenizers::Tokenizer;

/// Largest chunk in tokens. With the (short) title prefix and `[CLS]`/`[SEP]` an
/// embedder input stays under all-MiniLM-L6-v2's 256-token limit.
pub const MAX_CHUNK_TOKENS: usize = 224;
/// Tokens shared by consecutive chunks, so a fact on a boundary is in one chunk whole.
pub const CHUNK_OVERLAP_TOKENS: usize = 24;

/// One piece of a document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// 0-based position of the chunk in its document.
    pub ordinal: u32,
    /// The chunk's text, a slice of the document's text.
    pub text: String,
    /// Byte range `[byte_start, byte_end)` in [`Document::text`].
    pub byte_start: usize,
    /// End of the chunk's byte range (exclusive).
    pub byte_end: usize,
    /// The label of the span the chunk starts in (page, heading path).
    pub locator: Option<String>,
}

/// Splits documents into chunks of at most `max_tokens` tokens.
pub struct Chunker {
    text: TextSplitter<Tokenizer>,
    markdown: MarkdownSplitter<Tokenizer>,
}

impl Chunker {
    /// A chunker measuring with `tokenizer` (which must not pad or truncate).
    pub fn new(
        tokenizer: Tokenizer,
        max_tokens: usize,
        overlap: usize,
    ) -> Result<Self, IngestError> {
        let config = |t: Tokenizer| {
            ChunkConfig::new(max_tokens)
                .with_overlap(overlap)
                .map(|c| c.with_sizer(t))
                .map_err(|e| IngestError::Chunker(e.to_string()))
        };
        Ok(Self {
            text: TextSplitter::new(config(tokenizer.clone())?),
            markdown: MarkdownSplitter::new(config(tokenizer)?),
        })
    }

    /// The chunks of `doc`, in order. Whitespace-only documents have none.
    pub fn chunk(&self, doc: &Document) -> Vec<Chunk> {
        let pieces: Vec<(usize, &str)> = if doc.media_type == "text/markdown" {
            self.markdown.chunk_indices(&doc.text).collect()
        } else {
            self.text.chunk_indices(&doc.text).collect()
        };
        pieces
            .into_iter()
            .filter(|(_, t)| !t.trim().is_empty())
            .enumerate()
            .map(|(i, (start, text))| Chunk {
                ordinal: u32::try_from(i).unwrap_or(u32::MAX),
                text: text.to_owned(),
                byte_start: start,
                byte_end: start + text.len(),
                locator: doc.label_at(start).map(ToString::to_string),
            })
            .collect()
    }
}
