"""Blocks: many input items through a core in one call, until the strategy must run.

Both backends offer ``step_block``. For the Python core it is a loop over
``step``; for the native core it is *one* crossing of the Python/Rust boundary
per block, however many items the block holds. A backtest hands the core a
block of market data with a :class:`WakeSpec`; the core stops right after the
first item whose records would wake the strategy, so the number of crossings
is the number of strategy wake-ups, not the number of events.

Results carry the records both ways a caller may want them: as dicts
(``records()``) and as the canonical trace lines the run store keeps
(``lines()``). Each backend produces one form natively and derives the other
lazily, so a replay that only compares lines never parses a record.

Replay goes one step further: given an :class:`Expected` stored trace, the
core compares each record with it and keeps only what does not match, so a
verified record never crosses the boundary at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.errors import InputError, LockstepError

Item = Mapping[str, Any]


def _never(seq_id: int) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class WakeSpec:
    """What wakes a strategy, in the core's terms (mirrors ``lockstep_core::WakeFilter``).

    ``instruments``/``timers`` of ``None`` mean all. ``fills``/``transitions``
    wake on any fill or order transition; ``transitions`` also wakes on a
    rejected intent in a batch of ``strategy_id``. With ``signals`` a bar wakes
    only when it fired one of the core's declared signals
    (``docs/reference/signals.md``); ``fired`` tells which bars did.
    """

    event_types: frozenset[str]
    instruments: tuple[str, ...] | None = None
    timers: tuple[str, ...] | None = None
    fills: bool = False
    transitions: bool = False
    strategy_id: str | None = None
    signals: bool = False

    def wakes(self, record: Mapping[str, Any], fired: Callable[[int], bool] = _never) -> bool:
        if self.fills and record["fills"]:
            return True
        if self.transitions and record["transitions"]:
            return True
        item = record["input"]
        if item["kind"] == "intent_batch":
            return (
                self.transitions
                and item["strategy_id"] == self.strategy_id
                and any(o["outcome"] == "rejected" for o in record["intent_outcomes"])
            )
        if item["source"] == "broker_report" or item["event_type"] not in self.event_types:
            return False
        if item["source"] == "timer":
            return self.timers is None or item["payload"]["timer_id"] in self.timers
        if self.signals and item["event_type"] == "bar" and not fired(record["seq_id"]):
            return False
        instrument = item["instrument"]
        return instrument is None or self.instruments is None or instrument in self.instruments

    def to_native(self) -> dict[str, Any]:
        return {
            "event_types": sorted(self.event_types),
            "instruments": None if self.instruments is None else list(self.instruments),
            "timers": None if self.timers is None else list(self.timers),
            "fills": self.fills,
            "transitions": self.transitions,
            "strategy_id": self.strategy_id,
            "signals": self.signals,
        }


@dataclass(frozen=True, slots=True)
class Expected:
    """A stored trace to check a block's records against (mirrors ``lockstep_core::Expected``).

    ``lines`` holds canonical record lines and ``keys`` one
    ``seq_id origin hash prev_hash`` line per record (the run store's key
    columns), each line ending in ``\\n``; ``start`` is where to begin in each.
    A record matches when both its line and its keys are the next ones.
    """

    lines: bytes
    keys: bytes
    start: tuple[int, int] = (0, 0)


def record_keys(record: Mapping[str, Any]) -> str:
    """The key line of a record as :class:`Expected` holds it."""
    return f"{record['seq_id']} {record['origin']} {record['hash']} {record['prev_hash']}"


class _TraceCursor:
    """Walks an :class:`Expected` trace the way the native core does."""

    def __init__(self, expected: Expected) -> None:
        self.lines = expected.lines
        self.keys = expected.keys
        self.at = expected.start

    def empty(self) -> bool:
        return self.at[0] >= len(self.lines)

    def take(self, line: bytes, keys: bytes) -> bool:
        """Whether ``line``/``keys`` are next; on a match, move past them."""
        at_line, at_keys = self.at
        end_line = at_line + len(line)
        end_keys = at_keys + len(keys)
        if not (
            self.lines.startswith(line + b"\n", at_line)
            and self.keys.startswith(keys + b"\n", at_keys)
        ):
            return False
        self.at = (end_line + 1, end_keys + 1)
        return True


@dataclass(slots=True)
class BlockResult:
    """What one ``step_block`` call did; see the module docstring.

    ``error`` is the refusal of item ``consumed`` (the items before it are
    committed), or ``None``. ``state_hashes`` maps each requested seq_id that an
    item's records ended on to the state hash at that point.

    With an :class:`Expected` trace, ``records()``/``lines()`` hold only the
    records not found equal to it (``verified`` counts those that were):
    when ``diverged``, the first of them is the record that differs and the
    block stopped after its item; otherwise they are the records beyond the
    end of the given trace. ``expect_end`` is where the next record would be
    looked for in the trace's lines and keys.
    """

    consumed: int
    counts: list[int]
    woke: bool
    error: LockstepError | None
    state_hashes: dict[int, str] = field(default_factory=dict)
    verified: int = 0
    expect_end: tuple[int, int] = (0, 0)
    diverged: bool = False
    _records: list[dict[str, Any]] | None = None
    _lines: list[str] | None = None
    _item_lines: list[str] | None = None

    def records(self) -> list[dict[str, Any]]:
        if self._records is None:
            assert self._lines is not None
            # One parser call per block, not per record: the lines are JSON objects.
            self._records = json.loads("[" + ",".join(self._lines) + "]")
        return self._records

    def record_lines(self) -> list[str] | None:
        """The records' canonical lines when the core wrote them as text (the native
        core), so a caller may read some without parsing them all; ``None`` otherwise."""
        return self._lines if self._records is None else None

    def lines(self) -> list[str]:
        if self._lines is None:
            assert self._records is not None
            self._lines = [canonical_json_unchecked(r).decode() for r in self._records]
        return self._lines

    def per_item(self) -> list[list[dict[str, Any]]]:
        """The records grouped by the committed item that produced them (not with an expected trace)."""
        out: list[list[dict[str, Any]]] = []
        records = self.records()
        start = 0
        for count in self.counts:
            out.append(records[start : start + count])
            start += count
        return out

    def per_item_lines(self) -> list[tuple[str, list[str]]] | None:
        """Each committed item's canonical line with its records' lines, when the core
        produced both as text (the native core); ``None`` when it did not.

        The run store keeps exactly these lines, so a caller that has them
        stores them as they are instead of encoding the dicts again.
        """
        if self._lines is None or self._item_lines is None:
            return None
        out: list[tuple[str, list[str]]] = []
        start = 0
        for item_line, count in zip(self._item_lines, self.counts, strict=True):
            out.append((item_line, self._lines[start : start + count]))
            start += count
        return out

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def parse_line(line: bytes) -> Item:
    """One JSON-lines item, read as the native core reads it (NaN/Infinity reach the checks)."""
    try:
        item = json.loads(line)
    except ValueError as err:
        raise InputError("$", f"not valid JSON: {err}") from None
    if not isinstance(item, dict):
        raise InputError("$", f"expected an object, got {type(item).__name__}")
    return item


def split_lines(data: bytes) -> list[bytes]:
    """The non-blank lines of a JSON-lines block, as both cores read it."""
    return [line for line in data.split(b"\n") if line.strip()]


def run_block(
    step: Callable[[Item], list[dict[str, Any]]],
    last_seq_id: Callable[[], int],
    state_hash: Callable[[], str],
    items: Iterable[Item | bytes] | bytes,
    wake: WakeSpec | None,
    hash_at: Sequence[int],
    expect: Expected | None = None,
    fired: Callable[[int], bool] = _never,
) -> BlockResult:
    """The Python core's ``step_block``: the same contract as the native one.

    ``items`` may be JSON-lines bytes (blank lines ignored), as for the native core.
    """
    wanted = sorted(hash_at)
    result = BlockResult(0, [], False, None, _records=[])
    records = result._records
    assert records is not None
    trace = None if expect is None else _TraceCursor(expect)
    for item in split_lines(items) if isinstance(items, bytes) else items:
        try:
            produced = step(parse_line(item) if isinstance(item, bytes) else item)
        except LockstepError as err:
            result.error = err
            break
        result.consumed += 1
        result.counts.append(len(produced))
        if trace is None:
            records.extend(produced)
        else:
            _check_against(trace, produced, result)
        last = last_seq_id()
        while wanted and wanted[0] < last:
            wanted.pop(0)
        if wanted and wanted[0] == last:
            result.state_hashes[wanted.pop(0)] = state_hash()
        if wake is not None and any(wake.wakes(r, fired) for r in produced):
            result.woke = True
            break
        if trace is not None and (result.diverged or trace.empty()):
            break
    if trace is not None:
        result.expect_end = trace.at
    return result


def _check_against(
    trace: _TraceCursor, produced: list[dict[str, Any]], result: BlockResult
) -> None:
    """Count the records equal to the trace; keep the rest (from the first difference on)."""
    assert result._records is not None
    for record in produced:
        if not result.diverged and not trace.empty():
            line = canonical_json_unchecked(record)
            if trace.take(line, record_keys(record).encode()):
                result.verified += 1
                continue
            result.diverged = True
        result._records.append(record)


class ItemCursor:
    """The Python core's block cursor: resumes a block where the last run stopped."""

    def __init__(self, core: Any, items: Sequence[Item] | bytes) -> None:
        self._core = core
        self._items: Sequence[Item | bytes] = (
            split_lines(items) if isinstance(items, bytes) else items
        )
        self._next = 0

    @property
    def items(self) -> Sequence[Item | bytes]:
        """The block's items as this cursor runs them."""
        return self._items

    def run(
        self,
        wake: WakeSpec | None = None,
        hash_at: Sequence[int] = (),
        expect: Expected | None = None,
    ) -> BlockResult:
        core = self._core
        result = run_block(
            core.step,
            lambda: core.last_seq_id,
            core.state_hash,
            self._items[self._next :],
            wake,
            hash_at,
            expect,
            core._signal_fired,
        )
        self._next += result.consumed
        return result
