//! Immutable segments: a documents table and a chunks table, each one Parquet
//! file, written under temporary names, fsynced and renamed into place. A segment
//! is only part of the index once a committed manifest names it.

use crate::error::{StoreError, io_err, pq_err};
use crate::record::{ChunkRecord, DocumentRecord, chunk_col, chunks_schema, documents_schema};
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
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
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
    chunks: &[ChunkRecord],
    dim: usize,
) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let (doc_file, chunk_file) = file_names(seq);
    write_parquet(&dir.join(doc_file), documents_batch(docs)?)?;
    write_parquet(&dir.join(chunk_file), chunks_batch(chunks, dim)?)?;
    Ok(())
}

fn write_parquet(path: &Path, batch: RecordBatch) -> Result<(), StoreError> {
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(pq_err(&tmp))?;
    writer.write(&batch).map_err(pq_err(&tmp))?;
    let file = writer.into_inner().map_err(pq_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn opt_str(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn documents_batch(docs: &[DocumentRecord]) -> Result<RecordBatch, StoreError> {
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
    ];
    Ok(RecordBatch::try_new(documents_schema(), columns)?)
}

fn chunks_batch(chunks: &[ChunkRecord], dim: usize) -> Result<RecordBatch, StoreError> {
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

/// Reads every batch of `path`, optionally projected to root columns and rows.
fn read_batches(
    path: &Path,
    columns: Option<&[usize]>,
    rows: Option<RowSelection>,
) -> Result<Vec<RecordBatch>, StoreError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
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

/// Reads a segment's documents table.
pub(crate) fn read_documents(path: &Path) -> Result<Vec<DocumentRecord>, StoreError> {
    let mut out = Vec::new();
    for batch in read_batches(path, None, None)? {
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
        for i in 0..batch.num_rows() {
            let people = participants.value(i);
            let people = people
                .as_string_opt::<i32>()
                .ok_or_else(|| bad(path, "participants items"))?;
            out.push(DocumentRecord {
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
            });
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

/// The vectors of a chunks table: `(doc_id per row, row-major f32 data)`.
pub(crate) fn read_vectors(path: &Path, dim: usize) -> Result<(Vec<String>, Vec<f32>), StoreError> {
    let mut ids = Vec::new();
    let mut data = Vec::new();
    for batch in read_batches(path, Some(&[chunk_col::DOC_ID, chunk_col::EMBEDDING]), None)? {
        let doc_id = strings(&batch, "doc_id", path)?;
        data.extend_from_slice(embedding_values(&batch, path, dim)?);
        ids.extend(doc_id.iter().map(|s| s.unwrap_or_default().to_owned()));
    }
    Ok((ids, data))
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

/// Reads the given rows (sorted, distinct) of a chunks table, without vectors.
pub(crate) fn read_chunks(path: &Path, rows: &[usize]) -> Result<Vec<ChunkRecord>, StoreError> {
    let mut selectors = Vec::new();
    let mut next = 0;
    for &row in rows {
        if row > next {
            selectors.push(RowSelector::skip(row - next));
        }
        selectors.push(RowSelector::select(1));
        next = row + 1;
    }
    let columns: Vec<usize> = (0..chunk_col::EMBEDDING).collect();
    let mut out = Vec::with_capacity(rows.len());
    for batch in read_batches(path, Some(&columns), Some(RowSelection::from(selectors)))? {
        out.extend(chunk_rows(&batch, path, 0, &|_| true)?);
    }
    if out.len() != rows.len() {
        return Err(bad(
            path,
            format!("asked for {} rows, read {}", rows.len(), out.len()),
        ));
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
    for batch in read_batches(path, None, None)? {
        out.extend(chunk_rows(&batch, path, dim, &|id| doc_ids.contains(id))?);
    }
    Ok(out)
}

/// Paths of segment `seq`'s tables under `dir`.
pub(crate) fn paths(dir: &Path, seq: u64) -> (PathBuf, PathBuf) {
    let (d, c) = file_names(seq);
    (dir.join(d), dir.join(c))
}
