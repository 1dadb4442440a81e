"""The example strategy builds on the built-in one, trades like it when its stop never fires,
and its stop-loss really exits positions the built-in would still hold."""

from __future__ import annotations

from pathlib import Path

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import BacktestResult, run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.registry import load_strategy_class

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sma_cross.py"


def test_example_extends_the_builtin_without_copying_it() -> None:
    from_file = load_strategy_class(str(EXAMPLE))
    assert from_file.__name__ == "SmaCrossStop" and issubclass(from_file, SmaCross)
    assert load_strategy_class("sma_cross") is SmaCross
    assert dict(from_file.params) == {**SmaCross.params, "stop_pct": from_file.params["stop_pct"]}
    # The example holds only what it adds: no copy of the crossover rules.
    assert "now_fast" not in EXAMPLE.read_text(encoding="utf-8")


def _example_and_builtin(stop_pct: str) -> tuple[BacktestResult, BacktestResult]:
    """The example (under the built-in's strategy id) and the built-in, on the daily data."""
    example = load_strategy_class(str(EXAMPLE))
    ds = load_dataset("daily")
    setup = setup_for(ds, fee_ppm=100)
    return (
        run_backtest(example("sma_cross", stop_pct=stop_pct), ds, setup),
        run_backtest(SmaCross(), ds, setup),
    )


def test_a_stop_that_never_fires_trades_exactly_like_the_builtin() -> None:
    example, builtin = _example_and_builtin("0.99")
    assert (example.final_state_hash, example.last_hash) == (
        builtin.final_state_hash,
        builtin.last_hash,
    )
    assert example.metrics.trades > 5


def test_a_tight_stop_exits_earlier_than_the_builtin() -> None:
    stopped, plain = _example_and_builtin("0.01")
    assert stopped.final_state_hash != plain.final_state_hash

    def held(result: BacktestResult) -> int:
        return sum(t.exit_time - t.entry_time for t in result.trades if t.exit_time is not None)

    assert held(stopped) < held(plain)  # every trade the stop closes is cut short
    assert [t.pnl for t in stopped.trades if t.closed and t.pnl < 0]  # a 1 % stop is hit


def test_demo_function(tmp_path: Path) -> None:
    import io

    from lockstep.runtime.demo import run_demo

    out = io.StringIO()
    report = run_demo(tmp_path, out=out)
    assert report.ok
    text = out.getvalue()
    assert "sma_cross" in text and "total return" in text and "OK" in text
