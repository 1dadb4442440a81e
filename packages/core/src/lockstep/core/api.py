"""The one surface every core backend offers: the Python core and the native core alike.

The runtime, replay and the tools are written against :class:`LockstepCore`,
not against either class, so a backend cannot grow a method the other lacks
without mypy saying so (``lockstep.core.backend`` assigns both to it) and a
caller cannot lean on one backend's extras. The native core's own boundary is
typed by the extension's stub; this is the surface above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from lockstep.core.bars import BarBlock
from lockstep.core.block import BlockResult, Expected, WakeSpec
from lockstep.core.coresetup import CoreSetup


class BlockCursor(Protocol):
    """A block opened on a core; each run goes to the block's end, a refusal or a wake-up."""

    def run(self, wake: WakeSpec | None = None, hash_at: Sequence[int] = ()) -> BlockResult: ...


class ItemBlockCursor(Protocol):
    """A block of input items; a run may also check its records against a stored trace."""

    def run(
        self,
        wake: WakeSpec | None = None,
        hash_at: Sequence[int] = (),
        expect: Expected | None = None,
    ) -> BlockResult: ...


class LockstepCore(Protocol):
    """A deterministic core: one timeline, one state, one trace (see ``lockstep.core.Core``)."""

    @property
    def backend(self) -> str: ...
    @property
    def setup(self) -> CoreSetup: ...
    @property
    def last_seq_id(self) -> int: ...
    @property
    def clock(self) -> int: ...
    @property
    def last_hash(self) -> str: ...

    def step(self, item: Mapping[str, Any]) -> list[dict[str, Any]]: ...
    def apply(self, item: Mapping[str, Any]) -> dict[str, Any]: ...
    def apply_many(self, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]: ...
    def step_block(
        self,
        items: Sequence[Mapping[str, Any]] | bytes,
        *,
        wake: WakeSpec | None = None,
        hash_at: Sequence[int] = (),
        expect: Expected | None = None,
    ) -> BlockResult: ...
    def open_block(
        self, items: Sequence[Mapping[str, Any]] | bytes, *, item_lines: bool = False
    ) -> ItemBlockCursor: ...
    def open_bars(self, block: BarBlock, *, item_lines: bool = False) -> BlockCursor: ...

    def declare_signals(self, spec: Mapping[str, Any]) -> None: ...
    def take_signals(self) -> list[dict[str, Any]]: ...
    def signal_values(self, instrument: str) -> dict[str, int | None]: ...

    def snapshot(self) -> dict[str, Any]: ...
    def state_hash(self) -> str: ...
    def checkpoint(self) -> tuple[bytes, str]: ...
    def restore(self, snapshot: Mapping[str, Any]) -> None: ...
    def order_states(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...
    def open_order_states(self) -> dict[str, dict[str, Any]]: ...
