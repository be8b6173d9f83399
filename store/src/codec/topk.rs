//! Bounded top-k selection of (score, row) pairs, mergeable across the
//! parallel tasks of a scan. The order is total (score descending, then row
//! ascending), so the result does not depend on how the work was split.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A scored row; `Ord` puts the *better* candidate first ("less").
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f32,
    row: u32,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.row.cmp(&other.row))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

/// The k best rows seen so far (a max-heap on "worseness").
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    /// Candidates scoring below this cannot enter (−∞ until `k` are held;
    /// equal scores may still enter by the row tie-break).
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.k => worst.score,
            _ => f32::NEG_INFINITY,
        }
    }

    /// Offers a candidate.
    #[inline]
    pub(crate) fn push(&mut self, score: f32, row: u32) {
        let e = Entry { score, row };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && e < *worst
        {
            *worst = e;
        }
    }

    /// Merges another selection into this one.
    pub(crate) fn merge(mut self, other: Self) -> Self {
        let (mut big, small) = if self.heap.len() >= other.heap.len() {
            (std::mem::take(&mut self.heap), other.heap)
        } else {
            (other.heap, std::mem::take(&mut self.heap))
        };
        let k = self.k;
        for e in small {
            if big.len() < k {
                big.push(e);
            } else if let Some(mut worst) = big.peek_mut()
                && e < *worst
            {
                *worst = e;
            }
        }
        Self { k, heap: big }
    }

    /// Best first.
    pub(crate) fn into_sorted(self) -> Vec<(f32, u32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.score, e.row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_in_order() {
        let scores: Vec<f32> = (0..1000u32)
            .map(|i| ((i * 7919) % 1009) as f32 / 10.0)
            .collect();
        let mut want: Vec<(f32, u32)> = scores.iter().copied().zip(0..).collect();
        want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for k in [0, 1, 10, 999, 1000, 5000] {
            let mut halves = [TopK::new(k), TopK::new(k)];
            for (i, &s) in scores.iter().enumerate() {
                halves[i % 2].push(s, i as u32);
            }
            let [a, b] = halves;
            let got = a.merge(b).into_sorted();
            assert_eq!(got, want[..k.min(1000)].to_vec(), "k={k}");
        }
    }

    #[test]
    fn ties_break_by_row() {
        let mut t = TopK::new(2);
        for row in [5, 3, 9, 1] {
            t.push(1.0, row);
        }
        assert_eq!(t.into_sorted(), vec![(1.0, 1), (1.0, 3)]);
    }
}
