"""A backtest over bar feeds runs on packed bar blocks; the run is the one envelopes give.

Feeds that give bar columns take the columnar path (ADR 0017); the same feeds
seen through a wrapper that hides ``bar_columns`` take the envelope path. Both
must write the same run database, record for record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.adapters.bar_merge import columnar_feeds
from lockstep.adapters.feeds.base import Feed, WrappedFeed
from lockstep.core import BACKENDS
from lockstep.runtime import backtest, run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from runtime_kit import engines, table_rows

TABLES = (("inputs", "seq"), ("records", "seq_id"), ("checkpoints", "seq_id"))


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("data", ["daily", "minute"])
def test_columns_and_envelopes_write_the_same_run(
    tmp_path: Path, data: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every backend can take bar blocks; the runtime hands them only to those that gain.
    monkeypatch.setattr(backtest, "COLUMNAR_BACKENDS", frozenset(BACKENDS))
    ds = load_dataset(data)
    setup = setup_for(ds, cash="50000", fee_ppm=250)
    feeds: list[Feed] = ds.feeds()
    assert columnar_feeds(feeds) is not None, "bundled CSV feeds give bar columns"
    hidden: list[Feed] = [WrappedFeed(f) for f in ds.feeds()]
    assert columnar_feeds(hidden) is None
    results = []
    for name, given in (("columns", feeds), ("envelopes", hidden)):
        path = tmp_path / f"{name}.db"
        result = run_backtest(
            SmaCross(fast=5, slow=15), given, setup, engine=engine, store=path, checkpoint_every=300
        )
        results.append((path, result))
    (by_columns, a), (by_envelopes, b) = results
    for table, order in TABLES:
        assert table_rows(by_columns, table, order) == table_rows(by_envelopes, table, order), table
    assert a.final_state_hash == b.final_state_hash and a.last_hash == b.last_hash
    assert a.derived == b.derived
    assert a.bars == b.bars > 0
