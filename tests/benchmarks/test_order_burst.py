"""The order-burst benchmark keeps working and keeps its burst honest (no timing is ever checked).

- the script in ``--quick`` form on a Python-only install runs the python
  backend alone and writes a result whose tallies match the plan; asked for
  the rust backend there without ``--quick`` it says it cannot run (exit 3);
- the planned burst is deterministic, valid per the contract item by item,
  holds every kind of report, keeps each order's reports in causal order and
  resends only what was sent before;
- a refused item or a disagreement fails the run instead of being timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from lockstep.contracts import validate
from testkit import NATIVE_HIDDEN_MESSAGE, python_only_env

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import bench_order_burst as burst_bench  # noqa: E402 - benchmarks/ is not a package


def _script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "bench_order_burst.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=python_only_env(tmp_path),
    )


def test_quick_run_without_the_native_core_measures_the_python_backend(tmp_path: Path) -> None:
    done = _script(tmp_path, "--quick", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "order_burst.json").read_text())
    for top in ("benchmark", "date", "machine", "baseline", "ratio_metric", "params", "results"):
        assert top in result
    assert result["baseline"] == "python backend at main"
    assert result["ratio_metric"] == "reports_per_s"
    params = result["params"]
    assert (params["orders"], params["reports"], params["repeat"]) == (2_000, 5_000, 1)
    mix = params["mix"]
    assert (
        mix["duplicates"]
        == mix["duplicate_acks"] + mix["duplicate_fills"] + mix["duplicate_cancels"]
    )
    assert (
        sum(mix[k] for k in ("acks", "partial_fills", "full_fills", "cancels", "duplicates"))
        == 5_000
    )
    (row,) = result["results"]
    assert row["backend"] == "python" and row["ratio"] == 1.0 and row["crossings"] is None
    assert row["refusals"] == 0 and row["records"] == 5_000
    assert row["fills"] == mix["partial_fills"] + mix["full_fills"]
    assert row["diagnostics"] == {"DUPLICATE": mix["duplicates"]}
    assert row["final_statuses"]["filled"] == mix["full_fills"]
    assert row["final_statuses"]["cancelled"] == mix["cancels"]
    assert row["seconds_min"] <= row["seconds_median"] <= row["seconds_max"]
    assert row["runs"] == [row["seconds"]]
    assert row["peak_rss_mib"] >= row["rss_half_mib"] > 0
    assert len(row["final_state_hash"]) == len(row["last_hash"]) == 64


def test_rust_requested_without_the_native_core_cannot_run_here(tmp_path: Path) -> None:
    done = _script(tmp_path, "--backends", "python,rust", "--out", str(tmp_path / "out"))
    assert done.returncode == 3
    assert NATIVE_HIDDEN_MESSAGE in done.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the plan


def test_the_plan_is_a_function_of_its_arguments() -> None:
    first = burst_bench.plan_burst(200, 900, 3)
    assert first == burst_bench.plan_burst(200, 900, 3)
    assert first != burst_bench.plan_burst(200, 900, 3, seed=burst_bench.SEED + 1)
    assert len(first.reports) == 900 and len(first.orders) == 200


def test_every_item_of_the_burst_is_valid_per_the_contract() -> None:
    burst = burst_bench.plan_burst(60, 300, 4)
    validate("setup", burst.setup)
    validate("input_item", burst_bench.place_batch(burst))
    for report in burst.reports:
        validate("input_item", burst_bench.envelope(report, burst.orders))


def test_the_burst_holds_every_kind_of_report_in_causal_order() -> None:
    burst = burst_bench.plan_burst(300, 1_500, 5)
    mix = burst.mix()
    for kind in ("acks", "partial_fills", "full_fills", "cancels"):
        assert mix[kind] > 0, kind
    for kind in ("duplicate_acks", "duplicate_fills", "duplicate_cancels"):
        assert mix[kind] > 0, kind
    steps: dict[int, list[int]] = defaultdict(list)
    keys_seen: set[str] = set()
    filled: dict[int, int] = defaultdict(int)
    for report in burst.reports:
        item: dict[str, Any] = burst_bench.envelope(report, burst.orders)
        key = item["idempotency_key"]
        if report.duplicate:
            assert key in keys_seen, "a copy must follow the report it repeats"
            continue
        assert key not in keys_seen
        keys_seen.add(key)
        steps[report.order].append(report.step)
        if report.kind == "fill":
            filled[report.order] += report.qty
    for n, order in enumerate(burst.orders):
        assert steps[n] == list(range(len(steps[n]))), "ack first, then the order's own sequence"
        if order.ending == burst_bench.FULL:
            assert filled[n] == order.qty
        else:
            assert filled[n] < order.qty


def test_too_few_reports_for_the_orders_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="cannot ack"):
        burst_bench.plan_burst(100, 100, 2)


# --------------------------------------------------------------------------- the checks


def test_a_run_checks_its_tallies_against_the_plan() -> None:
    row = burst_bench.measure("python", 80, 400, 3, 64)
    mix = burst_bench.plan_burst(80, 400, 3).mix()
    assert row["refusals"] == 0 and row["records"] == 400 and row["blocks"] == 8
    assert row["diagnostics"] == {"DUPLICATE": mix["duplicates"]}


def test_a_refused_report_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    real = burst_bench.envelope
    calls = {"n": 0}

    def one_broken(report: burst_bench.Report, orders: Any) -> dict[str, Any]:
        item = real(report, orders)
        calls["n"] += 1
        if calls["n"] == 10:
            item["event_time"] = -1
        return item

    monkeypatch.setattr(burst_bench, "envelope", one_broken)
    with pytest.raises(SystemExit, match="1 items refused, the first at report 10 of the burst"):
        burst_bench.measure("python", 80, 400, 3, 64)


def test_runs_that_end_elsewhere_are_reported_with_their_hashes() -> None:
    same = {"final_state_hash": "a" * 64, "last_hash": "b" * 64}
    assert burst_bench.disagreement({"python": [same], "rust": [dict(same)]}) is None
    other = {"final_state_hash": "c" * 64, "last_hash": "b" * 64}
    message = burst_bench.disagreement({"python": [same], "rust": [other]})
    assert message is not None
    assert "python run 1" in message and "rust run 1" in message
    assert "a" * 64 in message and "c" * 64 in message
