//! Direct reads of single full-precision vectors from a chunks table.
//!
//! The exact rerank reads `r × k` scattered vectors per query. Through the
//! Arrow reader each one costs a page decode (repetition levels of a
//! `FixedSizeList` included) — tens of microseconds. The segment writer,
//! however, stores the embedding column as plain, uncompressed f32 pages with
//! no dictionary, no nulls and the offset index; in such a page the values are
//! the page's last `rows × dim × 4` bytes, after its header and repetition
//! levels. [`VectorPages`] maps a row to those bytes from the offset index and
//! reads exactly one vector with one positioned read.
//!
//! The layout is verified, not assumed: [`VectorPages::from_metadata`] accepts
//! only column chunks whose metadata says uncompressed, plain, no dictionary
//! page and no nulls, and the caller cross-checks sample rows against the
//! Arrow reader before trusting it (see `ChunkFile::open`). Files that do not
//! qualify — written by another tool or an older Hearth — use the Arrow path.

use std::fs::File;

use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::file::metadata::ParquetMetaData;

/// One data page of the embedding column.
#[derive(Debug, Clone, Copy)]
struct Page {
    /// Row of the file this page starts at.
    first_row: u64,
    /// Rows in the page.
    rows: u64,
    /// Byte offset just past the page's end.
    end: u64,
}

/// Where each row's vector lies in a chunks table file.
#[derive(Debug, Clone)]
pub(crate) struct VectorPages {
    pages: Vec<Page>,
    dim: usize,
}

impl VectorPages {
    /// The page map of the single leaf column under the top-level field
    /// `field` (`embedding` → `embedding.list.item`), or `None` when the
    /// file's layout does not allow direct reads.
    pub fn from_metadata(meta: &ParquetMetaData, field: &str, dim: usize) -> Option<Self> {
        let schema = meta.file_metadata().schema_descr();
        let mut leaves = (0..schema.num_columns()).filter(|&i| {
            schema.column(i).path().parts().first().map(String::as_str) == Some(field)
        });
        let column = leaves.next()?;
        if leaves.next().is_some() {
            return None;
        }
        let vector_bytes = u64::try_from(dim * 4).ok()?;
        let mut pages = Vec::new();
        let mut group_start = 0u64;
        for (g, group) in meta.row_groups().iter().enumerate() {
            let chunk = group.column(column);
            let plain = chunk
                .encodings()
                .all(|e| matches!(e, Encoding::PLAIN | Encoding::RLE));
            let no_nulls = chunk
                .statistics()
                .and_then(|s| s.null_count_opt())
                .is_some_and(|n| n == 0);
            if chunk.compression() != Compression::UNCOMPRESSED
                || chunk.column_type() != PhysicalType::FLOAT
                || chunk.dictionary_page_offset().is_some()
                || !plain
                || !no_nulls
            {
                return None;
            }
            let group_rows = u64::try_from(group.num_rows()).ok()?;
            let locations = meta
                .page_index_for_row_group(g)
                .page_locations(column)?
                .clone();
            for (i, loc) in locations.iter().enumerate() {
                let first = u64::try_from(loc.first_row_index).ok()?;
                let next = match locations.get(i + 1) {
                    Some(n) => u64::try_from(n.first_row_index).ok()?,
                    None => group_rows,
                };
                let rows = next.checked_sub(first)?;
                let start = u64::try_from(loc.offset).ok()?;
                let size = u64::try_from(loc.compressed_page_size).ok()?;
                if rows == 0 || size < rows * vector_bytes {
                    return None;
                }
                pages.push(Page {
                    first_row: group_start + first,
                    rows,
                    end: start + size,
                });
            }
            group_start += group_rows;
        }
        Some(Self { pages, dim })
    }

    /// Byte offset of `row`'s vector, or `None` past the last row.
    fn offset(&self, row: u64) -> Option<u64> {
        let at = self.pages.partition_point(|p| p.first_row <= row);
        let page = self.pages.get(at.checked_sub(1)?)?;
        let from_end = page.first_row + page.rows;
        if row >= from_end {
            return None;
        }
        let bytes = (self.dim * 4) as u64;
        Some(page.end - (from_end - row) * bytes)
    }

    /// Appends the vectors of `rows` (any order) to `out`, one positioned read
    /// each; `None` when a row is out of range.
    pub fn read(&self, file: &File, rows: &[usize], out: &mut Vec<f32>) -> Option<()> {
        let mut buf = vec![0u8; self.dim * 4];
        for &row in rows {
            let offset = self.offset(u64::try_from(row).ok()?)?;
            read_exact_at(file, &mut buf, offset).ok()?;
            out.extend(
                buf.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        Some(())
    }

    /// Rows covered by the map.
    pub fn rows(&self) -> u64 {
        self.pages.last().map_or(0, |p| p.first_row + p.rows)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::record::{ChunkRecord, chunks_schema};
    use crate::segment::{ChunkFile, SegmentWriter, file_names};
    use parquet::arrow::ArrowWriter;

    const DIM: usize = 24;

    fn chunk(i: usize) -> ChunkRecord {
        ChunkRecord {
            chunk_id: format!("c{i}"),
            doc_id: format!("d{}", i / 3),
            ordinal: (i % 3) as u32,
            text: "x".repeat(i % 50),
            byte_start: 0,
            byte_end: 1,
            locator: None,
            embedding: (0..DIM).map(|j| (i * DIM + j) as f32 * 0.5 - 7.0).collect(),
        }
    }

    fn expected(rows: &[usize]) -> Vec<f32> {
        rows.iter().flat_map(|&r| chunk(r).embedding).collect()
    }

    #[test]
    fn direct_reads_match_every_row_across_uneven_pages() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SegmentWriter::create(dir.path(), 1, DIM).unwrap();
        // Appends of odd sizes make pages of uneven row counts.
        let mut next = 0;
        for n in [37, 1, 500, 15, 463] {
            let chunks: Vec<_> = (next..next + n).map(chunk).collect();
            writer.append(&[], &[], &chunks).unwrap();
            next += n;
        }
        writer.finish().unwrap();
        let file = ChunkFile::open(&dir.path().join(file_names(1).1)).unwrap();
        assert!(file.direct_vector_reads());
        let all: Vec<usize> = (0..next).collect();
        assert_eq!(file.vectors_at(&all, DIM).unwrap(), expected(&all));
        let scattered = [0, 15, 16, 17, 36, 37, 38, 538, next - 1];
        assert_eq!(
            file.vectors_at(&scattered, DIM).unwrap(),
            expected(&scattered)
        );
    }

    #[test]
    fn compressed_embeddings_fall_back_to_the_arrow_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.chunks.parquet");
        let chunks: Vec<_> = (0..100).map(chunk).collect();
        let batch = crate::segment::chunks_batch(&chunks, DIM).unwrap();
        let out = std::fs::File::create(&path).unwrap();
        let mut writer = ArrowWriter::try_new(out, chunks_schema(DIM), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let file = ChunkFile::open(&path).unwrap();
        assert!(!file.direct_vector_reads());
        assert_eq!(
            file.vectors_at(&[3, 50, 99], DIM).unwrap(),
            expected(&[3, 50, 99])
        );
    }
}
