//! The rows the store keeps: one [`DocumentRecord`] per document version and one
//! [`ChunkRecord`] per chunk, with the Arrow schemas they are written as.

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;
use std::sync::Arc;

/// Version of the segment schemas below; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A document as stored: its metadata, not its text (the text lives in chunks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentRecord {
    /// Stable document id, derived from the kind and the URI (or a mail's Message-ID).
    pub doc_id: String,
    /// Source kind: `mail`, `document`, `message`, `screenshot`.
    pub kind: String,
    /// `file:///abs/path`, with `#item` for an item inside a container file.
    pub uri: String,
    /// Display title: a mail's subject, a file's own title or name, ...
    pub title: String,
    /// `Name <address>` strings.
    pub participants: Vec<String>,
    /// Seconds since the Unix epoch.
    pub timestamp: Option<i64>,
    /// Hash of title, participants and text; changes with each new version.
    pub content_hash: String,
    /// Mail thread (root Message-ID) or conversation id, if any.
    pub thread: Option<String>,
    /// Id of the document this one is attached to, if any.
    pub parent: Option<String>,
    /// File the document was read from.
    pub origin_path: String,
    /// Item inside a container file, if any.
    pub origin_item: Option<String>,
    /// Number of chunks the document was split into.
    pub chunk_count: u32,
    /// Length of the document text in bytes.
    pub text_bytes: u64,
}

/// A chunk of a document's text with its embedding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkRecord {
    /// Content-addressed chunk id: a new document version gets new ones.
    pub chunk_id: String,
    /// Id of the document the chunk belongs to.
    pub doc_id: String,
    /// Position of the chunk in its document, from 0.
    pub ordinal: u32,
    /// The chunk's text.
    pub text: String,
    /// Byte range of the chunk in the document text.
    pub byte_start: u64,
    /// End of the chunk's byte range (exclusive).
    pub byte_end: u64,
    /// Where in the document: `page 3`, `Trip > Day 2`, ...
    pub locator: Option<String>,
    /// Unit-length embedding; empty when read back without vectors.
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

/// Root column positions in the chunks table.
pub(crate) mod chunk_col {
    /// Column of the document id.
    pub const DOC_ID: usize = 1;
    /// Column of the chunk text.
    pub const TEXT: usize = 3;
    /// Column of the embedding vector.
    pub const EMBEDDING: usize = 7;
}

/// Arrow schema of a segment's documents table.
pub fn documents_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("uri", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new(
            "participants",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
            false,
        ),
        Field::new("timestamp", DataType::Int64, true),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("thread", DataType::Utf8, true),
        Field::new("parent", DataType::Utf8, true),
        Field::new("origin_path", DataType::Utf8, false),
        Field::new("origin_item", DataType::Utf8, true),
        Field::new("chunk_count", DataType::UInt32, false),
        Field::new("text_bytes", DataType::UInt64, false),
        // The version (see `Version`): absent in segments written before
        // sync existed, which read as clock 0.
        Field::new("hlc", DataType::UInt64, false),
        Field::new("device", DataType::Utf8, false),
    ]))
}

/// Arrow schema of a segment's chunks table, with `dim`-wide f32 embeddings.
pub fn chunks_schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("ordinal", DataType::UInt32, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("byte_start", DataType::UInt64, false),
        Field::new("byte_end", DataType::UInt64, false),
        Field::new("locator", DataType::Utf8, true),
        Field::new(
            "embedding",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, false)),
                i32::try_from(dim).unwrap_or(i32::MAX),
            ),
            false,
        ),
    ]))
}
