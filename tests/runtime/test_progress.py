"""The progress bar: when it is on, how rarely it redraws, and that it never changes a run."""

from __future__ import annotations

import io
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.adapters import InstrumentSpec, MemoryFeed, load_dataset, setup_for
from lockstep.runtime import run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.extensions import FeedsDataset
from lockstep.runtime.progress import (
    CHUNK,
    CountingFeed,
    Progress,
    RichRenderer,
    TextRenderer,
    expected_events,
    progress_enabled,
)


class Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.updates: list[tuple[int, int | None]] = []
        self.closed = False

    def update(self, done: int, total: int | None) -> None:
        self.updates.append((done, total))

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("choice", "out", "err", "term", "expected"),
    [
        (None, True, True, "xterm", True),
        (None, False, True, "xterm", False),  # stdout piped or redirected
        (None, True, False, "xterm", False),
        (None, True, True, "dumb", False),
        (False, True, True, "xterm", False),  # --no-progress
        (True, False, False, "dumb", True),  # --progress
    ],
)
def test_when_the_bar_is_on(
    choice: bool | None, out: bool, err: bool, term: str, expected: bool
) -> None:
    assert (
        progress_enabled(choice, stdout=Tty(out), stderr=Tty(err), env={"TERM": term}) is expected
    )


def test_nothing_is_drawn_for_short_runs() -> None:
    clock, recorder = FakeClock(), Recorder()
    progress = Progress(10_000, clock=clock, renderer=lambda: recorder)
    for _ in range(40):
        clock.now += 0.01  # 0.4 s in all: under the half second
        progress.advance(CHUNK)
    progress.close()
    assert recorder.updates == [] and not recorder.closed and progress.done == 40 * CHUNK


@given(st.lists(st.floats(min_value=0, max_value=0.05), min_size=1, max_size=400))
def test_redraws_at_most_ten_times_a_second(steps: list[float]) -> None:
    clock, recorder = FakeClock(), Recorder()
    progress = Progress(None, clock=clock, renderer=lambda: recorder)
    for step in steps:
        clock.now += step
        progress.advance(CHUNK)
    elapsed = clock.now
    assert progress.redraws == len(recorder.updates)
    assert progress.redraws <= max(0.0, elapsed - 0.5) / 0.1 + 1
    dones = [done for done, _ in recorder.updates]
    assert dones == sorted(dones) and all(d <= progress.done for d in dones)


def test_counting_feed_is_transparent_and_reports_in_chunks() -> None:
    spec = InstrumentSpec("TST", "sim", "USD", price_precision=2, size_precision=0)
    rows = [(n + 1, "1.00", "1.00", "1.00", "1.00", "1") for n in range(CHUNK * 2 + 5)]
    inner = MemoryFeed.from_bars(spec, rows, name="mem")
    calls: list[int] = []

    class Spy(Progress):
        def advance(self, count: int) -> None:
            calls.append(count)
            super().advance(count)

    feed = CountingFeed(inner, Spy(len(rows)))
    assert list(feed) == list(inner)
    assert calls == [CHUNK, CHUNK, 5]
    assert feed.name == "mem" and feed.fingerprint() == inner.fingerprint()
    assert feed.skip_report is inner.skip_report


def test_a_run_with_the_bar_is_the_same_run() -> None:
    ds = load_dataset("minute")
    setup = setup_for(ds)
    recorder = Recorder()
    clock = FakeClock()

    def tick() -> float:
        clock.now += 0.2  # every chunk "takes" 0.2 s, so the bar shows and redraws
        return clock.now

    progress = Progress(expected_events(ds), clock=tick, renderer=lambda: recorder)
    attached = progress.attach(ds)
    assert isinstance(attached, FeedsDataset) and attached.name == ds.name
    with_bar = run_backtest(SmaCross(), attached, setup)
    progress.close()
    plain = run_backtest(SmaCross(), ds, setup)
    assert (with_bar.final_state_hash, with_bar.data_digest, with_bar.data) == (
        plain.final_state_hash,
        plain.data_digest,
        plain.data,
    )
    assert progress.done == expected_events(ds) == 2340
    assert recorder.updates and recorder.updates[-1][1] == 2340 and recorder.closed


def test_text_renderer_overwrites_one_line() -> None:
    stream = io.StringIO()
    renderer = TextRenderer(stream, "run")
    renderer.update(512, 2048)
    renderer.update(1024, None)
    renderer.close()
    text = stream.getvalue()
    assert "\rrun: 512 / 2,048 events (25 %)" in text and "\rrun: 1,024 events" in text
    assert text.endswith("\r") and "\n" not in text


def test_rich_renderer_draws_on_the_given_stream() -> None:
    stream = Tty(True)
    renderer = RichRenderer(stream, "sma_cross", 100)
    assert stream.getvalue() == ""  # nothing before the first real count
    renderer.update(40, 100)
    renderer.close()
    assert "40/100" in stream.getvalue()


def test_without_rich_the_text_counter_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress(10, stream=stream, clock=clock)
    clock.now = 1.0
    progress.advance(4)
    progress.close()
    assert "events (40 %)" in stream.getvalue()
