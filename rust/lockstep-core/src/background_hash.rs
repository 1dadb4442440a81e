//! Checkpoint state hashes taken on a helper thread while a block steps on.
//!
//! A checkpoint's state hash is sha256 over the canonical JSON of the whole
//! business state, which grows with every order the run has seen; for a long
//! replay, hashing those bytes is about a third of the core's time. Writing
//! the bytes is mostly a copy (terminal orders are cached, see
//! `OrderBook::write_sorted`) and nothing in the block needs the digest, so
//! the core writes the state into a buffer, hands it to this thread and steps
//! on. The digests are collected, in checkpoint order, when the block ends:
//! the block's output is the same as hashing in line, only sooner on a
//! machine with a spare core. The thread lives inside one `step_block` call
//! (a scoped thread), so nothing outlives the block and no state is shared.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use sha2::{Digest, Sha256};

use crate::canonical::digest_hex;
use crate::Core;

/// States written but not yet hashed; bounds the memory held for them.
const QUEUED_STATES: usize = 2;

pub(crate) struct BackgroundHasher<'scope> {
    states: SyncSender<(i64, Vec<u8>)>,
    spare: Receiver<Vec<u8>>,
    worker: ScopedJoinHandle<'scope, Vec<(i64, String)>>,
}

impl<'scope> BackgroundHasher<'scope> {
    pub(crate) fn spawn<'env>(scope: &'scope Scope<'scope, 'env>) -> Self {
        let (states, queued) = sync_channel::<(i64, Vec<u8>)>(QUEUED_STATES);
        let (give_back, spare) = sync_channel::<Vec<u8>>(QUEUED_STATES + 1);
        let worker = scope.spawn(move || {
            let mut hashes = Vec::new();
            for (seq_id, mut bytes) in queued {
                hashes.push((seq_id, digest_hex(Sha256::digest(&bytes).into())));
                bytes.clear();
                // A full or closed return channel only means the buffer is dropped.
                let _ = give_back.try_send(bytes);
            }
            hashes
        });
        BackgroundHasher {
            states,
            spare,
            worker,
        }
    }

    /// Write `core`'s business state now and hash it on the helper thread.
    pub(crate) fn submit(&self, seq_id: i64, core: &Core) {
        let mut bytes = self.spare.try_recv().unwrap_or_default();
        core.write_business_into(&mut bytes);
        self.states
            .send((seq_id, bytes))
            .expect("the state hashing thread stopped early");
    }

    /// Every submitted `(seq_id, state_hash)`, in submission order.
    pub(crate) fn finish(self) -> Vec<(i64, String)> {
        drop(self.states);
        match self.worker.join() {
            Ok(hashes) => hashes,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
