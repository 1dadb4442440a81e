"""The ``rust`` backend: the Python face of the ``lockstep_native`` extension.

:class:`NativeCore` has the public surface of :class:`lockstep.core.Core`
(``step``, ``apply``, ``apply_many``, ``step_block``, ``snapshot``,
``checkpoint``, ``order_states``, ``open_order_states``, ``restore``, ``state_hash``,
``declare_signals``, ``take_signals``, ``signal_values``, ``last_seq_id``, ``clock``,
``last_hash``) and
raises the same exception types with the same paths. Items cross the boundary
as one JSON-lines blob per call and records come back as canonical JSON lines
(ADR 0011 explains the encoding and its measurement); market bars may cross
as packed int64 columns instead (:meth:`NativeCore.open_bars`, ADR 0017). No
call is made per item inside a block. ``crossings`` counts calls into the
extension, so benchmarks can report them.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from lockstep.core.bars import BarBlock
from lockstep.core.block import BlockResult, Expected, WakeSpec
from lockstep.core.coresetup import CoreSetup
from lockstep.core.errors import (
    CoreFailed,
    InputError,
    InvariantViolation,
    LockstepError,
    SequenceError,
    SetupError,
)
from lockstep.core.items import parse_input
from lockstep.core.orders import sorted_order_ids
from lockstep.core.signals import parse_declaration

if TYPE_CHECKING:
    # The extension's own stub (rust/lockstep-python/lockstep_native.pyi, shipped in its
    # wheel) types the boundary where the extension is installed; without it (the
    # Python-only lane) the import is missing and every native value is Any, as before.
    import lockstep_native  # type: ignore[import-not-found, unused-ignore]

_R = TypeVar("_R")
_Ts = TypeVarTuple("_Ts")

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True)
_CANONICAL_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
)
"""Sorted keys: a committed item's block line is then its canonical JSON (it holds no
float or NaN, or the core would have refused it), which a run store keeps as it is.
Sorting costs about a quarter of the encoding, so only callers that keep lines ask."""


def encode_items(items: Iterable[Mapping[str, Any]]) -> bytes:
    """Items as JSON lines: the block encoding the native core reads.

    ``json`` never writes a raw newline inside a value, so one item is one line.
    """
    return "".join(_ENCODER.encode(item) + "\n" for item in items).encode()


def encode_prefix(
    items: Iterable[Mapping[str, Any]], *, canonical: bool = False
) -> tuple[bytes, LockstepError | None]:
    """The items up to the first one JSON lines cannot carry faithfully, and that one's refusal.

    ``canonical`` sorts keys, so each committed item's line is its canonical JSON.

    Such an item holds a value JSON has no form for (NaN is fine: the core
    names it) or, in an intent, an object with non-string keys, which the
    encoder would quietly turn into strings. The Python core commits the items
    before it and refuses it with the error its own validation gives, so the
    native cursor does the same: it runs the prefix, then reports the refusal.
    """
    lines: list[str] = []
    encode = (_CANONICAL_ENCODER if canonical else _ENCODER).encode
    for item in items:
        try:
            if isinstance(item, Mapping) and item.get("kind") == "intent_batch":
                _require_string_keys(item.get("intents"))
            lines.append(encode(item) + "\n")
        except (TypeError, ValueError) as err:
            return "".join(lines).encode(), _refusal(item, err)
    return "".join(lines).encode(), None


def _require_string_keys(value: object) -> None:
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("object keys must be strings")
        for child in value.values():
            _require_string_keys(child)
    elif isinstance(value, list | tuple):
        for child in value:
            _require_string_keys(child)


def _refusal(item: Mapping[str, Any], err: Exception) -> LockstepError:
    """The Python core's refusal of an item the native core cannot be handed."""
    try:
        parse_input(item)
    except LockstepError as refused:
        return refused
    return InputError("$", f"item is not JSON: {err}")


