//! Reading and writing a segment's postings as one Parquet file.
//!
//! Layout: one row per term, sorted by term (byte order), columns
//! `term: Utf8`, `rows: List<UInt32>` (ascending row numbers) and
//! `tfs: List<UInt32>` (the term's frequency in each of those rows), ZSTD
//! compressed; the row-number leaf is delta-encoded. Key-value metadata:
//!
//! | key | value |
//! |---|---|
//! | `hearth.bm25.format` | [`FORMAT_VERSION`] |
//! | `hearth.bm25.rows` | number of rows in the segment, empty ones included |
//! | `hearth.bm25.tokenizer` | the [`TokenizerSpec`] as JSON |
//! | `hearth.bm25.tokenizer_version` | [`TOKENIZER_VERSION`] |
//!
//! Document lengths are not stored: every token counted in a row's length
//! appears in exactly one of its postings, so a row's length is the sum of its
//! term frequencies and is recomputed on read (exactly, hence the round trip is
//! lossless); rows with no terms are implied by `hearth.bm25.rows`. Files are
//! written under a temporary name, fsynced and renamed into place, like the
//! segment tables.

use super::postings::SegmentPostings;
use super::tokenizer::{TOKENIZER_VERSION, TokenizerSpec};
use crate::StoreError;
use crate::error::{io_err, pq_err};
use arrow_array::builder::{ListBuilder, UInt32Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, ArrayRef, GenericListArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// Version of the postings file layout described in this module.
pub const FORMAT_VERSION: u32 = 1;

const KEY_FORMAT: &str = "hearth.bm25.format";
const KEY_ROWS: &str = "hearth.bm25.rows";
const KEY_TOKENIZER: &str = "hearth.bm25.tokenizer";
const KEY_TOKENIZER_VERSION: &str = "hearth.bm25.tokenizer_version";

fn item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::UInt32, false))
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("term", DataType::Utf8, false),
        Field::new("rows", DataType::List(item()), false),
        Field::new("tfs", DataType::List(item()), false),
    ]))
}

fn keyword(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Keyword(format!("{}: {reason}", path.display()))
}

impl SegmentPostings {
    /// Writes these postings to `path` (see the module docs for the layout);
    /// returns once the file is durable.
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let (terms, offsets, rows, tfs) = self.parts();
        let mut row_lists =
            ListBuilder::new(UInt32Builder::with_capacity(rows.len())).with_field(item());
        let mut tf_lists =
            ListBuilder::new(UInt32Builder::with_capacity(tfs.len())).with_field(item());
        for w in offsets.windows(2) {
            let (Some(r), Some(f)) = (rows.get(w[0]..w[1]), tfs.get(w[0]..w[1])) else {
                return Err(keyword(path, "postings offsets out of bounds"));
            };
            row_lists.values().append_slice(r);
            row_lists.append(true);
            tf_lists.values().append_slice(f);
            tf_lists.append(true);
        }
        if rows.len() > i32::MAX as usize {
            return Err(keyword(path, "too many postings for one file"));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(terms)),
            Arc::new(row_lists.finish()),
            Arc::new(tf_lists.finish()),
        ];
        let batch = RecordBatch::try_new(schema(), columns)?;

        let spec = serde_json::to_string(self.spec())
            .map_err(|e| keyword(path, format!("tokenizer spec: {e}")))?;
        let metadata = vec![
            KeyValue::new(KEY_FORMAT.into(), FORMAT_VERSION.to_string()),
            KeyValue::new(KEY_ROWS.into(), self.rows().to_string()),
            KeyValue::new(KEY_TOKENIZER.into(), spec),
            KeyValue::new(KEY_TOKENIZER_VERSION.into(), TOKENIZER_VERSION.to_string()),
        ];
        let row_leaf = ColumnPath::from(vec!["rows".into(), "list".into(), "item".into()]);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_column_dictionary_enabled(row_leaf.clone(), false)
            .set_column_encoding(row_leaf, Encoding::DELTA_BINARY_PACKED)
            .set_key_value_metadata(Some(metadata))
            .build();

        let tmp = path.with_extension("parquet.tmp");
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut writer =
            ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(pq_err(&tmp))?;
        writer.write(&batch).map_err(pq_err(&tmp))?;
        let file = writer.into_inner().map_err(pq_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))
    }

    /// Reads postings written by [`SegmentPostings::write`], checking the
    /// layout version, the tokenizer version and every postings invariant.
    pub fn read(path: &Path) -> Result<Self, StoreError> {
        let file = File::open(path).map_err(io_err(path))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
        let meta = builder.metadata().file_metadata().key_value_metadata();
        let get = |key: &str| -> Result<&str, StoreError> {
            meta.and_then(|kv| kv.iter().find(|e| e.key == key))
                .and_then(|e| e.value.as_deref())
                .ok_or_else(|| keyword(path, format!("metadata `{key}` missing")))
        };
        let number = |key: &str| -> Result<usize, StoreError> {
            let value = get(key)?;
            value.parse().map_err(|_| {
                keyword(
                    path,
                    format!("metadata `{key}` = `{value}` is not a number"),
                )
            })
        };
        let format = number(KEY_FORMAT)?;
        if format != FORMAT_VERSION as usize {
            return Err(keyword(
                path,
                format!("postings format {format}, this build reads {FORMAT_VERSION}"),
            ));
        }
        let tokenizer_version = number(KEY_TOKENIZER_VERSION)?;
        if tokenizer_version != TOKENIZER_VERSION as usize {
            return Err(keyword(
                path,
                format!(
                    "postings made by tokenizer version {tokenizer_version}, this build \
                     tokenizes with version {TOKENIZER_VERSION}: rebuild them"
                ),
            ));
        }
        let num_rows = number(KEY_ROWS)?;
        let spec: TokenizerSpec = serde_json::from_str(get(KEY_TOKENIZER)?)
            .map_err(|e| keyword(path, format!("tokenizer spec: {e}")))?;

        let expected = builder.metadata().file_metadata().num_rows();
        // Only a hint: a corrupt footer must not trigger a huge allocation.
        let capacity = usize::try_from(expected).unwrap_or(0).min(1 << 20);
        let mut terms = Vec::with_capacity(capacity);
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        let (mut rows, mut tfs) = (Vec::new(), Vec::new());
        let reader = builder
            .with_batch_size(8192)
            .build()
            .map_err(pq_err(path))?;
        for batch in reader {
            let batch = batch?;
            let term = batch
                .column_by_name("term")
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| keyword(path, "column `term` missing or not a string"))?;
            let row_lists = list_column(&batch, "rows", path)?;
            let tf_lists = list_column(&batch, "tfs", path)?;
            if term.null_count() > 0 {
                return Err(keyword(path, "null term"));
            }
            for i in 0..batch.num_rows() {
                let r = list_values(row_lists, i, "rows", path)?;
                let f = list_values(tf_lists, i, "tfs", path)?;
                if r.len() != f.len() {
                    return Err(keyword(path, format!("rows and tfs differ in term {i}")));
                }
                terms.push(term.value(i).to_owned());
                rows.extend_from_slice(r);
                tfs.extend_from_slice(f);
                offsets.push(rows.len());
            }
        }
        SegmentPostings::from_parts(spec, num_rows, terms, offsets, rows, tfs)
            .map_err(|reason| keyword(path, reason))
    }
}

