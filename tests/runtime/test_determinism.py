"""Same strategy, data and setup: identical stores, record for record, and identical results."""

from __future__ import annotations

from pathlib import Path

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from runtime_kit import table_rows


def test_two_runs_store_identical_inputs_records_and_checkpoints(tmp_path: Path) -> None:
    ds = load_dataset("minute")
    setup = setup_for(ds, cash="50000", fee_ppm=250)
    runs = []
    for n in (1, 2):
        path = tmp_path / f"run{n}.db"
        result = run_backtest(
            SmaCross(fast=5, slow=15), ds, setup, store=path, checkpoint_every=500
        )
        runs.append((path, result))
    (a, ra), (b, rb) = runs
    assert ra.records > 1000 and ra.intents > 0
    for table, order in (("inputs", "seq"), ("records", "seq_id"), ("checkpoints", "seq_id")):
        assert table_rows(a, table, order) == table_rows(b, table, order), table
    assert ra.final_state_hash == rb.final_state_hash and ra.last_hash == rb.last_hash
    assert ra.metrics == rb.metrics
    assert [t.to_dict() for t in ra.trades] == [t.to_dict() for t in rb.trades]
    results = dict(table_rows(a, "results", "key"))
    other = dict(table_rows(b, "results", "key"))
    # The seal binds the timing and the start/finish times too, so it differs with them.
    for key in ("timing", "seal"):
        results.pop(key)
        other.pop(key)
    assert results == other
