"""The backtesting.py and NautilusTrader adapters of the peer benchmark run the spec's rules.

Each adapter is checked against an oracle written here from the spec alone
(plain Python, integer cents): on tiny hand-computed files, where the
expected numbers are worked out in the comments and a close-price fill, a
skipped first decision or an order filled from the last bar would each give
a different result; and on generated data (``peers/data.py``), where trades
and final equity must be identical to the cent.

The peers are optional packages. Where one is missing the run tests check
the reason ``available()`` gives (what the harness prints instead of a
result) rather than being skipped; hiding the package is checked on its own.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from peers import data as peer_data  # noqa: E402
from peers.engines import backtesting_py, nautilus  # noqa: E402
from peers.spec import CASH, QTY, STRATEGIES, DataSet, Scenario, Strategy  # noqa: E402


@dataclass(frozen=True)
class Peer:
    module: ModuleType
    package: str
    """The top-level import the adapter needs."""
    install: str
    """What its reason must tell a reader to install."""


PEERS = [
    Peer(backtesting_py, "backtesting", "pip install 'backtesting>=0.6'"),
    Peer(nautilus, "nautilus_trader", "pip install 'nautilus_trader==1.221.0'"),
]
IDS = [peer.module.NAME for peer in PEERS]


def runnable(peer: Peer) -> bool:
    """True when the engine can run here; else its reason must say what to install."""
    reason = peer.module.available()
    if reason is None:
        return True
    assert peer.install in reason, reason
    return False


# --------------------------------------------------------------------------- the oracle


def _cents(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _sma_signals(closes: list[int], fast: int, slow: int) -> Iterator[int]:
    """+1 / -1 / 0 per bar: the spec's crossover, averages compared exactly."""
    previous: int | None = None
    for t in range(len(closes)):
        if t < slow - 1:
            yield 0
            continue
        # fast average - slow average, times fast * slow: an exact integer.
        diff = sum(closes[t - fast + 1 : t + 1]) * slow - sum(closes[t - slow + 1 : t + 1]) * fast
        signal = 0
        if previous is not None:
            if diff > 0 and previous <= 0:
                signal = 1
            elif diff < 0 and previous >= 0:
                signal = -1
        previous = diff
        yield signal


def _rsi_signals(closes: list[int], period: int, lower: int, upper: int) -> Iterator[int]:
    """+1 / -1 / 0 per bar: the spec's Wilder RSI against the thresholds."""
    changes = [b - a for a, b in pairwise(closes)]
    gain = loss = 0.0
    for t in range(len(closes)):
        if t < period:
            yield 0
            continue
        if t == period:
            gain = sum(max(c, 0) for c in changes[:period]) / period
            loss = sum(max(-c, 0) for c in changes[:period]) / period
        else:
            change = changes[t - 1]
            gain = (gain * (period - 1) + max(change, 0)) / period
            loss = (loss * (period - 1) + max(-change, 0)) / period
        value = 100.0 if loss == 0 else 100 - 100 / (1 + gain / loss)
        yield 1 if value < lower else -1 if value > upper else 0


def oracle(strategy: Strategy, files: tuple[Path, ...]) -> tuple[int, str]:
    """``(entry fills, final equity)`` by the spec: fill at the next open, hold to the last close."""
    cash = int(CASH) * 100
    trades = 0
    for path in files:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        opens = [_cents(row["open"]) for row in rows]
        closes = [_cents(row["close"]) for row in rows]
        p = strategy.params
        signals = (
            _sma_signals(closes, p["fast"], p["slow"])
            if strategy.name == "sma"
            else _rsi_signals(closes, p["period"], p["lower"], p["upper"])
        )
        held = 0
        for t, signal in enumerate(signals):
            if t + 1 == len(rows):
                break  # an order placed on the last bar never fills
            if signal > 0 and held == 0:
                held, cash, trades = QTY, cash - QTY * opens[t + 1], trades + 1
            elif signal < 0 and held > 0:
                held, cash = 0, cash + held * opens[t + 1]
        cash += held * closes[-1]
    return trades, str((Decimal(cash) / 100).quantize(Decimal("0.01")))


# --------------------------------------------------------------------------- hand-checked data

OPENS = ["10.00", "9.90", "8.80", "8.90", "9.20", "11.50", "11.90", "10.10", "7.50"]
CLOSES = ["10.00", "9.00", "8.00", "9.00", "11.00", "12.00", "10.00", "8.00", "7.00"]
SMA_2_3 = Strategy("sma", {"fast": 2, "slow": 3})
RSI_2 = Strategy("rsi", {"period": 2, "lower": 30, "upper": 70})