fn list_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a GenericListArray<i32>, StoreError> {
    let list = batch
        .column_by_name(name)
        .and_then(|c| c.as_list_opt::<i32>())
        .ok_or_else(|| keyword(path, format!("column `{name}` missing or not a list")))?;
    let values_ok = list
        .values()
        .as_primitive_opt::<UInt32Type>()
        .is_some_and(|v| v.null_count() == 0);
    if list.null_count() > 0 || !values_ok {
        return Err(keyword(
            path,
            format!("column `{name}` is not a list of u32"),
        ));
    }
    Ok(list)
}

/// List `i` of a (checked) `List<UInt32>` column as a slice, without copying.
fn list_values<'a>(
    list: &'a GenericListArray<i32>,
    i: usize,
    name: &str,
    path: &Path,
) -> Result<&'a [u32], StoreError> {
    let offsets = list.value_offsets();
    let range = offsets
        .get(i)
        .zip(offsets.get(i + 1))
        .and_then(|(&a, &b)| Some(usize::try_from(a).ok()?..usize::try_from(b).ok()?));
    list.values()
        .as_primitive_opt::<UInt32Type>()
        .and_then(|v| v.values().get(range?))
        .ok_or_else(|| keyword(path, format!("column `{name}`: bad list offsets")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bm25::Tokenizer;
    use proptest::prelude::*;

    fn round_trip(texts: &[&str], stem: bool) -> (SegmentPostings, SegmentPostings) {
        let tok = Tokenizer::new(&TokenizerSpec { stem });
        let built = SegmentPostings::build(texts, &tok);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000007.postings.parquet");
        built.write(&path).unwrap();
        assert!(!path.with_extension("parquet.tmp").exists());
        let read = SegmentPostings::read(&path).unwrap();
        (built, read)
    }

    #[test]
    fn round_trips_including_empty_rows_and_segments() {
        let (a, b) = round_trip(&["Zürich café", "", "café au lait, café!", ""], true);
        assert_eq!(a, b);
        assert_eq!(b.doc_lens(), &[2, 0, 4, 0]);
        let (a, b) = round_trip(&[], false);
        assert_eq!(a, b);
        assert_eq!(b.rows(), 0);
        let (a, b) = round_trip(&["", ""], false);
        assert_eq!((a.rows(), b.rows()), (2, 2));
        assert_eq!(a, b);
    }

    #[test]
    fn missing_and_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.bm25.parquet");
        assert!(matches!(
            SegmentPostings::read(&missing),
            Err(StoreError::Io { .. })
        ));
        let junk = dir.path().join("junk.bm25.parquet");
        std::fs::write(&junk, b"not parquet").unwrap();
        assert!(matches!(
            SegmentPostings::read(&junk),
            Err(StoreError::Parquet { .. })
        ));
        // A Parquet file without the postings metadata.
        let other = dir.path().join("other.bm25.parquet");
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("term", DataType::Utf8, false)])),
            vec![Arc::new(StringArray::from_iter_values(["a"]))],
        )
        .unwrap();
        let mut w =
            ArrowWriter::try_new(File::create(&other).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let err = SegmentPostings::read(&other).unwrap_err().to_string();
        assert!(err.contains("hearth.bm25.format"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn parquet_round_trip_is_exact(
            texts in prop::collection::vec(
                prop::collection::vec(
                    prop::sample::select(vec![
                        "alpha", "Beta", "running", "runs", "Zürich", "café", "INV-2026-0042",
                        "a@b.example", "42", "x", "", "  ", "\u{1F642}", "naïve", "ΣΟΦΙΑ", "日本語",
                    ]),
                    0..12,
                ).prop_map(|words| words.join(" ")),
                0..40,
            ),
            stem in any::<bool>(),
        ) {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let (built, read) = round_trip(&texts, stem);
            prop_assert_eq!(built, read);
        }
    }
}