def error_from_native(kind: str, path: str, reason: str) -> LockstepError:
    """The Python core's exception for a native refusal ``(kind, path, reason)``."""
    if kind == "InputError":
        return InputError(path, reason)
    if kind == "SequenceError":
        return SequenceError(path, reason)
    if kind == "SetupError":
        return SetupError(path, reason)
    if kind == "InvariantViolation":
        return InvariantViolation(reason)
    if kind == "CoreFailed":
        return CoreFailed(reason)
    return LockstepError(f"native core error {kind} at {path}: {reason}")


def _declaration_text(spec: object) -> str | None:
    """``spec`` as JSON text, or ``None`` when JSON would not carry it faithfully.

    ``json`` turns tuples into arrays and non-string keys into strings, and
    has no form for NaN or arbitrary objects; the Python core would judge the
    value as it is, so such a declaration is not handed over changed.
    """
    if not _plain_json(spec):
        return None
    return json.dumps(spec, allow_nan=False, default=dict)  # default: other Mappings


def _plain_json(value: object) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    return False


def _declaration_refusal(spec: Mapping[str, Any], setup: CoreSetup) -> LockstepError:
    """The Python core's refusal of a declaration the native core cannot be handed."""
    try:
        parse_declaration(spec, setup)
    except LockstepError as refused:
        return refused
    return SetupError("$", "must be JSON: objects, arrays, strings, numbers, booleans and null")


