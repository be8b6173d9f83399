//! `SegmentPostings`: one segment's inverted index in memory (term dictionary,
//! postings lists and per-row document lengths), built from its chunk texts.
//! Reading and writing the Parquet file lives in `io.rs`.

use super::tokenizer::{Tokenizer, TokenizerSpec};
use rayon::prelude::*;
use std::collections::HashMap;

/// Rows tokenized together by one parallel task of [`SegmentPostings::build`].
const BLOCK_ROWS: usize = 1024;

/// One block of rows, tokenized against a block-local term dictionary.
struct Block {
    /// Local term id → term.
    terms: Vec<String>,
    /// (local term id, frequency) of each row's distinct terms, row after row.
    pairs: Vec<(u32, u32)>,
    /// End of each row's pairs in `pairs`.
    doc_ends: Vec<usize>,
    doc_lens: Vec<u32>,
}

impl Block {
    fn tokenize(texts: &[&str], tok: &Tokenizer) -> Self {
        let mut dict: HashMap<String, u32> = HashMap::new();
        let mut block = Block {
            terms: Vec::new(),
            pairs: Vec::new(),
            doc_ends: Vec::with_capacity(texts.len()),
            doc_lens: Vec::with_capacity(texts.len()),
        };
        let mut ids: Vec<u32> = Vec::new();
        for text in texts {
            ids.clear();
            tok.for_each_token(text, |t| {
                let id = match dict.get(t) {
                    Some(&id) => id,
                    None => {
                        // A block holds fewer than 2^32 distinct terms.
                        let id = u32::try_from(block.terms.len()).unwrap_or(u32::MAX);
                        block.terms.push(t.to_owned());
                        dict.insert(t.to_owned(), id);
                        id
                    }
                };
                ids.push(id);
            });
            block
                .doc_lens
                .push(u32::try_from(ids.len()).unwrap_or(u32::MAX));
            ids.sort_unstable();
            for run in ids.chunk_by(|a, b| a == b) {
                let tf = u32::try_from(run.len()).unwrap_or(u32::MAX);
                block.pairs.push((run[0], tf));
            }
            block.doc_ends.push(block.pairs.len());
        }
        block
    }
}

/// The inverted index of one segment's chunks, held in memory.
///
/// Rows are the chunks' row numbers within the segment's chunks table. For
/// every term it keeps the rows that contain it (ascending) and the term's
/// frequency in each; for every row its length in terms. Postings are laid out
/// as one sorted term dictionary over flat `rows`/`tfs` arrays, so a lookup is a
/// binary search and a postings list is two slices.
///
/// ```
/// use hearth_store::bm25::{SegmentPostings, Tokenizer, TokenizerSpec};
/// let tok = Tokenizer::new(&TokenizerSpec { stem: false });
/// let p = SegmentPostings::build(&["red fox", "red red hen", ""], &tok);
/// assert_eq!(p.rows(), 3);
/// assert_eq!(p.postings("red"), Some((&[0, 1][..], &[1, 2][..])));
/// assert_eq!(p.doc_lens(), &[2, 3, 0]);
/// assert_eq!(p.postings("wolf"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPostings {
    spec: TokenizerSpec,
    /// Sorted (byte order), unique.
    terms: Vec<String>,
    /// Term `i`'s postings are `rows[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    rows: Vec<u32>,
    tfs: Vec<u32>,
    doc_lens: Vec<u32>,
}

