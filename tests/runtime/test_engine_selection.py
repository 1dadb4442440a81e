"""Engine selection: the argument or LOCKSTEP_ENGINE; rust without the native core fails loudly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.core import NativeBackendUnavailable
from lockstep.runtime import Strategy, run_backtest


@pytest.fixture(autouse=True)
def python_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here sees a Python-only install, also in the native lane."""
    monkeypatch.setitem(sys.modules, "lockstep_native", None)


def test_rust_raises_and_writes_no_store(tmp_path: Path) -> None:
    ds = load_dataset("daily")
    with pytest.raises(NativeBackendUnavailable, match="backend 'rust' was requested"):
        run_backtest(Strategy("idle"), ds, setup_for(ds), engine="rust", store=tmp_path / "run.db")
    assert not (tmp_path / "run.db").exists()


def test_environment_variable_selects_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = load_dataset("daily")
    monkeypatch.setenv("LOCKSTEP_ENGINE", "rust")
    with pytest.raises(NativeBackendUnavailable):
        run_backtest(Strategy("idle"), ds, setup_for(ds))
    monkeypatch.setenv("LOCKSTEP_ENGINE", "python")
    assert run_backtest(Strategy("idle"), ds, setup_for(ds)).backend == "python"
    with pytest.raises(ValueError, match="unknown engine backend 'java'"):
        run_backtest(Strategy("idle"), ds, setup_for(ds), engine="java")
