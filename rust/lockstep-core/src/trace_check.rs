//! Checking a stored trace's own hashes on a helper thread, so that replay
//! does not hash the records it finds equal to the stored ones.
//!
//! A record line carries `,"hash":"<hex>"`, the sha256 of the line without
//! that member. When replay checks records against a stored trace, the core
//! seals each record with the stored hash of the line it is expected to
//! match (a *hint*) instead of computing one, and this thread checks, line by
//! line and ahead of the core, that each stored line's hash really is the
//! sha256 of the rest of that line. A record counts as verified only when
//! its line (hint included) equals the stored line byte for byte *and* the
//! stored line is consistent: then the bytes the record's hash covers are the
//! bytes the stored hash was checked against, so the hint is the hash the
//! core would have computed. Anything else is a difference, and the core
//! re-seals the record (and the rest of its item) with computed hashes before
//! it is returned, so outputs are exactly those of hashing in line.
//!
//! The thread stays at most [`LOOKAHEAD`] lines ahead of the core (it parks
//! when it is that far ahead), so a block that stops early wastes little.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::{Scope, ScopedJoinHandle};

use sha2::{Digest, Sha256};

use crate::canonical::HEX;

/// Lines the checker may run ahead of the core.
const LOOKAHEAD: usize = 4096;
/// The core moves the checker's limit on once it is this many lines stale.
const STRIDE: usize = 1024;
const HASH_MEMBER: &[u8] = b",\"hash\":\"";

#[derive(Default)]
pub(crate) struct Progress {
    /// Lines checked so far (from the block's start in the stored trace).
    checked: AtomicUsize,
    /// Indexes of inconsistent lines (rare: only in a damaged or forged trace).
    bad: Mutex<Vec<usize>>,
    any_bad: AtomicBool,
    /// The checker parks before this line index until the core moves it on.
    limit: AtomicUsize,
    stop: AtomicBool,
}

pub(crate) struct TraceChecker<'scope> {
    progress: &'scope Progress,
    worker: ScopedJoinHandle<'scope, ()>,
    /// The last limit given to the checker.
    limit: Cell<usize>,
}

impl<'scope> TraceChecker<'scope> {
    pub(crate) fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        progress: &'scope Progress,
        lines: &'env [u8],
    ) -> Self {
        progress.limit.store(LOOKAHEAD, Ordering::Release);
        let worker = scope.spawn(move || check_lines(progress, lines));
        TraceChecker {
            progress,
            worker,
            limit: Cell::new(LOOKAHEAD),
        }
    }

    /// Whether stored line `index` (counted from the block's start) hashes
    /// to its own `hash` member; waits for the checker to get there.
    pub(crate) fn consistent(&self, index: usize) -> bool {
        let progress = self.progress;
        if index + LOOKAHEAD >= self.limit.get() + STRIDE {
            self.limit.set(index + LOOKAHEAD);
            progress.limit.store(index + LOOKAHEAD, Ordering::Release);
            self.worker.thread().unpark();
        }
        let mut spins = 0u32;
        while progress.checked.load(Ordering::Acquire) <= index {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        if !progress.any_bad.load(Ordering::Acquire) {
            return true;
        }
        let bad = progress.bad.lock().unwrap_or_else(|e| e.into_inner());
        !bad.contains(&index)
    }

    pub(crate) fn finish(self) {
        self.progress.stop.store(true, Ordering::Release);
        self.worker.thread().unpark();
        if let Err(panic) = self.worker.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

fn check_lines(progress: &Progress, lines: &[u8]) {
    let mut rest = lines;
    let mut index = 0;
    while !rest.is_empty() {
        while index >= progress.limit.load(Ordering::Acquire) {
            if progress.stop.load(Ordering::Acquire) {
                return;
            }
            std::thread::park();
        }
        if progress.stop.load(Ordering::Acquire) {
            return;
        }
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        if !line_is_consistent(&rest[..end]) {
            progress.bad.lock().unwrap_or_else(|e| e.into_inner()).push(index);
            progress.any_bad.store(true, Ordering::Release);
        }
        index += 1;
        progress.checked.store(index, Ordering::Release);
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    // Past the end: every later index reads as checked (and such records
    // are never matched, since there is no stored line to match).
    progress.checked.store(usize::MAX, Ordering::Release);
}

/// Whether the first `,"hash":"<64 hex>"` member of `line` is the sha256 of
/// the line without it. In a line the core writes, the first such member is
/// the record's own: string values escape their quotes, and no member
/// written before `hash` has a key of that name.
pub(crate) fn line_is_consistent(line: &[u8]) -> bool {
    let Some(start) = find_hash_member(line) else {
        return false;
    };
    let hex_start = start + HASH_MEMBER.len();
    let end = hex_start + 65;
    if line.len() < end || line[end - 1] != b'"' {
        return false;
    }
    let mut hasher = Sha256::new();
    hasher.update(&line[..start]);
    hasher.update(&line[end..]);
    let digest = hasher.finalize();
    let stored = &line[hex_start..end - 1];
    digest.iter().enumerate().all(|(n, byte)| {
        stored[2 * n] == HEX[(byte >> 4) as usize] && stored[2 * n + 1] == HEX[(byte & 15) as usize]
    })
}

/// Where the first `,"hash":"` starts.
fn find_hash_member(line: &[u8]) -> Option<usize> {
    memchr::memmem::find(line, HASH_MEMBER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::sha256_hex;

    fn line(body_before: &str, body_after: &str, hash: &str) -> Vec<u8> {
        format!("{body_before},\"hash\":\"{hash}\"{body_after}").into_bytes()
    }

    #[test]
    fn a_line_is_consistent_only_when_its_hash_member_hashes_the_rest() {
        let (before, after) = (r#"{"a":"x,\"hash\":\"y","h":[1]"#, r#","z":2}"#);
        let good = sha256_hex(format!("{before}{after}").as_bytes());
        assert!(line_is_consistent(&line(before, after, &good)));
        let bad = sha256_hex(b"something else");
        assert!(!line_is_consistent(&line(before, after, &bad)));
        assert!(!line_is_consistent(&line(before, after, &good[..63])));
        assert!(!line_is_consistent(br#"{"a":1}"#));
        assert!(!line_is_consistent(b""));
    }
}
