//! Immutable segments: a documents table and a chunks table, each one Parquet
//! file, written under temporary names, fsynced and renamed into place. A segment
//! is only part of the index once a committed manifest names it.

use crate::clock::Version;
use crate::error::{StoreError, io_err, pq_err};
use crate::record::{ChunkRecord, DocumentRecord, chunk_col, chunks_schema, documents_schema};
use crate::vector_pages::VectorPages;
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File names of segment `seq`'s two tables, relative to the segments directory.
pub(crate) fn file_names(seq: u64) -> (String, String) {
    (
        format!("{seq:08}.documents.parquet"),
        format!("{seq:08}.chunks.parquet"),
    )
}

/// Writes segment `seq` into `dir`; returns once both files are durable.
pub(crate) fn write_segment(
    dir: &Path,
    seq: u64,
    docs: &[DocumentRecord],
    versions: &[Version],
    chunks: &[ChunkRecord],
    dim: usize,
) -> Result<(), StoreError> {
    let mut writer = SegmentWriter::create(dir, seq, dim)?;
    writer.append(docs, versions, chunks)?;
    writer.finish()
}

/// Writes one segment in pieces (compaction streams source segments through
/// it), under temporary names until [`SegmentWriter::finish`] makes it durable.
pub(crate) struct SegmentWriter {
    dim: usize,
    docs: (PathBuf, ArrowWriter<File>),
    chunks: (PathBuf, ArrowWriter<File>),
}

impl SegmentWriter {
    /// Opens temporary files for segment `seq` in `dir`, with `dim`-wide embeddings.
    pub fn create(dir: &Path, seq: u64, dim: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let (doc_file, chunk_file) = file_names(seq);
        let zstd = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        Ok(Self {
            dim,
            docs: open_writer(&dir.join(doc_file), documents_schema(), zstd)?,
            chunks: open_writer(&dir.join(chunk_file), chunks_schema(dim), chunk_props())?,
        })
    }

    /// Appends `docs`, each written at the matching entry of `versions`, and
    /// their `chunks`.
    pub fn append(
        &mut self,
        docs: &[DocumentRecord],
        versions: &[Version],
        chunks: &[ChunkRecord],
    ) -> Result<(), StoreError> {
        if !docs.is_empty() {
            let batch = documents_batch(docs, versions)?;
            self.docs.1.write(&batch).map_err(pq_err(&self.docs.0))?;
        }
        if !chunks.is_empty() {
            let batch = chunks_batch(chunks, self.dim)?;
            self.chunks
                .1
                .write(&batch)
                .map_err(pq_err(&self.chunks.0))?;
        }
        Ok(())
    }

    /// Closes, fsyncs and renames both files into place.
    pub fn finish(self) -> Result<(), StoreError> {
        for (tmp, writer) in [self.docs, self.chunks] {
            let file = writer.into_inner().map_err(pq_err(&tmp))?;
            file.sync_all().map_err(io_err(&tmp))?;
            let path = tmp.with_extension("");
            std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        }
        Ok(())
    }
}

/// An Arrow writer on `path` + `.tmp`, returned with the temporary path.
fn open_writer(
    path: &Path,
    schema: arrow_schema::SchemaRef,
    props: WriterProperties,
) -> Result<(PathBuf, ArrowWriter<File>), StoreError> {
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(pq_err(&tmp))?;
    Ok((tmp, writer))
}

/// Rows per data page of the embedding column. Search reranks a few hundred
/// candidates by reading their full-precision vectors back; with small,
/// uncompressed pages and the page index, each candidate costs one ~`VECTOR_PAGE_ROWS`
/// × dim × 4 byte read instead of decompressing a megabyte page.
const VECTOR_PAGE_ROWS: usize = 16;

/// Chunk table properties: small pages without dictionaries, text compressed
/// with zstd, the embedding column plain and uncompressed (f32 noise barely
/// compresses), and the page index written, so a single row is read without
/// decoding its neighbours.
fn chunk_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        // A dictionary page is decoded whole before any row of its column can
        // be read; chunk ids and texts are unique anyway, so point reads would
        // pay for nothing.
        .set_dictionary_enabled(false)
        .set_column_compression(embedding_leaf(), Compression::UNCOMPRESSED)
        .set_data_page_row_count_limit(VECTOR_PAGE_ROWS)
        .set_write_batch_size(VECTOR_PAGE_ROWS)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Page)
        .build()
}

