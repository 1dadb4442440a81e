"""End-to-end parity: the same backtest on both engines writes the same run database."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import Strategy, Subscriptions, run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.replay import verify_run
from runtime_kit import table_rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TABLES = (("inputs", "seq"), ("records", "seq_id"), ("checkpoints", "seq_id"))
ENGINE_SPECIFIC = {"engine", "started", "finished"}
"""Meta keys that name the engine or the wall clock; everything else must match."""


def _run(tmp_path: Path, engine: str, strategy: Strategy, data: str) -> Path:
    ds = load_dataset(data)
    setup = setup_for(ds, cash="50000", fee_ppm=250)
    path = tmp_path / f"{engine}.db"
    result = run_backtest(strategy, ds, setup, engine=engine, store=path, checkpoint_every=400)
    assert result.backend == engine
    if engine == "rust":
        # One crossing per block or wake-up, never one per event.
        assert result.crossings is not None and result.crossings < result.inputs + 50
    return path


@pytest.mark.parametrize("data", ["daily", "minute"])
def test_demo_backtest_writes_identical_run_databases(tmp_path: Path, data: str) -> None:
    python = _run(tmp_path, "python", SmaCross(fast=5, slow=15), data)
    rust = _run(tmp_path, "rust", SmaCross(fast=5, slow=15), data)
    for table, order in TABLES:
        assert table_rows(python, table, order) == table_rows(rust, table, order), table
    meta_p, meta_r = dict(table_rows(python, "meta", "key")), dict(table_rows(rust, "meta", "key"))
    assert {k: v for k, v in meta_p.items() if k not in ENGINE_SPECIFIC} == {
        k: v for k, v in meta_r.items() if k not in ENGINE_SPECIFIC
    }
    results_p, results_r = (
        dict(table_rows(python, "results", "key")),
        dict(table_rows(rust, "results", "key")),
    )
    results_p.pop("timing")
    results_r.pop("timing")
    # The seal binds engine-specific metadata and timing too: equal apart from those fields.
    seals = [json.loads(r.pop("seal"))["fields"] for r in (results_p, results_r)]
    varying = {f"meta.{k}" for k in ENGINE_SPECIFIC} | {"results.timing"}
    assert [{k: v for k, v in f.items() if k not in varying} for f in seals] == [
        {k: v for k, v in seals[1].items() if k not in varying}
    ] * 2
    assert results_p == results_r


def test_a_run_verifies_on_the_other_engine(tmp_path: Path) -> None:
    path = _run(tmp_path, "python", SmaCross(fast=3, slow=8), "daily")
    report = verify_run(path, backend="rust")
    assert report.ok, report
    assert report.crossings is not None and report.crossings <= 5


def test_a_quiet_strategy_crosses_once_per_block(tmp_path: Path) -> None:
    """A strategy that subscribes to nothing is never woken: crossings stay per block."""

    class Idle(Strategy):
        subscriptions = Subscriptions(event_types=frozenset())

    path = tmp_path / "idle.db"
    ds = load_dataset("minute")
    result = run_backtest(Idle("idle"), ds, setup_for(ds), engine="rust", store=path)
    assert result.inputs > 500
    assert result.crossings is not None and result.crossings < 10


def test_a_backtrader_style_run_is_identical_on_both_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compatibility layer's example, stored once per engine: same database."""
    spec = importlib.util.spec_from_file_location(
        "backtrader_sma_example", EXAMPLES / "backtrader_sma.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    values = {}
    for engine in ("python", "rust"):
        monkeypatch.setenv("LOCKSTEP_ENGINE", engine)
        values[engine] = example.main(str(tmp_path / f"bt-{engine}.db"), printlog=False)
    assert values["python"] == values["rust"]
    python, rust = tmp_path / "bt-python.db", tmp_path / "bt-rust.db"
    assert dict(table_rows(rust, "meta", "key"))["engine"] == '"rust"'
    for table, order in TABLES:
        assert table_rows(python, table, order) == table_rows(rust, table, order), table
