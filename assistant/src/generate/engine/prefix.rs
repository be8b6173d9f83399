//! [`PrefixStore`]: a small LRU of KV caches for prompt prefixes, so that a
//! generator serving several conversations (`hearth serve`) or alternating
//! prompts keeps the keys and values of each recent prefix (a system prompt,
//! the sources of a cascade) instead of only the last prompt's.

use super::kv::KvCache;
use std::collections::VecDeque;

/// Fewest tokens worth keeping a cache for.
const MIN_TOKENS: usize = 32;

/// A cache and the tokens whose keys and values it holds.
pub(crate) struct CachedPrefix {
    pub(crate) tokens: Vec<u32>,
    pub(crate) cache: Box<dyn KvCache>,
}

/// Recently used prefixes, most recent first, within a byte budget.
pub(crate) struct PrefixStore {
    entries: VecDeque<CachedPrefix>,
    budget_bytes: usize,
}

/// Length of the common prefix of two token lists.
pub(crate) fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl PrefixStore {
    /// An empty store holding at most `budget_bytes` of caches (0 disables it).
    pub(crate) fn new(budget_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            budget_bytes,
        }
    }

    /// Picks the cache to continue `prompt` from: the `active` one (holding
    /// `active.tokens`), or a stored one sharing a longer prefix with it, which
    /// then becomes active while the old active cache is stored. When the
    /// active cache is about to be cut back by at least [`MIN_TOKENS`], a copy
    /// of it is kept first. Returns how many leading tokens of `prompt` the
    /// (new) active cache already holds.
    pub(crate) fn select(&mut self, active: &mut CachedPrefix, prompt: &[u32]) -> usize {
        let current = common_prefix(&active.tokens, prompt);
        if self.budget_bytes == 0 {
            return current;
        }
        let best = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i, common_prefix(&e.tokens, prompt)))
            .max_by_key(|&(_, n)| n);
        match best {
            Some((i, n)) if n > current => {
                if let Some(entry) = self.entries.remove(i) {
                    let old = std::mem::replace(active, entry);
                    self.keep(old);
                }
                n
            }
            _ => {
                if active.tokens.len() >= current + MIN_TOKENS {
                    let copy = CachedPrefix {
                        tokens: active.tokens.clone(),
                        cache: active.cache.boxed_clone(),
                    };
                    self.keep(copy);
                }
                current
            }
        }
    }

    /// Stores `entry` as the most recent, evicting the least recent past the
    /// budget (an entry over the whole budget is not kept).
    fn keep(&mut self, entry: CachedPrefix) {
        if entry.tokens.len() < MIN_TOKENS || entry.cache.bytes() > self.budget_bytes {
            return;
        }
        // A stored prefix of the new entry adds nothing.
        self.entries
            .retain(|e| common_prefix(&e.tokens, &entry.tokens) < e.tokens.len());
        self.entries.push_front(entry);
        while self.bytes() > self.budget_bytes {
            self.entries.pop_back();
        }
    }

    /// Bytes of the stored caches.
    pub(crate) fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.cache.bytes()).sum()
    }

    /// Stored prefixes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::engine::kv::{F32KvCache, KvLayout};

    fn prefix(tokens: Vec<u32>) -> CachedPrefix {
        let layout = KvLayout {
            layers: 1,
            kv_heads: 1,
            head_dim: 2,
        };
        let mut cache = F32KvCache::new(layout);
        let kv: Vec<f32> = tokens.iter().flat_map(|&t| [t as f32, 0.0]).collect();
        cache.append(0, &kv, &kv);
        CachedPrefix {
            tokens,
            cache: Box::new(cache),
        }
    }

    #[test]
    fn alternating_prompts_each_find_their_prefix() {
        let a: Vec<u32> = (0..100).collect();
        let b: Vec<u32> = (1000..1100).collect();
        let mut store = PrefixStore::new(1 << 20);
        let mut active = prefix(a.clone());
        // b shares nothing with a: a is kept before the active cache is reused for b.
        assert_eq!(store.select(&mut active, &b), 0);
        assert_eq!(store.len(), 1);
        active = prefix(b.clone());
        // a again: its stored cache becomes active, b's is stored.
        let mut a2 = a.clone();
        a2.push(7);
        assert_eq!(store.select(&mut active, &a2), 100);
        assert_eq!(active.tokens, a);
        assert_eq!(active.cache.len(), 100);
        assert_eq!(store.len(), 1);
        let mut b2 = b.clone();
        b2.push(9);
        assert_eq!(store.select(&mut active, &b2), 100);
        assert_eq!(active.tokens, b);
    }

    #[test]
    fn the_budget_evicts_the_least_recent() {
        let mut store = PrefixStore::new(2 * 64 * 16);
        for k in 0..3u32 {
            let tokens: Vec<u32> = (k * 1000..k * 1000 + 64).collect();
            store.keep(prefix(tokens));
        }
        assert_eq!(store.len(), 2);
        assert!(store.bytes() <= 2 * 64 * 16);
        let mut active = prefix(vec![5; 40]);
        let probe: Vec<u32> = (0..64).collect();
        // The first (least recent) prefix was evicted.
        assert_eq!(store.select(&mut active, &probe), 0);
        assert_eq!(PrefixStore::new(0).select(&mut active, &[5, 5, 1]), 2);
    }
}