/// The leaf column of the embedding: Arrow's `FixedSizeList` is written as a
/// Parquet LIST, whose values sit at `embedding.list.item`.
fn embedding_leaf() -> parquet::schema::types::ColumnPath {
    parquet::schema::types::ColumnPath::from(
        ["embedding", "list", "item"].map(str::to_owned).to_vec(),
    )
}

fn opt_str(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn documents_batch(
    docs: &[DocumentRecord],
    versions: &[Version],
) -> Result<RecordBatch, StoreError> {
    if versions.len() != docs.len() {
        return Err(StoreError::InvalidRecord(format!(
            "{} documents but {} versions",
            docs.len(),
            versions.len()
        )));
    }
    let mut participants = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        false,
    )));
    for d in docs {
        for p in &d.participants {
            participants.values().append_value(p);
        }
        participants.append(true);
    }
    let s = |f: fn(&DocumentRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(docs.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        s(|d| &d.doc_id),
        s(|d| &d.kind),
        s(|d| &d.uri),
        s(|d| &d.title),
        Arc::new(participants.finish()),
        Arc::new(docs.iter().map(|d| d.timestamp).collect::<Int64Array>()),
        s(|d| &d.content_hash),
        opt_str(docs.iter().map(|d| d.thread.clone())),
        opt_str(docs.iter().map(|d| d.parent.clone())),
        s(|d| &d.origin_path),
        opt_str(docs.iter().map(|d| d.origin_item.clone())),
        Arc::new(UInt32Array::from_iter_values(
            docs.iter().map(|d| d.chunk_count),
        )),
        Arc::new(UInt64Array::from_iter_values(
            docs.iter().map(|d| d.text_bytes),
        )),
        Arc::new(UInt64Array::from_iter_values(
            versions.iter().map(|v| v.hlc),
        )),
        Arc::new(StringArray::from_iter_values(
            versions.iter().map(|v| v.device.as_str()),
        )),
    ];
    Ok(RecordBatch::try_new(documents_schema(), columns)?)
}

