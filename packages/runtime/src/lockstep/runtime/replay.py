"""Replay verification: re-apply a run's stored inputs to a fresh core and compare.

No strategy code runs. The core is built from the setup and backend stored in
the run's metadata (or another backend, to check parity), every stored input
is stepped in order, and each record the core produces is compared with the
stored one: same seq_id, same canonical bytes, same hash and prev_hash. Stored
checkpoints are compared with the state hash at their seq_id, and the final
state hash with the stored result. The first seq_id where anything differs is
reported; a tampered record, input or hash, and a truncated trace or input
log, all show up as a divergence there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from lockstep.core import build_core
from lockstep.runtime.store import RecordRow, RunStore, StoredRecord

REPLAY_BLOCK = 8192
"""Stored inputs replayed per ``step_block`` call."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    path: Path
    ok: bool
    status: str
    backend: str | None
    inputs_checked: int
    records_checked: int
    checkpoints_checked: int
    first_divergence: int | None
    """The first seq_id at which replay and store disagree (None when they agree)."""
    reason: str | None
    expected_state_hash: str | None
    actual_state_hash: str | None
    refused: bool = False
    """True when the run was not verified at all (not complete, and not allowed)."""
    crossings: int | None = None
    """Calls into the native core during the replay (None on the Python backend)."""

    def __str__(self) -> str:
        if self.ok:
            return (
                f"{self.path}: OK - {self.inputs_checked} inputs replayed, "
                f"{self.records_checked} records and {self.checkpoints_checked} checkpoints match, "
                f"final state {self.actual_state_hash} ({self.backend})"
            )
        if self.refused:
            return f"{self.path}: NOT VERIFIED - {self.reason}"
        where = f" at seq_id {self.first_divergence}" if self.first_divergence is not None else ""
        return f"{self.path}: FAILED{where} - {self.reason}"


def verify_run(
    path: str | Path, *, allow_incomplete: bool = False, backend: str | None = None
) -> VerifyReport:
    """Verify the run at ``path``; see the module docstring.

    A run whose status is not ``complete`` (killed, failed, still running) is
    refused unless ``allow_incomplete``, which then checks the committed prefix
    (and skips the final state hash, which such a run never stored).
    Raises :class:`StoreError` for a file that is not a readable run store and
    :class:`~lockstep.core.NativeBackendUnavailable` for a missing backend.
    """
    target = Path(path)
    store = RunStore.open(target)
    try:
        return _verify(store, target, allow_incomplete, backend)
    finally:
        store.close()