class NativeCore:
    """A core running in the Rust extension. Build it with ``build_core(..., backend="rust")``."""

    backend = "rust"

    def __init__(self, setup: CoreSetup, module: Any) -> None:
        self.setup = setup
        self._module = module
        self._native: lockstep_native.NativeCore = self._call(
            module.NativeCore, json.dumps(setup.raw)
        )

    # -- public surface (as lockstep.core.Core) -------------------------------------------

    def step(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Commit one input item (or event group) and return every record it produced."""
        result = self.open_block([item]).run()
        result.raise_error()
        return result.records()

    def apply(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Commit one event envelope or intent batch and return its own trace record."""
        line, messages = self._call(self._native.apply_json, self._encode_one(item).decode())
        self._warn(messages)
        record: dict[str, Any] = json.loads(line)
        return record

    def apply_many(self, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Commit items in order in one crossing; the result lists every record."""
        result = self.step_block(items)
        result.raise_error()
        return result.records()

    def step_block(
        self,
        items: Iterable[Mapping[str, Any]] | bytes,
        *,
        wake: WakeSpec | None = None,
        hash_at: Sequence[int] = (),
        expect: Expected | None = None,
    ) -> BlockResult:
        """See :mod:`lockstep.core.block`. ``items`` may already be JSON-lines bytes."""
        return self.open_block(items).run(wake, hash_at, expect)

    def open_block(
        self, items: Iterable[Mapping[str, Any]] | bytes, *, item_lines: bool = False
    ) -> NativeCursor:
        """A cursor over ``items``, encoded once; each run is one crossing.

        ``item_lines``: encode canonically and hand back each run's committed
        items' lines (``BlockResult.per_item_lines()``), for a run store.
        """
        if isinstance(items, bytes):
            return NativeCursor(self, items)
        data, refusal = encode_prefix(items, canonical=item_lines)
        return NativeCursor(self, data, refusal, lines=item_lines)

    def open_bars(self, block: BarBlock, *, item_lines: bool = False) -> NativeBarCursor:
        """A cursor over a :class:`BarBlock`; each run is one crossing.

        The columns cross as they are: no envelope is built and nothing is
        encoded, yet every run gives what ``open_block(block.items())`` gives
        (records, errors, wake-ups). ``item_lines``: hand back each run's
        committed items' canonical lines (``BlockResult.per_item_lines()``).
        """
        return NativeBarCursor(self, block, lines=item_lines)

    # -- signals (docs/reference/signals.md) --------------------------------------------------

    def declare_signals(self, spec: Mapping[str, Any]) -> None:
        """Take a signal declaration (refused whole, as a ``SetupError``, if it breaks a rule).

        From the next committed bar on, its indicators follow every bar of its
        instruments and a wake filter with ``signals`` set wakes on a bar only
        when one of its conditions holds.
        """
        text = _declaration_text(spec)
        if text is None:
            raise _declaration_refusal(spec, self.setup)
        self._call(self._native.declare_signals, text)

    def take_signals(self) -> list[dict[str, Any]]:
        """The firings since the previous call, in commit order."""
        firings: list[dict[str, Any]] = json.loads(self._call(self._native.take_signals))
        return firings

    def signal_values(self, instrument: str) -> dict[str, int | None]:
        """``instrument``'s indicator values after its latest bar (``None``: not yet defined)."""
        values: dict[str, int | None] = json.loads(
            self._call(self._native.signal_values, instrument)
        )
        return values

    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = json.loads(self._call(self._native.snapshot_json))
        return snapshot

    def state_hash(self) -> str:
        digest: str = self._call(self._native.state_hash)
        return digest

    def checkpoint(self) -> tuple[bytes, str]:
        """As :meth:`lockstep.core.Core.checkpoint`, in one crossing (no JSON tree on either side)."""
        text, state_hash = self._call(self._native.checkpoint_json)
        return text.encode(), state_hash

    def order_states(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """As :meth:`lockstep.core.Core.order_states`, in one crossing."""
        ids = sorted_order_ids(order_ids)
        states: dict[str, dict[str, Any]] = json.loads(
            self._call(self._native.order_states_json, ids)
        )
        return states

    def open_order_states(self) -> dict[str, dict[str, Any]]:
        """As :meth:`lockstep.core.Core.open_order_states`, in one crossing."""
        states: dict[str, dict[str, Any]] = json.loads(
            self._call(self._native.open_order_states_json)
        )
        return states

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Load a checkpoint; refused whole (core unchanged) when it is not a valid state."""
        try:
            text = json.dumps(snapshot, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InputError("$", f"checkpoint is not a valid state: {err}") from None
        self._call(self._native.restore_json, text)

    @property
    def last_seq_id(self) -> int:
        seq_id: int = self._call(self._native.position)[0]
        return seq_id

    @property
    def clock(self) -> int:
        clock: int = self._call(self._native.position)[1]
        return clock

    @property
    def last_hash(self) -> str:
        last: str = self._call(self._native.position)[2]
        return last

    @property
    def crossings(self) -> int:
        """Calls into the extension so far (reading this counter is not one)."""
        count: int = self._native.crossings
        return count

    # -- the boundary ---------------------------------------------------------------------

    def _encode_one(self, item: Mapping[str, Any]) -> bytes:
        data, refusal = encode_prefix([item])
        if refusal is not None:
            raise refusal
        return data

    def _block(
        self,
        data: bytes,
        wake: WakeSpec | None,
        hash_at: Sequence[int],
        start: int = 0,
        expect: Expected | None = None,
    ) -> tuple[BlockResult, int]:
        """One crossing: run ``data`` from byte ``start``; the result and where to resume."""
        native_wake: Any = None if wake is None else wake.to_native()  # as the stub's _WakeFilter
        (
            consumed,
            end,
            counts,
            lines,
            hashes,
            woke,
            error,
            messages,
            verified,
            expect_end,
            diverged,
        ) = self._call(
            self._native.step_block,
            data,
            native_wake,
            list(hash_at),
            start,
            None if expect is None else (expect.lines, expect.keys, *expect.start),
        )
        self._warn(messages)
        result = self._result(
            consumed,
            counts,
            lines,
            hashes,
            woke,
            error,
            verified=verified,
            expect_end=expect_end,
            diverged=diverged,
        )
        return result, end

    def _bars(
        self,
        block: BarBlock,
        wake: WakeSpec | None,
        hash_at: Sequence[int],
        start_row: int,
        item_lines: bool,
    ) -> tuple[BlockResult, int]:
        """One crossing: run ``block`` from row ``start_row``; the result and the row to resume at."""
        native_wake: Any = None if wake is None else wake.to_native()  # as the stub's _WakeFilter
        consumed, end_row, counts, lines, hashes, woke, error, messages, items = self._call(
            self._native.step_bars,
            block.data,
            block.rows,
            block.sources,
            native_wake,
            list(hash_at),
            start_row,
            item_lines,
        )
        self._warn(messages)
        result = self._result(consumed, counts, lines, hashes, woke, error, item_lines=items)
        return result, end_row

    @staticmethod
    def _result(
        consumed: int,
        counts: Sequence[int],
        lines: bytes,
        hashes: Sequence[tuple[int, str]],
        woke: bool,
        error: tuple[int, str, str, str] | None,
        *,
        verified: int = 0,
        expect_end: tuple[int, int] = (0, 0),
        diverged: bool = False,
        item_lines: bytes | None = None,
    ) -> BlockResult:
        """A crossing's answer (the binding's tuple fields) as a :class:`BlockResult`."""
        return BlockResult(
            consumed,
            list(counts),
            woke,
            None if error is None else error_from_native(*error[1:]),
            dict(hashes),
            verified,
            expect_end,
            diverged,
            _lines=_split_lines(lines),
            _item_lines=None if item_lines is None else _split_lines(item_lines),
        )

    @staticmethod
    def _warn(messages: Sequence[str]) -> None:
        """Warn-mode invariant problems, as the Python core reports them."""
        for message in messages:
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _call(self, fn: Callable[[*_Ts], _R], *args: *_Ts) -> _R:
        try:
            return fn(*args)
        except self._module.NativeError as err:
            raise error_from_native(*err.args) from None


def _split_lines(data: bytes) -> list[str]:
    """The lines of ``data``, each of which ends in a newline."""
    text = data.decode()
    return text.split("\n")[:-1] if text else []


class NativeCursor:
    """A block encoded once; each :meth:`run` resumes at the byte where the last stopped.

    ``refusal`` is the error of the item after ``data`` (one that could not be
    encoded): a run that reaches the end of ``data`` reports it, as the Python
    core reports a refused item after committing the ones before it.
    """

    def __init__(
        self,
        core: NativeCore,
        data: bytes,
        refusal: LockstepError | None = None,
        *,
        lines: bool = False,
    ) -> None:
        self._core = core
        self._data = data
        self._start = 0
        self._refusal = refusal
        self._lines = lines
        """Whether ``data`` is one canonical line per item (blocks this module encoded),
        so each run can hand back the committed items' lines."""

    def run(
        self,
        wake: WakeSpec | None = None,
        hash_at: Sequence[int] = (),
        expect: Expected | None = None,
    ) -> BlockResult:
        start = self._start
        result, self._start = self._core._block(self._data, wake, hash_at, start, expect)
        if self._lines and result.consumed:
            committed = self._data[start : self._start].decode().split("\n", result.consumed)
            result._item_lines = committed[: result.consumed]
        used_up = expect is not None and result.expect_end[0] >= len(expect.lines)
        stopped = result.woke or result.diverged or result.error is not None or used_up
        if self._refusal is not None and not stopped and self._start >= len(self._data):
            result.error = self._refusal
        return result


class NativeBarCursor:
    """A :class:`BarBlock` on the native core; each :meth:`run` resumes at the row where the last stopped.

    A run stops as a :class:`NativeCursor` run does: after the item that
    woke the strategy, at a refused item (the items before it committed; the
    next run meets it again), or at the end of the block.
    """

    def __init__(self, core: NativeCore, block: BarBlock, *, lines: bool = False) -> None:
        self._core = core
        self._block = block
        self._row = 0
        self._lines = lines

    def run(self, wake: WakeSpec | None = None, hash_at: Sequence[int] = ()) -> BlockResult:
        result, self._row = self._core._bars(self._block, wake, hash_at, self._row, self._lines)
        return result