pub(crate) fn chunks_batch(chunks: &[ChunkRecord], dim: usize) -> Result<RecordBatch, StoreError> {
    let mut values = Vec::with_capacity(chunks.len() * dim);
    for c in chunks {
        if c.embedding.len() != dim {
            return Err(StoreError::InvalidRecord(format!(
                "chunk {} has a {}-d embedding, the index is {dim}-d",
                c.chunk_id,
                c.embedding.len()
            )));
        }
        values.extend_from_slice(&c.embedding);
    }
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let width = i32::try_from(dim).map_err(|_| StoreError::InvalidRecord("dimension".into()))?;
    let embeddings =
        FixedSizeListArray::try_new(item, width, Arc::new(Float32Array::from(values)), None)?;
    let s = |f: fn(&ChunkRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(chunks.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        s(|c| &c.chunk_id),
        s(|c| &c.doc_id),
        Arc::new(UInt32Array::from_iter_values(
            chunks.iter().map(|c| c.ordinal),
        )),
        s(|c| &c.text),
        Arc::new(UInt64Array::from_iter_values(
            chunks.iter().map(|c| c.byte_start),
        )),
        Arc::new(UInt64Array::from_iter_values(
            chunks.iter().map(|c| c.byte_end),
        )),
        opt_str(chunks.iter().map(|c| c.locator.clone())),
        Arc::new(embeddings),
    ];
    Ok(RecordBatch::try_new(chunks_schema(dim), columns)?)
}

fn bad(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Segment {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A selection of the given rows (sorted, distinct).
fn select_rows(rows: &[usize]) -> RowSelection {
    let mut selectors = Vec::new();
    let mut next = 0;
    for &row in rows {
        if row > next {
            selectors.push(RowSelector::skip(row - next));
        }
        selectors.push(RowSelector::select(1));
        next = row + 1;
    }
    RowSelection::from(selectors)
}

/// Reads every batch of `path`, optionally projected to root columns.
fn read_batches(path: &Path, columns: Option<&[usize]>) -> Result<Vec<RecordBatch>, StoreError> {
    let file = File::open(path).map_err(io_err(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    collect(builder, path, columns, None)
}

fn collect(
    mut builder: ParquetRecordBatchReaderBuilder<File>,
    path: &Path,
    columns: Option<&[usize]>,
    rows: Option<RowSelection>,
) -> Result<Vec<RecordBatch>, StoreError> {
    if let Some(columns) = columns {
        let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
        builder = builder.with_projection(mask);
    }
    if let Some(rows) = rows {
        builder = builder.with_row_selection(rows);
    }
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(pq_err(path))?;
    reader.map(|b| b.map_err(StoreError::Arrow)).collect()
}

/// A chunks table opened for point reads: its footer and page index are parsed
/// once and kept, so reading a few rows costs only their pages.
pub(crate) struct ChunkFile {
    path: PathBuf,
    meta: ArrowReaderMetadata,
    /// Kept open for positioned vector reads.
    file: File,
    /// Direct vector reads, when the file's layout allows them.
    pages: Option<VectorPages>,
}

impl ChunkFile {
    /// Opens the chunks table at `path`, reading its footer and page index once.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let file = File::open(path).map_err(io_err(path))?;
        // The offset index (page locations) lets a row selection skip pages.
        let options = ArrowReaderOptions::new()
            .with_offset_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
        let meta = ArrowReaderMetadata::load(&file, options).map_err(pq_err(path))?;
        let dim = match meta
            .schema()
            .field_with_name("embedding")
            .map(|f| f.data_type())
        {
            Ok(DataType::FixedSizeList(_, n)) => usize::try_from(*n).ok(),
            _ => None,
        };
        let pages = dim.and_then(|d| VectorPages::from_metadata(meta.metadata(), "embedding", d));
        let mut this = Self {
            path: path.to_path_buf(),
            meta,
            file,
            pages,
        };
        if let (Some(pages), Some(dim)) = (this.pages.take(), dim) {
            this.pages = this.verified(pages, dim)?;
        }
        Ok(this)
    }

    /// `pages` if its reads of the first and last rows match the Arrow
    /// reader's bit for bit; a file laid out otherwise falls back to Arrow.
    fn verified(&self, pages: VectorPages, dim: usize) -> Result<Option<VectorPages>, StoreError> {
        let total = pages.rows();
        if total != self.meta.metadata().file_metadata().num_rows() as u64 {
            return Ok(None);
        }
        let Some(last) = usize::try_from(total).ok().and_then(|n| n.checked_sub(1)) else {
            return Ok(Some(pages));
        };
        let sample = if last == 0 { vec![0] } else { vec![0, last] };
        let expected = self.vectors_via_arrow(&sample, dim)?;
        let mut direct = Vec::with_capacity(expected.len());
        let same = pages.read(&self.file, &sample, &mut direct).is_some()
            && direct
                .iter()
                .map(|v| v.to_bits())
                .eq(expected.iter().map(|v| v.to_bits()));
        if !same {
            tracing::debug!(path = %self.path.display(), "vector pages do not match; using the Arrow reader");
        }
        Ok(same.then_some(pages))
    }

    /// The given rows (sorted, distinct), projected to `columns`.
    fn rows(&self, columns: &[usize], rows: &[usize]) -> Result<Vec<RecordBatch>, StoreError> {
        // A fresh handle, not `self.file.try_clone()`: the Parquet reader
        // seeks, and cloned handles share one offset across threads.
        let file = File::open(&self.path).map_err(io_err(&self.path))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone());
        collect(builder, &self.path, Some(columns), Some(select_rows(rows)))
    }

    /// Whether vectors are read directly from their pages (see [`VectorPages`]).
    #[cfg(test)]
    pub fn direct_vector_reads(&self) -> bool {
        self.pages.is_some()
    }

    /// The full-precision vectors of the given rows (sorted, distinct),
    /// row-major in the order of `rows`.
    pub fn vectors_at(&self, rows: &[usize], dim: usize) -> Result<Vec<f32>, StoreError> {
        if let Some(pages) = &self.pages {
            let mut out = Vec::with_capacity(rows.len() * dim);
            if pages.read(&self.file, rows, &mut out).is_some() && out.len() == rows.len() * dim {
                return Ok(out);
            }
        }
        self.vectors_via_arrow(rows, dim)
    }

    /// [`Self::vectors_at`] through the Arrow reader: decodes each row's page.
    fn vectors_via_arrow(&self, rows: &[usize], dim: usize) -> Result<Vec<f32>, StoreError> {
        let mut out = Vec::with_capacity(rows.len() * dim);
        for batch in self.rows(&[chunk_col::EMBEDDING], rows)? {
            out.extend_from_slice(embedding_values(&batch, &self.path, dim)?);
        }
        if out.len() != rows.len() * dim {
            return Err(bad(
                &self.path,
                format!(
                    "asked for {} vectors, read {}",
                    rows.len(),
                    out.len() / dim.max(1)
                ),
            ));
        }
        Ok(out)
    }

    /// The given rows (sorted, distinct), without vectors.
    pub fn chunks_at(&self, rows: &[usize]) -> Result<Vec<ChunkRecord>, StoreError> {
        let columns: Vec<usize> = (0..chunk_col::EMBEDDING).collect();
        let mut out = Vec::with_capacity(rows.len());
        for batch in self.rows(&columns, rows)? {
            out.extend(chunk_rows(&batch, &self.path, 0, &|_| true)?);
        }
        if out.len() != rows.len() {
            return Err(bad(
                &self.path,
                format!("asked for {} rows, read {}", rows.len(), out.len()),
            ));
        }
        Ok(out)
    }
}

fn strings<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a StringArray, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| bad(path, format!("column `{name}` missing or not a string")))
}

fn opt(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_owned())
}

