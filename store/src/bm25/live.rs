//! `LiveRows`: the bitset of a segment's rows that are still live (neither
//! deleted nor superseded), which the BM25 statistics and results are limited to.

/// A fixed-length bitset over a segment's chunk rows; a set bit is a live row.
///
/// Bits are packed 64 to a word, least significant bit first (row `r` is bit
/// `r % 64` of word `r / 64`), so a caller that already keeps such a `Vec<u64>`
/// can hand it over with [`LiveRows::from_words`].
///
/// ```
/// use hearth_store::bm25::LiveRows;
/// let mut live = LiveRows::all(100);
/// live.remove(7);
/// assert!(!live.contains(7) && live.contains(8));
/// assert_eq!(live.count(), 99);
/// assert!(!live.contains(1000)); // out of range: not live
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRows {
    words: Vec<u64>,
    len: usize,
    count: usize,
}

impl LiveRows {
    /// `len` rows, all live.
    pub fn all(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if let Some(last) = words.last_mut() {
            *last = tail_mask(len);
        }
        Self {
            words,
            len,
            count: len,
        }
    }

    /// `len` rows, none live.
    pub fn none(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
            count: 0,
        }
    }

    /// `len` rows, live where `live(row)` is true.
    pub fn from_fn(len: usize, live: impl Fn(u32) -> bool) -> Self {
        let mut rows = Self::none(len);
        for row in 0..len {
            // Rows past u32::MAX cannot exist in a segment; stop there.
            let Ok(r) = u32::try_from(row) else { break };
            if live(r) {
                rows.insert(r);
            }
        }
        rows
    }

    /// `len` rows from packed words (see the type's docs). Missing words count
    /// as dead rows; bits at or past `len` are ignored.
    pub fn from_words(mut words: Vec<u64>, len: usize) -> Self {
        words.resize(len.div_ceil(64), 0);
        if let Some(last) = words.last_mut() {
            *last &= tail_mask(len);
        }
        let count = words.iter().map(|w| w.count_ones() as usize).sum();
        Self { words, len, count }
    }

    /// Marks `row` live; rows out of range are ignored.
    pub fn insert(&mut self, row: u32) {
        if let Some((word, bit)) = self.locate(row)
            && *word & bit == 0
        {
            *word |= bit;
            self.count += 1;
        }
    }

    /// Marks `row` deleted; rows out of range are ignored.
    pub fn remove(&mut self, row: u32) {
        if let Some((word, bit)) = self.locate(row)
            && *word & bit != 0
        {
            *word &= !bit;
            self.count -= 1;
        }
    }

    /// Whether `row` is live (false for rows out of range).
    #[inline]
    pub fn contains(&self, row: u32) -> bool {
        let row = row as usize;
        row < self.len
            && self
                .words
                .get(row / 64)
                .is_some_and(|w| w & (1u64 << (row % 64)) != 0)
    }

    /// Number of rows covered, live or not.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set covers no rows at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of live rows.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether every row is live (lets the scorer skip per-row checks).
    pub fn is_full(&self) -> bool {
        self.count == self.len
    }

    /// The packed words (see the type's docs).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    fn locate(&mut self, row: u32) -> Option<(&mut u64, u64)> {
        let row = row as usize;
        if row >= self.len {
            return None;
        }
        let word = self.words.get_mut(row / 64)?;
        Some((word, 1u64 << (row % 64)))
    }
}

impl From<&[bool]> for LiveRows {
    /// Live where the flag is true.
    fn from(flags: &[bool]) -> Self {
        let mut words = vec![0u64; flags.len().div_ceil(64)];
        for (word, chunk) in words.iter_mut().zip(flags.chunks(64)) {
            for (bit, &live) in chunk.iter().enumerate() {
                *word |= u64::from(live) << bit;
            }
        }
        Self::from_words(words, flags.len())
    }
}

impl From<Vec<bool>> for LiveRows {
    /// Live where the flag is true.
    fn from(flags: Vec<bool>) -> Self {
        Self::from(flags.as_slice())
    }
}

/// The valid bits of the last word of a `len`-row set.
fn tail_mask(len: usize) -> u64 {
    match len % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_none_and_edits() {
        for len in [0, 1, 63, 64, 65, 200] {
            let all = LiveRows::all(len);
            assert_eq!(all.count(), len);
            assert!(all.is_full());
            assert_eq!((0..len as u32).filter(|&r| all.contains(r)).count(), len);
            assert!(!all.contains(len as u32));
            let none = LiveRows::none(len);
            assert_eq!(none.count(), 0);
            assert!((0..len as u32).all(|r| !none.contains(r)));
        }
        let mut live = LiveRows::all(70);
        live.remove(69);
        live.remove(69);
        live.remove(500);
        assert_eq!(live.count(), 69);
        assert!(!live.is_full());
        live.insert(69);
        live.insert(70);
        assert_eq!(live, LiveRows::all(70));
    }

    #[test]
    fn from_fn_and_words_agree() {
        let odd = LiveRows::from_fn(130, |r| r % 2 == 1);
        assert_eq!(odd.count(), 65);
        let again = LiveRows::from_words(odd.words().to_vec(), 130);
        assert_eq!(again, odd);
        // Extra bits past `len` and missing words are handled.
        let trimmed = LiveRows::from_words(vec![u64::MAX, u64::MAX], 10);
        assert_eq!(trimmed.count(), 10);
        let flags: Vec<bool> = (0..130).map(|r| r % 2 == 1).collect();
        assert_eq!(LiveRows::from(flags), odd);
        assert_eq!(LiveRows::from(&[][..]), LiveRows::all(0));
        let padded = LiveRows::from_words(vec![1], 200);
        assert_eq!(padded.count(), 1);
        assert!(padded.contains(0) && !padded.contains(199));
    }
}
