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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.errors import InputError, LockstepError

Item = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WakeSpec:
    """What wakes a strategy, in the core's terms (mirrors ``lockstep_core::WakeFilter``).

    ``instruments``/``timers`` of ``None`` mean all. ``fills``/``transitions``
    wake on any fill or order transition; ``transitions`` also wakes on a
    rejected intent in a batch of ``strategy_id``.
    """

    event_types: frozenset[str]
    instruments: tuple[str, ...] | None = None
    timers: tuple[str, ...] | None = None
    fills: bool = False
    transitions: bool = False
    strategy_id: str | None = None

    def wakes(self, record: Mapping[str, Any]) -> bool:
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
        }


@dataclass(slots=True)
class BlockResult:
    """What one ``step_block`` call did; see the module docstring.

    ``error`` is the refusal of item ``consumed`` (the items before it are
    committed), or ``None``. ``state_hashes`` maps each requested seq_id that an
    item's records ended on to the state hash at that point.
    """

    consumed: int
    counts: list[int]
    woke: bool
    error: LockstepError | None
    state_hashes: dict[int, str] = field(default_factory=dict)
    _records: list[dict[str, Any]] | None = None
    _lines: list[str] | None = None

    def records(self) -> list[dict[str, Any]]:
        if self._records is None:
            assert self._lines is not None
            self._records = [json.loads(line) for line in self._lines]
        return self._records

    def lines(self) -> list[str]:
        if self._lines is None:
            assert self._records is not None
            self._lines = [canonical_json_unchecked(r).decode() for r in self._records]
        return self._lines

    def per_item(self) -> list[list[dict[str, Any]]]:
        """The records grouped by the committed item that produced them."""
        out: list[list[dict[str, Any]]] = []
        records = self.records()
        start = 0
        for count in self.counts:
            out.append(records[start : start + count])
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


def run_block(
    step: Callable[[Item], list[dict[str, Any]]],
    last_seq_id: Callable[[], int],
    state_hash: Callable[[], str],
    items: Iterable[Item | bytes] | bytes,
    wake: WakeSpec | None,
    hash_at: Sequence[int],
) -> BlockResult:
    """The Python core's ``step_block``: the same contract as the native one.

    ``items`` may be JSON-lines bytes (blank lines ignored), as for the native core.
    """
    wanted = sorted(hash_at)
    result = BlockResult(0, [], False, None, _records=[])
    records = result._records
    assert records is not None
    lines = (
        [line for line in items.split(b"\n") if line.strip()] if isinstance(items, bytes) else items
    )
    for item in lines:
        try:
            produced = step(parse_line(item) if isinstance(item, bytes) else item)
        except LockstepError as err:
            result.error = err
            break
        result.consumed += 1
        result.counts.append(len(produced))
        records.extend(produced)
        last = last_seq_id()
        while wanted and wanted[0] < last:
            wanted.pop(0)
        if wanted and wanted[0] == last:
            result.state_hashes[wanted.pop(0)] = state_hash()
        if wake is not None and any(wake.wakes(r) for r in produced):
            result.woke = True
            break
    return result


class ItemCursor:
    """The Python core's block cursor: resumes a block where the last run stopped."""

    def __init__(self, core: Any, items: Sequence[Item] | bytes) -> None:
        self._core = core
        self._items: Sequence[Item | bytes] = (
            [line for line in items.split(b"\n") if line.strip()]
            if isinstance(items, bytes)
            else items
        )
        self._next = 0

    def run(self, wake: WakeSpec | None = None, hash_at: Sequence[int] = ()) -> BlockResult:
        core = self._core
        result = run_block(
            core.step,
            lambda: core.last_seq_id,
            core.state_hash,
            self._items[self._next :],
            wake,
            hash_at,
        )
        self._next += result.consumed
        return result