/// Reads a segment's documents table: each document with its version.
pub(crate) fn read_documents(path: &Path) -> Result<Vec<(DocumentRecord, Version)>, StoreError> {
    let mut out = Vec::new();
    for batch in read_batches(path, None)? {
        let doc_id = strings(&batch, "doc_id", path)?;
        let kind = strings(&batch, "kind", path)?;
        let uri = strings(&batch, "uri", path)?;
        let title = strings(&batch, "title", path)?;
        let hash = strings(&batch, "content_hash", path)?;
        let thread = strings(&batch, "thread", path)?;
        let parent = strings(&batch, "parent", path)?;
        let origin_path = strings(&batch, "origin_path", path)?;
        let origin_item = strings(&batch, "origin_item", path)?;
        let participants = batch
            .column_by_name("participants")
            .and_then(|c| c.as_list_opt::<i32>())
            .ok_or_else(|| bad(path, "column `participants`"))?;
        let timestamp = batch
            .column_by_name("timestamp")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| bad(path, "column `timestamp`"))?;
        let chunk_count = batch
            .column_by_name("chunk_count")
            .and_then(|c| c.as_primitive_opt::<UInt32Type>())
            .ok_or_else(|| bad(path, "column `chunk_count`"))?;
        let text_bytes = batch
            .column_by_name("text_bytes")
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| bad(path, "column `text_bytes`"))?;
        // Segments from before versions existed have neither column.
        let hlc = batch
            .column_by_name("hlc")
            .and_then(|c| c.as_primitive_opt::<UInt64Type>());
        let device = batch
            .column_by_name("device")
            .and_then(|c| c.as_string_opt::<i32>());
        for i in 0..batch.num_rows() {
            let people = participants.value(i);
            let people = people
                .as_string_opt::<i32>()
                .ok_or_else(|| bad(path, "participants items"))?;
            out.push((
                DocumentRecord {
                    doc_id: doc_id.value(i).to_owned(),
                    kind: kind.value(i).to_owned(),
                    uri: uri.value(i).to_owned(),
                    title: title.value(i).to_owned(),
                    participants: people.iter().flatten().map(str::to_owned).collect(),
                    timestamp: timestamp.is_valid(i).then(|| timestamp.value(i)),
                    content_hash: hash.value(i).to_owned(),
                    thread: opt(thread, i),
                    parent: opt(parent, i),
                    origin_path: origin_path.value(i).to_owned(),
                    origin_item: opt(origin_item, i),
                    chunk_count: chunk_count.value(i),
                    text_bytes: text_bytes.value(i),
                },
                Version {
                    hlc: hlc.map_or(0, |h| h.value(i)),
                    device: device.map(|d| d.value(i).to_owned()).unwrap_or_default(),
                },
            ));
        }
    }
    Ok(out)
}

