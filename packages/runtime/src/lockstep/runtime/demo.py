"""The demo: the example strategy on the bundled daily data, stored and verified.

``run_demo(out_dir)`` is what ``lockstep demo`` and ``nox -s demo`` run: it
backtests ``sma_cross`` on the ``daily`` data set with $100,000, prints the
summary, writes ``out_dir/run.db`` and ``out_dir/trades.csv``, then verifies the
store (replay, results, seal and the data files' digest), records the outcome
in it and prints the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime.backtest import run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.replay import VerifyReport
from lockstep.runtime.store import RunStore
from lockstep.runtime.summary import format_rows, summary_rows
from lockstep.runtime.trades import write_trades_csv
from lockstep.runtime.verification import verify_and_record

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
    report, _ = verify_and_record(db, data=DEMO_DATA)
    lines = [
        text,
        f"run store       {db}",
        f"trade list      {directory / 'trades.csv'}",
        str(report),
    ]
    print("\n".join(lines), file=out)
    return report


def is_demo_run(meta: Mapping[str, Any]) -> bool:
    """Whether a stored run is an earlier demo, which a new demo may replace unasked.

    ``lockstep demo`` (and ``nox -s demo``) rewrites its directory every time;
    any other complete run found there is the user's and needs ``--overwrite``.
    """
    data = meta.get("data")
    return meta.get("strategy") == f"{SmaCross.__module__}:{SmaCross.__qualname__}" and (
        isinstance(data, Mapping) and data.get("name") == DEMO_DATA
    )
