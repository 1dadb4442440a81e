"""The demo: the example strategy on the bundled daily data, stored and verified.

``run_demo(out_dir)`` is what ``lockstep demo`` and ``nox -s demo`` run: it
backtests ``sma_cross`` on the ``daily`` data set with $100,000, prints the
summary, writes ``out_dir/run.db`` and ``out_dir/trades.csv``, then replays the
store with :func:`verify_run` and prints the verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime.backtest import run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.replay import VerifyReport, verify_run
from lockstep.runtime.store import RunStore
from lockstep.runtime.summary import format_rows, summary_rows
from lockstep.runtime.trades import write_trades_csv

DEMO_DATA = "daily"
DEMO_CASH = "100000"
DEMO_FEE_PPM = 100


def run_demo(
    out_dir: str | Path, *, engine: str | None = None, out: TextIO | None = None
) -> VerifyReport:
    """Run, store, report and verify the demo backtest; returns the verification report."""
    directory = Path(out_dir)
    dataset = load_dataset(DEMO_DATA)
    setup = setup_for(dataset, cash=DEMO_CASH, fee_ppm=DEMO_FEE_PPM)
    db = directory / "run.db"
    result = run_backtest(SmaCross(), dataset, setup, engine=engine, store=db, overwrite=True)
    write_trades_csv(
        directory / "trades.csv",
        result.trades,
        {i["id"]: i for i in setup["instruments"]},
        {c["code"]: c["money_precision"] for c in setup["currencies"]},
    )
    with RunStore.open(db) as store:
        text = format_rows(summary_rows(store.meta(), store.results()))
    report = verify_run(db)
    lines = [
        text,
        f"run store       {db}",
        f"trade list      {directory / 'trades.csv'}",
        str(report),
    ]
    print("\n".join(lines), file=out)
    return report
