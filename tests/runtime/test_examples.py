"""The example strategy: the file in examples/ is the shipped built-in, and it runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import run_backtest
from lockstep.runtime.registry import load_strategy_class

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sma_cross.py"


def test_example_is_the_builtin_strategy() -> None:
    spec = importlib.util.find_spec("lockstep.runtime.builtin.sma_cross")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")


def test_example_file_and_builtin_give_the_same_run() -> None:
    from_file = load_strategy_class(str(EXAMPLE))
    builtin = load_strategy_class("sma_cross")
    assert from_file is not builtin and from_file.__name__ == builtin.__name__ == "SmaCross"
    ds = load_dataset("daily")
    setup = setup_for(ds, fee_ppm=100)
    a = run_backtest(from_file(), ds, setup)
    b = run_backtest(builtin(), ds, setup)
    assert (a.final_state_hash, a.last_hash) == (b.final_state_hash, b.last_hash)
    assert a.metrics.trades > 5


def test_demo_function(tmp_path: Path) -> None:
    import io

    from lockstep.runtime.demo import run_demo

    out = io.StringIO()
    report = run_demo(tmp_path, out=out)
    assert report.ok
    text = out.getvalue()
    assert "sma_cross" in text and "total return" in text and "OK" in text
