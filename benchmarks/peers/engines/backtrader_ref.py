"""Backtrader itself (``backtrader`` from PyPI, 1.9.78.123): the reference every ratio divides by.

Run as its users run it: ``bt.Cerebro`` with its defaults (``preload`` and
``runonce`` on), ``GenericCSVData`` reading each generated file, market
orders (Backtrader fills them at the next bar's open), no commission, cash
set to the spec's. ``stdstats=False``: the standard observers only record
what a plot would draw, and leaving them out makes Backtrader faster, so
every ratio against it is, if anything, in Backtrader's favour. The strategy
source is shared with the Lockstep layer (``peers/bt_strategy.py``).

Timing: ``seconds_total`` from creating the feeds to ``broker.getvalue()``;
``seconds_loop`` from the strategy's ``start`` to its ``stop``, which
Backtrader calls after preloading every feed (so CSV parsing is outside it,
indicator computation and the bar loop inside).
"""

from __future__ import annotations

import importlib.metadata
import time

from peers.bt_strategy import run_cerebro
from peers.spec import DataSet, Outcome, Scenario, Strategy, cents

NAME = "backtrader"


def available() -> str | None:
    try:
        version = importlib.metadata.version("backtrader")
    except importlib.metadata.PackageNotFoundError:
        return "backtrader is not installed (pip install backtrader==1.9.78.123)"
    return None if version else "backtrader has no version"


def run(strategy: Strategy, scenario: Scenario, data: DataSet) -> Outcome:
    import backtrader as bt

    started, cpu = time.perf_counter(), time.process_time()
    cerebro, strat, value = run_cerebro(bt, strategy, data)
    total = time.perf_counter() - started
    return Outcome(
        engine=NAME,
        strategy=strategy.name,
        scenario=scenario.name,
        trades=strat.entries,
        final_equity=cents(value),
        bars=sum(len(d) for d in cerebro.datas),
        seconds_total=total,
        seconds_loop=strat.loop_stopped - strat.loop_started,
        cpu_seconds=time.process_time() - cpu,
        versions={"backtrader": bt.__version__},
        notes=(
            "Cerebro(stdstats=False), preload+runonce (defaults), GenericCSVData; "
            "loop = strategy start() to stop(), after the feeds are preloaded"
        ),
    )
