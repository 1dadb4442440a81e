"""What every feed offers, the skip report, and the row checks feeds share.

A feed is anything iterable over :class:`MarketEvent` in non-decreasing time
that can fingerprint its data (for the run store's data digest) and report what
its skip policy dropped. Iterating a feed again starts from the beginning with
a fresh skip report, so a feed object can be reused for a second run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from lockstep.adapters.errors import (
    INCONSISTENT_BAR,
    NO_DATA,
    NON_MONOTONIC_TIME,
    OFF_TICK,
    ROW_KINDS,
    FeedError,
)
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.instruments import InstrumentSpec

SkipPolicy = Literal["fail", "skip"]
SKIP_POLICIES: tuple[SkipPolicy, ...] = ("fail", "skip")


@runtime_checkable
class Feed(Protocol):
    """A source of market events for the merge step."""

    @property
    def name(self) -> str:
        """Human-readable origin (a file path, ``memory:ACME``) used in messages."""
        ...

    def __iter__(self) -> Iterator[MarketEvent]: ...

    def fingerprint(self) -> str:
        """sha256 hex of the data this feed reads, for the run's data digest."""
        ...

    @property
    def skip_report(self) -> SkipReport:
        """What the last (or current) iteration skipped."""
        ...


@dataclass(slots=True)
class SkipReport:
    """Rows a ``skip`` policy dropped: a count per reason and the first line numbers.

    Nothing is dropped silently: the runtime stores this report with the run
    and the CLI prints it. ``rows`` is how many data rows the feed read, kept
    or skipped, so a reader can tell 3 bad rows out of 5 from 3 out of a
    million; it stays 0 for feeds that do not count them (custom feeds).
    """

    source: str
    keep_lines: int = 10
    counts: dict[str, int] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)
    first_messages: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def add(self, error: FeedError) -> None:
        kind = error.kind
        self.counts[kind] = self.counts.get(kind, 0) + 1
        kept = self.lines.setdefault(kind, [])
        if len(kept) < self.keep_lines and error.line is not None:
            kept.append(error.line)
        self.first_messages.setdefault(kind, str(error))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "total": self.total,
            "rows": self.rows,
            "counts": dict(sorted(self.counts.items())),
            "first_lines": {k: list(v) for k, v in sorted(self.lines.items())},
            "first_messages": dict(sorted(self.first_messages.items())),
        }

    def breakdown(self) -> str:
        """``bad_row 2 (lines 4, 9); off_tick 1 (lines 7)``: what was skipped, per reason."""
        parts = []
        for kind in sorted(self.counts):
            lines = ", ".join(str(n) for n in self.lines.get(kind, []))
            more = ", ..." if self.counts[kind] > len(self.lines.get(kind, [])) else ""
            parts.append(f"{kind} {self.counts[kind]} (lines {lines}{more})")
        return "; ".join(parts)

    def __str__(self) -> str:
        if not self.total:
            return f"{self.source}: nothing skipped"
        of = f" of {self.rows}" if self.rows else ""
        return f"{self.source}: skipped {self.total}{of} rows: {self.breakdown()}"


class WrappedFeed:
    """A feed that is another feed seen through a wrapper (counting, limiting, ...).

    Name, skip report and fingerprint are the inner feed's, so the run store
    sees no difference; subclasses override ``__iter__`` only.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: Feed) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def skip_report(self) -> SkipReport:
        return self._inner.skip_report

    def fingerprint(self) -> str:
        return self._inner.fingerprint()

    def __iter__(self) -> Iterator[MarketEvent]:
        return iter(self._inner)


def refuse_no_bars(report: SkipReport, instrument: InstrumentSpec, nothing: str) -> None:
    """Fail a one-instrument feed that ended without a bar; call it when the rows run out.

    An instrument without bars cannot be traded, so a backtest over it would
    report a flat result that only looks valid. ``nothing`` says how the
    source was empty in its own terms ("the file has a header but no data
    rows"). A source whose every row was skipped is refused the same way,
    whatever the skipped-row limit allows.
    """
    if report.rows and report.total < report.rows:
        return
    if not report.rows:
        reason = nothing
    else:
        reason = f"all {report.rows} data rows were skipped as malformed ({report.breakdown()})"
    raise FeedError(
        f"instrument {instrument.id}",
        f"{reason}; every instrument needs at least one bar",
        source=report.source,
        kind=NO_DATA,
    )


def check_policy(policy: str) -> SkipPolicy:
    if policy == "fail":
        return "fail"
    if policy == "skip":
        return "skip"
    raise ValueError(f"skip_policy must be one of {list(SKIP_POLICIES)}, got {policy!r}")


class BarChecker:
    """The row checks every bar feed applies after parsing: tick grid, OHLC shape, time order.

    Time must strictly increase within one bar feed: two bars of one instrument
    stamped alike are a data error, not a tie for the sequencer to break.
    """

    __slots__ = ("_last_time", "instrument", "source")

    def __init__(self, source: str, instrument: InstrumentSpec) -> None:
        self.source = source
        self.instrument = instrument
        self._last_time: int | None = None

    def check(
        self,
        line: int | None,
        event_time: int,
        prices: dict[str, int],
        columns: dict[str, str],
    ) -> None:
        """Raise :class:`FeedError` for the first problem; remember the time only if all pass."""
        tick = self.instrument.tick_size
        for key in ("open", "high", "low", "close"):
            if prices[key] % tick:
                raise FeedError.at(
                    self.source,
                    line,
                    columns[key],
                    OFF_TICK,
                    f"price {self.instrument.price_decimal(prices[key])} is not a multiple of "
                    f"the tick size {self.instrument.price_decimal(tick)} of {self.instrument.id}",
                )
        o, h, lo, c = prices["open"], prices["high"], prices["low"], prices["close"]
        if not (lo <= o <= h and lo <= c <= h):
            bad = "high" if h < max(o, c, lo) else "low"
            raise FeedError.at(
                self.source,
                line,
                columns[bad],
                INCONSISTENT_BAR,
                "bar is inconsistent: need low <= open, close <= high "
                f"(open={o} high={h} low={lo} close={c} in price units)",
            )
        if self._last_time is not None and event_time <= self._last_time:
            raise FeedError.at(
                self.source,
                line,
                columns["time"],
                NON_MONOTONIC_TIME,
                f"time {event_time} ns is not after the previous row's {self._last_time} ns",
            )
        self._last_time = event_time


def is_row_error(error: FeedError) -> bool:
    """Whether a skip policy may drop the row instead of failing."""
    return error.kind in ROW_KINDS
