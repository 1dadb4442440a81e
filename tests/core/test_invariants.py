"""The invariant checker catches a core that corrupts its own state, in each mode."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lockstep.core import CoreFailed, InvariantViolation, build_core
from lockstep.core.portfolio import FillEffects, Portfolio
from testkit import SETUP, T0, bar, batch, place


def _leaky_commit(self: Portfolio, effects: FillEffects) -> None:
    """A deliberately wrong portfolio update: one money unit goes missing per fill."""
    self.positions[effects.instrument] = effects.position
    self.cost_basis[effects.instrument] = effects.cost
    self.cash[effects.currency] = effects.cash - 1
    self.realized_pnl[effects.currency] = effects.realized
    self.fees[effects.currency] = effects.fees


def _buy_and_fill(core: Any) -> list[dict[str, Any]]:
    records = core.step(batch(T0, place("o1", qty=5)))
    records += core.step(bar(T0 + 1, 100, 101, 99, 100))
    return records


def _python_core(mode: str) -> Any:
    """The Python core: these tests break its Portfolio on purpose to see the checker react.

    The native core's checker is exercised by its own cargo tests and by parity
    on the golden cases; here only the Python one can be sabotaged from outside.
    """
    return build_core(_setup(mode), backend="python")


def _setup(mode: str) -> dict[str, Any]:
    setup = copy.deepcopy(SETUP)
    setup["invariant_mode"] = mode
    return setup


def test_strict_mode_raises_and_then_refuses_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Portfolio, "commit", _leaky_commit)
    core = _python_core("strict")
    with pytest.raises(InvariantViolation, match="cash in USD"):
        _buy_and_fill(core)
    with pytest.raises(CoreFailed, match="invariant violation"):
        core.step(bar(T0 + 2, 100, 101, 99, 100))


def test_warn_mode_records_a_diagnostic_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Portfolio, "commit", _leaky_commit)
    core = _python_core("warn")
    with pytest.warns(RuntimeWarning, match="cash in USD"):
        records = _buy_and_fill(core)
    codes = [d["code"] for r in records for d in r["diagnostics"]]
    assert "INVARIANT_WARNING" in codes


def test_off_mode_checks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Portfolio, "commit", _leaky_commit)
    core = _python_core("off")
    records = _buy_and_fill(core)
    assert all(d["code"] != "INVARIANT_WARNING" for r in records for d in r["diagnostics"])


def test_a_correct_core_passes_strict_mode() -> None:
    records = _buy_and_fill(build_core(_setup("strict")))
    assert [f["qty"] for r in records for f in r["fills"]] == [5]
