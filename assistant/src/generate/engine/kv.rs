//! The KV cache of Hearth's decoder, behind [`KvCache`]: per layer and per KV
//! head, the keys and values of every position so far, and the attention
//! kernel that reads them. [`F32KvCache`] keeps them in f32; compressed
//! formats implement the same trait and score keys on their codes.

use hearth_quant::vector;

/// Shape of a cache: what one position stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLayout {
    /// Transformer layers.
    pub layers: usize,
    /// Key/value heads per layer (fewer than query heads under grouped-query attention).
    pub kv_heads: usize,
    /// Values per head.
    pub head_dim: usize,
}

/// Storage of keys and values, and attention over them.
pub trait KvCache: Send + Sync {
    /// What one position holds.
    fn layout(&self) -> KvLayout;

    /// Positions held (the same in every layer between forward passes).
    fn len(&self) -> usize;

    /// Whether no position is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every position from `len` on (prefix reuse keeps the rest).
    fn truncate(&mut self, len: usize);

    /// Appends positions to `layer`: `keys` and `values` are `tokens ×
    /// kv_heads × head_dim`, token-major (RoPE already applied to the keys).
    fn append(&mut self, layer: usize, keys: &[f32], values: &[f32]);

    /// Attention of one query head's `query` (`head_dim`, RoPE applied) over
    /// positions `0..len` of `kv_head` in `layer`: softmax of `scale · q·k`,
    /// then the weighted sum of the values into `out` (`head_dim`). `scores`
    /// is scratch space.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        layer: usize,
        kv_head: usize,
        query: &[f32],
        len: usize,
        scale: f32,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    );

    /// Bytes the held positions take.
    fn bytes(&self) -> usize;

    /// The storage format's name (`f32`, …), as metering records it.
    fn format(&self) -> &'static str;

    /// A copy of this cache (kept by the prefix store before it is cut).
    fn boxed_clone(&self) -> Box<dyn KvCache>;
}

/// Keys and values in f32: per layer and KV head one position-major array.
#[derive(Debug, Clone)]
pub struct F32KvCache {
    layout: KvLayout,
    /// `keys[layer][head]`: `positions × head_dim`.
    keys: Vec<Vec<Vec<f32>>>,
    values: Vec<Vec<Vec<f32>>>,
}

impl F32KvCache {
    /// An empty cache of `layout`.
    pub fn new(layout: KvLayout) -> Self {
        let empty = || vec![vec![Vec::new(); layout.kv_heads]; layout.layers];
        Self {
            layout,
            keys: empty(),
            values: empty(),
        }
    }
}

impl KvCache for F32KvCache {
    fn layout(&self) -> KvLayout {
        self.layout
    }

    fn len(&self) -> usize {
        self.keys
            .iter()
            .map(|l| {
                l.first()
                    .map_or(0, |h| h.len() / self.layout.head_dim.max(1))
            })
            .min()
            .unwrap_or(0)
    }

    fn truncate(&mut self, len: usize) {
        let n = len * self.layout.head_dim;
        for layer in self.keys.iter_mut().chain(self.values.iter_mut()) {
            for head in layer {
                head.truncate(n);
            }
        }
    }

    fn append(&mut self, layer: usize, keys: &[f32], values: &[f32]) {
        let d = self.layout.head_dim;
        let stride = self.layout.kv_heads * d;
        for (h, (kh, vh)) in self.keys[layer]
            .iter_mut()
            .zip(self.values[layer].iter_mut())
            .enumerate()
        {
            for (k, v) in keys.chunks_exact(stride).zip(values.chunks_exact(stride)) {
                kh.extend_from_slice(&k[h * d..(h + 1) * d]);
                vh.extend_from_slice(&v[h * d..(h + 1) * d]);
            }
        }
    }

    fn attend(
        &self,
        layer: usize,
        kv_head: usize,
        query: &[f32],
        len: usize,
        scale: f32,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let d = self.layout.head_dim;
        let keys = &self.keys[layer][kv_head][..len * d];
        let values = &self.values[layer][kv_head][..len * d];
        scores.resize(len, 0.0);
        vector::scores(query, keys, scale, scores);
        vector::softmax(scores);
        vector::weighted_sum(scores, values, out);
    }

    fn bytes(&self) -> usize {
        let floats: usize = self
            .keys
            .iter()
            .chain(&self.values)
            .flat_map(|l| l.iter().map(Vec::len))
            .sum();
        floats * 4
    }

    fn format(&self) -> &'static str {
        "f32"
    }

    fn boxed_clone(&self) -> Box<dyn KvCache> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_weights_values_by_key_similarity_and_truncates() {
        let layout = KvLayout {
            layers: 1,
            kv_heads: 2,
            head_dim: 2,
        };
        let mut cache = F32KvCache::new(layout);
        // Two positions; head 0 keys point along x then y, values 1 and 3.
        cache.append(
            0,
            &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            &[1.0, 1.0, 5.0, 5.0, 3.0, 3.0, 5.0, 5.0],
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.bytes(), 2 * 2 * 2 * 2 * 4);
        let mut scores = Vec::new();
        let mut out = [0.0; 2];
        cache.attend(0, 0, &[100.0, 0.0], 2, 1.0, &mut scores, &mut out);
        assert!((out[0] - 1.0).abs() < 1e-6, "{out:?}");
        cache.attend(0, 0, &[0.0, 100.0], 2, 1.0, &mut scores, &mut out);
        assert!((out[0] - 3.0).abs() < 1e-6, "{out:?}");
        cache.attend(0, 1, &[0.0, 100.0], 2, 1.0, &mut scores, &mut out);
        assert_eq!(out, [5.0, 5.0]);
        cache.truncate(1);
        assert_eq!(cache.len(), 1);
        cache.attend(0, 0, &[0.0, 100.0], 1, 1.0, &mut scores, &mut out);
        assert_eq!(out, [1.0, 1.0]);
    }
}