/// The embedding column of a chunks batch as one row-major slice.
fn embedding_values<'a>(
    batch: &'a RecordBatch,
    path: &Path,
    dim: usize,
) -> Result<&'a [f32], StoreError> {
    let emb = batch
        .column_by_name("embedding")
        .and_then(|c| c.as_fixed_size_list_opt())
        .ok_or_else(|| bad(path, "column `embedding`"))?;
    if usize::try_from(emb.value_length()).ok() != Some(dim) {
        return Err(bad(
            path,
            format!("embedding width {} != {dim}", emb.value_length()),
        ));
    }
    let values = emb
        .values()
        .as_primitive_opt::<Float32Type>()
        .ok_or_else(|| bad(path, "embedding values are not f32"))?;
    let start = emb.offset() * dim;
    values
        .values()
        .get(start..start + emb.len() * dim)
        .ok_or_else(|| bad(path, "embedding column is shorter than its rows"))
}

/// Streams a chunks table's `(doc_id, text, vectors)` batch by batch, in row
/// order, so a large segment never has to be held whole in memory.
pub(crate) fn scan_chunks(
    path: &Path,
    dim: usize,
    mut visit: impl FnMut(&StringArray, &StringArray, &[f32]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let file = File::open(path).map_err(io_err(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    let mask = ProjectionMask::roots(
        builder.parquet_schema(),
        [chunk_col::DOC_ID, chunk_col::TEXT, chunk_col::EMBEDDING],
    );
    let reader = builder
        .with_projection(mask)
        .with_batch_size(4096)
        .build()
        .map_err(pq_err(path))?;
    for batch in reader {
        let batch = batch?;
        visit(
            strings(&batch, "doc_id", path)?,
            strings(&batch, "text", path)?,
            embedding_values(&batch, path, dim)?,
        )?;
    }
    Ok(())
}

/// The rows of a chunks batch accepted by `keep(doc_id)`, with their vectors when
/// the batch has the embedding column (`dim` wide).
fn chunk_rows(
    batch: &RecordBatch,
    path: &Path,
    dim: usize,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<ChunkRecord>, StoreError> {
    let chunk_id = strings(batch, "chunk_id", path)?;
    let doc_id = strings(batch, "doc_id", path)?;
    let text = strings(batch, "text", path)?;
    let locator = strings(batch, "locator", path)?;
    let u64col = |name: &str| -> Result<&UInt64Array, StoreError> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| bad(path, format!("column `{name}`")))
    };
    let (start, end) = (u64col("byte_start")?, u64col("byte_end")?);
    let ordinal = batch
        .column_by_name("ordinal")
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| bad(path, "column `ordinal`"))?;
    let vectors = match batch.column_by_name("embedding") {
        Some(_) => Some(embedding_values(batch, path, dim)?),
        None => None,
    };
    let mut out = Vec::new();
    for i in (0..batch.num_rows()).filter(|&i| keep(doc_id.value(i))) {
        out.push(ChunkRecord {
            chunk_id: chunk_id.value(i).to_owned(),
            doc_id: doc_id.value(i).to_owned(),
            ordinal: ordinal.value(i),
            text: text.value(i).to_owned(),
            byte_start: start.value(i),
            byte_end: end.value(i),
            locator: opt(locator, i),
            embedding: vectors
                .map(|v| v[i * dim..(i + 1) * dim].to_vec())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Every chunk of the given documents in a chunks table, with its vector.
pub(crate) fn read_doc_chunks(
    path: &Path,
    doc_ids: &HashSet<&str>,
    dim: usize,
) -> Result<Vec<ChunkRecord>, StoreError> {
    let mut out = Vec::new();
    for batch in read_batches(path, None)? {
        out.extend(chunk_rows(&batch, path, dim, &|id| doc_ids.contains(id))?);
    }
    Ok(out)
}

/// Path of segment `seq`'s BM25 postings under `dir`.
pub(crate) fn postings_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:08}.postings.parquet"))
}

/// Paths of segment `seq`'s tables under `dir`.
pub(crate) fn paths(dir: &Path, seq: u64) -> (PathBuf, PathBuf) {
    let (d, c) = file_names(seq);
    (dir.join(d), dir.join(c))
}
