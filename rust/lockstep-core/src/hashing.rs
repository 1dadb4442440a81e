//! A small, fast hasher for the core's string-keyed maps.
//!
//! The core looks orders, instruments and venues up by short ASCII ids many
//! times per event; std's SipHash (built to resist hash flooding) costs more
//! than the rest of such a lookup. These maps never decide an output order
//! (everything written is sorted first), so any hash function gives the same
//! records; this one is a multiply-rotate mix over 8-byte words, the scheme
//! rustc uses for its own tables. It is not flooding-resistant: the inputs
//! are the run's own setup and order ids, and a pathological set of ids would
//! only slow a run down, never change its result.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Odd 64-bit multiplier with well-spread bits.
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.mix(value as u64);
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_with_similar_short_keys() {
        let mut map: FastMap<String, usize> = FastMap::default();
        for n in 0..10_000 {
            map.insert(format!("o{n}"), n);
        }
        assert_eq!(map.len(), 10_000);
        assert!((0..10_000).all(|n| map[&format!("o{n}")] == n));
        assert!(!map.contains_key("o10000"));
    }
}