class _Diverged(Exception):
    def __init__(self, seq_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq_id = seq_id
        self.reason = reason


def _verify(
    store: RunStore, path: Path, allow_incomplete: bool, backend: str | None
) -> VerifyReport:
    meta = store.meta()
    status = str(meta.get("status", "unknown"))
    chosen = backend or meta.get("engine")
    results = store.results()
    expected_hash = results.get("final_state_hash")

    def report(**kw: Any) -> VerifyReport:
        base: dict[str, Any] = {
            "path": path,
            "ok": False,
            "status": status,
            "backend": chosen,
            "inputs_checked": 0,
            "records_checked": 0,
            "checkpoints_checked": 0,
            "first_divergence": None,
            "reason": None,
            "expected_state_hash": expected_hash,
            "actual_state_hash": None,
        }
        base.update(kw)
        return VerifyReport(**base)

    if status != "complete" and not allow_incomplete:
        detail = f": {meta['error']}" if meta.get("error") else ""
        why = {
            "running": "the run never finished (it was killed or is still being written)",
            "failed": f"the run failed{detail}",
        }.get(status, "the store has no valid status")
        return report(
            refused=True,
            reason=f"run status is {status!r}: {why}; only complete runs are verified "
            "(use --allow-incomplete to check the committed part)",
        )
    problem = store.integrity_problem()
    if problem is not None:
        return report(reason=f"SQLite integrity check failed: {problem}")
    if "setup" not in meta:
        return report(reason="the store has no setup in its metadata")
    core = build_core(meta["setup"], backend=chosen)
    counts = {"inputs": 0, "records": 0, "checkpoints": 0}
    stored = store.record_rows()
    checkpoints = store.checkpoint_hashes()
    wanted = [seq for seq, _ in checkpoints]
    pending = iter(checkpoints)
    next_checkpoint = next(pending, None)
    last_seq = 0
    try:
        rows = store.input_texts()
        while block := list(islice(rows, REPLAY_BLOCK)):
            data = "".join(text + "\n" for _, text in block).encode()
            # One call per block: on the rust backend, one boundary crossing.
            result = core.step_block(data, hash_at=wanted)
            lines = result.lines()
            last_seq = _compare_block(lines, list(islice(stored, len(lines))), last_seq)
            counts["records"] += len(lines)
            counts["inputs"] += result.consumed
            while next_checkpoint is not None and next_checkpoint[0] <= last_seq:
                cp_seq, cp_hash = next_checkpoint
                replayed = result.state_hashes.get(cp_seq)
                if replayed is None:
                    raise _Diverged(
                        cp_seq, "a checkpoint sits inside a time step (store is corrupt)"
                    )
                if cp_hash != replayed:
                    raise _Diverged(cp_seq, "checkpoint state hash differs from the replayed state")
                counts["checkpoints"] += 1
                next_checkpoint = next(pending, None)
            if result.error is not None:
                seq = block[result.consumed][0]
                raise _Diverged(
                    last_seq + 1, f"stored input {seq} is refused by the core: {result.error}"
                )
        leftover = next(stored, None)
        if leftover is not None:
            raise _Diverged(
                StoredRecord(*leftover).seq_id,
                "the store has records the stored inputs do not produce (input log truncated?)",
            )
        if next_checkpoint is not None:
            raise _Diverged(next_checkpoint[0], "a checkpoint lies beyond the replayed trace")
    except _Diverged as div:
        return report(
            inputs_checked=counts["inputs"],
            records_checked=counts["records"],
            checkpoints_checked=counts["checkpoints"],
            first_divergence=div.seq_id,
            reason=div.reason,
        )
    actual = core.state_hash()
    done = {
        "crossings": getattr(core, "crossings", None),
        "inputs_checked": counts["inputs"],
        "records_checked": counts["records"],
        "checkpoints_checked": counts["checkpoints"],
        "actual_state_hash": actual,
    }
    if status == "complete":
        if expected_hash != actual:
            return report(
                **done,
                first_divergence=last_seq,
                reason=f"final state hash {actual} differs from the stored {expected_hash}",
            )
        stored_count = results.get("counts", {}).get("records")
        if stored_count != counts["records"]:
            return report(
                **done,
                first_divergence=last_seq,
                reason=f"the run recorded {stored_count} records, replay produced {counts['records']}",
            )
    return report(**done, ok=True)


def line_keys(line: str) -> RecordRow:
    """``(seq_id, origin, "", hash, prev_hash)`` of a canonical record line, without parsing it.

    Safe because the line is canonical (ADR 0008: sorted keys, every quote
    inside a string escaped) and comes from the core, not from the store: the
    first ``"hash":"`` is the top-level key (only cash_deltas, diagnostics and
    fills, with fixed keys, come before it), and the last ``"origin":"``,
    ``"prev_hash":"`` and ``"seq_id":`` are top-level (only position_deltas,
    prev_hash, seq_id and transitions, with fixed keys, come after them).
    """
    h = line.index('"hash":"') + 8
    p = line.rindex('"prev_hash":"') + 13
    o = line.rindex('"origin":"') + 10
    s = line.rindex('"seq_id":') + 9
    return (
        int(line[s : line.index(",", s)]),
        line[o : line.index('"', o)],
        "",
        line[h : h + 64],
        line[p : p + 64],
    )


def _compare_block(lines: list[str], rows: list[RecordRow], last_seq: int) -> int:
    """Check replayed record lines against the stored rows; the last seq_id checked.

    The common case, everything equal, is decided by two list comparisons:
    the record texts, and the stored columns against the keys of the replayed
    lines (so a column edited on its own is caught too). Only a block that
    differs is walked record by record to say where and how.
    """
    if (
        len(rows) == len(lines)
        and [r[2] for r in rows] == lines
        and [(r[0], r[1], "", r[3], r[4]) for r in rows] == [line_keys(x) for x in lines]
    ):
        return rows[-1][0] if rows else last_seq
    for n, line in enumerate(lines):
        last_seq = _compare(line, StoredRecord(*rows[n]) if n < len(rows) else None)
    return last_seq


def _compare(line: str, stored: StoredRecord | None) -> int:
    """Check one replayed record line against the stored record; its seq_id if they match."""
    record = json.loads(line)
    seq_id: int = record["seq_id"]
    if stored is None:
        raise _Diverged(seq_id, "the stored trace ends here but replay goes on (trace truncated)")
    if stored.seq_id != seq_id:
        first = min(stored.seq_id, seq_id)
        raise _Diverged(first, f"stored record {stored.seq_id} where replay produced {seq_id}")
    if stored.hash != record["hash"] or stored.prev_hash != record["prev_hash"]:
        raise _Diverged(seq_id, "record hash differs from the replayed one")
    if stored.record != line:
        raise _Diverged(seq_id, "stored record content differs from the replayed one")
    if stored.origin != record["origin"]:
        raise _Diverged(seq_id, "record origin differs from the replayed one")
    return seq_id


def iter_records(store: RunStore) -> Iterator[dict[str, Any]]:
    """Stored records as dicts, for tools that recompute results (metrics, reports)."""
    for stored in store.records():
        yield json.loads(stored.record)
