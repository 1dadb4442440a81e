//! The idempotency keys the core has applied, and their part of the state JSON.
//!
//! The business state lists every key ever seen, sorted, and a long run sees
//! hundreds of thousands; sorting and escaping all of them again for every
//! checkpoint's state hash cost more than the rest of the state. So the
//! sorted list and its canonical JSON are kept between writes: keys added
//! since the last write are sorted on their own and appended (the usual case,
//! when keys grow like counters) or merged in. A cache, not state: equality
//! looks only at the set.

use std::sync::{Mutex, MutexGuard};

use crate::canonical::write_str;
use crate::hashing::FastSet;

#[derive(Debug, Default)]
pub struct SeenKeys {
    set: FastSet<String>,
    written: Mutex<Written>,
}

#[derive(Debug, Default, Clone)]
struct Written {
    /// Keys inserted since the last write, in arrival order.
    pending: Vec<String>,
    /// Every key written so far, sorted.
    sorted: Vec<String>,
    /// `sorted` as a canonical JSON array (empty before the first write).
    json: Vec<u8>,
}

impl SeenKeys {
    pub fn contains(&self, key: &str) -> bool {
        self.set.contains(key)
    }

    /// Add `key`; false when it was already there.
    pub fn insert(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        self.set.insert(key.to_string());
        self.lock_mut().pending.push(key.to_string());
        true
    }

    /// Every key, sorted.
    pub fn sorted(&self) -> Vec<String> {
        let mut written = self.lock();
        written.catch_up();
        written.sorted.clone()
    }

    /// Append the sorted keys as a canonical JSON array.
    pub fn write_sorted(&self, out: &mut Vec<u8>) {
        let mut written = self.lock();
        written.catch_up();
        out.extend_from_slice(&written.json);
    }

    fn lock(&self) -> MutexGuard<'_, Written> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_mut(&mut self) -> &mut Written {
        self.written.get_mut().unwrap_or_else(|e| e.into_inner())
    }
}

impl Written {
    fn catch_up(&mut self) {
        if !self.json.is_empty() && self.pending.is_empty() {
            return;
        }
        let mut added = std::mem::take(&mut self.pending);
        added.sort_unstable();
        let appends = match (self.sorted.last(), added.first()) {
            (Some(last), Some(first)) => last < first,
            _ => true,
        };
        if appends && !self.json.is_empty() {
            self.json.pop(); // the closing bracket
            for key in &added {
                if self.json.len() > 1 {
                    self.json.push(b',');
                }
                write_str(&mut self.json, key);
            }
            self.json.push(b']');
            self.sorted.extend(added);
            return;
        }
        self.sorted.extend(added);
        self.sorted.sort_unstable();
        self.json.clear();
        self.json.push(b'[');
        for (n, key) in self.sorted.iter().enumerate() {
            if n > 0 {
                self.json.push(b',');
            }
            write_str(&mut self.json, key);
        }
        self.json.push(b']');
    }
}

impl Clone for SeenKeys {
    fn clone(&self) -> Self {
        SeenKeys {
            set: self.set.clone(),
            written: Mutex::new(self.lock().clone()),
        }
    }
}

impl PartialEq for SeenKeys {
    fn eq(&self, other: &Self) -> bool {
        self.set == other.set
    }
}

impl Eq for SeenKeys {}

impl FromIterator<String> for SeenKeys {
    fn from_iter<I: IntoIterator<Item = String>>(keys: I) -> Self {
        let mut seen = SeenKeys::default();
        for key in keys {
            seen.insert(&key);
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(seen: &SeenKeys) -> String {
        let mut out = Vec::new();
        seen.write_sorted(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_stay_sorted_whether_new_keys_append_or_merge() {
        let mut seen = SeenKeys::default();
        assert_eq!(json(&seen), "[]");
        assert!(seen.insert("k2") && seen.insert("k1"));
        assert!(!seen.insert("k1"));
        assert_eq!(json(&seen), r#"["k1","k2"]"#);
        seen.insert("k3");
        assert_eq!(json(&seen), r#"["k1","k2","k3"]"#); // appended
        seen.insert("a\"b");
        seen.insert("k25");
        assert_eq!(json(&seen), r#"["a\"b","k1","k2","k25","k3"]"#); // merged
        assert_eq!(seen.sorted(), ["a\"b", "k1", "k2", "k25", "k3"]);
        let copy = seen.clone();
        assert_eq!(copy, seen);
        assert_eq!(json(&copy), json(&seen));
    }
}
