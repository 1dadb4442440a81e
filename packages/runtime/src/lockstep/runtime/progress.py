"""A progress bar for long backtests that costs the loop next to nothing.

The bar counts market events as the merge pulls them from the feeds: each feed
is wrapped in a counting feed (same name, fingerprint and skip report, so the
run store sees no difference), which reports to :class:`Progress` once every
:data:`CHUNK` events. ``Progress`` reads the clock only then and redraws at most
every :data:`REFRESH_SECONDS`, so a run pays one integer increment per event
and a clock read per chunk; nothing runs in a background thread. The bar
appears only after :data:`SHOW_AFTER_SECONDS`, so short runs never flash one,
and it is drawn on standard error and removed when the run ends.

It is on only when standard output and standard error are terminals (and
``TERM`` is not ``dumb``), unless forced on or off (``--progress`` /
``--no-progress``). With the optional ``rich`` package (``pip install
'lockstep-runtime[progress]'``) it is a rich progress bar; without it, a
one-line text counter.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TextIO

from lockstep.adapters import Dataset, Feed, MarketEvent
from lockstep.adapters.feeds.base import WrappedFeed
from lockstep.runtime.extensions import FeedsDataset, with_feeds

CHUNK = 256
"""Events between two reports from a counting feed to the bar."""
REFRESH_SECONDS = 0.1
"""At most this often (about ten times a second) the bar is redrawn."""
SHOW_AFTER_SECONDS = 0.5
"""Runs shorter than this never show a bar."""


def progress_enabled(
    choice: bool | None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """``choice`` when given (``--progress``/``--no-progress``), else whether both streams are TTYs."""
    if choice is not None:
        return choice
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    environ = os.environ if env is None else env
    return _isatty(out) and _isatty(err) and environ.get("TERM") != "dumb"


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class Renderer(Protocol):
    """What draws the bar: started lazily, updated at most every REFRESH_SECONDS."""

    def update(self, done: int, total: int | None) -> None: ...

    def close(self) -> None: ...


class Progress:
    """Counts events pulled through :meth:`wrap`ped feeds and redraws a bar, throttled.

    ``clock`` and ``renderer`` are injectable so tests can drive it with a fake
    clock and count redraws.
    """

    def __init__(
        self,
        total: int | None,
        *,
        label: str = "backtest",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        renderer: Callable[[], Renderer] | None = None,
        refresh: float = REFRESH_SECONDS,
        show_after: float = SHOW_AFTER_SECONDS,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.redraws = 0
        self._stream = sys.stderr if stream is None else stream
        self._clock = clock
        self._make_renderer = renderer or self._default_renderer
        self._renderer: Renderer | None = None
        self._refresh = refresh
        self._started = clock()
        self._next = self._started + show_after

    def wrap(self, feed: Feed) -> Feed:
        return CountingFeed(feed, self)

    def attach(self, dataset: Dataset) -> FeedsDataset:
        """``dataset`` with every feed it builds wrapped in a counting feed."""
        return with_feeds(
            dataset,
            lambda skip: [self.wrap(f) for f in dataset.feeds(skip_policy=skip)],
        )

    def advance(self, count: int) -> None:
        self.done += count
        now = self._clock()
        if now >= self._next:
            self._next = now + self._refresh
            if self._renderer is None:
                self._renderer = self._make_renderer()
            self._renderer.update(self.done, self.total)
            self.redraws += 1

    def close(self) -> None:
        """Remove the bar (if it was ever shown)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _default_renderer(self) -> Renderer:
        try:
            return RichRenderer(self._stream, self.label, self.total)
        except ImportError:
            return TextRenderer(self._stream, self.label)


class CountingFeed(WrappedFeed):
    """A feed that reports how many events went through it; otherwise the inner feed itself."""

    __slots__ = ("_progress",)

    def __init__(self, inner: Feed, progress: Progress) -> None:
        super().__init__(inner)
        self._progress = progress

    def __iter__(self) -> Iterator[MarketEvent]:
        advance = self._progress.advance
        pending = 0
        for event in self._inner:
            pending += 1
            if pending == CHUNK:
                advance(pending)
                pending = 0
            yield event
        if pending:
            advance(pending)


class TextRenderer:
    """A single self-overwriting line: ``backtest: 12,800 / 40,000 events (32 %)``."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._width = 0

    def update(self, done: int, total: int | None) -> None:
        if total:
            text = f"{self._label}: {done:,} / {total:,} events ({min(done * 100 // total, 100)} %)"
        else:
            text = f"{self._label}: {done:,} events"
        self._width = max(self._width, len(text))
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()

    def close(self) -> None:
        self._stream.write("\r" + " " * self._width + "\r")
        self._stream.flush()


class RichRenderer:
    """A rich progress bar, refreshed only when :class:`Progress` says so (no refresh thread)."""

    def __init__(self, stream: TextIO, label: str, total: int | None) -> None:
        rich_progress: Any = importlib.import_module("rich.progress")
        rich_console: Any = importlib.import_module("rich.console")
        columns: Sequence[Any] = (
            rich_progress.TextColumn("{task.description}"),
            rich_progress.BarColumn(),
            rich_progress.MofNCompleteColumn(),
            rich_progress.TaskProgressColumn(),
            rich_progress.TimeElapsedColumn(),
            rich_progress.TimeRemainingColumn(),
        )
        self._bar = rich_progress.Progress(
            *columns,
            console=rich_console.Console(file=stream),
            auto_refresh=False,
            transient=True,
        )
        self._task = self._bar.add_task(label, total=total)
        self._started = False

    def update(self, done: int, total: int | None) -> None:
        self._bar.update(self._task, completed=done, total=total)
        if not self._started:  # start with the first real count, not a 0 % frame
            self._bar.start()
            self._started = True
        self._bar.refresh()

    def close(self) -> None:
        if self._started:
            self._bar.stop()


def expected_events(dataset: Dataset) -> int | None:
    """How many events the data set will yield, when that is cheap to know (else None).

    CSV data sets count their data lines; feeds with a ``row_count`` (Parquet,
    DataFrame) say it; anything else leaves the bar without a total.
    """
    if isinstance(dataset, FeedsDataset):
        feeds = dataset.feeds()
        counts = [getattr(f, "row_count", None) for f in feeds]
        if all(isinstance(c, int) for c in counts):
            return sum(c for c in counts if isinstance(c, int))
        return None
    try:
        return sum(dataset.row_counts().values())
    except OSError:
        return None
