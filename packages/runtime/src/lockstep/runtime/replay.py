"""Replay verification: re-apply a run's stored inputs to a fresh core and compare.

No strategy code runs. The core is built from the setup and backend stored in
the run's metadata (or another backend, to check parity), every stored input
is stepped in order, and each record the core produces is compared with the
stored one: same seq_id, same canonical bytes, same hash and prev_hash. Stored
checkpoints are compared with the state hash at their seq_id (and their
snapshots with those hashes, see :mod:`lockstep.runtime.snapshot_check`), and
the final state hash with the stored result. The first seq_id where anything differs is
reported; a tampered record, input or hash, and a truncated trace or input
log, all show up as a divergence there.

Then everything a user reads is checked (for a complete run): the results
derived from the trace (counts, rejections, metrics, trades, equity curve) are
recomputed from the verified records and compared value by value
(:mod:`lockstep.runtime.results_check`); the metadata and the results that the
trace cannot determine are checked against the run's seal
(:mod:`lockstep.runtime.seal`); with ``data``, the data files' digest too.
Every difference is reported with the field it is in.

A run stored with ``trace = "checkpoints"`` has no records to compare: the
core regenerates them, the checkpoints, the trace head hash and the final state
are checked, and a difference is placed at the first checkpoint it reaches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockstep.core import LockstepCore, build_core
from lockstep.core.block import BlockResult, Expected
from lockstep.runtime.data_check import data_problems
from lockstep.runtime.errors import StoreError
from lockstep.runtime.readahead import ReadAhead
from lockstep.runtime.results_check import result_problems
from lockstep.runtime.seal import run_hash, seal_problems
from lockstep.runtime.snapshot_check import first_bad_snapshot
from lockstep.runtime.store import InputBlock, RunStore, StoredRecord, TraceChunk
from lockstep.runtime.tally import Tally

REPLAY_BLOCK = 8192
"""Stored inputs replayed per ``step_block`` call."""

TRACE_CHUNK = 32768
"""Stored records handed to the core per chunk, as the trace it checks against."""


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
    problems: tuple[str, ...] = ()
    """Each field a user reads that differs from the verified trace or the seal, with how."""
    run_hash: str | None = None
    """The sealed run hash (see :mod:`lockstep.runtime.seal`), when the run has one."""
    trace: str = "full"
    data_checked: bool = False
    """Whether the data files were checked against the run's digest (``data=``)."""

    def __str__(self) -> str:
        if self.ok:
            compared = "regenerated" if self.trace == "checkpoints" else "match"
            data = ", data files match" if self.data_checked else ""
            return (
                f"{self.path}: OK - {self.inputs_checked} inputs replayed, "
                f"{self.records_checked} records {compared}, {self.checkpoints_checked} "
                f"checkpoints match, results and metadata match{data}; "
                f"final state {self.actual_state_hash} ({self.backend}); run hash {self.run_hash}"
            )
        if self.refused:
            return f"{self.path}: NOT VERIFIED - {self.reason}"
        where = f" at seq_id {self.first_divergence}" if self.first_divergence is not None else ""
        lines = [f"{self.path}: FAILED{where} - {self.reason}"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def verify_run(
    path: str | Path,
    *,
    allow_incomplete: bool = False,
    backend: str | None = None,
    data: str | Path | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify the run at ``path``; see the module docstring.

    A run whose status is not ``complete`` (killed, failed, still running) is
    refused unless ``allow_incomplete``, which then checks the committed prefix
    (and skips the final state hash, results and seal, which such a run never
    stored). ``data`` (a data set name or directory) also checks that those
    files are the ones the run read. ``on_progress(n)`` is called as each
    block of ``n`` stored inputs has been replayed.
    Raises :class:`StoreError` for a file that is not a readable run store and
    :class:`~lockstep.core.NativeBackendUnavailable` for a missing backend.
    """
    target = Path(path)
    store = RunStore.open(target)
    try:
        return _verify(store, target, allow_incomplete, backend, data, on_progress)
    finally:
        store.close()


class _Diverged(Exception):
    def __init__(self, seq_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq_id = seq_id
        self.reason = reason


def _verify(
    store: RunStore,
    path: Path,
    allow_incomplete: bool,
    backend: str | None,
    data: str | Path | None,
    on_progress: Callable[[int], None] | None,
) -> VerifyReport:
    meta = store.meta()
    status = str(meta.get("status", "unknown"))
    chosen = backend or meta.get("engine")
    expected_hash = store.result("final_state_hash")
    trace = str(meta.get("trace", "full"))

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
            "trace": trace,
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
    if "setup" not in meta:
        return report(reason="the store has no setup in its metadata")
    if trace not in ("full", "checkpoints"):
        return report(reason=f"the store's trace mode {trace!r} is unknown")
    try:
        core = build_core(meta["setup"], backend=chosen)
    except ValueError as err:  # an engine name no lockstep knows: the metadata was edited
        return report(
            reason=f"the run's engine cannot be used: {err}",
            problems=(
                f"meta.engine: {chosen!r} is not an engine name (pass --engine to replay anyway)",
            ),
        )
    compact = trace == "checkpoints"
    replay = _Replay(core, store, Tally(meta["setup"]) if compact else None, on_progress)
    # SQLite's own check of the file, then the stored snapshots, run beside
    # the replay (they read other parts of the file); a problem SQLite finds
    # outranks whatever replay saw, and the earliest divergence is reported.
    # The stored records are tallied beside it too (they are compared with the
    # replay, so once it agrees, their results are the trace's results).
    with ThreadPoolExecutor(2, thread_name_prefix="lockstep-store-check") as pool:
        checked = pool.submit(_check_store, store, not compact)
        tallied: Future[Tally] | None = None
        if not compact and status == "complete":
            tallied = pool.submit(_tally_stored, store, meta["setup"])
        try:
            replay.run()
            diverged = None
        except _Diverged as div:
            diverged = div
        except StoreError:
            if checked.result()[0] is None:
                raise
            diverged = None
        problem, bad_snapshot = checked.result()
    if problem is not None:
        return report(reason=f"SQLite integrity check failed: {problem}")
    if compact and diverged is None:
        # No stored records to place the snapshots: the replay's own hashes do.
        bad_snapshot = first_bad_snapshot(store, replay.hashes_at_checkpoints)
    if bad_snapshot is not None:
        seq, reason = bad_snapshot
        if diverged is None or diverged.seq_id is None or seq < diverged.seq_id:
            diverged = _Diverged(seq, reason)
    if diverged is not None:
        return report(
            inputs_checked=replay.inputs,
            records_checked=replay.records,
            checkpoints_checked=replay.checkpoints,
            first_divergence=diverged.seq_id,
            reason=diverged.reason,
        )
    last_seq = replay.last_seq
    actual = core.state_hash()
    done = {
        "crossings": getattr(core, "crossings", None),
        "inputs_checked": replay.inputs,
        "records_checked": replay.records,
        "checkpoints_checked": replay.checkpoints,
        "actual_state_hash": actual,
    }
    if status != "complete":
        return report(**done, ok=True)
    if expected_hash != actual:
        return report(
            **done,
            first_divergence=last_seq,
            reason=f"final state hash {actual} differs from the stored {expected_hash}",
        )
    tally = replay.tally if tallied is None else tallied.result()
    assert tally is not None
    results = store.results()
    problems: list[str] = []
    if tally.ledger.last_hash != results.get("last_hash"):
        problems.append(
            f"results.last_hash: stored {results.get('last_hash')!r}, the replayed trace "
            f"ends with {tally.ledger.last_hash!r}"
        )
    fresh = json.loads(json.dumps(tally.finish().to_results(replay.inputs)))
    problems += result_problems(results, fresh)
    problems += seal_problems(meta, results)
    if data is not None:
        problems += data_problems(meta, data)
    sealed = run_hash(results)
    if problems:
        noun = "field differs" if len(problems) == 1 else "fields differ"
        return report(
            **done,
            run_hash=sealed,
            problems=tuple(problems),
            reason=f"the trace replays, but {len(problems)} {noun} from it or from the "
            "run's seal (what users read would be wrong)",
        )
    return report(**done, ok=True, run_hash=sealed, data_checked=data is not None)


def _tally_stored(store: RunStore, setup: Mapping[str, Any]) -> Tally:
    """The stored records through a :class:`Tally` (read on a connection of its own)."""
    tally = Tally(setup)
    for text in store.record_texts():
        tally.add_text(text)
    return tally


def _check_store(store: RunStore, snapshots: bool) -> tuple[str | None, tuple[int, str] | None]:
    """SQLite's quick_check of the file, then (if sound and asked) the stored snapshots."""
    problem = store.integrity_problem()
    if problem is not None or not snapshots:
        return problem, None
    return None, first_bad_snapshot(store)


class _Replay:
    """Steps the stored inputs through a core, checking every record against the store.

    Inputs go to the core in blocks of :data:`REPLAY_BLOCK` and the stored
    trace rides along as an :class:`~lockstep.core.block.Expected` chunk of
    :data:`TRACE_CHUNK` records, so the core compares records where it makes
    them and returns only the ones that differ (or lie past the chunk's end).
    Both are read from SQLite a chunk ahead, in threads, while the core works.
    """

    def __init__(
        self,
        core: LockstepCore,
        store: RunStore,
        tally: Tally | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.core = core
        self.store = store
        self.tally = tally
        """Set for a store without records: every replayed record goes through it instead."""
        self.hashes_at_checkpoints: dict[int, str] = {}
        """Without stored records: the replayed record hash at each checkpoint's seq_id."""
        self.on_progress = on_progress
        self.inputs = 0
        self.records = 0
        self.checkpoints = 0
        self.last_seq = 0
        cps = store.checkpoint_hashes()
        self.hash_at = [seq for seq, _ in cps]
        self.checkpoint_seqs = frozenset(self.hash_at)
        self.pending_checkpoints = iter(cps)
        self.next_checkpoint = next(self.pending_checkpoints, None)
        self.chunks: Iterator[TraceChunk] = iter(())
        self.chunk: TraceChunk | None = None
        self.at = (0, 0)
        self.verified_in_chunk = 0

    def run(self) -> None:
        if self.tally is not None:
            self._run_compact()
            return
        with (
            ReadAhead(self.store.input_blocks(REPLAY_BLOCK)) as blocks,
            ReadAhead(self.store.trace_chunks(TRACE_CHUNK)) as chunks,
        ):
            self.chunks = chunks
            self._next_chunk()
            for block in blocks:
                self._run_block(block)
                if self.on_progress is not None:
                    self.on_progress(len(block.seqs))
            if self.chunk is not None:
                self._diverge_at_stored(
                    "the store has records the stored inputs do not produce (input log truncated?)"
                )
        if self.next_checkpoint is not None:
            raise _Diverged(self.next_checkpoint[0], "a checkpoint lies beyond the replayed trace")

    def _run_compact(self) -> None:
        """Replay a store that kept no records: tally what the core regenerates."""
        assert self.tally is not None
        with ReadAhead(self.store.input_blocks(REPLAY_BLOCK)) as blocks:
            for block in blocks:
                cursor = self.core.open_block(block.data)
                result = cursor.run(hash_at=self.hash_at)
                self.inputs += result.consumed
                records = result.records()
                self.tally.add_all(records)
                for record in records:
                    if record["seq_id"] in self.checkpoint_seqs:
                        self.hashes_at_checkpoints[record["seq_id"]] = record["hash"]
                self.records = self.tally.records
                self.last_seq = self.tally.ledger.last_seq_id
                self._check_checkpoints(result.state_hashes)
                if result.error is not None:
                    raise _Diverged(
                        self.last_seq + 1,
                        f"stored input {block.seqs[result.consumed]} is refused by the core: "
                        f"{result.error}",
                    )
                if result.consumed != len(block.seqs):
                    seq = block.seqs[result.consumed]
                    raise _Diverged(
                        self.last_seq + 1, f"stored input {seq} is blank or spans lines"
                    )
                if self.on_progress is not None:
                    self.on_progress(len(block.seqs))
        if self.next_checkpoint is not None:
            raise _Diverged(self.next_checkpoint[0], "a checkpoint lies beyond the replayed trace")

    def _run_block(self, block: InputBlock) -> None:
        cursor = self.core.open_block(block.data)
        done = 0
        while True:
            chunk = self.chunk
            expect = Expected(chunk.lines, chunk.keys, self.at) if chunk else Expected(b"", b"")
            result = cursor.run(hash_at=self.hash_at, expect=expect)
            done += result.consumed
            self.inputs += result.consumed
            self._take(result)
            if result.error is not None:
                raise _Diverged(
                    self.last_seq + 1,
                    f"stored input {block.seqs[done]} is refused by the core: {result.error}",
                )
            if chunk is None or result.expect_end[0] < len(chunk.lines):
                break
            self._next_chunk()
            self._check_unmatched(result.lines())
            self._check_checkpoints(result.state_hashes)
        if done != len(block.seqs):
            seq = block.seqs[min(done, len(block.seqs) - 1)]
            raise _Diverged(self.last_seq + 1, f"stored input {seq} is blank or spans lines")

    def _take(self, result: BlockResult) -> None:
        """Account for the records the core found equal to the stored ones."""
        self.records += result.verified
        self.verified_in_chunk += result.verified
        self.at = result.expect_end
        if result.verified:
            self.last_seq = self._seq_of_verified()
        self._check_checkpoints(result.state_hashes)
        if result.diverged or (self.chunk is None and result.lines()):
            line = result.lines()[0]
            _compare(line, self._stored_next())
            raise _Diverged(json.loads(line)["seq_id"], "stored record columns differ")

    def _seq_of_verified(self) -> int:
        """The seq_id of the last verified record: the first word of the key line before ``at``."""
        assert self.chunk is not None
        keys = self.chunk.keys
        end = self.at[1] - 1
        start = keys.rfind(b"\n", 0, end) + 1
        return int(keys[start : keys.index(b" ", start)])

    def _stored_next(self) -> StoredRecord | None:
        """The stored record the next replayed one is compared with (None past the end)."""
        if self.chunk is None:
            return None
        at_line, at_keys = self.at
        lines, keys = self.chunk.lines, self.chunk.keys
        record = lines[at_line : lines.index(b"\n", at_line)].decode()
        columns = keys[at_keys : keys.index(b"\n", at_keys)].decode().split(" ")
        if len(columns) != 4 or not columns[0].isdigit():
            raise _Diverged(self.last_seq + 1, "stored record columns are malformed")
        return StoredRecord(int(columns[0]), columns[1], record, columns[2], columns[3])

    def _check_unmatched(self, lines: list[str]) -> None:
        """Records made past the end of the last chunk: check them against the next one here."""
        for line in lines:
            stored = self._stored_next()
            self.last_seq = _compare(line, stored)
            assert self.chunk is not None
            # Equal to the replayed record, so the stored line and key line are whole: step past both.
            self.at = (
                self.chunk.lines.index(b"\n", self.at[0]) + 1,
                self.chunk.keys.index(b"\n", self.at[1]) + 1,
            )
            self.records += 1
            self.verified_in_chunk += 1
            if self.at[0] >= len(self.chunk.lines):
                self._next_chunk()

    def _next_chunk(self) -> None:
        """Move to the next stored chunk once the current one is used up exactly."""
        if self.chunk is not None and self.verified_in_chunk != self.chunk.rows:
            seq = self.store.first_record_with_line_break()
            raise _Diverged(
                self.last_seq if seq is None else seq, "a stored record spans several lines"
            )
        self.chunk = next(self.chunks, None)
        self.at = (0, 0)
        self.verified_in_chunk = 0

    def _diverge_at_stored(self, reason: str) -> None:
        stored = self._stored_next()
        raise _Diverged(stored.seq_id if stored else self.last_seq + 1, reason)

    def _check_checkpoints(self, hashes: dict[int, str]) -> None:
        while self.next_checkpoint is not None and self.next_checkpoint[0] <= self.last_seq:
            cp_seq, cp_hash = self.next_checkpoint
            replayed = hashes.get(cp_seq)
            if replayed is None:
                raise _Diverged(cp_seq, "a checkpoint sits inside a time step (store is corrupt)")
            if cp_hash != replayed:
                raise _Diverged(cp_seq, "checkpoint state hash differs from the replayed state")
            self.checkpoints += 1
            self.next_checkpoint = next(self.pending_checkpoints, None)


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