impl SegmentPostings {
    /// Indexes `texts`, the segment's chunk texts in row order. Rows are
    /// `u32`: texts past the first `u32::MAX` are ignored (with a warning).
    ///
    /// Blocks of rows are tokenized in parallel, each into a local term
    /// dictionary and per-row (term, frequency) pairs; the local dictionaries
    /// are then merged, the terms sorted, and the pairs counting-sorted into
    /// the flat postings arrays.
    pub fn build(texts: &[&str], tok: &Tokenizer) -> Self {
        let max = u32::MAX as usize;
        if texts.len() > max {
            tracing::warn!(
                "{} chunks in one segment; indexing the first {max}",
                texts.len()
            );
        }
        let texts = texts.get(..max).unwrap_or(texts);
        let blocks: Vec<Block> = texts
            .par_chunks(BLOCK_ROWS)
            .map(|block| Block::tokenize(block, tok))
            .collect();

        // Merge the local dictionaries: global id of every local term.
        let mut global: HashMap<String, u32> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut local_to_global: Vec<Vec<u32>> = Vec::with_capacity(blocks.len());
        let mut blocks_pairs = Vec::with_capacity(blocks.len());
        let mut doc_lens = Vec::with_capacity(texts.len());
        for block in blocks {
            let ids = block
                .terms
                .into_iter()
                .map(|term| match global.get(&term) {
                    Some(&id) => id,
                    None => {
                        // Fewer distinct terms than tokens, and tokens < 2^32 · 2^32.
                        let id = u32::try_from(terms.len()).unwrap_or(u32::MAX);
                        terms.push(term.clone());
                        global.insert(term, id);
                        id
                    }
                })
                .collect();
            local_to_global.push(ids);
            doc_lens.extend_from_slice(&block.doc_lens);
            blocks_pairs.push((block.pairs, block.doc_ends));
        }
        drop(global);

        // Sort the terms; rank[global id] = position in the sorted dictionary.
        let mut order: Vec<u32> = (0u32..).take(terms.len()).collect();
        order.par_sort_unstable_by(|&a, &b| terms[a as usize].cmp(&terms[b as usize]));
        let mut rank = vec![0u32; terms.len()];
        for (pos, &id) in (0u32..).zip(&order) {
            rank[id as usize] = pos;
        }
        let mut sorted: Vec<String> = Vec::with_capacity(terms.len());
        let mut terms: Vec<Option<String>> = terms.into_iter().map(Some).collect();
        for &id in &order {
            sorted.push(terms[id as usize].take().unwrap_or_default());
        }

        // Counting sort of the (row, tf) pairs by term rank.
        let mut offsets = vec![0usize; sorted.len() + 1];
        for ((pairs, _), ids) in blocks_pairs.iter().zip(&local_to_global) {
            for &(local, _) in pairs {
                offsets[rank[ids[local as usize] as usize] as usize + 1] += 1;
            }
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let total = offsets.last().copied().unwrap_or(0);
        let mut cursor = offsets.clone();
        let (mut rows, mut tfs) = (vec![0u32; total], vec![0u32; total]);
        let mut row = 0u32;
        for ((pairs, doc_ends), ids) in blocks_pairs.iter().zip(&local_to_global) {
            let mut start = 0;
            for &end in doc_ends {
                for &(local, tf) in &pairs[start..end] {
                    let slot = &mut cursor[rank[ids[local as usize] as usize] as usize];
                    rows[*slot] = row;
                    tfs[*slot] = tf;
                    *slot += 1;
                }
                start = end;
                row = row.wrapping_add(1);
            }
        }
        Self {
            spec: *tok.spec(),
            terms: sorted,
            offsets,
            rows,
            tfs,
            doc_lens,
        }
    }

    /// Reassembles postings from their stored parts (see `io.rs`), checking
    /// every invariant the scorer relies on; document lengths are recomputed as
    /// each row's sum of term frequencies. Returns a reason on failure.
    pub(crate) fn from_parts(
        spec: TokenizerSpec,
        num_rows: usize,
        terms: Vec<String>,
        offsets: Vec<usize>,
        rows: Vec<u32>,
        tfs: Vec<u32>,
    ) -> Result<Self, String> {
        if u32::try_from(num_rows).is_err() {
            return Err(format!("{num_rows} rows do not fit a u32"));
        }
        if offsets.len() != terms.len() + 1
            || offsets.first() != Some(&0)
            || offsets.last() != Some(&rows.len())
            || rows.len() != tfs.len()
        {
            return Err("postings offsets do not match the postings".into());
        }
        if let Some(pair) = terms.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!("terms not strictly sorted at `{}`", pair[1]));
        }
        let mut doc_lens = vec![0u32; num_rows];
        for (i, term) in terms.iter().enumerate() {
            let (start, end) = (offsets[i], offsets[i + 1]);
            let (Some(rs), Some(fs)) = (rows.get(start..end), tfs.get(start..end)) else {
                return Err(format!("postings of `{term}` out of bounds"));
            };
            if rs.is_empty() {
                return Err(format!("term `{term}` has no postings"));
            }
            if rs.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("rows of `{term}` not strictly ascending"));
            }
            for (&row, &tf) in rs.iter().zip(fs) {
                let Some(len) = doc_lens.get_mut(row as usize) else {
                    return Err(format!("row {row} of `{term}` past the {num_rows} rows"));
                };
                if tf == 0 {
                    return Err(format!("zero term frequency for `{term}` in row {row}"));
                }
                *len = len.saturating_add(tf);
            }
        }
        Ok(Self {
            spec,
            terms,
            offsets,
            rows,
            tfs,
            doc_lens,
        })
    }

    /// The tokenizer spec these postings were built with; queries must use it.
    pub fn spec(&self) -> &TokenizerSpec {
        &self.spec
    }

    /// Number of rows (chunks) in the segment, including empty ones.
    pub fn rows(&self) -> usize {
        self.doc_lens.len()
    }

    /// Number of distinct terms.
    pub fn terms(&self) -> usize {
        self.terms.len()
    }

    /// Number of (term, row) postings.
    pub fn postings_count(&self) -> usize {
        self.rows.len()
    }

    /// The rows containing `term` (ascending) and its frequency in each, or
    /// `None` if no row does. `term` must already be a tokenizer term.
    pub fn postings(&self, term: &str) -> Option<(&[u32], &[u32])> {
        let i = self.terms.binary_search_by(|t| t.as_str().cmp(term)).ok()?;
        let (start, end) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        Some((self.rows.get(start..end)?, self.tfs.get(start..end)?))
    }

    /// Every row's length in terms, in row order.
    pub fn doc_lens(&self) -> &[u32] {
        &self.doc_lens
    }

    /// Approximate heap plus inline size, in bytes.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        size_of::<Self>()
            + self.terms.capacity() * size_of::<String>()
            + self.terms.iter().map(String::capacity).sum::<usize>()
            + self.offsets.capacity() * size_of::<usize>()
            + (self.rows.capacity() + self.tfs.capacity() + self.doc_lens.capacity())
                * size_of::<u32>()
    }

    /// Term dictionary and flat postings, for writing (see `io.rs`).
    pub(crate) fn parts(&self) -> (&[String], &[usize], &[u32], &[u32]) {
        (&self.terms, &self.offsets, &self.rows, &self.tfs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok() -> Tokenizer {
        Tokenizer::new(&TokenizerSpec { stem: true })
    }

    #[test]
    fn builds_sorted_postings_with_frequencies() {
        let texts = ["The cats sat.", "", "A cat, cats and CATS!", "dogs"];
        let p = SegmentPostings::build(&texts, &tok());
        assert_eq!(p.rows(), 4);
        assert_eq!(p.doc_lens(), &[3, 0, 5, 1]);
        assert_eq!(p.postings("cat"), Some((&[0, 2][..], &[1, 3][..])));
        assert_eq!(p.postings("dog"), Some((&[3][..], &[1][..])));
        assert_eq!(p.postings("cats"), None);
        assert_eq!(p.spec(), &TokenizerSpec { stem: true });
        let (terms, ..) = p.parts();
        assert!(terms.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(p.postings_count(), 7);
        assert!(p.memory_bytes() > 0);
    }

    #[test]
    fn matches_a_naive_build_across_blocks() {
        let words = [
            "ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis", "jay",
        ];
        let texts: Vec<String> = (0..3 * BLOCK_ROWS + 17)
            .map(|i| {
                let n = i % 7;
                (0..n)
                    .map(|j| words[(i * 31 + j * j * 7) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tok = Tokenizer::new(&TokenizerSpec { stem: false });
        let p = SegmentPostings::build(&refs, &tok);
        let mut naive: HashMap<String, (Vec<u32>, Vec<u32>)> = HashMap::new();
        for (row, text) in (0u32..).zip(&refs) {
            let mut counts: Vec<(String, u32)> = Vec::new();
            for t in tok.tokens(text) {
                match counts.iter_mut().find(|(c, _)| *c == t) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((t, 1)),
                }
            }
            for (t, n) in counts {
                let e = naive.entry(t).or_default();
                e.0.push(row);
                e.1.push(n);
            }
            assert_eq!(p.doc_lens()[row as usize] as usize, tok.tokens(text).len());
        }
        assert_eq!(p.terms(), naive.len());
        for (term, (rows, tfs)) in &naive {
            assert_eq!(p.postings(term), Some((&rows[..], &tfs[..])), "{term}");
        }
    }

    #[test]
    fn from_parts_round_trips_and_rejects_corruption() {
        let p = SegmentPostings::build(&["a b a", "b c", "", "c"], &tok());
        let (terms, offsets, rows, tfs) = p.parts();
        let again = SegmentPostings::from_parts(
            *p.spec(),
            p.rows(),
            terms.to_vec(),
            offsets.to_vec(),
            rows.to_vec(),
            tfs.to_vec(),
        )
        .unwrap();
        assert_eq!(again, p);

        let bad = |terms: Vec<&str>, offsets: Vec<usize>, rows: Vec<u32>, tfs: Vec<u32>| {
            let terms = terms.into_iter().map(String::from).collect();
            SegmentPostings::from_parts(TokenizerSpec::default(), 3, terms, offsets, rows, tfs)
                .unwrap_err()
        };
        assert!(bad(vec!["b", "a"], vec![0, 1, 2], vec![0, 1], vec![1, 1]).contains("sorted"));
        assert!(bad(vec!["a"], vec![0, 2], vec![1, 0], vec![1, 1]).contains("ascending"));
        assert!(bad(vec!["a"], vec![0, 1], vec![3], vec![1]).contains("past"));
        assert!(bad(vec!["a"], vec![0, 1], vec![0], vec![0]).contains("zero"));
        assert!(bad(vec!["a"], vec![0, 2], vec![0], vec![1]).contains("offsets"));
        assert!(bad(vec!["a", "b"], vec![0, 1, 1], vec![0], vec![1]).contains("no postings"));
        assert!(bad(vec!["a", "b"], vec![0, 3, 2], vec![0, 1], vec![1, 1]).contains("bounds"));
    }
}
