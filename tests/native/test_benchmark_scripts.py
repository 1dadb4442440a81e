"""The benchmark scripts still run, on both backends, at a tiny size (numbers are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_backtest_and_replay_benchmarks_write_their_result_files(tmp_path: Path) -> None:
    _run(
        "bench_backtest_replay.py",
        "--bars",
        "300",
        "--replay-events",
        "600",
        "--out",
        str(tmp_path),
    )
    for name in ("backtest", "replay_verify", "replay_core"):
        result = json.loads((tmp_path / f"{name}.json").read_text())
        assert result["baseline"] == "python backend at main"
        rows = {row["backend"]: row for row in result["results"]}
        assert set(rows) == {"python", "rust"} and rows["python"]["ratio"] == 1.0
        assert rows["rust"]["crossings"] > 0 and rows["python"]["crossings"] is None
    replay = json.loads((tmp_path / "replay_verify.json").read_text())["results"]
    assert replay[0]["records"] == replay[1]["records"] > 600


def test_one_part_of_the_backtest_and_replay_benchmark_can_run_alone(tmp_path: Path) -> None:
    _run(
        "bench_backtest_replay.py",
        "--bars",
        "200",
        "--only",
        "backtest",
        "--repeat",
        "2",
        "--out",
        str(tmp_path),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backtest.json"]
    result = json.loads((tmp_path / "backtest.json").read_text())
    assert result["params"]["repeat"] == 2
    assert all(len(row["runs"]) == 2 and row["cpu_seconds"] > 0 for row in result["results"])


def test_boundary_benchmark_writes_its_result_file(tmp_path: Path) -> None:
    _run("bench_boundary.py", "--items", "200", "--out", str(tmp_path))
    result = json.loads((tmp_path / "boundary.json").read_text())
    assert result["results"]
