//! A bitset of allowed rows, the filter a scan pushes down: blocks of 32 rows
//! whose bits are all zero are skipped without being scored.

/// A set of allowed rows of a [`CodeTable`](super::CodeTable) (a bitset).
///
/// ```
/// use hearth_store::codec::RowMask;
///
/// let mut mask = RowMask::new(100);
/// mask.set(3, true);
/// mask.set(70, true);
/// assert!(mask.get(3) && !mask.get(4));
/// assert!(!mask.get(1_000)); // beyond the end: not allowed
/// assert_eq!(mask.count(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMask {
    len: usize,
    words: Vec<u64>,
}

impl RowMask {
    /// `len` rows, none allowed.
    pub fn new(len: usize) -> Self {
        Self {
            len,
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// `len` rows, all allowed.
    pub fn all(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if let Some(last) = words.last_mut() {
            let tail = len % 64;
            if tail != 0 {
                *last = (1u64 << tail) - 1;
            }
        }
        Self { len, words }
    }

    /// Rows covered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it covers no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Allows or disallows `row`.
    ///
    /// # Panics
    /// If `row >= len()`.
    pub fn set(&mut self, row: usize, allowed: bool) {
        assert!(
            row < self.len,
            "RowMask::set: row {row} out of range (len {})",
            self.len
        );
        let bit = 1u64 << (row % 64);
        if allowed {
            self.words[row / 64] |= bit;
        } else {
            self.words[row / 64] &= !bit;
        }
    }

    /// Whether `row` is allowed (false beyond the end).
    pub fn get(&self, row: usize) -> bool {
        row < self.len && self.words[row / 64] >> (row % 64) & 1 == 1
    }

    /// How many rows are allowed.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The bits of rows 32·block … 32·block + 31 (bit i = row 32·block + i);
    /// zero beyond the end.
    #[inline]
    pub(crate) fn block_bits(&self, block: usize) -> u32 {
        self.words
            .get(block / 2)
            .map_or(0, |w| (w >> (32 * (block % 2))) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_new_set_count() {
        for len in [0, 1, 31, 32, 33, 64, 65, 1000] {
            let all = RowMask::all(len);
            assert_eq!(all.count(), len);
            assert!((0..len).all(|r| all.get(r)));
            assert!(!all.get(len));
            let mut none = RowMask::new(len);
            assert_eq!(none.count(), 0);
            for r in (0..len).step_by(3) {
                none.set(r, true);
            }
            assert_eq!(none.count(), len.div_ceil(3));
            for r in 0..len {
                assert_eq!(none.get(r), r % 3 == 0);
                let bits = none.block_bits(r / 32);
                assert_eq!(bits >> (r % 32) & 1 == 1, r % 3 == 0);
            }
            if len > 0 {
                none.set(0, false);
                assert!(!none.get(0));
            }
        }
        assert_eq!(RowMask::all(40).block_bits(1), 0xff);
        assert_eq!(RowMask::all(40).block_bits(7), 0);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn set_out_of_range_panics() {
        RowMask::new(10).set(10, true);
    }
}