HAND = [
    # SMA(2) - SMA(3) from bar 2: -0.50, -0.17, +0.67 (cross up at bar 4: buy at open 5,
    # 11.50), +0.83, 0.00 (a tie: no cross), -1.00 (cross down at bar 7, from the tie).
    # 8 bars: bar 7 is the last, its sell never fills; the 100 units are worth the last
    # close 8.00: 100,000,000 - 1,150 + 800.
    pytest.param(SMA_2_3, 8, 1, "99999650.00", id="sma-last-bar-order-never-fills"),
    # 9 bars: the sell fills at open 8 (7.50): 100,000,000 - 1,150 + 750.
    pytest.param(SMA_2_3, 9, 1, "99999600.00", id="sma-round-trip"),
    # RSI(2): bar 2 (the first RSI) is 0: buy at open 3 (8.90); bar 3 50; bar 4 83.3: sell
    # at open 5 (11.50); bars 5, 6 90 and 34.6; bar 7 15.5: a buy from the last bar never
    # fills. 100,000,000 + 100 * (11.50 - 8.90).
    pytest.param(RSI_2, 8, 1, "100000260.00", id="rsi-first-decision-and-last-bar"),
    # 9 bars: the bar-7 buy fills at open 8 (7.50) and is held at the last close 7.00.
    pytest.param(RSI_2, 9, 2, "100000210.00", id="rsi-held-to-the-end"),
]


def hand_data(directory: Path, bars: int) -> DataSet:
    lines = ["timestamp,open,high,low,close,volume"]
    for t in range(bars):
        low = min(_cents(OPENS[t]), _cents(CLOSES[t])) - 5
        high = max(_cents(OPENS[t]), _cents(CLOSES[t])) + 5
        lines.append(
            f"2024-01-02T14:{31 + t:02d}:00Z,{OPENS[t]},{high // 100}.{high % 100:02d},"
            f"{low // 100}.{low % 100:02d},{CLOSES[t]},500"
        )
    path = directory / "HAND.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return DataSet(directory=directory, instruments=("HAND",), files=(path,), bars=bars)


@pytest.mark.parametrize(("strategy", "bars", "trades", "equity"), HAND)
def test_the_oracle_matches_the_hand_computed_results(
    tmp_path: Path, strategy: Strategy, bars: int, trades: int, equity: str
) -> None:
    assert oracle(strategy, hand_data(tmp_path, bars).files) == (trades, equity)


@pytest.mark.parametrize("peer", PEERS, ids=IDS)
@pytest.mark.parametrize(("strategy", "bars", "trades", "equity"), HAND)
def test_each_peer_fills_at_the_next_open_and_keeps_the_last_position(
    tmp_path: Path, peer: Peer, strategy: Strategy, bars: int, trades: int, equity: str
) -> None:
    if not runnable(peer):
        return
    outcome = peer.module.run(strategy, Scenario("hand", 1, bars, bars), hand_data(tmp_path, bars))
    assert (outcome.trades, outcome.final_equity, outcome.bars) == (trades, equity, bars)


# --------------------------------------------------------------------------- generated data


@pytest.fixture(scope="module")
def two_by_3000(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    return peer_data.dataset(2, 3_000, cache=tmp_path_factory.mktemp("bench-data"))


@pytest.mark.parametrize("peer", PEERS, ids=IDS)
@pytest.mark.parametrize("name", ["sma", "rsi"])
def test_each_peer_agrees_with_the_oracle_to_the_cent(
    two_by_3000: DataSet, peer: Peer, name: str
) -> None:
    if not runnable(peer):
        return
    strategy = STRATEGIES[name]
    expected = oracle(strategy, two_by_3000.files)
    assert expected[0] >= 10  # enough round trips for a fill-price error to show

    outcome = peer.module.run(strategy, Scenario("1b", 2, 3_000, 3_000), two_by_3000)

    assert (outcome.trades, outcome.final_equity) == expected
    assert (outcome.engine, outcome.strategy, outcome.scenario) == (peer.module.NAME, name, "1b")
    assert outcome.bars == 6_000
    assert 0 < outcome.seconds_loop < outcome.seconds_total
    assert outcome.cpu_seconds > 0
    assert outcome.versions[peer.package]
    assert outcome.notes


def test_ten_instruments_share_one_result_in_both_peers(tmp_path: Path) -> None:
    """Scenario 1b's shape: ten books (backtesting.py) or ten instruments in one engine (Nautilus)."""
    data = peer_data.dataset(10, 400, cache=tmp_path)
    strategy = STRATEGIES["sma"]
    expected = oracle(strategy, data.files)
    assert expected[0] >= 10
    for peer in PEERS:
        if runnable(peer):
            outcome = peer.module.run(strategy, Scenario("1b", 10, 400, 400), data)
            assert (outcome.trades, outcome.final_equity, outcome.bars) == (*expected, 4_000)


# --------------------------------------------------------------------------- missing packages


@pytest.mark.parametrize("peer", PEERS, ids=IDS)
def test_a_missing_package_is_a_reason_not_an_error(
    monkeypatch: pytest.MonkeyPatch, peer: Peer
) -> None:
    monkeypatch.setitem(sys.modules, peer.package, None)  # its import now raises ImportError

    reason = peer.module.available()

    assert reason is not None
    assert peer.install in reason
    assert "not installed" in reason


def test_a_backtesting_py_that_closes_open_trades_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before 0.6 every open trade was closed at the end: a different final equity."""
    if importlib.util.find_spec("backtesting") is None:
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(backtesting_py.metadata, "version", lambda name: "0.5.0")

    reason = backtesting_py.available()

    assert reason is not None
    assert "backtesting 0.5.0 closes open trades" in reason
    assert "pip install 'backtesting>=0.6'" in reason
