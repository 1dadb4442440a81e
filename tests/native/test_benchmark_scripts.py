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


def test_order_burst_benchmark_agrees_on_both_backends_at_its_quick_size(tmp_path: Path) -> None:
    _run("bench_order_burst.py", "--quick", "--out", str(tmp_path))
    result = json.loads((tmp_path / "order_burst.json").read_text())
    assert result["baseline"] == "python backend at main"
    assert result["ratio_metric"] == "reports_per_s"
    params = result["params"]
    assert (params["orders"], params["reports"], params["repeat"]) == (2_000, 5_000, 1)
    rows = {row["backend"]: row for row in result["results"]}
    assert set(rows) == {"python", "rust"} and rows["python"]["ratio"] == 1.0
    assert rows["rust"]["crossings"] > 0 and rows["python"]["crossings"] is None
    python, rust = rows["python"], rows["rust"]
    assert (python["final_state_hash"], python["last_hash"]) == (
        rust["final_state_hash"],
        rust["last_hash"],
    )
    for row in rows.values():
        assert row["refusals"] == 0 and row["records"] == params["reports"]
        assert row["diagnostics"] == {"DUPLICATE": params["mix"]["duplicates"]}
        assert len(row["runs"]) == 1
        assert row["seconds_min"] <= row["seconds_median"] <= row["seconds_max"]
        assert row["peak_rss_mib"] >= row["rss_half_mib"] > 0
