//! Versions of documents and tombstones across devices: a hybrid logical
//! clock (milliseconds of wall time in the high bits, a counter in the low
//! 16) plus the id of the device that wrote it. Every commit takes a clock
//! reading above the last one this index has issued or seen, so on one
//! device later writes always order after earlier ones, and after a merge
//! the local clock moves past everything imported. Two writes to the same
//! document on different devices are ordered by (clock, device id):
//! last-writer-wins, the same answer on every device.

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};

/// Bits of the counter below the milliseconds.
const LOGICAL_BITS: u32 = 16;

/// Who wrote a version of a document (or a tombstone), and when.
///
/// Versions order by clock, then device id. Data written before versions
/// existed reads as the default (clock 0, no device) and orders first.
///
/// ```
/// use hearth_store::Version;
/// let a = Version { hlc: 5, device: "a".into() };
/// let b = Version { hlc: 5, device: "b".into() };
/// assert!(a < b && b < Version { hlc: 6, device: "a".into() });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Hybrid logical clock reading.
    pub hlc: u64,
    /// Id of the device that wrote it.
    pub device: String,
}

/// The clock reading after `last`: the wall clock when it has moved on,
/// else one tick past `last`.
///
/// ```
/// let t = hearth_store::clock_tick(0);
/// assert!(hearth_store::clock_tick(t) > t);
/// assert_eq!(hearth_store::clock_tick(u64::MAX - 1), u64::MAX);
/// ```
pub fn tick(last: u64) -> u64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX >> LOGICAL_BITS)
        });
    (now_ms << LOGICAL_BITS).max(last.saturating_add(1))
}

/// The wall-clock seconds of a clock reading (for display).
pub fn clock_secs(hlc: u64) -> i64 {
    i64::try_from((hlc >> LOGICAL_BITS) / 1000).unwrap_or(i64::MAX)
}

/// A fresh random id of `bytes` bytes as lowercase hex (from the standard
/// library's per-process random hasher keys, mixed with the time).
pub fn random_id(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut counter = 0u64;
    while out.len() < bytes * 2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(counter);
        h.write_u32(std::process::id());
        counter += 1;
        for b in h.finish().to_le_bytes() {
            if out.len() < bytes * 2 {
                out.push_str(&format!("{b:02x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_increase_and_ids_differ() {
        let mut last = 0;
        for _ in 0..1000 {
            let t = tick(last);
            assert!(t > last);
            last = t;
        }
        // A clock far ahead (imported from a device whose clock runs fast)
        // still moves on by one.
        assert_eq!(tick(u64::MAX >> 1), (u64::MAX >> 1) + 1);
        assert!(clock_secs(tick(0)) > 1_700_000_000);
        let (a, b) = (random_id(8), random_id(8));
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
