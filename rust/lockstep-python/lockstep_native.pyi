"""Types of `lockstep_native`, the PyO3 module built from `src/lib.rs`.

The boundary is deliberately coarse and text based: JSON text or JSON-lines
bytes go in, canonical JSON text and canonical record lines come out, and
every call is one crossing per block, setup or checkpoint, never per item
(ADR 0002, ADR 0011). Results come back as positional tuples, which
`lockstep.core.native` turns into the Python core's types; this stub pins
their shapes. `python -m mypy.stubtest lockstep_native` (the native lane)
checks it against the built module.
"""

from collections.abc import Sequence
from typing import Final, Literal, NotRequired, Self, TypeAlias, TypedDict, final

__all__ = ["BOUNDARY", "NativeCore", "NativeError", "__version__"]

__version__: Final[str]
"""The crate version (`lockstep-python`, the workspace version)."""

BOUNDARY: Final = "block"
"""The boundary protocol; `lockstep.core.backend` refuses a module naming another."""

_BlockErrorKind: TypeAlias = Literal[
    "InputError", "SequenceError", "InvariantViolation", "CoreFailed"
]
_ErrorKind: TypeAlias = _BlockErrorKind | Literal["SetupError"]

_BlockError: TypeAlias = tuple[int, _BlockErrorKind, str, str]
"""`(index, kind, path, reason)`: the item of the block the core refused, and why."""

_BlockResult: TypeAlias = tuple[
    int,  # consumed: items committed
    int,  # end: byte offset in `data` to resume from
    list[int],  # counts: records per committed item
    bytes,  # record_lines: canonical lines, each ending in b"\n" (with expect: unmatched only)
    list[tuple[int, str]],  # state_hashes: (seq_id, state hash) per reached `hash_at` entry
    bool,  # woke: the run stopped because `wake` matched
    _BlockError | None,  # error
    list[str],  # warnings: warn-mode invariant messages
    int,  # verified: records found equal to `expect`
    tuple[int, int],  # expect_end: absolute byte offsets reached in expect's lines, keys
    bool,  # diverged: a record differed from `expect`
]
_BarsResult: TypeAlias = tuple[
    int,  # consumed: items committed
    int,  # end_row: row to resume at
    list[int],  # counts: records per committed item
    bytes,  # record_lines
    list[tuple[int, str]],  # state_hashes
    bool,  # woke
    _BlockError | None,  # error
    list[str],  # warnings
    bytes | None,  # item_lines: committed items' canonical lines (with item_lines=True)
]

_Bytes: TypeAlias = bytes | bytearray
"""What a `PyBackedBytes` argument takes: `bytes` is borrowed, `bytearray` copied."""

class _WakeFilter(TypedDict):
    """`lockstep.core.block.WakeSpec.to_native()`: read key by key (`from_item_all`)."""

    event_types: Sequence[str]
    instruments: Sequence[str] | None
    timers: Sequence[str] | None
    fills: bool
    transitions: bool
    strategy_id: str | None
    signals: NotRequired[bool]
    """Absent (a caller from before signals): no signal gating."""

class NativeError(Exception):
    """A refusal from the native core.

    Raised only with `args == (kind, path, reason)`; `kind` names the
    `lockstep.core.errors` type the wrapper re-raises, so paths and reasons
    are those the Python core gives.
    """

    args: tuple[_ErrorKind, str, str]

@final
class NativeCore:
    """One core owned by Python. Every method call is one crossing.

    Methods take and return JSON text (`str`) or JSON lines (`bytes`), never
    object trees; blocks run with the interpreter released.
    """

    def __new__(cls, setup_json: str) -> Self:
        """Build a core from the setup as JSON text (`SetupError` on refusal)."""

    def step_block(
        self,
        data: _Bytes,
        wake: _WakeFilter | None = None,
        hash_at: Sequence[int] = ...,
        start: int = 0,
        expect: tuple[_Bytes, _Bytes, int, int] | None = None,
    ) -> _BlockResult:
        """Run the JSON lines of `data` from byte `start` in one crossing.

        It stops after an item that matches `wake`, at a refused item (its
        error is in the result, the items before it are committed) or at the
        end. `expect` is `(lines, keys, lines_start, keys_start)`, a stored
        trace the records are checked against. `InputError` when a start lies
        beyond its bytes.
        """

    def step_bars(
        self,
        data: _Bytes,
        rows: int,
        sources: Sequence[tuple[str, str]],
        wake: _WakeFilter | None = None,
        hash_at: Sequence[int] = ...,
        start_row: int = 0,
        item_lines: bool = False,
    ) -> _BarsResult:
        """Run `BarBlock.data` (packed int64 columns, `rows` rows) from `start_row` on.

        `sources` are the block's `(venue, instrument)` pairs. Gives what
        `step_block` gives for the same bars as JSON lines.
        """

    def snapshot_json(self) -> str:
        """The checkpoint as canonical JSON text."""

    def checkpoint_json(self) -> tuple[str, str]:
        """`(snapshot as canonical JSON text, state hash)` in one crossing."""

    def order_states_json(self, order_ids: Sequence[str]) -> str:
        """The named orders (unknown ids left out) as canonical JSON `{id: order}`."""

    def open_order_states_json(self) -> str:
        """Every order not in a terminal state as canonical JSON `{id: order}`."""

    def restore_json(self, snapshot_json: str) -> None:
        """Load a checkpoint given as JSON text; refused whole, core unchanged."""

    def state_hash(self) -> str:
        """The state hash, as the Python core's `state_hash()`."""

    def apply_json(self, item_json: str) -> tuple[str, list[str]]:
        """Commit one item (JSON text): `(its record's canonical line, warnings)`."""

    def position(self) -> tuple[int, int, str]:
        """`(last_seq_id, clock, last_hash)` in one crossing."""

    def declare_signals(self, spec_json: str) -> None:
        """Take a signal declaration given as JSON text (`SetupError` on refusal)."""

    def take_signals(self) -> str:
        """The firings since the previous call as a canonical JSON array."""

    def signal_values(self, instrument: str) -> str:
        """The instrument's indicator values as a canonical JSON object."""

    @property
    def crossings(self) -> int:
        """Calls into this core so far, construction included (reading this is not one)."""
