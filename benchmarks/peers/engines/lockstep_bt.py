"""Lockstep's Backtrader layer (``lockstep.runtime.compat.backtrader``) on both backends.

The same strategy source as the Backtrader reference (``peers/bt_strategy.py``),
the same ``GenericCSVData`` declarations and broker settings; only the
``bt`` module differs, plus ``Cerebro(engine=...)`` to pick the core. No run
store (``store=None``, the layer's default): Backtrader keeps none either.

Timing: ``seconds_total`` from creating the feeds to ``broker.getvalue()``;
``seconds_loop`` from the strategy's ``start`` to its ``stop``, which the
layer calls from the backtest's ``on_start``/``on_stop``, after it has read
every CSV file into memory (as Backtrader's preload does).
"""

from __future__ import annotations

import time

from peers.bt_strategy import run_cerebro
from peers.lockstep_env import unavailable, versions
from peers.spec import DataSet, Outcome, Scenario, Strategy, cents


class LockstepBacktrader:
    """One backend of the layer: ``lockstep-bt-python`` or ``lockstep-bt-rust``."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.NAME = f"lockstep-bt-{backend}"

    def available(self) -> str | None:
        return unavailable(self.backend)

    def run(self, strategy: Strategy, scenario: Scenario, data: DataSet) -> Outcome:
        import lockstep.runtime.compat.backtrader as bt

        started, cpu = time.perf_counter(), time.process_time()
        cerebro, strat, value = run_cerebro(bt, strategy, data, engine=self.backend)
        total = time.perf_counter() - started
        (result,) = cerebro.lockstep_results
        return Outcome(
            engine=self.NAME,
            strategy=strategy.name,
            scenario=scenario.name,
            trades=strat.entries,
            final_equity=cents(value),
            bars=sum(len(d) for d in cerebro.datas),  # result.bars adds the layer's closing prints
            seconds_total=total,
            seconds_loop=strat.loop_stopped - strat.loop_started,
            cpu_seconds=time.process_time() - cpu,
            crossings=result.crossings,
            versions=versions(self.backend),
            notes=(
                f"Cerebro(stdstats=False, engine={self.backend!r}), no store, GenericCSVData; "
                "loop = strategy start() to stop(), after the CSV files are read"
            ),
        )


ENGINES = [LockstepBacktrader("python"), LockstepBacktrader("rust")]
