"""Helpers for the adapters and runtime tests: tiny data sets on disk and CLI runs.

A "tiny data set" is a directory in the format ``lockstep backtest --data DIR``
reads (a ``dataset.json`` manifest plus one CSV per instrument), written from
hand-made decimal rows so tests can compute expected results by hand.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DAY_NS = 86_400_000_000_000

# Instrument entries as the setup and the manifest spell them.
TST = {
    "id": "TST",
    "venue": "sim",
    "quote_currency": "USD",
    "price_precision": 2,
    "size_precision": 0,
    "tick_size": 1,
    "lot_size": 1,
}
LOT = {
    "id": "LOT",
    "venue": "sim",
    "quote_currency": "USD",
    "price_precision": 2,
    "size_precision": 0,
    "tick_size": 5,
    "lot_size": 10,
}


def write_dataset(
    directory: Path,
    rows: Mapping[str, Sequence[Sequence[str]]],
    instruments: Sequence[Mapping[str, Any]] = (TST,),
    *,
    money_precision: int = 2,
    header: Sequence[str] = ("timestamp", "open", "high", "low", "close", "volume"),
) -> Path:
    """Write ``rows[instrument_id]`` (already text) as CSVs plus a manifest; returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for inst in instruments:
        lines = [",".join(header)] + [",".join(r) for r in rows[inst["id"]]]
        (directory / f"{inst['id']}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        entries.append({**inst, "file": f"{inst['id']}.csv"})
    manifest = {
        "name": directory.name,
        "description": "hand-made test data",
        "bar_interval": "1d",
        "currencies": [{"code": "USD", "money_precision": money_precision}],
        "instruments": entries,
        "csv": {"time_format": "iso", "tz": None},
    }
    (directory / "dataset.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return directory


def daily_rows(bars: Sequence[tuple[str, str, str, str]], start_day: int = 1) -> list[list[str]]:
    """``(open, high, low, close)`` strings as daily rows stamped 21:00Z on consecutive January days."""
    return [
        [f"2024-01-{start_day + n:02d}T21:00:00Z", o, h, lo, c, "1000"]
        for n, (o, h, lo, c) in enumerate(bars)
    ]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 180, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m lockstep.runtime.cli ARGS`` in a subprocess, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "lockstep.runtime.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def table_rows(path: Path, table: str, order: str) -> list[tuple[object, ...]]:
    """Every row of a run database's ``table`` in ``order`` (for comparing two runs' stores)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    finally:
        conn.close()


def engines() -> list[str]:
    """Every backend this machine can run: both with the native core, else python."""
    from lockstep.core import BACKENDS

    try:
        import lockstep_native  # noqa: F401
    except ImportError:
        return ["python"]
    return list(BACKENDS)
