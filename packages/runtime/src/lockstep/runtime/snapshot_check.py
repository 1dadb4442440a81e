"""Checking stored checkpoint snapshots against their own state hashes.

Replay compares each checkpoint's ``state_hash`` column with the state the
replayed core reaches there, but the snapshot beside it is what a resumed run
would load, so it must hold that very state. A snapshot is the canonical JSON
``{"business":B,"engine":E}``, and the state hash is sha256 of B exactly, so
the business part is checked by hashing its bytes in place, with no parsing
of the (large) order list. The small engine part is parsed and must sit at
the checkpoint's place in the trace: its ``last_seq_id`` is the checkpoint's
seq_id and its ``last_hash`` the stored hash of that record. Its clock, marks
and timers are not checked: replay would have to return the core's engine
state at every checkpoint for that, and nothing reads them back yet (a
resumed run will have to check them when it loads one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from lockstep.runtime.store import RunStore

_HEAD = b'{"business":'
_ENGINE_KEY = b',"engine":'


def first_bad_snapshot(
    store: RunStore, record_hashes: Mapping[int, str] | None = None
) -> tuple[int, str] | None:
    """The seq_id and reason of the first stored snapshot that fails the checks above.

    ``record_hashes`` gives the hash of the record at each checkpoint when the
    store keeps no records (a replay regenerated them); by default the stored
    record's hash is used.
    """
    for seq_id, snapshot, state_hash, stored_hash in store.checkpoint_snapshots():
        record_hash = stored_hash if record_hashes is None else record_hashes.get(seq_id)
        reason = snapshot_problem(seq_id, snapshot, state_hash, record_hash)
        if reason is not None:
            return seq_id, reason
    return None


def snapshot_problem(
    seq_id: int, snapshot: bytes, state_hash: str, record_hash: str | None
) -> str | None:
    """Why this stored snapshot does not belong to its checkpoint (None when it does)."""
    split = _split(snapshot)
    if split is None:
        return "stored snapshot is not a canonical {business, engine} document"
    business, engine = split
    if hashlib.sha256(business).hexdigest() != state_hash:
        return "stored snapshot does not hash to its checkpoint's state hash"
    if engine.get("last_seq_id") != seq_id or engine.get("last_hash") != record_hash:
        return "stored snapshot's engine part is not at its checkpoint's record"
    return None


def _split(snapshot: bytes) -> tuple[memoryview, dict[str, object]] | None:
    """The business bytes and the parsed engine object of a canonical snapshot.

    ``,"engine":`` can also occur inside either part (an order or a timer may
    be named ``engine``), so candidates are tried from the right: the engine
    object is the last member, and only the real split leaves a suffix that
    is one whole JSON object ending the document.
    """
    if not snapshot.startswith(_HEAD) or not snapshot.endswith(b"}"):
        return None
    end = len(snapshot)
    while (cut := snapshot.rfind(_ENGINE_KEY, len(_HEAD), end)) >= 0:
        end = cut
        try:
            engine = json.loads(snapshot[cut + len(_ENGINE_KEY) : -1])
        except ValueError:
            continue
        if isinstance(engine, dict):
            return memoryview(snapshot)[len(_HEAD) : cut], engine
    return None
